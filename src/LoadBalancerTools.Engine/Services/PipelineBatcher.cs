using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Logging;

namespace LoadBalancerTools.Services
{
    /// <summary>
    /// Collects the records piped into one cmdlet call into batches per pool, and sends a batch when it is
    /// full, when no record has come for a short quiet time (so a slow producer's records are not held back),
    /// and at the end. Outcomes come back one per record, for the cmdlet to write on the pipeline thread.
    /// </summary>
    public sealed class PipelineBatcher<T> : IDisposable
    {
        /// <summary>How long without a new record before a partial batch goes.</summary>
        public static readonly TimeSpan DefaultQuietTime = TimeSpan.FromMilliseconds(500);

        private readonly Func<string, IReadOnlyList<T>, ILbLog, CancellationToken, Task<IReadOnlyList<BatchOutcome>>> _send;
        private readonly int _size;
        private readonly TimeSpan _quiet;
        private readonly TimeProvider _time;
        private readonly CancellationToken _stop;
        private readonly object _lock = new object();
        private readonly Dictionary<string, List<T>> _open = new Dictionary<string, List<T>>(StringComparer.Ordinal);
        private readonly ConcurrentQueue<BatchOutcome> _done = new ConcurrentQueue<BatchOutcome>();
        // What a send in the background logs waits here until the cmdlet writes it.
        private readonly BufferedLog _backgroundLog = new BufferedLog();
        private ITimer? _timer;
        private Task _background = Task.CompletedTask;

        /// <summary>On the system clock. (Cmdlets use this one: the cmdlet assembly must not name TimeProvider.)</summary>
        public PipelineBatcher(Func<string, IReadOnlyList<T>, ILbLog, CancellationToken, Task<IReadOnlyList<BatchOutcome>>> send, int size, CancellationToken stop)
            : this(send, size, DefaultQuietTime, TimeProvider.System, stop)
        {
        }

        public PipelineBatcher(Func<string, IReadOnlyList<T>, ILbLog, CancellationToken, Task<IReadOnlyList<BatchOutcome>>> send, int size, TimeSpan quiet, TimeProvider time, CancellationToken stop)
        {
            _send = send;
            _size = Math.Max(1, size);
            _quiet = quiet;
            _time = time;
            _stop = stop;
        }

        /// <summary>Records waiting for their batch to go.</summary>
        public int Waiting
        {
            get { lock (_lock) return _open.Values.Sum(l => l.Count); }
        }

        /// <summary>
        /// Queues a record and starts the quiet-time clock again. Returns the pool's batch when this record filled
        /// it (it is then no longer queued: the caller sends it with <see cref="SendAsync"/>), else null.
        /// </summary>
        public IReadOnlyList<T>? Add(string pool, T item)
        {
            lock (_lock)
            {
                if (!_open.TryGetValue(pool, out var list)) _open[pool] = list = new List<T>();
                list.Add(item);
                List<T>? full = null;
                if (list.Count >= _size)
                {
                    full = list;
                    _open.Remove(pool);
                }
                _timer?.Dispose();
                _timer = _open.Count == 0 ? null : _time.CreateTimer(_ => SendQuiet(), null, _quiet, Timeout.InfiniteTimeSpan);
                return full;
            }
        }

        /// <summary>The outcomes of the batches sent so far, in the order they came back; what background sends logged is written to <paramref name="log"/> first.</summary>
        public IReadOnlyList<BatchOutcome> TakeCompleted(ILbLog log)
        {
            _backgroundLog.ReplayInto(log);
            var taken = new List<BatchOutcome>();
            while (_done.TryDequeue(out var outcome)) taken.Add(outcome);
            return taken;
        }

        /// <summary>Sends what is still waiting and waits for sends in the background to finish.</summary>
        public async Task CompleteAsync(ILbLog log, CancellationToken ct)
        {
            List<KeyValuePair<string, List<T>>> rest;
            Task background;
            lock (_lock)
            {
                _timer?.Dispose();
                _timer = null;
                rest = _open.ToList();
                _open.Clear();
                background = _background;
            }
            await background.ConfigureAwait(false);
            foreach (var batch in rest) await SendAsync(batch.Key, batch.Value, log, ct).ConfigureAwait(false);
        }

        public void Dispose()
        {
            lock (_lock)
            {
                _timer?.Dispose();
                _timer = null;
            }
        }

        private void SendQuiet()
        {
            lock (_lock)
            {
                if (_open.Count == 0) return;
                var batches = _open.ToList();
                _open.Clear();
                _timer?.Dispose();
                _timer = null;
                // One background send at a time, in order, so records leave in the order they came.
                var previous = _background;
                _background = SendInBackgroundAsync(previous, batches);
            }
        }

        private async Task SendInBackgroundAsync(Task previous, List<KeyValuePair<string, List<T>>> batches)
        {
            await previous.ConfigureAwait(false);
            foreach (var batch in batches) await SendAsync(batch.Key, batch.Value, _backgroundLog, _stop).ConfigureAwait(false);
        }

        /// <summary>Sends one batch; its outcomes join <see cref="TakeCompleted"/>.</summary>
        public async Task SendAsync(string pool, IReadOnlyList<T> items, ILbLog log, CancellationToken ct)
        {
            var outcomes = await _send(pool, items, log, ct).ConfigureAwait(false);
            foreach (var outcome in outcomes) _done.Enqueue(outcome);
        }

        /// <summary>Keeps messages until the cmdlet can write them.</summary>
        private sealed class BufferedLog : ILbLog
        {
            private readonly ConcurrentQueue<Action<ILbLog>> _messages = new ConcurrentQueue<Action<ILbLog>>();

            public void Verbose(string message) => _messages.Enqueue(l => l.Verbose(message));
            public void Warning(string message) => _messages.Enqueue(l => l.Warning(message));
            public void Debug(string message) => _messages.Enqueue(l => l.Debug(message));
            public void Progress(int activityId, string activity, string status, int percent, bool completed = false) { }

            public void ReplayInto(ILbLog log)
            {
                while (_messages.TryDequeue(out var write)) write(log);
            }
        }
    }
}
