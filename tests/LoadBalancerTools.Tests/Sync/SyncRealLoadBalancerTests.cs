using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.Tests.Sync
{
    /// <summary>Sync-LbPool and Wait-LbPoolMember against real HAProxy 2.6 and Caddy 2.6 with real backends.</summary>
    [Trait("Category", "RealLoadBalancer")]
    public sealed class SyncRealLoadBalancerTests : IAsyncLifetime
    {
        private readonly List<BackendServer> _backends = new List<BackendServer>();

        public async Task InitializeAsync()
        {
            for (int i = 1; i <= 4; i++) _backends.Add(await BackendServer.StartAsync("b" + i));
        }

        public async Task DisposeAsync()
        {
            foreach (var b in _backends) await b.DisposeAsync();
        }

        private string Member(int i, string extra = "") => $"@{{ Address = '127.0.0.1'; Port = {_backends[i].Port}{extra} }}";

        private static PsResult Run(PsSession ps, string script)
        {
            var r = ps.Run(script);
            Assert.False(r.HadErrors, r.ToString());
            return r;
        }

        private static List<(int Port, LbMemberState State, int? Weight)> Members(PsSession ps, string pool) =>
            Run(ps, $"Get-LbPoolMember -Pool '{pool}'").Output.Select(o => (LbPoolMember)o.BaseObject)
                .Select(m => (m.Port, m.State, m.Weight)).OrderBy(m => m.Port).ToList();

        [Fact]
        public async Task HAProxy_converges_adds_reweights_drains_and_removes_then_the_new_members_become_healthy()
        {
            var options = new HaproxyOptions();
            options.AddBackend("web").AddServer(_backends[0]).AddServer(_backends[1]).WithHealthCheck();
            await using var haproxy = await HaproxyProcess.StartAsync(options);
            using var ps = new PsSession();
            Run(ps, $"Connect-LbController -Provider HAProxy -Endpoint '{haproxy.AdminEndpoint}' | Out-Null");
            string desired = $"$desired = @({Member(0, "; Weight = 5")}, {Member(2)}, {Member(3)})";

            var r = Run(ps, desired + "; Sync-LbPool -Pool web -Member $desired -Prune -PassThru");

            var changes = r.Output.Select(o => (LbChange)o.BaseObject).ToList();
            Assert.Equal(new[] { "Update", "Add", "Add", "Remove" }, changes.Select(c => c.Action.ToString()));
            Assert.All(changes, c => Assert.Equal(LbChangeStatus.Applied, c.Status));
            var members = Members(ps, "web");
            Assert.Equal(new[] { _backends[0].Port, _backends[2].Port, _backends[3].Port }.OrderBy(p => p), members.Select(m => m.Port));
            Assert.Equal(5, members.Single(m => m.Port == _backends[0].Port).Weight);

            var again = Run(ps, "Sync-LbPool -Pool web -Member $desired -Prune -PassThru");
            Assert.Empty(again.Output);

            // HAProxy's own checks pass for the added servers (they start with checks enabled).
            var healthy = Run(ps, "Get-LbPoolMember -Pool web | Wait-LbPoolMember -State Healthy -TimeoutSec 20 -PollIntervalSec 0.2");
            Assert.Equal(3, healthy.Output.Count);
        }

        [Fact]
        public async Task Caddy_converges_one_change_at_a_time_and_refuses_weights_before_changing_anything()
        {
            await using var caddy = await CaddyProcess.StartAsync(new CaddyOptions().AddUpstream(_backends[0]).AddUpstream(_backends[1]));
            using var ps = new PsSession();
            Run(ps, $"Connect-LbController -Provider Caddy -Endpoint '{caddy.AdminUrl}' | Out-Null");
            string pool = caddy.PoolId;

            var refused = ps.Run($"Sync-LbPool -Pool '{pool}' -Member @({Member(0, "; Weight = 3")}, {Member(2)}) -Prune");
            Assert.Contains(refused.AllErrors, e => e.FullyQualifiedErrorId.StartsWith("LbNotSupported,", StringComparison.Ordinal) && e.Exception.Message.Contains("Caddy"));
            Assert.Contains(refused.AllErrors, e => e.FullyQualifiedErrorId.StartsWith("LbSyncInvalidDesiredState,", StringComparison.Ordinal));
            Assert.Equal(new[] { _backends[0].Port, _backends[1].Port }.OrderBy(p => p), Members(ps, pool).Select(m => m.Port));

            string desired = $"$desired = @({Member(0)}, {Member(2)}, {Member(3)})";
            var r = Run(ps, desired + $"; Sync-LbPool -Pool '{pool}' -Member $desired -Prune -PassThru -Verbose");

            Assert.Contains(r.Verbose, v => v.Contains("up to 1 change(s) at a time"));
            Assert.Equal(3, r.Output.Count);
            Assert.Equal(new[] { _backends[0].Port, _backends[2].Port, _backends[3].Port }.OrderBy(p => p), Members(ps, pool).Select(m => m.Port));
            Assert.Empty(Run(ps, $"Sync-LbPool -Pool '{pool}' -Member $desired -Prune -PassThru").Output);
        }
    }
}
