using System;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.VendorFidelity
{
    /// <summary>
    /// NITRO as a device behaves: a member bound through a named server is unbound by that name (an unbind
    /// by IP finds no such binding), and a drain waits on the member's real connections
    /// (stat/servicegroupmember, cursrvrconnections).
    /// </summary>
    public sealed class NetScalerFidelityTests : IAsyncLifetime
    {
        private NetScalerEmulator _ns = null!;
        private PsSession _ps = null!;

        public async Task InitializeAsync()
        {
            _ns = await NetScalerEmulator.StartAsync();
            _ns.AddServiceGroup("web");
            _ns.AddServer("web1", "10.0.0.1");
            _ns.AddMember("web", "web1", 80);
            _ns.AddMember("web", "10.0.0.2", 80);
            _ps = new PsSession();
            var r = _ps.Run($"Connect-LbController -Provider NetScaler -Endpoint '{_ns.BaseAddress}' -Credential ([pscredential]::new('nsroot', [Net.NetworkCredential]::new('', 'nsroot').SecurePassword)) | Out-Null");
            Assert.False(r.HadErrors, r.ToString());
        }

        public async Task DisposeAsync()
        {
            _ps.Dispose();
            await _ns.DisposeAsync();
        }

        [Fact]
        public void A_member_bound_through_a_named_server_is_unbound_by_that_name()
        {
            var r = _ps.Run("Remove-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -Confirm:$false");

            Assert.False(r.HadErrors, r.ToString());
            Assert.DoesNotContain(_ns.GetMembers("web"), m => m.ServerName == "web1");
            Assert.Contains(_ns.Requests, q => q.Method == "DELETE" && q.Path.Contains("args=servername:web1,port:80", StringComparison.Ordinal));
        }

        [Fact]
        public void Remove_with_drain_waits_for_the_members_real_connections()
        {
            _ns.SetConnections("web", "10.0.0.2", 80, 3);
            int reads = 0;
            _ns.BeforeRequest = q =>
            {
                // The connections finish after a few statistics reads.
                if (q.Path.Value!.Contains("/stat/servicegroupmember", StringComparison.Ordinal) && ++reads == 3) _ns.SetConnections("web", "10.0.0.2", 80, 0);
            };

            var r = _ps.Run("Remove-LbPoolMember -Pool web -Address 10.0.0.2 -Port 80 -Drain -DrainTimeoutSec 60 -Confirm:$false -Verbose");

            Assert.False(r.HadErrors, r.ToString());
            Assert.True(reads >= 3, "the drain did not wait on the connection counts");
            Assert.Contains(r.Verbose, v => v.Contains("no active connections"));
            Assert.DoesNotContain(_ns.GetMembers("web"), m => m.Ip == "10.0.0.2");
        }
    }
}
