using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Http;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Tests.Http;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.Sync
{
    /// <summary>The per-endpoint pause: one server's Retry-After holds back every worker on that endpoint, on a fake clock.</summary>
    public class EndpointGateTests
    {
        private static readonly DateTimeOffset Start = new DateTimeOffset(2026, 1, 1, 3, 0, 0, TimeSpan.Zero);
        private readonly FakeTimeProvider _time = new FakeTimeProvider(Start);

        /// <summary>Each request's path names its worker; every attempt is recorded with its fake time.</summary>
        private readonly ConcurrentQueue<(string Worker, DateTimeOffset At)> _attempts = new ConcurrentQueue<(string, DateTimeOffset)>();

        private ResilientHttp Create(Func<string, int, HttpResponseMessage> respond, TimeSpan? attemptTimeout = null)
        {
            var perWorker = new ConcurrentDictionary<string, int>();
            var handler = new FakeHandler(_time, (_, request, _) =>
            {
                string worker = request.RequestUri!.AbsolutePath.Trim('/');
                _attempts.Enqueue((worker, _time.GetUtcNow()));
                return Task.FromResult(respond(worker, perWorker.AddOrUpdate(worker, 1, (_, n) => n + 1)));
            });
            return ResilientHttp.Create(new TransportOptions
            {
                TimeProvider = _time,
                MaxRetries = 5,
                BaseDelay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(30),
                TotalTimeout = TimeSpan.FromMinutes(10),
                AttemptTimeout = attemptTimeout ?? TimeSpan.FromSeconds(10),
                BreakerMinimumThroughput = 100,
            }, handler);
        }

        private static HttpResponseMessage Status(HttpStatusCode code, int? retryAfter = null)
        {
            var response = new HttpResponseMessage(code) { Content = new StringContent("{}") };
            if (retryAfter.HasValue) response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(retryAfter.Value));
            return response;
        }

        private Task<HttpResponseMessage> Send(ResilientHttp http, string worker, HttpMethod? method = null, RequestKind kind = RequestKind.Read) =>
            http.SendAsync(() => new HttpRequestMessage(method ?? HttpMethod.Get, "http://lb.test/" + worker), kind, NullLog.Instance, CancellationToken.None);

        /// <summary>Lets work that is not waiting on the fake clock run (real yields, bounded), until the condition holds.</summary>
        private static async Task Until(Func<bool> condition)
        {
            for (int i = 0; i < 500 && !condition(); i++) await Task.Delay(1);
            Assert.True(condition(), "the condition was not reached");
        }

        private async Task DriveAll(params Task[] tasks)
        {
            for (int i = 0; i < 10_000 && !tasks.All(t => t.IsCompleted); i++)
            {
                await Task.Delay(1);
                if (!tasks.All(t => t.IsCompleted)) _time.Advance(TimeSpan.FromMilliseconds(100));
            }
            await Task.WhenAll(tasks);
        }

        private DateTimeOffset FirstAttempt(string worker) => _attempts.Where(a => a.Worker == worker).Select(a => a.At).First();

        [Fact]
        public async Task After_one_429_with_Retry_After_5_the_other_workers_next_attempts_wait_until_then()
        {
            var http = Create((worker, n) => worker == "a" && n == 1 ? Status((HttpStatusCode)429, retryAfter: 5) : Status(HttpStatusCode.OK));

            var a = Send(http, "a");
            await Until(() => http.Gate.PausedUntil != null);
            Assert.Equal(Start.AddSeconds(5), http.Gate.PausedUntil);

            // Two more workers start one second later, while the endpoint is paused.
            _time.Advance(TimeSpan.FromSeconds(1));
            var b = Send(http, "b");
            var c = Send(http, "c", HttpMethod.Post, RequestKind.NonIdempotentWrite);
            await Task.Delay(20);
            Assert.DoesNotContain(_attempts, x => x.Worker != "a");

            await DriveAll(a, b, c);

            foreach (var t in new[] { a, b, c }) Assert.Equal(HttpStatusCode.OK, (await t).StatusCode);
            // Neither waited its own way: both sent nothing until the server's time was up, then went at once.
            Assert.InRange(FirstAttempt("b"), Start.AddSeconds(5), Start.AddSeconds(5.1));
            Assert.InRange(FirstAttempt("c"), Start.AddSeconds(5), Start.AddSeconds(5.1));
            Assert.Single(_attempts, x => x.Worker == "b");
            Assert.Single(_attempts, x => x.Worker == "c");
            // The throttled worker retried exactly then too.
            Assert.Equal(2, _attempts.Count(x => x.Worker == "a"));
            Assert.InRange(_attempts.Where(x => x.Worker == "a").Last().At, Start.AddSeconds(5), Start.AddSeconds(5.1));
        }

        [Fact]
        public async Task A_pause_longer_than_the_attempt_timeout_delays_a_create_without_making_it_ambiguous()
        {
            var http = Create((worker, n) => worker == "a" && n == 1 ? Status((HttpStatusCode)429, retryAfter: 60) : Status(HttpStatusCode.Created),
                attemptTimeout: TimeSpan.FromSeconds(10));

            var a = Send(http, "a");
            await Until(() => http.Gate.PausedUntil != null);
            var create = Send(http, "post", HttpMethod.Post, RequestKind.NonIdempotentWrite);
            await DriveAll(a, create);

            // The wait at the gate is not part of an attempt: the create was sent once, after the pause, and succeeded.
            Assert.Equal(HttpStatusCode.Created, (await create).StatusCode);
            Assert.Single(_attempts, x => x.Worker == "post");
            Assert.InRange(FirstAttempt("post"), Start.AddSeconds(60), Start.AddSeconds(60.1));
        }

        [Fact]
        public async Task A_503_without_Retry_After_pauses_nobody_else()
        {
            var http = Create((worker, n) => worker == "a" && n == 1 ? Status(HttpStatusCode.ServiceUnavailable) : Status(HttpStatusCode.OK));

            var a = Send(http, "a");
            await Until(() => _attempts.Count == 1);
            var b = Send(http, "b");
            await Until(() => _attempts.Any(x => x.Worker == "b"));

            Assert.Null(http.Gate.PausedUntil);
            Assert.Equal(Start, FirstAttempt("b"));
            await DriveAll(a, b);
        }

        [Fact]
        public async Task A_later_pause_extends_the_gate_and_an_earlier_one_does_not_shorten_it()
        {
            var gate = new EndpointGate(_time);
            Assert.True(gate.PauseFor(TimeSpan.FromSeconds(5)));
            Assert.False(gate.PauseFor(TimeSpan.FromSeconds(2)));
            Assert.Equal(Start.AddSeconds(5), gate.PausedUntil);

            var waiting = gate.WaitAsync(CancellationToken.None);
            _time.Advance(TimeSpan.FromSeconds(4));
            Assert.True(gate.PauseFor(TimeSpan.FromSeconds(3))); // now until 7 s
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20);
            Assert.False(waiting.IsCompleted, "the waiter left at the first deadline although the pause was extended");
            _time.Advance(TimeSpan.FromSeconds(2));
            await waiting.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Null(gate.PausedUntil);
            Assert.True(gate.WaitAsync(CancellationToken.None).IsCompleted);
        }
    }
}
