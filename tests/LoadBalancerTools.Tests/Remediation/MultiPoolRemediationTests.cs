using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.Tests.Remediation
{
    /// <summary>
    /// Many pools in one run, through the engine: pools piped from Get-LbPool on two load balancers (two NGINX Plus
    /// emulators, one pool name on both), or named with wildcards; the caps apply to each pool on its own, and the
    /// file store keeps one state file per pool.
    /// </summary>
    public sealed class MultiPoolRemediationTests : IAsyncLifetime
    {
        private NginxPlusEmulator _a = null!;
        private NginxPlusEmulator _b = null!;
        private readonly List<BackendServer> _live = new List<BackendServer>();
        private PsSession _ps = null!;
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lbtools-multi-" + Guid.NewGuid().ToString("N"));

        public async Task InitializeAsync()
        {
            Directory.CreateDirectory(_dir);
            for (int i = 0; i < 5; i++) _live.Add(await BackendServer.StartAsync("live" + i));
            string Dead() => "127.0.0.1:" + FreePort.Next(); // nothing listens: a probe is refused at once
            _a = await NginxPlusEmulator.StartAsync();
            _b = await NginxPlusEmulator.StartAsync();
            _a.AddUpstream("web");
            foreach (var s in new[] { _live[0].Address, Dead(), _live[1].Address, _live[2].Address }) _a.AddServer("web", s);
            _a.AddUpstream("api");
            foreach (var s in new[] { Dead(), Dead(), Dead(), _live[3].Address }) _a.AddServer("api", s);
            _a.AddUpstream("other");
            _a.AddServer("other", Dead());
            _a.AddServer("other", _live[4].Address);
            _b.AddUpstream("web");
            foreach (var s in new[] { _live[0].Address, Dead() }) _b.AddServer("web", s);
            _ps = new PsSession();
            var r = _ps.Run($"$a = Connect-LbController -Provider NginxPlus -Endpoint '{_a.ApiBase}'; $b = Connect-LbController -Provider NginxPlus -Endpoint '{_b.ApiBase}'");
            Assert.False(r.HadErrors, r.ToString());
        }

        public async Task DisposeAsync()
        {
            _ps.Dispose();
            await _a.DisposeAsync();
            await _b.DisposeAsync();
            foreach (var b in _live) await b.DisposeAsync();
            Directory.Delete(_dir, true);
        }

        private static List<LbRemediationEvent> Events(PsResult r) => r.Output.Select(o => (LbRemediationEvent)o.BaseObject).ToList();

        private static int DownCount(NginxPlusEmulator lb, string pool) => lb.GetServers(pool).Count(s => s.Down);

        [Fact]
        public void A_file_path_for_several_pools_is_LbInvalidStateStore_and_nothing_is_created_or_changed()
        {
            string file = Path.Combine(_dir, "state.json");
            var r = _ps.Run($"Invoke-LbHealthRemediation -Pool web, api -Connection $a -Protocol Tcp -ProbeTimeoutSec 1 -FailureThreshold 1 -StatePath '{file}'");

            var error = Assert.Single(r.AllErrors);
            Assert.StartsWith("LbInvalidStateStore,", error.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains("give a folder", error.Exception.Message);
            Assert.False(Directory.Exists(file) || File.Exists(file));
            Assert.Equal(0, DownCount(_a, "web") + DownCount(_a, "api"));
        }

        [Theory]
        [InlineData(2)]
        [InlineData(6)]
        public async Task ThrottleLimit_bounds_the_probes_in_flight_across_every_pool_of_a_round(int limit)
        {
            // Eight slow backends in two pools on two load balancers: each probe is held 300 ms, so an unbounded
            // round would have all eight in flight at once; the meter sees how many were.
            var meter = new ConcurrencyMeter();
            var slow = new List<BackendServer>();
            try
            {
                for (int i = 0; i < 8; i++)
                {
                    var backend = await BackendServer.StartAsync("slow" + i);
                    backend.ResponseDelay = TimeSpan.FromMilliseconds(300);
                    backend.Meter = meter;
                    slow.Add(backend);
                }
                _a.AddUpstream("slow");
                _b.AddUpstream("slow");
                for (int i = 0; i < 8; i++) (i < 4 ? _a : _b).AddServer("slow", slow[i].Address);

                var r = _ps.Run("@(Get-LbPool -Name slow -Connection $a; Get-LbPool -Name slow -Connection $b) | " +
                                $"Invoke-LbHealthRemediation -Path / -ProbeTimeoutSec 5 -ThrottleLimit {limit}");

                Assert.False(r.HadErrors, r.ToString());
                Assert.All(slow, b => Assert.Equal(1, b.RequestCount));   // every member probed once
                // Never past the limit, and in parallel (at the limit of 2; at least 3 at once under a limit of 6).
                Assert.InRange(meter.Max, Math.Min(limit, 3), limit);
            }
            finally
            {
                foreach (var b in slow) await b.DisposeAsync();
            }
        }

        [Fact]
        public void Pools_piped_from_two_load_balancers_are_healed_in_one_round_with_the_caps_per_pool()
        {
            var r = _ps.Run("@(Get-LbPool -Name web, api -Connection $a; Get-LbPool -Connection $b) | " +
                            $"Invoke-LbHealthRemediation -Protocol Tcp -ProbeTimeoutSec 1 -FailureThreshold 1 -MaxEjectPercent 50 -StatePath '{_dir}'");

            Assert.False(r.HadErrors, r.ToString());
            var events = Events(r);
            Assert.Equal(1, DownCount(_a, "web"));
            Assert.Equal(2, DownCount(_a, "api"));       // 50% of 4, though 3 fail: the cap counts this pool, not all 10 members
            Assert.Equal(1, DownCount(_b, "web"));       // the same pool name on another load balancer is another pool
            Assert.Equal(0, DownCount(_a, "other"));     // not asked for
            Assert.Contains(events, e => e.Type == LbRemediationEventType.Skipped && e.Pool == "api" && e.Reason.Contains("-MaxEjectPercent 50 allows at most 2 of 4"));
            Assert.Equal(4, events.Count(e => e.Type == LbRemediationEventType.Ejected && e.Applied));
            Assert.All(events, e => Assert.Equal(1, e.Round));
            // One state file per pool and load balancer in the folder.
            var files = Directory.GetFiles(_dir, "*.state.json").Select(Path.GetFileName).OrderBy(f => f).ToList();
            Assert.Equal(3, files.Count);
            Assert.Equal(2, files.Count(f => f!.StartsWith("web@127.0.0.1_", StringComparison.Ordinal)));
        }

        [Fact]
        public void Wildcards_name_several_pools_and_a_second_run_continues_each_pools_counts()
        {
            string run = $"Invoke-LbHealthRemediation -Pool 'w*', 'oth?r', web -Connection $a -Protocol Tcp -ProbeTimeoutSec 1 -FailureThreshold 2 -StatePath '{_dir}'";

            var first = Events(_ps.Run(run));
            var second = Events(_ps.Run(run));

            Assert.Equal(new[] { "other", "web" }, first.Select(e => e.Pool).Distinct().OrderBy(p => p));
            Assert.All(first, e => Assert.Equal(LbRemediationEventType.Detected, e.Type));
            Assert.Equal(2, second.Count(e => e.Type == LbRemediationEventType.Ejected && e.Applied));
            Assert.Equal(1, DownCount(_a, "web"));
            Assert.Equal(1, DownCount(_a, "other"));
            Assert.Equal(0, DownCount(_a, "api"));
        }

        [Fact]
        public void A_wildcard_that_matches_nothing_warns_and_no_pool_at_all_is_an_error()
        {
            var r = _ps.Run("Invoke-LbHealthRemediation -Pool 'nothing*' -Connection $a -Protocol Tcp");

            Assert.Contains(r.Warnings, w => w.Contains("-Pool 'nothing*' matches no pool"));
            Assert.StartsWith("LbPoolNotFound,", r.AllErrors.Single().FullyQualifiedErrorId, StringComparison.Ordinal);
        }

        [Fact]
        public void A_misspelled_literal_pool_is_one_LbPoolNotFound_error_before_any_round_and_the_pools_that_exist_are_healed()
        {
            var r = _ps.Run($"Invoke-LbHealthRemediation -Pool web,nope -Connection $a -Protocol Tcp -ProbeTimeoutSec 1 -FailureThreshold 1 -StatePath '{_dir}' -Watch -MaxRounds 2 -IntervalSec 1");

            var error = Assert.Single(r.AllErrors);
            Assert.StartsWith("LbPoolNotFound,", error.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Equal("nope", error.TargetObject);
            Assert.Contains("Pool 'nope' was not found on NginxPlus at " + _a.ApiBase, error.Exception.Message);
            Assert.Null(r.Terminating);
            var events = Events(r);
            Assert.DoesNotContain(events, e => e.Pool == "nope");
            Assert.DoesNotContain(events, e => e.Type == LbRemediationEventType.ApiFailure);
            Assert.DoesNotContain(r.Warnings, w => w.Contains("cannot reach the load balancer"));
            Assert.Equal(1, DownCount(_a, "web")); // the pool that exists is healed as usual
            Assert.Empty(Directory.GetFiles(_dir, "nope*.state.json")); // no state for a pool that does not exist
        }

        [Fact]
        public void Only_misspelled_literal_pools_stop_the_run_before_any_round_and_change_nothing()
        {
            var r = _ps.Run("Invoke-LbHealthRemediation -Pool nope,nada -Connection $a -Protocol Tcp -FailureThreshold 1 -Watch -MaxRounds 2 -IntervalSec 1");

            Assert.Equal(new object[] { "nope", "nada" }, r.Errors.Take(2).Select(e => e.TargetObject)); // each named, then the run stops
            Assert.All(r.AllErrors, e => Assert.StartsWith("LbPoolNotFound,", e.FullyQualifiedErrorId, StringComparison.Ordinal));
            Assert.Contains(r.AllErrors, e => e.Exception.Message.Contains("No pool to remediate", StringComparison.Ordinal));
            Assert.Empty(r.Output);
            Assert.Equal(0, DownCount(_a, "web"));
        }
    }
}
