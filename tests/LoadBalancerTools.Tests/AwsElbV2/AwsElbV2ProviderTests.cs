using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;
using LoadBalancerTools.Providers;
using LoadBalancerTools.Providers.AwsElbV2;
using LoadBalancerTools.Services;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.Tests.Http;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.AwsElbV2
{
    /// <summary>
    /// The provider in C#, for what no cmdlet reaches yet (the batch interface Sync-LbPool will use) and
    /// for drains measured on a fake clock shared by the emulator, the transport and the pool service.
    /// </summary>
    public sealed class AwsElbV2ProviderTests : IAsyncLifetime
    {
        private AwsElbV2Emulator _emulator = null!;

        public async Task InitializeAsync() => _emulator = await AwsElbV2Emulator.StartAsync();

        public async Task DisposeAsync() => await _emulator.DisposeAsync();

        private async Task<AwsElbV2Provider> ConnectAsync(TransportOptions? transport = null)
        {
            var settings = new LbConnectionSettings(AwsElbV2Provider.Name, _emulator.Endpoint)
            {
                Region = _emulator.Region,
                Credential = new NetworkCredential(AwsElbV2Emulator.DefaultAccessKeyId, AwsElbV2Emulator.DefaultSecretKey),
                // Short backoff: these tests count calls, they do not measure waits.
                Transport = transport ?? new TransportOptions { BaseDelay = TimeSpan.FromMilliseconds(5), MaxDelay = TimeSpan.FromMilliseconds(20) },
            };
            var provider = new AwsElbV2Provider(settings);
            await provider.ConnectAsync(NullLog.Instance, CancellationToken.None);
            return provider;
        }

        private static IReadOnlyList<LbMemberSpec> Instances(int count) =>
            Enumerable.Range(1, count).Select(i => new LbMemberSpec($"i-{i:x17}", 80)).ToList();

        [Fact]
        public async Task Registers_100_targets_in_a_few_calls()
        {
            _emulator.AddTargetGroup("web");
            using var provider = await ConnectAsync();
            provider.MaxBatchSize = 40;
            var log = new RecordingLog();

            var results = await provider.AddMembersAsync("web", Instances(100), log, CancellationToken.None);

            Assert.All(results, r => Assert.True(r.Succeeded, r.ToString()));
            Assert.Equal(100, results.Count);
            Assert.Equal(100, _emulator.GetTargets("web").Count);
            Assert.Equal(3, _emulator.Count("RegisterTargets")); // 40 + 40 + 20
            Assert.Contains(log.ProgressLog, p => p.Completed);
        }

        [Fact]
        public async Task Registers_in_batches_through_throttling()
        {
            _emulator.AddTargetGroup("web");
            using var provider = await ConnectAsync();
            _emulator.Throttle(2, "RegisterTargets");

            var results = await provider.AddMembersAsync("web", Instances(100), NullLog.Instance, CancellationToken.None);

            Assert.All(results, r => Assert.True(r.Succeeded, r.ToString()));
            Assert.Equal(100, _emulator.GetTargets("web").Count);
            Assert.Equal(2, _emulator.Count("RegisterTargets", status: 400));
            Assert.Equal(1, _emulator.Count("RegisterTargets", status: 200));
        }

        [Fact]
        public async Task One_refused_target_fails_alone_and_the_rest_are_registered()
        {
            _emulator.AddTargetGroup("web");
            _emulator.MarkInstanceNotRunning("i-00000000000000005");
            using var provider = await ConnectAsync();
            provider.MaxBatchSize = 10;

            var results = await provider.AddMembersAsync("web", Instances(20), NullLog.Instance, CancellationToken.None);

            var failed = Assert.Single(results, r => !r.Succeeded);
            Assert.Equal("i-00000000000000005", failed.Address);
            Assert.Equal(LbErrorKind.InvalidInput, failed.Error!.Kind);
            Assert.Equal(19, _emulator.GetTargets("web").Count);
            // The refused batch was split into singles; the clean batch went in one call.
            Assert.Equal(1 + 10 + 1, _emulator.Count("RegisterTargets"));
        }

        [Fact]
        public async Task A_missing_group_fails_the_whole_batch()
        {
            using var provider = await ConnectAsync();
            var ex = await Assert.ThrowsAsync<LbException>(() => provider.AddMembersAsync("nope", Instances(3), NullLog.Instance, CancellationToken.None));
            Assert.Equal(ErrorIds.PoolNotFound, ex.ErrorId);
            Assert.Contains("'nope'", ex.Message);
        }

        [Fact]
        public async Task Deregisters_100_targets_in_a_few_calls()
        {
            _emulator.AddTargetGroup("web", deregistrationDelay: TimeSpan.Zero);
            using var provider = await ConnectAsync();
            await provider.AddMembersAsync("web", Instances(100), NullLog.Instance, CancellationToken.None);
            var members = await provider.GetMembersAsync("web", NullLog.Instance, CancellationToken.None);

            var results = await provider.RemoveMembersAsync("web", members, NullLog.Instance, CancellationToken.None);

            Assert.All(results, r => Assert.True(r.Succeeded, r.ToString()));
            Assert.Empty(_emulator.GetTargets("web"));
            Assert.Equal(1, _emulator.Count("DeregisterTargets"));
        }

        [Fact]
        public async Task A_group_deleted_and_recreated_under_its_name_is_found_again()
        {
            _emulator.AddTargetGroup("web");
            _emulator.AddTarget("web", "i-0aaaaaaaaaaaaaaa1", 80);
            using var provider = await ConnectAsync();
            await provider.GetMembersAsync("web", NullLog.Instance, CancellationToken.None);
            _emulator.DeleteTargetGroup("web");
            _emulator.AddTargetGroup("web");
            _emulator.AddTarget("web", "i-0bbbbbbbbbbbbbbb1", 80);
            _emulator.ClearRequests();

            var members = await provider.GetMembersAsync("web", NullLog.Instance, CancellationToken.None);

            Assert.Equal("i-0bbbbbbbbbbbbbbb1", Assert.Single(members).Address);
            // The cached ARN answered TargetGroupNotFound once; the name was looked up again once.
            Assert.Equal(1, _emulator.Count("DescribeTargetHealth", status: 400));
            Assert.Equal(1, _emulator.Count("DescribeTargetGroups"));
        }

        [Fact]
        public async Task Drain_of_a_300_second_deregistration_delay_runs_on_a_fake_clock()
        {
            var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
            await _emulator.DisposeAsync();
            _emulator = await AwsElbV2Emulator.StartAsync(new AwsElbV2EmulatorOptions { TimeProvider = time });
            _emulator.AddTargetGroup("web", deregistrationDelay: TimeSpan.FromSeconds(300));
            _emulator.AddTarget("web", "i-0aaaaaaaaaaaaaaa1", 80);
            // Generous per-call timeouts: fake time moves while a real HTTP call is in flight.
            using var provider = await ConnectAsync(new TransportOptions { TimeProvider = time, AttemptTimeout = TimeSpan.FromDays(1), TotalTimeout = TimeSpan.FromDays(1) });
            var connection = ConnectionService.Register(provider, _emulator.Endpoint, _emulator.Region);
            var pools = new PoolService(time) { DrainPollInterval = TimeSpan.FromSeconds(10) };
            var log = new RecordingLog();

            var outcome = await time.Drive(pools.RemoveMemberAsync(connection, "web", "i-0aaaaaaaaaaaaaaa1", 80, drain: true, TimeSpan.FromMinutes(10), log, CancellationToken.None),
                TimeSpan.FromMilliseconds(500));

            Assert.Equal(ChangeOutcome.Changed, outcome);
            Assert.Empty(_emulator.GetTargets("web"));
            Assert.Equal(1, _emulator.Count("DeregisterTargets"));
            // It waited for the delay (on the fake clock), polling at the drain interval rather than hammering the API.
            Assert.InRange(_emulator.Count("DescribeTargetHealth"), 30, 45);
            Assert.Contains(log.ProgressLog, p => p.Status.StartsWith("Draining", StringComparison.Ordinal) && p.Percent >= 40);
            Assert.Contains(log.ProgressLog, p => p.Completed);
        }

        [Theory]
        [InlineData("eu-west-1", "https://elasticloadbalancing.eu-west-1.amazonaws.com/")]
        [InlineData("us-gov-west-1", "https://elasticloadbalancing.us-gov-west-1.amazonaws.com/")]
        [InlineData("cn-north-1", "https://elasticloadbalancing.cn-north-1.amazonaws.com.cn/")]
        [InlineData(" EU-Central-1 ", "https://elasticloadbalancing.eu-central-1.amazonaws.com/")]
        public void The_default_endpoint_comes_from_the_region(string region, string expected)
        {
            Assert.Equal(new Uri(expected), ProviderRegistry.ResolveEndpoint("AwsElbV2", null, region));
        }

        [Fact]
        public void An_endpoint_override_wins_but_the_region_is_still_required()
        {
            var custom = new Uri("https://vpce-0123.elasticloadbalancing.eu-west-1.vpce.amazonaws.com/");
            Assert.Equal(custom, ProviderRegistry.ResolveEndpoint("awselbv2", custom, "eu-west-1"));
            var ex = Assert.Throws<LbException>(() => ProviderRegistry.ResolveEndpoint("AwsElbV2", custom, null));
            Assert.Equal(ErrorIds.RegionRequired, ex.ErrorId);
            Assert.Equal(custom, ProviderRegistry.ResolveEndpoint("NginxPlus", custom, null));
            Assert.Null(ProviderRegistry.ResolveEndpoint("NginxPlus", null, null));
        }

        [Theory]
        [InlineData("healthy", LbMemberState.Enabled, LbMemberHealth.Healthy)]
        [InlineData("unhealthy", LbMemberState.Enabled, LbMemberHealth.Unhealthy)]
        [InlineData("initial", LbMemberState.Enabled, LbMemberHealth.Checking)]
        [InlineData("draining", LbMemberState.Draining, LbMemberHealth.Unknown)]
        [InlineData("unhealthy.draining", LbMemberState.Draining, LbMemberHealth.Unhealthy)]
        [InlineData("unused", LbMemberState.Enabled, LbMemberHealth.Unknown)]
        [InlineData("unavailable", LbMemberState.Enabled, LbMemberHealth.Unknown)]
        [InlineData("something-new", LbMemberState.Enabled, LbMemberHealth.Unknown)]
        public void Target_states_map_to_the_model(string state, LbMemberState expectedState, LbMemberHealth expectedHealth)
        {
            Assert.Equal((expectedState, expectedHealth), TargetHealthMap.Map(state));
        }

        [Theory]
        [InlineData("TargetGroupNotFound", LbErrorKind.NotFound, ErrorIds.PoolNotFound)]
        [InlineData("InvalidTarget", LbErrorKind.InvalidInput, ErrorIds.InvalidAddress)]
        [InlineData("TooManyTargets", LbErrorKind.Rejected, ErrorIds.Rejected)]
        [InlineData("TooManyRegistrationsForTargetId", LbErrorKind.Rejected, ErrorIds.Rejected)]
        [InlineData("Throttling", LbErrorKind.Throttled, ErrorIds.Throttled)]
        [InlineData("SignatureDoesNotMatch", LbErrorKind.AuthenticationFailed, ErrorIds.AuthenticationFailed)]
        [InlineData("ValidationError", LbErrorKind.InvalidInput, ErrorIds.Rejected)]
        public void Error_codes_map_to_kinds(string code, LbErrorKind kind, string errorId)
        {
            string body = $"<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>m</Message></Error><RequestId>r</RequestId></ErrorResponse>";
            var ex = ElbV2Errors.Map("RegisterTargets", code == "SignatureDoesNotMatch" ? 403 : 400, body, "web");
            Assert.Equal(kind, ex.Kind);
            Assert.Equal(errorId, ex.ErrorId);
            Assert.Equal(code, ex.VendorCode);
        }

        [Fact]
        public void An_access_denied_write_is_read_only_and_a_read_is_an_authentication_failure()
        {
            const string body = "<ErrorResponse><Error><Code>AccessDenied</Code><Message>User: arn:aws:iam::1:user/x is not authorized</Message></Error></ErrorResponse>";
            Assert.Equal(LbErrorKind.ReadOnly, ElbV2Errors.Map("RegisterTargets", 403, body, "web").Kind);
            Assert.Equal(LbErrorKind.AuthenticationFailed, ElbV2Errors.Map("DescribeTargetHealth", 403, body, "web").Kind);
        }

        [Fact]
        public void A_non_XML_error_body_falls_back_to_the_status()
        {
            var ex = ElbV2Errors.Map("DescribeTargetHealth", 502, "<html>bad gateway</html", "web");
            Assert.Equal(LbErrorKind.Transient, ex.Kind);
        }
    }
}
