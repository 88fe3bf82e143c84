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
    /// The member options people set: applied where the vendor has them, read back, drift for Sync-LbPool,
    /// and refused with LbNotSupported (nothing sent) where the vendor lacks them.
    /// </summary>
    public sealed class MemberOptionTests
    {
        [Fact]
        public async Task NGINX_Plus_takes_its_options_on_add_reads_them_back_and_syncs_them()
        {
            await using var nginx = await NginxPlusEmulator.StartAsync();
            nginx.AddUpstream("web");
            using var ps = new PsSession();
            Assert.False(ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{nginx.ApiBase}' | Out-Null").HadErrors);

            var add = ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -MaxConnections 5 -SlowStartSec 10 -MaxFails 3 -FailTimeoutSec 20 -Route r1 -Backup -PassThru");
            Assert.False(add.HadErrors, add.ToString());
            var s = nginx.GetServers("web").Single();
            Assert.Equal((5, "10s", "r1", true), (s.MaxConns, s.SlowStart, s.Route, s.Backup));
            var options = add.Prop<LbMemberOptions>(0, "Options");
            Assert.Equal(5, options.MaxConnections);
            Assert.Equal(20, options.FailTimeoutSec);

            // Drift: a desired MaxConnections that differs is an update; a second run changes nothing.
            var sync = ps.Run("Sync-LbPool -Pool web -Member @(@{ Address = '10.0.0.1'; Port = 80; MaxConnections = 9 }) -PassThru");
            Assert.False(sync.HadErrors, sync.ToString());
            var change = (LbChange)Assert.Single(sync.Output).BaseObject;
            Assert.Equal(LbChangeAction.Update, change.Action);
            Assert.Contains("MaxConnections 9 (now 5)", change.Detail);
            Assert.Equal(9, nginx.GetServers("web").Single().MaxConns);
            var again = ps.Run("Sync-LbPool -Pool web -Member @(@{ Address = '10.0.0.1'; Port = 80; MaxConnections = 9 }) -PassThru");
            Assert.False(again.HadErrors, again.ToString());
            Assert.Empty(again.Output);
        }

        [Fact]
        public async Task F5_takes_priority_group_connection_limit_and_monitor()
        {
            await using var f5 = await F5Emulator.StartAsync();
            f5.AddPool("web");
            using var ps = new PsSession();
            Assert.False(ps.Run(F5Support.ConnectScript(f5) + " | Out-Null").HadErrors);

            var r = ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -PriorityGroup 2 -ConnectionLimit 100 -Monitor /Common/http; " +
                           "Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -ConnectionLimit 50 -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            var m = f5.GetMembers("web").Single();
            Assert.Equal((2, 50, "/Common/http"), (m.PriorityGroup, m.ConnectionLimit, m.MonitorRule));
            Assert.Equal(50, r.Prop<LbMemberOptions>(0, "Options").ConnectionLimit);
        }

        [Fact]
        public async Task An_option_the_vendor_lacks_is_refused_before_anything_is_sent()
        {
            await using var nginx = await NginxPlusEmulator.StartAsync();
            nginx.AddUpstream("web");
            using var ps = new PsSession();
            Assert.False(ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{nginx.ApiBase}' | Out-Null").HadErrors);
            nginx.ClearRequests();

            var add = ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -PriorityGroup 2 -Tls");
            var sync = ps.Run("Sync-LbPool -Pool web -Member @(@{ Address = '10.0.0.1'; Port = 80; ConnectionLimit = 3 })");

            var e = Assert.Single(add.Errors);
            Assert.StartsWith("LbNotSupported,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains("PriorityGroup, Tls are not supported by this provider (NginxPlus)", e.Exception.Message);
            Assert.Contains(sync.AllErrors, x => x.FullyQualifiedErrorId.StartsWith("LbNotSupported,", StringComparison.Ordinal) && x.Exception.Message.Contains("row 1"));
            Assert.Equal(0, nginx.Requests.Count(q => q.Method != "GET"));
        }

        [Fact]
        public async Task A_negative_count_is_refused_naming_it()
        {
            await using var nginx = await NginxPlusEmulator.StartAsync();
            nginx.AddUpstream("web");
            using var ps = new PsSession();
            Assert.False(ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{nginx.ApiBase}' | Out-Null").HadErrors);

            var r = ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -MaxConnections -1");

            var e = Assert.Single(r.Errors);
            Assert.StartsWith("LbInvalidOption,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains("MaxConnections -1", e.Exception.Message);
            Assert.Empty(nginx.GetServers("web"));
        }
    }
}
