using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Http;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Providers.AwsElbV2;
using LoadBalancerTools.Tests.Http;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.AwsElbV2
{
    /// <summary>TransportOptions.IsThrottled: a 400 that is throttling is retried with jittered backoff; other 400s are not.</summary>
    public sealed class ThrottleHookTests
    {
        private static readonly Uri Url = new Uri("http://elb.test/");
        private readonly FakeTimeProvider _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 3, 0, 0, TimeSpan.Zero));

        private static Task<HttpResponseMessage> Xml(HttpStatusCode status, string? code) => Task.FromResult(new HttpResponseMessage(status)
        {
            Content = new StringContent(code == null
                ? "<DescribeTargetHealthResponse/>"
                : $"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>"),
        });

        private ResilientHttp Create(FakeHandler handler, bool hook = true) => ResilientHttp.Create(new TransportOptions
        {
            TimeProvider = _time,
            MaxRetries = 5,
            BaseDelay = TimeSpan.FromSeconds(1),
            MaxDelay = TimeSpan.FromSeconds(30),
            TotalTimeout = TimeSpan.FromMinutes(10),
            AttemptTimeout = TimeSpan.FromSeconds(10),
            BreakerMinimumThroughput = 100,
            IsThrottled = hook ? ElbV2Errors.IsThrottled : null,
        }, handler);

        private Task<HttpResponseMessage> Send(ResilientHttp http, RequestKind kind, ILbLog? log = null) =>
            _time.Drive(http.SendAsync(() => new HttpRequestMessage(HttpMethod.Post, Url), kind, log ?? NullLog.Instance, CancellationToken.None), TimeSpan.FromMilliseconds(50));

        [Theory]
        [InlineData("Throttling")]
        [InlineData("ThrottlingException")]
        [InlineData("RequestLimitExceeded")]
        public async Task A_throttling_400_is_retried_with_backoff(string code)
        {
            var handler = new FakeHandler(_time, (n, _, _) => n <= 3 ? Xml(HttpStatusCode.BadRequest, code) : Xml(HttpStatusCode.OK, null));
            var log = new RecordingLog();

            var response = await Send(Create(handler), RequestKind.Read, log);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(4, handler.Attempts.Count);
            // Backed off each time (no Retry-After to follow), within the configured cap.
            var gaps = handler.Attempts.Zip(handler.Attempts.Skip(1), (a, b) => (b - a).TotalSeconds).ToArray();
            Assert.All(gaps, g => Assert.InRange(g, 0.05, 30));
            Assert.All(log.Verbose, v => Assert.Contains("(throttled)", v));
        }

        [Fact]
        public async Task A_throttled_write_is_retried_too_because_the_server_did_not_act()
        {
            var handler = new FakeHandler(_time, (n, _, _) => n == 1 ? Xml(HttpStatusCode.BadRequest, "Throttling") : Xml(HttpStatusCode.OK, null));
            var response = await Send(Create(handler), RequestKind.NonIdempotentWrite);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(2, handler.Attempts.Count);
        }

        [Fact]
        public async Task Other_400s_are_not_retried()
        {
            var handler = new FakeHandler(_time, (_, _, _) => Xml(HttpStatusCode.BadRequest, "ValidationError"));
            var response = await Send(Create(handler), RequestKind.Read);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Single(handler.Attempts);
        }

        [Fact]
        public async Task Without_the_hook_a_throttling_400_is_final()
        {
            var handler = new FakeHandler(_time, (_, _, _) => Xml(HttpStatusCode.BadRequest, "Throttling"));
            var response = await Send(Create(handler, hook: false), RequestKind.Read);
            Assert.Single(handler.Attempts);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
    }
}
