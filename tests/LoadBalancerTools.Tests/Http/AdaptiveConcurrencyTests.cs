using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Http;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.Http
{
    /// <summary>
    /// The per-endpoint adaptive limit on calls in flight, on a fake clock: it climbs while the endpoint
    /// answers, settles near a capacity it cannot see, and cuts at once when the endpoint pushes back.
    /// </summary>
    public class AdaptiveConcurrencyTests
    {
        private readonly FakeTimeProvider _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 3, 0, 0, TimeSpan.Zero));

        /// <summary>
        /// A server with a hidden capacity (requests beyond it refused at once, as nginx limit_conn does),
        /// 10 ms per answer, and callers that always have more work than the ceiling: every tick of 1 ms
        /// the answers due come back, then callers take every free slot.
        /// </summary>
        private List<int> Simulate(AdaptiveConcurrency limiter, int hidden, int ticks)
        {
            var serving = new List<(AdaptiveConcurrency.Lease Lease, long Due, bool Refused)>();
            var limits = new List<int>();
            for (long tick = 0; tick < ticks; tick++)
            {
                foreach (var done in serving.Where(s => s.Due <= tick).ToList())
                {
                    serving.Remove(done);
                    limiter.Complete(done.Lease, done.Refused ? ConcurrencySignal.Pushback : ConcurrencySignal.Success, null);
                }
                while (limiter.TryAcquire(out var lease))
                {
                    bool refused = serving.Count(s => !s.Refused) >= hidden;
                    serving.Add((lease, tick + (refused ? 1 : 10), refused));
                }
                limits.Add(limiter.Limit);
                _time.Advance(TimeSpan.FromMilliseconds(1));
            }
            return limits;
        }

        [Theory]
        [InlineData(12)]
        [InlineData(30)]
        public void Settles_near_a_hidden_capacity_and_never_stays_above_it(int hidden)
        {
            var limiter = new AdaptiveConcurrency("lb1", initial: 4, ceiling: 64, _time);

            var limits = Simulate(limiter, hidden, ticks: 3000);

            var settled = limits.Skip(1000).ToList();
            // Near the capacity: on average at least 60 % of it, never far beyond it...
            Assert.InRange(settled.Average(), hidden * 0.6, hidden + 1);
            Assert.True(settled.Max() <= hidden + 2, $"the limit reached {settled.Max()} with a capacity of {hidden}");
            // ...and above it only until the refusals come back (1 ms each), never for a whole round trip of 10 ms.
            int longestAbove = 0, run = 0;
            foreach (int l in settled)
            {
                run = l > hidden ? run + 1 : 0;
                longestAbove = Math.Max(longestAbove, run);
            }
            Assert.True(longestAbove <= 3, $"the limit stayed above the capacity for {longestAbove} ms");
        }

        [Fact]
        public void Climbs_to_the_ceiling_when_the_endpoint_never_pushes_back_and_no_further()
        {
            var limiter = new AdaptiveConcurrency("lb1", initial: 8, ceiling: 64, _time);

            var limits = Simulate(limiter, hidden: 1000, ticks: 200);

            Assert.Equal(8, limits[0]);
            Assert.Equal(64, limits.Last());
            Assert.Equal(64, limits.Max());
        }

        [Fact]
        public void Refusals_at_a_steady_rate_whatever_the_load_do_not_hold_the_limit_down()
        {
            var limiter = new AdaptiveConcurrency("lb1", initial: 8, ceiling: 64, _time);
            var random = new Random(7);
            var serving = new List<(AdaptiveConcurrency.Lease Lease, long Due, bool Refused)>();
            var limits = new List<int>();
            for (long tick = 0; tick < 3000; tick++)
            {
                foreach (var done in serving.Where(s => s.Due <= tick).ToList())
                {
                    serving.Remove(done);
                    limiter.Complete(done.Lease, done.Refused ? ConcurrencySignal.Pushback : ConcurrencySignal.Success, null);
                }
                // One answer in ten is a 429/503, at any load (the benchmark's fault injector).
                while (limiter.TryAcquire(out var lease)) serving.Add((lease, tick + 10, random.NextDouble() < 0.1));
                limits.Add(limiter.Limit);
                _time.Advance(TimeSpan.FromMilliseconds(1));
            }

            Assert.True(limits.Skip(1000).Average() >= 25, $"the limit averaged {limits.Skip(1000).Average():0.0} of a ceiling of 64");
        }

        [Fact]
        public void A_burst_of_refusals_from_one_overload_cuts_once()
        {
            var limiter = new AdaptiveConcurrency("lb1", initial: 20, ceiling: 64, _time);
            var leases = Enumerable.Range(0, 20).Select(_ => { Assert.True(limiter.TryAcquire(out var l)); return l; }).ToList();
            Assert.False(limiter.TryAcquire(out _));

            // All twenty were sent in the same round: their refusals are one signal.
            foreach (var lease in leases) limiter.Complete(lease, ConcurrencySignal.Pushback, null);

            Assert.Equal(14, limiter.Limit); // 20 x 0.7
            // The next round refused again: the cut did not help enough, so it cuts again.
            for (int i = 0; i < AdaptiveConcurrency.MinProbationAnswers; i++)
            {
                Assert.True(limiter.TryAcquire(out var lease));
                limiter.Complete(lease, ConcurrencySignal.Pushback, null);
            }
            Assert.Equal(9, limiter.Limit); // floor(14 x 0.7)
        }

        [Fact]
        public void Does_not_grow_while_answers_slow_down_nor_when_its_slots_are_not_in_use()
        {
            var limiter = new AdaptiveConcurrency("lb1", initial: 4, ceiling: 64, _time);
            // A baseline of 10 ms, with the limit in use.
            var fast = Enumerable.Range(0, 4).Select(_ => { limiter.TryAcquire(out var l); return l; }).ToList();
            _time.Advance(TimeSpan.FromMilliseconds(10));
            foreach (var l in fast) limiter.Complete(l, ConcurrencySignal.Success, null);
            int afterFast = limiter.Limit;
            // The first of the four ran alone (one in flight of four): only the other three raised it.
            Assert.Equal(7, afterFast);

            // Answers at 50 ms: a queue is building somewhere; no raise.
            var slow = Enumerable.Range(0, 7).Select(_ => { limiter.TryAcquire(out var l); return l; }).ToList();
            _time.Advance(TimeSpan.FromMilliseconds(50));
            foreach (var l in slow) limiter.Complete(l, ConcurrencySignal.Success, null);
            Assert.Equal(afterFast, limiter.Limit);

            // One call at a time proves nothing about room for seven.
            for (int i = 0; i < 20; i++)
            {
                limiter.TryAcquire(out var one);
                _time.Advance(TimeSpan.FromMilliseconds(10));
                limiter.Complete(one, ConcurrencySignal.Success, null);
            }
            Assert.Equal(afterFast, limiter.Limit);
        }

        [Fact]
        public async Task A_waiter_gets_the_slot_a_finished_call_frees_and_a_cancelled_one_gives_up()
        {
            var limiter = new AdaptiveConcurrency("lb1", initial: 1, ceiling: 1, _time);
            Assert.True(limiter.TryAcquire(out var first));
            using var stop = new CancellationTokenSource();
            var cancelled = limiter.AcquireAsync(stop.Token);
            var waiting = limiter.AcquireAsync(CancellationToken.None);
            Assert.False(waiting.IsCompleted);

            stop.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
            limiter.Complete(first, ConcurrencySignal.Success, null);

            var second = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(1, limiter.InFlight);
            limiter.Complete(second, ConcurrencySignal.Success, null);
            Assert.Equal(0, limiter.InFlight);
        }

        /// <summary>Through the transport: what each answer tells the limit, and the verbose line when it moves.</summary>
        [Fact]
        public async Task The_transport_cuts_on_429_and_503_not_on_other_errors_and_says_so_once_per_change()
        {
            var status = HttpStatusCode.OK;
            var arrived = 0;
            var release = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var handler = new FakeHandler(_time, async (_, _, _) =>
            {
                Interlocked.Increment(ref arrived);
                await release.Task;
                return new HttpResponseMessage(status) { Content = new StringContent("{}") };
            });
            var http = ResilientHttp.Create(new TransportOptions
            {
                TimeProvider = _time, MaxRetries = 0, InitialConcurrency = 4, MaxConcurrency = 16, BreakerMinimumThroughput = 1000,
            }, handler);
            var log = new RecordingLog();
            Task<HttpResponseMessage> Send() => http.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, "http://lb.test/x"), RequestKind.Read, log, CancellationToken.None);

            // Four at once fill the limit; a fifth waits for a slot and never reaches the server meanwhile.
            var round = Enumerable.Range(0, 5).Select(_ => Send()).ToList();
            await Until(() => Volatile.Read(ref arrived) == 4);
            Assert.Equal(4, http.Concurrency!.InFlight);
            release.SetResult(true);
            foreach (var r in round) (await r).Dispose();
            // Answers with the limit in use raise it (by one each until the first pushback); which ones did depends on the order they came back.
            int grown = http.Concurrency!.Limit;
            Assert.InRange(grown, 5, 8);
            // (Answers that came back together may write their lines in either order.)
            Assert.Contains($"Concurrency for this endpoint now {grown}.", log.Verbose);

            int linesBefore = log.Verbose.Count;
            status = HttpStatusCode.NotFound;
            (await Send()).Dispose();
            Assert.Equal(grown, http.Concurrency!.Limit);
            Assert.Equal(linesBefore, log.Verbose.Count);

            status = HttpStatusCode.TooManyRequests;
            (await Send()).Dispose();
            int cut = (int)Math.Floor(grown * AdaptiveConcurrency.DecreaseFactor + 1e-9);
            Assert.Equal(cut, http.Concurrency!.Limit);
            // The round after a cut shows whether it helped: all refused, so it cuts again at the end of that round.
            status = HttpStatusCode.ServiceUnavailable;
            for (int i = 0; i < Math.Max(AdaptiveConcurrency.MinProbationAnswers, cut); i++) (await Send()).Dispose();
            int cutAgain = (int)Math.Floor(cut * AdaptiveConcurrency.DecreaseFactor + 1e-9);
            Assert.Equal(cutAgain, http.Concurrency!.Limit);
            Assert.Equal(new[] { $"Concurrency for this endpoint now {cut}.", $"Concurrency for this endpoint now {cutAgain}." }, log.Verbose.Skip(linesBefore));
        }

        private static async Task Until(Func<bool> condition)
        {
            for (int i = 0; i < 2000 && !condition(); i++) await Task.Delay(1);
            Assert.True(condition(), "the condition was not reached");
        }
    }
}
