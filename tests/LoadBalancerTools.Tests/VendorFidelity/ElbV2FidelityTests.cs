using System;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.VendorFidelity
{
    /// <summary>
    /// ELBv2 as AWS documents it: an IP target re-registers only after its deregistration delay; an IP target
    /// outside the VPC (AvailabilityZone "all") is deregistered only with its zone; an instance launched
    /// moments ago is "not in a running state" for a while.
    /// </summary>
    public sealed class ElbV2FidelityTests : IAsyncLifetime
    {
        private AwsElbV2Emulator _aws = null!;
        private PsSession _ps = null!;

        public async Task InitializeAsync()
        {
            _aws = await AwsElbV2Emulator.StartAsync();
            _ps = new PsSession();
        }

        public async Task DisposeAsync()
        {
            _ps.Dispose();
            await _aws.DisposeAsync();
        }

        private void Connect(string extra = "")
        {
            string credential = $"([pscredential]::new('{AwsElbV2Emulator.DefaultAccessKeyId}', [Net.NetworkCredential]::new('', '{AwsElbV2Emulator.DefaultSecretKey}').SecurePassword))";
            var r = _ps.Run($"Connect-LbController -Provider AwsElbV2 -Region us-east-1 -Endpoint '{_aws.Endpoint}' -Credential {credential} {extra} | Out-Null");
            Assert.False(r.HadErrors, r.ToString());
        }

        [Fact]
        public void Enabling_a_draining_IP_target_waits_for_its_drain_to_end_then_registers_it()
        {
            _aws.AddTargetGroup("web", targetType: "ip");
            _aws.AddTarget("web", "10.0.0.8", 80);
            _aws.DrainingReads = 3;
            Connect();
            Assert.False(_ps.Run("Remove-LbPoolMember -Pool web -Address 10.0.0.8 -Port 80 -Confirm:$false").HadErrors);

            var r = _ps.Run("Set-LbPoolMember -Pool web -Address 10.0.0.8 -Port 80 -State Enabled -Verbose");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Contains(r.Verbose, v => v.Contains("only after its deregistration delay"));
            Assert.Contains(r.Progress, p => p.Activity.Contains("finish draining"));
            var target = Assert.Single(_aws.GetTargets("web"));
            Assert.DoesNotContain("draining", target.State);
        }

        [Fact]
        public void A_draining_IP_target_still_draining_at_the_timeout_is_a_conflict_naming_the_delay()
        {
            _aws.AddTargetGroup("web", targetType: "ip");
            _aws.AddTarget("web", "10.0.0.8", 80);
            _aws.DrainingReads = null; // the 300 s delay on the clock
            Connect("-TimeoutSec 2");
            Assert.False(_ps.Run("Remove-LbPoolMember -Pool web -Address 10.0.0.8 -Port 80 -Confirm:$false").HadErrors);

            var r = _ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.8 -Port 80");

            var e = Assert.Single(r.Errors);
            Assert.StartsWith("LbConflict,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains("deregistration delay", e.Exception.Message);
            Assert.Equal(0, _aws.Count("RegisterTargets"));
        }

        [Fact]
        public void An_IP_target_outside_the_VPC_is_deregistered_with_its_zone()
        {
            _aws.AddTargetGroup("web", targetType: "ip", inUse: false);
            _aws.AddTarget("web", "192.168.50.9", 80, availabilityZone: "all");
            Connect();

            var member = (LbPoolMember)_ps.Run("Get-LbPoolMember -Pool web").Output.Single().BaseObject;
            Assert.Equal("all", member.AvailabilityZone);
            var r = _ps.Run("Remove-LbPoolMember -Pool web -Address 192.168.50.9 -Port 80 -Confirm:$false");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Empty(_aws.GetTargets("web"));
        }

        [Fact]
        public void An_instance_launched_moments_ago_is_registered_once_it_runs()
        {
            _aws.AddTargetGroup("web");
            _aws.LaunchInstance("i-0aaaaaaaaaaaaaaa9", refusals: 2);
            Connect();

            var r = _ps.Run("Add-LbPoolMember -Pool web -Address i-0aaaaaaaaaaaaaaa9 -Port 80 -Verbose");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(2, r.Verbose.Count(v => v.Contains("not running yet")));
            Assert.Single(_aws.GetTargets("web"), t => t.Id == "i-0aaaaaaaaaaaaaaa9");
        }

        [Fact]
        public void A_Lambda_target_has_no_port_and_is_deregistered_without_one()
        {
            const string function = "arn:aws:lambda:us-east-1:123456789012:function:resize";
            _aws.AddTargetGroup("fn", targetType: "lambda");
            _aws.AddTarget("fn", function);
            Connect();

            var list = _ps.Run("Get-LbPoolMember -Pool fn");
            Assert.False(list.HadErrors, list.ToString());
            Assert.Equal(0, list.Prop<int>(0, "Port"));

            var r = _ps.Run("Get-LbPoolMember -Pool fn | Remove-LbPoolMember -Confirm:$false");

            Assert.False(r.HadErrors, r.ToString());
            // Deregistered (ELBv2 drains it for the group's delay): the call without a Port was taken.
            Assert.Equal("draining", Assert.Single(_aws.GetTargets("fn")).State);
        }
    }
}
