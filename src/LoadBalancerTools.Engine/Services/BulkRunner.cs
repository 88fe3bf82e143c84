using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Logging;

namespace LoadBalancerTools.Services
{
    /// <summary>
    /// Runs many independent items with bounded concurrency. Items report their own failures (the body
    /// must not throw for a per-item failure); progress is reported through the log, which the cmdlet
    /// writes on the pipeline thread.
    /// </summary>
    public static class BulkRunner
    {
        /// <summary>Runs <paramref name="body"/> for every item, at most <paramref name="concurrency"/> at a time; stops taking new items when cancelled.</summary>
        public static async Task ForEachAsync<T>(IReadOnlyList<T> items, int concurrency, Func<T, CancellationToken, Task> body, BulkProgress? progress, CancellationToken ct)
        {
            int next = -1;
            async Task Worker()
            {
                // Off the caller's thread at once, so workers start together rather than one after another.
                await Task.Yield();
                while (true)
                {
                    ct.ThrowIfCancellationRequested();
                    int i = Interlocked.Increment(ref next);
                    if (i >= items.Count) return;
                    try
                    {
                        await body(items[i], ct).ConfigureAwait(false);
                    }
                    finally
                    {
                        progress?.Step();
                    }
                }
            }
            int workers = Math.Max(1, Math.Min(concurrency, items.Count));
            await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Worker())).ConfigureAwait(false);
        }
    }

    /// <summary>A progress bar over a known number of steps; writes only when the percentage moves, so thousands of items do not flood the host.</summary>
    public sealed class BulkProgress
    {
        private readonly ILbLog _log;
        private readonly int _id;
        private readonly string _activity;
        private readonly int _total;
        private readonly Func<int, int, string>? _status;
        private int _done;
        private int _lastPercent = -1;

        public BulkProgress(ILbLog log, int id, string activity, int total, Func<int, int, string>? status = null)
        {
            _log = log;
            _id = id;
            _activity = activity;
            _total = Math.Max(1, total);
            _status = status;
        }

        public int Done => Volatile.Read(ref _done);

        public void Step()
        {
            int done = Interlocked.Increment(ref _done);
            int percent = (int)(100L * done / _total);
            int last = Volatile.Read(ref _lastPercent);
            if (percent > last && Interlocked.CompareExchange(ref _lastPercent, percent, last) == last)
            {
                _log.Progress(_id, _activity, Status(done), Math.Min(99, percent));
            }
        }

        public void Complete() => _log.Progress(_id, _activity, Status(Done), 100, completed: true);

        private string Status(int done) => _status?.Invoke(done, _total)
            ?? string.Format(CultureInfo.InvariantCulture, "{0} of {1}", done, _total);
    }
}
