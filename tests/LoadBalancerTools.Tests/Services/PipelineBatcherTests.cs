using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Services;
using LoadBalancerTools.Tests.Http;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.Services
{
    /// <summary>How piped records are grouped into batches: by size, after a quiet time (on a fake clock), and at the end.</summary>
    public class PipelineBatcherTests
    {
        private readonly FakeTimeProvider _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 3, 0, 0, TimeSpan.Zero));
        private readonly ConcurrentQueue<(string Pool, int[] Items)> _sent = new ConcurrentQueue<(string, int[])>();

        private PipelineBatcher<int> Create(int size) => new PipelineBatcher<int>((pool, items, log, _) =>
        {
            _sent.Enqueue((pool, items.ToArray()));
            log.Verbose($"sent {items.Count} to {pool}");
            return Task.FromResult<IReadOnlyList<BatchOutcome>>(items.Select(i => new BatchOutcome(i)).ToList());
        }, size, TimeSpan.FromMilliseconds(500), _time, CancellationToken.None);

        [Fact]
        public async Task A_full_batch_is_handed_back_at_once_and_the_rest_waits_for_the_end()
        {
            using var batcher = Create(size: 3);
            var full = Enumerable.Range(1, 4).Select(i => batcher.Add("web", i)).ToList();

            Assert.All(full.Take(2), Assert.Null);
            Assert.Equal(new[] { 1, 2, 3 }, full[2]);
            Assert.Null(full[3]);
            await batcher.SendAsync("web", full[2]!, NullLog.Instance, CancellationToken.None);
            Assert.Equal(1, batcher.Waiting);

            await batcher.CompleteAsync(NullLog.Instance, CancellationToken.None);

            Assert.Equal(new[] { new[] { 1, 2, 3 }, new[] { 4 } }, _sent.Select(s => s.Items));
            Assert.Equal(new object[] { 1, 2, 3, 4 }, batcher.TakeCompleted(NullLog.Instance).Select(o => o.Tag));
        }

        [Fact]
        public async Task A_partial_batch_goes_after_the_quiet_time_and_its_messages_wait_for_the_cmdlet()
        {
            using var batcher = Create(size: 100);
            batcher.Add("web", 1);
            _time.Advance(TimeSpan.FromMilliseconds(400));
            batcher.Add("web", 2);
            batcher.Add("api", 3);
            // 400 ms after the first record, 0 after the last: the clock started again.
            _time.Advance(TimeSpan.FromMilliseconds(400));
            Assert.Empty(_sent);

            _time.Advance(TimeSpan.FromMilliseconds(100));
            await batcher.CompleteAsync(NullLog.Instance, CancellationToken.None);

            Assert.Equal(new[] { ("web", new[] { 1, 2 }), ("api", new[] { 3 }) }, _sent.Select(s => (s.Pool, s.Items)));
            var log = new RecordingLog();
            Assert.Equal(3, batcher.TakeCompleted(log).Count);
            Assert.Equal(new[] { "sent 2 to web", "sent 1 to api" }, log.Verbose);
        }

    }
}
