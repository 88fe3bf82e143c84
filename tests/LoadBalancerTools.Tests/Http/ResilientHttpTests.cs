using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Logging;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.Http
{
    public class ResilientHttpTests
    {
        private static readonly Uri Url = new Uri("http://lb.test/api/9/http/upstreams");
        private readonly FakeTimeProvider _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 3, 0, 0, TimeSpan.Zero));

        private ResilientHttp Create(FakeHandler handler, int maxRetries = 5, int breakerThroughput = 100) => ResilientHttp.Create(new TransportOptions
        {
            TimeProvider = _time,
            JitterSeed = 42, // the same jittered waits every run
            MaxRetries = maxRetries,
            BaseDelay = TimeSpan.FromSeconds(1),
            MaxDelay = TimeSpan.FromSeconds(30),
            TotalTimeout = TimeSpan.FromMinutes(10),
            AttemptTimeout = TimeSpan.FromSeconds(10),
            BreakerMinimumThroughput = breakerThroughput,
            BreakerBreakDuration = TimeSpan.FromSeconds(15),
        }, handler);

        private static Task<HttpResponseMessage> Status(HttpStatusCode code, int? retryAfter = null)
        {
            var response = new HttpResponseMessage(code) { Content = new StringContent("{}") };
            if (retryAfter.HasValue) response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(retryAfter.Value));
            return Task.FromResult(response);
        }

        private Task<HttpResponseMessage> Send(ResilientHttp http, HttpMethod method, RequestKind kind, ILbLog? log = null) =>
            http.SendAsync(() => new HttpRequestMessage(method, Url), kind, log ?? NullLog.Instance, CancellationToken.None);

        [Fact]
        public async Task Retries_503_with_exponential_backoff_until_success()
        {
            var handler = new FakeHandler(_time, (n, _, _) => Status(n < 4 ? HttpStatusCode.ServiceUnavailable : HttpStatusCode.OK));
            var http = Create(handler);

            var response = await _time.Drive(Send(http, HttpMethod.Get, RequestKind.Read), TimeSpan.FromMilliseconds(50));

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var gaps = handler.Attempts.Zip(handler.Attempts.Skip(1), (a, b) => (b - a).TotalSeconds).ToArray();
            Assert.Equal(3, gaps.Length);
            // Jittered exponential backoff (seeded): each wait is positive and bounded, the waits grow overall
            // (base 1 s, ×2 per retry), and the same seed gives the same waits.
            Assert.All(gaps, g => Assert.InRange(g, 0.05, 30));
            Assert.True(gaps[2] > gaps[0], $"backoff did not grow: {string.Join(", ", gaps)}");
            var again = new FakeHandler(_time, (n, _, _) => Status(n < 4 ? HttpStatusCode.ServiceUnavailable : HttpStatusCode.OK));
            await _time.Drive(Send(Create(again), HttpMethod.Get, RequestKind.Read), TimeSpan.FromMilliseconds(50));
            var gapsAgain = again.Attempts.Zip(again.Attempts.Skip(1), (a, b) => (b - a).TotalSeconds).ToArray();
            Assert.Equal(gaps.Select(g => Math.Round(g, 1)), gapsAgain.Select(g => Math.Round(g, 1)));
        }

        [Fact]
        public async Task Honours_Retry_After_exactly()
        {
            var handler = new FakeHandler(_time, (n, _, _) => n == 1 ? Status((HttpStatusCode)429, retryAfter: 7) : Status(HttpStatusCode.OK));
            var http = Create(handler);

            await _time.Drive(Send(http, HttpMethod.Get, RequestKind.Read), TimeSpan.FromMilliseconds(100));

            Assert.Equal(2, handler.Attempts.Count);
            Assert.InRange((handler.Attempts[1] - handler.Attempts[0]).TotalSeconds, 7.0, 7.1);
        }

        [Fact]
        public async Task Gives_up_after_MaxRetries_and_returns_the_last_response()
        {
            var handler = new FakeHandler(_time, (_, _, _) => Status(HttpStatusCode.BadGateway));
            var http = Create(handler, maxRetries: 3);

            var response = await _time.Drive(Send(http, HttpMethod.Get, RequestKind.Read), TimeSpan.FromMilliseconds(100));

            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            Assert.Equal(4, handler.Attempts.Count);
        }

        [Fact]
        public async Task A_create_is_not_resent_after_an_ambiguous_500_or_a_dropped_connection()
        {
            var on500 = new FakeHandler(_time, (_, _, _) => Status(HttpStatusCode.InternalServerError));
            var r = await _time.Drive(Send(Create(on500), HttpMethod.Post, RequestKind.NonIdempotentWrite), TimeSpan.FromMilliseconds(100));
            Assert.Equal(HttpStatusCode.InternalServerError, r.StatusCode);
            Assert.Single(on500.Attempts);

            var dropped = new FakeHandler(_time, (_, _, _) => throw new HttpRequestException("The response ended prematurely."));
            var ex = await Assert.ThrowsAsync<LbException>(() => _time.Drive(Send(Create(dropped), HttpMethod.Post, RequestKind.NonIdempotentWrite), TimeSpan.FromMilliseconds(100)));
            Assert.True(ex.Ambiguous);
            Assert.Single(dropped.Attempts);
        }

        [Fact]
        public async Task A_create_is_resent_after_429_because_the_server_did_not_act()
        {
            var handler = new FakeHandler(_time, (n, _, _) => n == 1 ? Status((HttpStatusCode)429, retryAfter: 1) : Status(HttpStatusCode.Created));
            var response = await _time.Drive(Send(Create(handler), HttpMethod.Post, RequestKind.NonIdempotentWrite), TimeSpan.FromMilliseconds(100));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal(2, handler.Attempts.Count);
        }

        [Fact]
        public async Task A_hung_attempt_times_out_and_is_retried()
        {
            var handler = new FakeHandler(_time, async (n, _, ct) =>
            {
                if (n == 1) await Task.Delay(Timeout.Infinite, ct);
                return new HttpResponseMessage(HttpStatusCode.OK);
            });
            var response = await _time.Drive(Send(Create(handler), HttpMethod.Get, RequestKind.Read), TimeSpan.FromMilliseconds(500));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(2, handler.Attempts.Count);
            Assert.True(handler.Attempts[1] - handler.Attempts[0] >= TimeSpan.FromSeconds(10), "the second attempt came before the attempt timeout");
        }

        [Fact]
        public async Task The_circuit_opens_after_repeated_failures_fails_fast_then_recovers()
        {
            bool healthy = false;
            var handler = new FakeHandler(_time, (_, _, _) => Status(healthy ? HttpStatusCode.OK : HttpStatusCode.ServiceUnavailable));
            var http = Create(handler, maxRetries: 0, breakerThroughput: 4);

            for (int i = 0; i < 4; i++) (await Send(http, HttpMethod.Get, RequestKind.Read)).Dispose();
            int callsWhenOpened = handler.Attempts.Count;

            var ex = await Assert.ThrowsAsync<LbException>(() => Send(http, HttpMethod.Get, RequestKind.Read));
            Assert.Equal(LbErrorKind.Transient, ex.Kind);
            Assert.Contains("circuit breaker", ex.Message);
            Assert.Equal(callsWhenOpened, handler.Attempts.Count); // failed fast: nothing was sent

            healthy = true;
            _time.Advance(TimeSpan.FromSeconds(16));
            var response = await Send(http, HttpMethod.Get, RequestKind.Read);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        [Fact]
        public async Task Each_retry_is_reported_as_a_verbose_line()
        {
            var log = new RecordingLog();
            var handler = new FakeHandler(_time, (n, _, _) => Status(n == 1 ? (HttpStatusCode)429 : HttpStatusCode.OK, retryAfter: n == 1 ? 2 : null));
            await _time.Drive(Send(Create(handler), HttpMethod.Get, RequestKind.Read, log), TimeSpan.FromMilliseconds(100));
            var line = Assert.Single(log.Verbose);
            Assert.Contains("Retrying GET http://lb.test/api/9/http/upstreams", line);
            Assert.Contains("429", line);
        }

        [Fact]
        public void Retry_After_as_a_date_is_measured_on_the_injected_clock()
        {
            var response = new HttpResponseMessage((HttpStatusCode)503);
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(_time.GetUtcNow().AddSeconds(42));
            Assert.Equal(TimeSpan.FromSeconds(42), ResilientHttp.RetryAfter(response, _time));
        }
    }
}
