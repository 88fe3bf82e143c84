using System;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.Tests.F5;

namespace LoadBalancerTools.Tests.VendorFidelity
{
    /// <summary>
    /// Pools that AS3 tenants and iApps create live in folders (/Tenant/Application/pool, with "subPath"):
    /// -Partition lists them, they are named by full path, and that name addresses them (~Tenant~Application~pool).
    /// </summary>
    public sealed class F5FolderTests : IAsyncLifetime
    {
        private F5Emulator _f5 = null!;
        private PsSession _ps = null!;

        public async Task InitializeAsync()
        {
            _f5 = await F5Emulator.StartAsync();
            _f5.AddPartition("Tenant");
            _f5.AddPool("web_pool", partition: "Tenant", subPath: "App");
            _f5.AddMember("/Tenant/App/web_pool", "10.0.0.1", 80, partition: "Tenant");
            _ps = new PsSession();
            Assert.False(_ps.Run(F5Support.ConnectScript(_f5, partition: "Tenant") + " | Out-Null").HadErrors);
        }

        public async Task DisposeAsync()
        {
            _ps.Dispose();
            await _f5.DisposeAsync();
        }

        [Fact]
        public void A_pool_in_a_folder_is_listed_by_full_path_and_that_name_reads_and_changes_it()
        {
            var pools = _ps.Run("Get-LbPool");
            Assert.False(pools.HadErrors, pools.ToString());
            Assert.Equal("/Tenant/App/web_pool", pools.Prop<string>(0, "Pool"));

            var r = _ps.Run("Get-LbPool | Get-LbPoolMember | Set-LbPoolMember -State Disabled -PassThru; Add-LbPoolMember -Pool /Tenant/App/web_pool -Address 10.0.0.2 -Port 80");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal("user-disabled", _f5.GetMembers("/Tenant/App/web_pool").Single(m => m.Address == "10.0.0.1").Session);
            Assert.Contains(_f5.GetMembers("/Tenant/App/web_pool"), m => m.Address == "10.0.0.2");
            Assert.Contains(_f5.Requests, q => q.Path.Contains("/pool/~Tenant~App~web_pool/members", StringComparison.Ordinal));
        }
    }
}
