using System;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.Tests.F5;

namespace LoadBalancerTools.Tests.Hardening
{
    /// <summary>
    /// Version and statistics are detail: a BIG-IP (or a proxy in front of it) that answers 404 for
    /// tm/sys/version or a pool's members/stats still connects, lists members (health Unknown) and changes them.
    /// </summary>
    public sealed class OptionalVendorCallTests : IAsyncLifetime
    {
        private F5Emulator _f5 = null!;
        private PsSession _ps = null!;

        public async Task InitializeAsync()
        {
            _f5 = await F5Emulator.StartAsync();
            _f5.AddPool("web");
            _ps = new PsSession();
        }

        public async Task DisposeAsync()
        {
            _ps.Dispose();
            await _f5.DisposeAsync();
        }

        [Fact]
        public void A_missing_version_endpoint_does_not_fail_the_connection()
        {
            _f5.Faults.Enqueue(FaultKind.NotFound, 1, q => q.Path.Value!.EndsWith("/tm/sys/version", StringComparison.Ordinal));

            var r = _ps.Run(F5Support.ConnectScript(_f5) + " -Verbose");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Contains(r.Verbose, v => v.Contains("version is unavailable"));
            Assert.Equal(1, _f5.Faults.CountOf(FaultKind.NotFound));
        }

        [Fact]
        public void Missing_member_statistics_leave_health_unknown_and_changes_still_work()
        {
            var c = _ps.Run(F5Support.ConnectScript(_f5) + " | Out-Null");
            Assert.False(c.HadErrors, c.ToString());
            var stats404 = (Func<Microsoft.AspNetCore.Http.HttpRequest, bool>)(q => q.Path.Value!.EndsWith("/members/stats", StringComparison.Ordinal));
            _f5.Faults.Enqueue(FaultKind.NotFound, 100, stats404);

            var add = _ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.5 -Port 80 -PassThru -Verbose");
            var list = _ps.Run("Get-LbPoolMember -Pool web -Verbose");
            var set = _ps.Run("Set-LbPoolMember -Pool web -Address 10.0.0.5 -Port 80 -State Disabled -PassThru");

            Assert.False(add.HadErrors, add.ToString());
            Assert.False(list.HadErrors, list.ToString());
            Assert.False(set.HadErrors, set.ToString());
            Assert.Contains(list.Verbose, v => v.Contains("statistics of pool 'web' are unavailable"));
            Assert.Equal(LbMemberHealth.Unknown, list.Prop<LbMemberHealth>(0, "Health"));
            Assert.Equal("user-disabled", _f5.GetMembers("web").Single().Session);
            Assert.True(_f5.Faults.CountOf(FaultKind.NotFound) >= 2, "the statistics were never asked for");
        }
    }
}
