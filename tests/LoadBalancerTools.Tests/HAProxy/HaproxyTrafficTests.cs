using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.Tests.HAProxy
{
    /// <summary>The module against a real HAProxy with real backends and real client traffic through it.</summary>
    [Trait("Category", "RealLoadBalancer")]
    public sealed class HaproxyTrafficTests : IAsyncLifetime
    {
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
        private readonly List<BackendServer> _backends = new List<BackendServer>();
        private HaproxyProcess _haproxy = null!;
        private PsSession _ps = null!;

        public async Task InitializeAsync()
        {
            for (int i = 1; i <= 3; i++) _backends.Add(await BackendServer.StartAsync("b" + i));
            var options = new HaproxyOptions();
            // Checks tolerant of a loaded test machine: a check answer late by a few hundred ms must not take every server down.
            options.AddBackend("web").AddServer(_backends[0]).AddServer(_backends[1]).WithHealthCheck(TimeSpan.FromMilliseconds(300), fall: 3);
            options.AddBackend("static", HaproxyBalance.StaticRoundRobin).AddServer("s1", _backends[0].Address);
            _haproxy = await HaproxyProcess.StartAsync(options);
            _ps = new PsSession();
            var r = _ps.Run($"Connect-LbController -Provider HAProxy -Endpoint '{_haproxy.AdminEndpoint}' | Out-Null");
            Assert.False(r.HadErrors, r.ToString());
        }

        public async Task DisposeAsync()
        {
            _ps?.Dispose();
            if (_haproxy != null) await _haproxy.DisposeAsync();
            foreach (var b in _backends) await b.DisposeAsync();
        }

        private Task WaitFor(Func<bool> condition, string what) =>
            _haproxy.WaitUntilAsync(() => Task.FromResult(condition()), Patience, what);

        [Fact]
        public void Without_a_health_check_a_draining_member_is_not_called_healthy()
        {
            // The stats page shows DRAIN where it would say "no check": that is the admin state, not a check's verdict.
            var r = _ps.Run("Set-LbPoolMember -Pool static -Name s1 -State Draining; " +
                            "(Get-LbPoolMember -Pool static -Name s1).Health.ToString(); (Get-LbPool -Name static).HealthyCount; " +
                            "Set-LbPoolMember -Pool static -Name s1 -State Enabled; (Get-LbPoolMember -Pool static -Name s1).Health.ToString()");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(new object[] { "Unknown", 0, "Unknown" }, r.Output.Select(o => o.BaseObject).ToArray());
        }

        [Theory]
        [InlineData("Draining", "Draining")]
        [InlineData("Disabled", "Disabled")]
        [InlineData("ForcedOffline", "Disabled")]   // HAProxy has one maintenance state; a new server has no sessions to cut
        public void A_member_added_in_a_state_comes_up_in_it(string asked, string shown)
        {
            var r = _ps.Run($"(Add-LbPoolMember -Pool web -Address 127.0.0.1 -Port {_backends[2].Port} -Name b3 -State {asked} -PassThru).State.ToString(); " +
                            "(Get-LbPoolMember -Pool web -Name b3).State.ToString()");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(new object[] { shown, shown }, r.Output.Select(o => o.BaseObject).ToArray());
        }

        [Fact]
        public async Task An_added_member_receives_requests()
        {
            var newcomer = _backends[2];
            await using var traffic = TrafficGenerator.Start(_haproxy.FrontendUrl, requestsPerSecond: 100);

            var r = _ps.Run($"Add-LbPoolMember -Pool web -Address 127.0.0.1 -Port {newcomer.Port} -Name b3 -PassThru");
            Assert.False(r.HadErrors, r.ToString());

            await WaitFor(() => newcomer.RequestCount >= 5, "the added member to receive traffic");
            var stats = await traffic.StopAsync();
            Assert.True(stats.Failures == 0, stats.ToString());
        }

        [Fact]
        public async Task Drain_then_remove_under_steady_traffic_fails_no_client_request_and_the_member_gets_none_afterwards()
        {
            var leaving = _backends[1];
            foreach (var b in _backends) b.ResponseDelay = TimeSpan.FromMilliseconds(30); // requests are in flight when the drain starts
            await using var traffic = TrafficGenerator.Start(_haproxy.FrontendUrl, requestsPerSecond: 80, concurrency: 4);
            await WaitFor(() => leaving.RequestCount >= 10, "traffic to reach the member before it leaves");

            var r = _ps.Run($"Remove-LbPoolMember -Pool web -Address 127.0.0.1 -Port {leaving.Port} -Drain -DrainTimeoutSec 30 -Confirm:$false -Verbose");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Contains(r.Verbose, v => v.Contains("no active connections"));

            long countAtRemoval = leaving.RequestCount;
            long totalAtRemoval = traffic.Snapshot().Total;
            await WaitFor(() => traffic.Snapshot().Total >= totalAtRemoval + 100, "100 more client requests after the removal");
            var stats = await traffic.StopAsync();

            Assert.True(stats.Failures == 0, stats.ToString());
            Assert.Equal(countAtRemoval, leaving.RequestCount);
            Assert.Empty(_ps.Run($"Get-LbPoolMember -Pool web -Port {leaving.Port}").Output);
        }

        [Fact]
        public async Task A_drained_member_receives_no_new_requests_and_comes_back_when_enabled()
        {
            var member = _backends[0];
            await using var traffic = TrafficGenerator.Start(_haproxy.FrontendUrl, requestsPerSecond: 100);
            var r = _ps.Run($"Set-LbPoolMember -Pool web -Address 127.0.0.1 -Port {member.Port} -State Drain");
            Assert.False(r.HadErrors, r.ToString());
            long after = member.RequestCount;
            long total = traffic.Snapshot().Total;
            await WaitFor(() => traffic.Snapshot().Total >= total + 50, "50 more requests while drained");
            Assert.Equal(after, member.RequestCount);

            r = _ps.Run($"Set-LbPoolMember -Pool web -Address 127.0.0.1 -Port {member.Port} -State Enabled");
            Assert.False(r.HadErrors, r.ToString());
            await WaitFor(() => member.RequestCount > after, "the re-enabled member to receive traffic");
            Assert.Equal(0, (await traffic.StopAsync()).Failures);
        }

        [Fact]
        public void HAProxy_refusals_become_clear_errors()
        {
            var p = _backends[2].Port;
            var staticAdd = _ps.Run($"Add-LbPoolMember -Pool static -Address 127.0.0.1 -Port {p}");
            var e = Assert.Single(staticAdd.Errors);
            Assert.StartsWith("LbRejected,", e.FullyQualifiedErrorId);
            Assert.Contains("static balance algorithm", e.Exception.Message);

            var nameInUse = _ps.Run($"Add-LbPoolMember -Pool web -Address 127.0.0.1 -Port {p} -Name b1");
            e = Assert.Single(nameInUse.Errors);
            Assert.StartsWith("LbAlreadyExists,", e.FullyQualifiedErrorId);
            Assert.Contains("-Name", e.Exception.Message);

            var unknown = _ps.Run($"Add-LbPoolMember -Pool nosuch -Address 127.0.0.1 -Port {p}");
            e = Assert.Single(unknown.Errors);
            Assert.StartsWith("LbPoolNotFound,", e.FullyQualifiedErrorId);

            var injection = _ps.Run($"Add-LbPoolMember -Pool web -Address 127.0.0.1 -Port {p} -Name 'x; shutdown sessions server web/b1'");
            e = Assert.Single(injection.Errors);
            Assert.StartsWith("LbInvalidName,", e.FullyQualifiedErrorId);

            Assert.Equal(2, _ps.Run("Get-LbPoolMember -Pool web").Output.Count); // nothing half-added
        }

        [Fact]
        public void An_http_endpoint_for_HAProxy_is_refused_naming_the_forms_it_takes()
        {
            var r = _ps.Run("Connect-LbController -Provider HAProxy -Endpoint http://127.0.0.1:9999");
            var e = Assert.Single(r.AllErrors);
            Assert.StartsWith("LbInvalidEndpoint,", e.FullyQualifiedErrorId);
            Assert.Contains("tcp://", e.Exception.Message);
            Assert.Contains("unix://", e.Exception.Message);
        }

        [Fact]
        public void The_unix_socket_endpoint_works_too()
        {
            var r = _ps.Run($"$c = Connect-LbController -Provider HAProxy -Endpoint 'unix://{_haproxy.AdminSocketPath}'; Get-LbPoolMember -Connection $c -Pool web");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(2, r.Output.Count);
            Assert.All(r.Output, o => Assert.Equal("HAProxy", o.Properties["Provider"].Value));
        }
    }
}
