using System;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.AwsElbV2
{
    /// <summary>What a user types against ELBv2, through the real PowerShell engine and the emulator.</summary>
    public sealed class AwsElbV2EngineTests : IAsyncLifetime
    {
        private AwsElbV2Emulator _emulator = null!;
        private PsSession _ps = null!;

        public async Task InitializeAsync()
        {
            _emulator = await AwsElbV2Emulator.StartAsync(new AwsElbV2EmulatorOptions { MaxPageSize = 3 });
            _ps = new PsSession();
        }

        public async Task DisposeAsync()
        {
            _ps.Dispose();
            await _emulator.DisposeAsync();
        }

        private static string Credential =>
            $"([pscredential]::new('{AwsElbV2Emulator.DefaultAccessKeyId}', [Net.NetworkCredential]::new('', '{AwsElbV2Emulator.DefaultSecretKey}').SecurePassword))";

        private void Connect(string extra = "")
        {
            var r = _ps.Run($"Connect-LbController -Provider AwsElbV2 -Region us-east-1 -Endpoint '{_emulator.Endpoint}' -Credential {Credential} {extra} | Out-Null");
            Assert.False(r.HadErrors, r.ToString());
        }

        [Fact]
        public void Lists_target_groups_across_pages()
        {
            foreach (var name in new[] { "api", "billing", "cache", "docs", "edge", "files", "gateway" }) _emulator.AddTargetGroup(name);
            _emulator.AddTarget("cache", "i-0cccccccccccccccc", 80);
            _emulator.AddTarget("cache", "i-0ccccccccccccccc2", 80, state: "unhealthy");
            Connect();
            _emulator.ClearRequests();

            var r = _ps.Run("Get-LbPool");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(new[] { "api", "billing", "cache", "docs", "edge", "files", "gateway" }, r.Output.Select(o => (string)o.Properties["Pool"].Value).OrderBy(n => n));
            var cache = r.Output.Single(o => (string)o.Properties["Pool"].Value == "cache");
            Assert.Equal(2, cache.Properties["MemberCount"].Value);
            Assert.Equal(1, cache.Properties["HealthyCount"].Value);
            Assert.Contains("arn:aws:elasticloadbalancing:us-east-1:", (string)cache.Properties["Description"].Value);
            // Seven groups at three per page: three pages, the second and third asked for by marker.
            var pages = _emulator.Requests.Where(q => q.Action == "DescribeTargetGroups").ToList();
            Assert.Equal(3, pages.Count);
            Assert.Equal(2, pages.Count(q => q.Parameters.ContainsKey("Marker")));
            Assert.Equal(7, _emulator.Count("DescribeTargetHealth"));
        }

        [Fact]
        public void Reads_target_health_into_state_health_and_reason()
        {
            _emulator.AddTargetGroup("web");
            _emulator.AddTarget("web", "i-0000000000000000a", 80, state: "healthy");
            _emulator.AddTarget("web", "i-0000000000000000b", 80, state: "initial", reason: "Elb.RegistrationInProgress");
            _emulator.AddTarget("web", "i-0000000000000000c", 80);
            _emulator.SetTargetHealth("web", "i-0000000000000000c", 80, "unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [502]");
            _emulator.AddTarget("web", "i-0000000000000000d", 80);
            _emulator.SetTargetHealth("web", "i-0000000000000000d", 80, "draining", "Target.DeregistrationInProgress", "Target deregistration is in progress");
            _emulator.AddTarget("web", "i-0000000000000000e", 80, state: "unused", reason: "Target.InvalidState");
            _emulator.AddTarget("web", "i-0000000000000000f", 80, state: "unavailable", reason: "Target.HealthCheckDisabled");
            _emulator.AddTarget("web", "i-00000000000000010", 80, state: "unhealthy.draining", reason: "Target.DeregistrationInProgress");
            Connect();

            var r = _ps.Run("Get-LbPoolMember -Pool web");

            Assert.False(r.HadErrors, r.ToString());
            (LbMemberState, LbMemberHealth, string) Of(string id)
            {
                var o = r.Output.Single(m => (string)m.Properties["Address"].Value == id);
                return (Enum.Parse<LbMemberState>((string)o.Properties["State"].Value), Enum.Parse<LbMemberHealth>((string)o.Properties["Health"].Value), (string)o.Properties["HealthReason"].Value);
            }
            Assert.Equal((LbMemberState.Enabled, LbMemberHealth.Healthy, "healthy"), Of("i-0000000000000000a"));
            Assert.Equal((LbMemberState.Enabled, LbMemberHealth.Checking, "Elb.RegistrationInProgress"), Of("i-0000000000000000b"));
            Assert.Equal((LbMemberState.Enabled, LbMemberHealth.Unhealthy, "Target.ResponseCodeMismatch: Health checks failed with these codes: [502]"), Of("i-0000000000000000c"));
            Assert.Equal((LbMemberState.Draining, LbMemberHealth.Unknown, "Target.DeregistrationInProgress: Target deregistration is in progress"), Of("i-0000000000000000d"));
            Assert.Equal((LbMemberState.Enabled, LbMemberHealth.Unknown, "Target.InvalidState"), Of("i-0000000000000000e"));
            Assert.Equal((LbMemberState.Enabled, LbMemberHealth.Unknown, "Target.HealthCheckDisabled"), Of("i-0000000000000000f"));
            Assert.Equal((LbMemberState.Draining, LbMemberHealth.Unhealthy, "Target.DeregistrationInProgress"), Of("i-00000000000000010"));
            var first = r.Output.Single(m => (string)m.Properties["Address"].Value == "i-0000000000000000a");
            Assert.Equal("i-0000000000000000a", first.Properties["VendorId"].Value);
            Assert.Equal("i-0000000000000000a:80", first.Properties["Name"].Value);
        }

        [Fact]
        public void A_pool_given_by_ARN_lists_the_same_members_under_the_group_name()
        {
            string arn = _emulator.AddTargetGroup("web", targetType: "ip");
            _emulator.AddTarget("web", "10.0.1.15", 8080, availabilityZone: "us-east-1a");
            Connect();

            var r = _ps.Run($"Get-LbPoolMember -Pool '{arn}'");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal("web", r.Prop<string>(0, "Pool"));
            Assert.Equal("10.0.1.15", r.Prop<string>(0, "Address"));
            Assert.Equal(8080, r.Prop<int>(0, "Port"));
        }

        [Fact]
        public void Remove_with_Drain_deregisters_once_and_waits_until_the_target_is_gone()
        {
            _emulator.AddTargetGroup("web");
            _emulator.AddTarget("web", "i-0aaaaaaaaaaaaaaa1", 80);
            _emulator.AddTarget("web", "i-0aaaaaaaaaaaaaaa2", 80);
            _emulator.DrainingReads = 2; // two health reads see it draining, the third finds it gone
            Connect();

            var r = _ps.Run("Remove-LbPoolMember -Pool web -Address i-0aaaaaaaaaaaaaaa1 -Port 80 -Drain -DrainTimeoutSec 60 -Confirm:$false -Verbose");

            Assert.False(r.HadErrors, r.ToString());
            Assert.DoesNotContain(_emulator.GetTargets("web"), t => t.Id == "i-0aaaaaaaaaaaaaaa1");
            Assert.Equal(1, _emulator.Count("DeregisterTargets"));
            Assert.Contains(r.Progress, p => p.StatusDescription.StartsWith("Draining;", StringComparison.Ordinal) && p.RecordType == ProgressRecordType.Processing);
            Assert.Contains(r.Progress, p => p.RecordType == ProgressRecordType.Completed);
            Assert.Contains(r.Verbose, v => v.Contains("left the pool"));
            Assert.Contains(r.Verbose, v => v.StartsWith("Removed member i-0aaaaaaaaaaaaaaa1:80", StringComparison.Ordinal));
        }

        [Fact]
        public void Set_Draining_points_at_Remove_Drain_and_a_drain_that_outlasts_the_timeout_says_the_target_is_still_draining()
        {
            _emulator.AddTargetGroup("web", deregistrationDelay: TimeSpan.FromSeconds(300));
            _emulator.AddTarget("web", "i-0aaaaaaaaaaaaaaa1", 80);
            Connect();

            // Set -State Draining is refused in the one word, pointing at what does drain on ELBv2: Remove -Drain.
            var set = Assert.Single(_ps.Run("Set-LbPoolMember -Pool web -Address i-0aaaaaaaaaaaaaaa1 -Port 80 -State Draining -Confirm:$false").Errors);
            Assert.StartsWith("LbNotSupported,", set.FullyQualifiedErrorId);
            Assert.StartsWith("Draining is not supported by AwsElbV2. Use Remove-LbPoolMember -Drain instead", set.Exception.Message);
            Assert.Contains("deregistration delay", set.Exception.Message);
            Assert.Equal("healthy", _emulator.GetTargets("web").Single().State);

            var r = _ps.Run("Remove-LbPoolMember -Pool web -Address i-0aaaaaaaaaaaaaaa1 -Port 80 -Drain -DrainTimeoutSec 1 -Confirm:$false");

            var error = Assert.Single(r.Errors);
            Assert.StartsWith("LbDrainTimeout,", error.FullyQualifiedErrorId);
            Assert.Contains("still Draining", error.Exception.Message);
            Assert.Contains("It was removed", error.Exception.Message);
            Assert.Equal("draining", _emulator.GetTargets("web").Single().State);
        }

        [Fact]
        public void Remove_without_Drain_returns_at_once_while_ELBv2_drains_the_target()
        {
            _emulator.AddTargetGroup("web", deregistrationDelay: TimeSpan.FromSeconds(300));
            _emulator.AddTarget("web", "i-0aaaaaaaaaaaaaaa1", 80);
            Connect();

            var r = _ps.Run("Remove-LbPoolMember -Pool web -Address i-0aaaaaaaaaaaaaaa1 -Port 80 -Confirm:$false -Verbose; Get-LbPoolMember -Pool web");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Contains(r.Verbose, v => v.Contains("deregistration delay"));
            Assert.Equal(LbMemberState.Draining, r.Prop<LbMemberState>(0, "State"));
        }

        [Fact]
        public void Setting_a_draining_target_Enabled_registers_it_again()
        {
            _emulator.AddTargetGroup("web", deregistrationDelay: TimeSpan.FromSeconds(300));
            _emulator.AddTarget("web", "i-0aaaaaaaaaaaaaaa1", 80);
            _emulator.SetTargetHealth("web", "i-0aaaaaaaaaaaaaaa1", 80, "draining", "Target.DeregistrationInProgress");
            Connect();

            var r = _ps.Run("Set-LbPoolMember -Pool web -Address i-0aaaaaaaaaaaaaaa1 -Port 80 -State Enabled -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(LbMemberState.Enabled, r.Prop<LbMemberState>(0, "State"));
            Assert.Equal(1, _emulator.Count("RegisterTargets"));
            // Registered again: out of draining, through "initial" (one health read) to "healthy".
            Assert.Contains(_emulator.GetTargets("web").Single().State, new[] { "initial", "healthy" });
        }

        [Fact]
        public void Survives_throttling_with_backoff_and_says_so()
        {
            _emulator.AddTargetGroup("web");
            _emulator.AddTarget("web", "i-0aaaaaaaaaaaaaaa1", 80);
            Connect();
            _emulator.Throttle(2, "DescribeTargetHealth");

            var r = _ps.Run("Get-LbPoolMember -Pool web -Verbose");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Single(r.Output);
            Assert.Equal(2, _emulator.Count("DescribeTargetHealth", status: 400));
            Assert.Equal(2, r.Verbose.Count(v => v.StartsWith("Retrying", StringComparison.Ordinal) && v.Contains("(throttled)")));
        }

        [Fact]
        public void Throttling_that_outlasts_the_retries_is_an_LbThrottled_error()
        {
            _emulator.AddTargetGroup("web");
            Connect("-MaxRetries 1");
            _emulator.Throttle(5, "DescribeTargetGroups", code: "ThrottlingException");

            var r = _ps.Run("Get-LbPoolMember -Pool web");

            var error = Assert.Single(r.Errors);
            Assert.StartsWith("LbThrottled,", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.LimitsExceeded, error.CategoryInfo.Category);
            Assert.Equal(2, _emulator.Count("DescribeTargetGroups", status: 400));
        }

        [Fact]
        public void Service_unavailable_bursts_are_retried()
        {
            _emulator.AddTargetGroup("web");
            _emulator.AddTarget("web", "i-0aaaaaaaaaaaaaaa1", 80);
            Connect();
            _emulator.Faults.Enqueue(FaultKind.ServiceUnavailable, 2);

            var r = _ps.Run("Get-LbPoolMember -Pool web");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Single(r.Output);
        }

        [Fact]
        public void Targets_ELBv2_refuses_are_per_item_errors_that_name_them()
        {
            _emulator.AddTargetGroup("ips", targetType: "ip");
            _emulator.AddTargetGroup("web");
            _emulator.MarkInstanceNotRunning("i-0dddddddddddddddd");
            // A stopped instance is retried as if just launched, for up to -TimeoutSec: keep that short here.
            Connect("-TimeoutSec 3");

            var r = _ps.Run("Add-LbPoolMember -Pool ips -Address i-0aaaaaaaaaaaaaaa1 -Port 80; Add-LbPoolMember -Pool web -Address i-0dddddddddddddddd -Port 80; " +
                            "Add-LbPoolMember -Pool ips -Address 10.0.0.5 -Port 80 -PassThru");

            Assert.Equal(2, r.Errors.Count);
            Assert.All(r.Errors, e => Assert.StartsWith("LbInvalidAddress,", e.FullyQualifiedErrorId));
            Assert.Contains("i-0aaaaaaaaaaaaaaa1", r.Errors[0].Exception.Message);
            Assert.Contains("not in a running state", r.Errors[1].Exception.Message);
            Assert.Equal("10.0.0.5", r.Prop<string>(0, "Address")); // the pipeline went on
        }

        [Fact]
        public void Weight_and_a_non_Enabled_state_on_add_are_refused_before_anything_is_sent()
        {
            _emulator.AddTargetGroup("web");
            Connect();
            _emulator.ClearRequests();

            var r = _ps.Run("Add-LbPoolMember -Pool web -Address i-0aaaaaaaaaaaaaaa1 -Port 80 -Weight 5; Add-LbPoolMember -Pool web -Address i-0aaaaaaaaaaaaaaa1 -Port 80 -State Disabled");

            Assert.Equal(2, r.Errors.Count);
            Assert.All(r.Errors, e => Assert.StartsWith("LbNotSupported,", e.FullyQualifiedErrorId));
            Assert.Equal(0, _emulator.Count("RegisterTargets"));
        }

        [Theory]
        [InlineData("-Endpoint 'http://127.0.0.1:9/'", "-Region")]
        [InlineData("", "-Region")]
        [InlineData("-Region nowhere -Endpoint 'http://127.0.0.1:9/'", "'nowhere'")]
        public void A_missing_or_invalid_region_is_a_terminating_error_naming_it(string arguments, string named)
        {
            var r = _ps.Run($"Connect-LbController -Provider AwsElbV2 {arguments} -Credential {Credential}");

            var error = Assert.Single(r.AllErrors);
            Assert.StartsWith("LbRegionRequired,", error.FullyQualifiedErrorId);
            Assert.Contains(named, error.Exception.Message);
            Assert.Empty(r.Output);
        }

        [Fact]
        public void The_connection_shows_the_region_the_endpoint_and_the_capabilities()
        {
            Connect();
            var r = _ps.Run("Get-LbConnection -Default");
            Assert.Equal("us-east-1", r.Prop<string>(0, "Region"));
            Assert.Equal(_emulator.Endpoint, r.Prop<Uri>(0, "Endpoint"));
            Assert.Equal("2015-12-01", r.Prop<string>(0, "ApiVersion"));
            Assert.Equal(LbCapabilities.BatchChanges | LbCapabilities.DrainOnRemove, r.Prop<LbCapabilities>(0, "Capabilities"));
        }
    }
}
