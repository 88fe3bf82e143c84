using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.Tests.Caddy
{
    /// <summary>The module against a real Caddy with real backends and traffic.</summary>
    [Trait("Category", "RealLoadBalancer")]
    public sealed class CaddyTests : IAsyncLifetime
    {
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
        private readonly List<BackendServer> _backends = new List<BackendServer>();
        private CaddyProcess _caddy = null!;

        public async Task InitializeAsync()
        {
            for (int i = 1; i <= 3; i++) _backends.Add(await BackendServer.StartAsync("b" + i));
            _caddy = await CaddyProcess.StartAsync(new CaddyOptions().AddUpstream(_backends[0]).AddUpstream(_backends[1]));
        }

        public async Task DisposeAsync()
        {
            await _caddy.DisposeAsync();
            foreach (var b in _backends) await b.DisposeAsync();
        }

        private PsSession Connect()
        {
            var ps = new PsSession();
            var r = ps.Run($"Connect-LbController -Provider Caddy -Endpoint '{_caddy.AdminUrl}' | Out-Null");
            Assert.False(r.HadErrors, r.ToString());
            return ps;
        }

        [Fact]
        public async Task Concurrent_writers_never_lose_an_update_nor_duplicate_one()
        {
            // Two sessions add twelve upstreams each at the same time, three of them the same; every write carries If-Match.
            var sessions = new[] { Connect(), Connect() };
            try
            {
                var runs = sessions.Select((ps, n) => Task.Run(() => ps.Run(
                    $"foreach ($i in 1..12) {{ Add-LbPoolMember -Pool web -Address 127.0.0.{n + 10} -Port (9000 + $i) -Verbose }}; " +
                    "foreach ($i in 1..3) { Add-LbPoolMember -Pool web -Address 127.0.0.99 -Port (9000 + $i) }"))).ToArray();
                var results = await Task.WhenAll(runs);
                Assert.All(results, r => Assert.False(r.HadErrors, r.ToString()));

                var members = sessions[0].Run("Get-LbPoolMember -Pool web").Output
                    .Select(o => $"{o.Properties["Address"].Value}:{o.Properties["Port"].Value}").ToList();
                Assert.Equal(2 + 24 + 3, members.Count);
                Assert.Equal(members.Count, members.Distinct().Count());
            }
            finally
            {
                foreach (var s in sessions) s.Dispose();
            }
        }

        [Fact]
        public async Task An_add_that_races_another_writer_is_re_decided_on_the_new_config()
        {
            // A proxy in front of the admin API lets another writer append an upstream just before our
            // add reaches Caddy: our If-Match is then stale, real Caddy answers 412, and the add must
            // re-read and go through without losing the other writer's upstream.
            await using var proxy = await AdminRaceProxy.StartAsync(_caddy.AdminUrl, "/id/web/upstreams", "{\"dial\":\"127.0.0.250:1\"}");
            using var ps = new PsSession();
            var r = ps.Run($"Connect-LbController -Provider Caddy -Endpoint '{proxy.Url}' | Out-Null; Add-LbPoolMember -Pool web -Address 127.0.0.7 -Port 7001 -Verbose");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(1, proxy.Interventions);
            Assert.Contains(r.Verbose, v => v.Contains("config changed") && v.Contains("reading it again"));
            var members = ps.Run("Get-LbPoolMember -Pool web").Output.Select(o => $"{o.Properties["Address"].Value}:{o.Properties["Port"].Value}").ToList();
            Assert.Single(members, m => m == "127.0.0.7:7001");
            Assert.Single(members, m => m == "127.0.0.250:1");
        }

        [Fact]
        public void Remediation_by_disabling_is_refused_up_front_and_removal_is_offered()
        {
            using var ps = Connect();
            var r = ps.Run("Invoke-LbHealthRemediation -Pool web -Action Disable");
            var e = Assert.Single(r.AllErrors);
            Assert.StartsWith("LbNotSupported,", e.FullyQualifiedErrorId);
            Assert.Contains("use -Action Remove", e.Exception.Message);

            var ok = ps.Run("Invoke-LbHealthRemediation -Pool web -Action Remove -Path /healthz");
            Assert.False(ok.HadErrors, ok.ToString());
        }

        [Fact]
        public void State_changes_are_refused_as_not_supported_and_nothing_changes()
        {
            using var ps = Connect();
            var r = ps.Run($"Get-LbPoolMember -Pool web -Port {_backends[0].Port} | Set-LbPoolMember -State Disabled");
            var e = Assert.Single(r.Errors);
            Assert.StartsWith("LbNotSupported,", e.FullyQualifiedErrorId);
            Assert.StartsWith("Disabled is not supported by Caddy. ", e.Exception.Message);
            Assert.Contains("Remove-LbPoolMember takes one out of rotation", e.Exception.Message);
            Assert.Equal(2, ps.Run("Get-LbPoolMember -Pool web").Output.Count);

            var drain = ps.Run($"Get-LbPoolMember -Pool web -Port {_backends[0].Port} | Set-LbPoolMember -State Draining");
            Assert.StartsWith("Draining is not supported by Caddy. ", Assert.Single(drain.Errors).Exception.Message);
        }

        [Fact]
        public async Task An_added_upstream_serves_and_a_removed_one_gets_nothing_afterwards_with_no_failed_request()
        {
            using var ps = Connect();
            await using var traffic = TrafficGenerator.Start(_caddy.FrontendUrl, requestsPerSecond: 80, concurrency: 4);

            var r = ps.Run($"Add-LbPoolMember -Pool web -Address 127.0.0.1 -Port {_backends[2].Port}");
            Assert.False(r.HadErrors, r.ToString());
            await _caddy.WaitUntilAsync(() => Task.FromResult(_backends[2].RequestCount >= 5), Patience, "the added upstream to serve");

            r = ps.Run($"Remove-LbPoolMember -Pool web -Address 127.0.0.1 -Port {_backends[1].Port} -Drain -Confirm:$false");
            Assert.False(r.HadErrors, r.ToString());
            // A request already in flight when the config changed may still finish there; count from a moment after.
            long settle = traffic.Snapshot().Total;
            await _caddy.WaitUntilAsync(() => Task.FromResult(traffic.Snapshot().Total >= settle + 10), Patience, "10 requests after the removal");
            long countAtRemoval = _backends[1].RequestCount;
            long total = traffic.Snapshot().Total;
            await _caddy.WaitUntilAsync(() => Task.FromResult(traffic.Snapshot().Total >= total + 100), Patience, "100 more requests");
            var stats = await traffic.StopAsync();

            Assert.True(stats.Failures == 0, stats.ToString());
            Assert.Equal(countAtRemoval, _backends[1].RequestCount);
        }
    }
}
