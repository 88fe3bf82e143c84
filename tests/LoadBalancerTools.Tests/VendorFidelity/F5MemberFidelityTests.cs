using System;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.Tests.F5;

namespace LoadBalancerTools.Tests.VendorFidelity
{
    /// <summary>
    /// BIG-IP members that are not what their own record says: ephemeral members created from an FQDN node
    /// (read-only), and members of a node disabled at node level (Disabled, whatever the member says).
    /// </summary>
    public sealed class F5MemberFidelityTests : IAsyncLifetime
    {
        private F5Emulator _f5 = null!;
        private PsSession _ps = null!;

        public async Task InitializeAsync()
        {
            _f5 = await F5Emulator.StartAsync();
            _f5.AddPool("web");
            _f5.AddMember("web", "10.0.0.1", 80);
            _f5.AddMember("web", "10.0.0.5", 80, nodeName: "_auto_10.0.0.5", ephemeral: true);
            _ps = new PsSession();
            Assert.False(_ps.Run(F5Support.ConnectScript(_f5) + " | Out-Null").HadErrors);
        }

        public async Task DisposeAsync()
        {
            _ps.Dispose();
            await _f5.DisposeAsync();
        }

        [Fact]
        public void An_ephemeral_member_is_listed_read_only_and_never_changed()
        {
            var list = _ps.Run("Get-LbPoolMember -Pool web -Address 10.0.0.5");
            var m = (LbPoolMember)Assert.Single(list.Output).BaseObject;
            Assert.True(m.ReadOnly);
            Assert.Contains("FQDN", m.ReadOnlyReason);

            _f5.ClearRequests();
            var set = _ps.Run("Get-LbPoolMember -Pool web -Address 10.0.0.5 | Set-LbPoolMember -State Disabled");
            var e = Assert.Single(set.Errors);
            Assert.StartsWith("LbNotSupported,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Equal(0, _f5.CountRequests("PATCH", "/members/"));
        }

        [Fact]
        public void A_member_of_a_node_disabled_at_node_level_reads_Disabled()
        {
            _f5.SetNodeSession("10.0.0.1", "user-disabled");

            var r = _ps.Run("Get-LbPoolMember -Pool web -Address 10.0.0.1");

            Assert.False(r.HadErrors, r.ToString());
            var m = (LbPoolMember)Assert.Single(r.Output).BaseObject;
            Assert.Equal(LbMemberState.Disabled, m.State);
            Assert.Contains("node disabled", m.HealthReason);
        }

        [Fact]
        public void RemoveNode_deletes_a_node_no_other_pool_uses_and_keeps_a_shared_one()
        {
            _f5.AddPool("api");
            _f5.AddMember("api", "10.0.0.1", 8080);

            var shared = _ps.Run("Remove-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -RemoveNode -Confirm:$false -Verbose");
            Assert.False(shared.HadErrors, shared.ToString());
            Assert.True(_f5.HasNode("10.0.0.1"));
            Assert.Contains(shared.Verbose, v => v.StartsWith("Kept node /Common/10.0.0.1", StringComparison.Ordinal));

            var last = _ps.Run("Remove-LbPoolMember -Pool api -Address 10.0.0.1 -Port 8080 -RemoveNode -Confirm:$false -Verbose");
            Assert.False(last.HadErrors, last.ToString());
            Assert.False(_f5.HasNode("10.0.0.1"));
        }
    }
}
