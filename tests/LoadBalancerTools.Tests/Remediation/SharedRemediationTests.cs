using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.Tests.Remediation
{
    /// <summary>
    /// Several runners sharing a real Redis, healing a real HAProxy with real backends. The runners are separate
    /// pwsh processes that import the built module, as two machines would run them; the test samples each pool's
    /// lease in Redis to know who held it when, and reads each runner's journal to know who changed what.
    /// </summary>
    [Trait("Category", "RealLoadBalancer")]
    public sealed class SharedRemediationTests : IAsyncLifetime
    {
        private const int LeaseTtlSec = 3;
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);
        private readonly Dictionary<string, BackendServer> _backends = new Dictionary<string, BackendServer>();
        private readonly List<ManagedProcess> _runners = new List<ManagedProcess>();
        private readonly string _dir = HarnessFiles.CreateWorkDirectory("runners");
        private HaproxyProcess _haproxy = null!;
        private RedisProcess _redis = null!;
        private WebhookReceiver _hooks = null!;
        private string _script = null!;

        public async Task InitializeAsync()
        {
            var options = new HaproxyOptions();
            foreach (var (pool, names) in new[] { ("web", new[] { "w1", "w2", "w3" }), ("api", new[] { "a1", "a2", "a3" }) })
            {
                var backend = options.AddBackend(pool);
                foreach (var name in names)
                {
                    var server = await BackendServer.StartAsync(name);
                    _backends[name] = server;
                    backend.AddServer(server);
                }
                foreach (var s in backend.Servers) s.Check = false; // only the runners heal
            }
            _haproxy = await HaproxyProcess.StartAsync(options);
            _redis = await RedisProcess.StartAsync();
            _hooks = await WebhookReceiver.StartAsync();
            _script = Path.Combine(_dir, "runner.ps1");
            // What a machine's scheduled task runs: import the built module, heal both pools, journal every decision.
            File.WriteAllText(_script, """
                param([string] $Module, [string] $Endpoint, [string] $Store, [string] $Runner, [string] $Journal, [int] $Rounds, [int] $LeaseTtlSec)
                $ErrorActionPreference = 'Stop'
                Import-Module $Module
                $lb = Connect-LbController -Provider HAProxy -Endpoint $Endpoint
                Get-LbPool -Connection $lb -Name web, api |
                    Invoke-LbHealthRemediation -Path /healthz -ProbeTimeoutSec 1 -FailureThreshold 2 -RecoveryThreshold 2 -IntervalSec 1 -Watch -MaxRounds $Rounds `
                        -StateStore $Store -RunnerId $Runner -LeaseTtlSec $LeaseTtlSec -JournalPath $Journal -Verbose 4>&1 |
                    ForEach-Object { "$([DateTime]::UtcNow.ToString('HH:mm:ss.fff')) $_" }
                """);
        }

        public async Task DisposeAsync()
        {
            foreach (var r in _runners) r.Dispose();
            await _haproxy.DisposeAsync();
            await _redis.DisposeAsync();
            await _hooks.DisposeAsync();
            foreach (var b in _backends.Values) await b.DisposeAsync();
            HarnessFiles.DeleteDirectory(_dir);
        }

        private string JournalOf(string runner) => Path.Combine(_dir, runner + ".jsonl");

        private ManagedProcess StartRunner(string id, int rounds, string? store = null)
        {
            var p = PwshProcess.StartScript("runner-" + id, _script,
                new[] { "-Module", RepoPaths.ModuleManifest, "-Endpoint", _haproxy.AdminEndpoint,
                        "-Store", store ?? _redis.Url, "-Runner", id, "-Journal", JournalOf(id), "-Rounds", rounds.ToString(CultureInfo.InvariantCulture),
                        "-LeaseTtlSec", LeaseTtlSec.ToString(CultureInfo.InvariantCulture) });
            _runners.Add(p);
            return p;
        }

        private sealed record Line(string Runner, DateTimeOffset At, string Type, string Pool, string? Member, bool Applied, string Reason);

        /// <summary>Every complete journal line of a runner (a line being written is skipped).</summary>
        private List<Line> Journal(string runner)
        {
            var lines = new List<Line>();
            if (!File.Exists(JournalOf(runner))) return lines;
            foreach (var text in File.ReadAllLines(JournalOf(runner)))
            {
                try
                {
                    var j = JsonDocument.Parse(text).RootElement;
                    lines.Add(new Line(runner, DateTimeOffset.Parse(j.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture), j.GetProperty("type").GetString()!,
                        j.GetProperty("pool").GetString() ?? "", j.GetProperty("member").GetString(), j.GetProperty("applied").GetBoolean(), j.GetProperty("reason").GetString()!));
                }
                catch (JsonException) { }
            }
            return lines;
        }

        private List<Line> Changes(params string[] runners) =>
            runners.SelectMany(Journal).Where(l => l.Applied && (l.Type == "Ejected" || l.Type == "Restored") && l.Member != null).OrderBy(l => l.At).ToList();

        private async Task WaitFor(Func<bool> condition, string what, TimeSpan? within = null) =>
            await _haproxy.WaitUntilAsync(() =>
            {
                foreach (var r in _runners.Where(r => r.HasExited && r.ExitCode != 0 && r.ExitCode != 137)) Assert.Fail($"{r} failed:\n{r.Output}");
                return Task.FromResult(condition());
            }, within ?? Patience, what);

        private async Task<int> AdminState(string pool, string server)
        {
            string state = await _haproxy.RuntimeCommandAsync("show servers state " + pool);
            var line = state.Split('\n').Single(l => l.Split(' ').Length > 6 && l.Split(' ')[3] == server);
            return int.Parse(line.Split(' ')[6], CultureInfo.InvariantCulture) & 1;
        }

        /// <summary>Samples who holds each pool's lease in Redis, so every change can be checked against the holder at that moment.</summary>
        private sealed class LeaseSampler : IAsyncDisposable
        {
            private readonly CancellationTokenSource _stop = new CancellationTokenSource();
            private readonly Task _loop;
            public readonly List<(DateTimeOffset At, string Pool, string Holder)> Samples = new();

            public LeaseSampler(RedisProcess redis, string endpoint, params string[] pools)
            {
                _loop = Task.Run(async () =>
                {
                    while (!_stop.IsCancellationRequested)
                    {
                        foreach (var pool in pools)
                        {
                            string value;
                            try { value = await redis.CommandAsync("GET lbtools:{" + endpoint.ToLowerInvariant() + "|" + pool + "}:lease"); }
                            catch (Exception) { continue; }
                            var holder = value.Contains('|') ? value.Substring(value.IndexOf('|') + 1) : "";
                            lock (Samples) Samples.Add((DateTimeOffset.UtcNow, pool, holder));
                        }
                        try { await Task.Delay(50, _stop.Token); } catch (OperationCanceledException) { }
                    }
                });
            }

            public string HolderAt(string pool, DateTimeOffset at)
            {
                lock (Samples) return Samples.LastOrDefault(s => s.Pool == pool && s.At <= at).Holder ?? "";
            }

            public string Holder(string pool) => HolderAt(pool, DateTimeOffset.MaxValue);

            public async ValueTask DisposeAsync()
            {
                _stop.Cancel();
                await _loop;
            }
        }

        private string Endpoint => new Uri(_haproxy.AdminEndpoint).ToString();

        [Fact]
        public async Task Two_runners_on_the_same_pools_for_30_rounds_every_change_comes_from_the_lease_holder_and_nothing_is_done_twice()
        {
            await using var leases = new LeaseSampler(_redis, Endpoint, "web", "api");
            var a = StartRunner("runner-a", 30);
            var b = StartRunner("runner-b", 30);
            // Both are in their rounds once each pool has a holder and the other runner has been turned away from it.
            await WaitFor(() => new[] { "web", "api" }.All(p => leases.Holder(p).Length > 0
                && Journal(leases.Holder(p) == "runner-a" ? "runner-b" : "runner-a").Any(l => l.Pool == p && l.Reason.StartsWith($"pool {p} held by {leases.Holder(p)} until", StringComparison.Ordinal))),
                "both runners in their rounds, each pool held by one");

            _backends["w2"].Healthy = false;
            _backends["a1"].Healthy = false;
            await WaitFor(() => Changes("runner-a", "runner-b").Count(c => c.Type == "Ejected") == 2, "w2 and a1 ejected");
            Assert.Equal(1, await AdminState("web", "w2"));
            Assert.Equal(1, await AdminState("api", "a1"));
            _backends["w2"].Healthy = true;
            _backends["a1"].Healthy = true;
            await WaitFor(() => Changes("runner-a", "runner-b").Count(c => c.Type == "Restored") == 2, "w2 and a1 restored");
            Assert.True(await a.WaitForExitAsync(Patience) && await b.WaitForExitAsync(Patience), "the runners did not finish their 30 rounds");

            Assert.True(a.ExitCode == 0, a.Output);
            Assert.True(b.ExitCode == 0, b.Output);
            var changes = Changes("runner-a", "runner-b");
            // Each member: ejected once, then restored once; nobody else touched.
            Assert.Equal(new[] { "Ejected", "Restored" }, changes.Where(c => c.Member == "w2").Select(c => c.Type));
            Assert.Equal(new[] { "Ejected", "Restored" }, changes.Where(c => c.Member == "a1").Select(c => c.Type));
            Assert.Equal(4, changes.Count);
            // Each change was made by the runner Redis showed as the pool's holder at that moment.
            foreach (var c in changes) Assert.Equal(leases.HolderAt(c.Pool, c.At), c.Runner);
            Assert.Equal(0, await AdminState("web", "w2"));
            Assert.Equal(0, await AdminState("api", "a1"));
            // Both released their leases on exit.
            Assert.Equal("$-1", await _redis.CommandAsync("GET lbtools:{" + Endpoint + "|web}:lease"));
        }

        [Fact]
        public async Task When_the_holder_is_killed_right_after_an_ejection_the_other_runner_takes_the_pool_within_the_TTL_and_restores_the_member()
        {
            await using var leases = new LeaseSampler(_redis, Endpoint, "web");
            var runners = new Dictionary<string, ManagedProcess> { ["runner-a"] = StartRunner("runner-a", 60), ["runner-b"] = StartRunner("runner-b", 60) };
            await WaitFor(() => leases.Holder("web").Length > 0 && runners.Keys.Any(r => Journal(r).Any(l => l.Reason.StartsWith("pool web held by", StringComparison.Ordinal))),
                "both runners in their rounds");

            _backends["w2"].Healthy = false;
            await WaitFor(() => Changes("runner-a", "runner-b").Any(c => c.Member == "w2" && c.Type == "Ejected"), "w2 ejected");
            string holder = Changes("runner-a", "runner-b").Single().Runner;
            runners[holder].Kill(); // SIGKILL: no finally, no lease release
            var killed = Stopwatch.StartNew();
            string survivor = runners.Keys.Single(r => r != holder);
            _backends["w2"].Healthy = true;

            await WaitFor(() => leases.Holder("web") == survivor, $"{survivor} to take the pool", TimeSpan.FromSeconds(LeaseTtlSec + 10));
            // The lease outlives its holder by at most the TTL; the survivor's next round (1 s apart) then takes it.
            Assert.True(killed.Elapsed <= TimeSpan.FromSeconds(LeaseTtlSec + 1 + 2), $"took the lease after {killed.Elapsed}");
            await WaitFor(() => Changes(survivor).Any(c => c.Member == "w2" && c.Type == "Restored"), "w2 restored by the survivor");

            Assert.Equal(0, await AdminState("web", "w2"));
            var changes = Changes("runner-a", "runner-b");
            Assert.Equal(new[] { ("Ejected", holder), ("Restored", survivor) }, changes.Select(c => (c.Type, c.Runner)));
        }
    
        private static List<LbRemediationEvent> Drain(RunningScript run, List<LbRemediationEvent> seen)
        {
            seen.AddRange(run.Output.ReadAll().Select(o => o.BaseObject).OfType<LbRemediationEvent>());
            return seen;
        }

        private int HookAlerts(string type) => _hooks.Json("/hook").Count(j => j.GetProperty("event").GetProperty("type").GetString() == type);

        [Fact]
        public async Task While_Redis_is_down_nothing_changes_one_alert_is_sent_and_healing_resumes_when_it_is_back()
        {
            using var ps = new PsSession();
            var r = ps.Run($"Connect-LbController -Provider HAProxy -Endpoint '{_haproxy.AdminEndpoint}' | Out-Null; $hook = New-LbAlertChannel Webhook -Uri '{_hooks.Url("hook")}'");
            Assert.False(r.HadErrors, r.ToString());
            using var run = ps.Start("Invoke-LbHealthRemediation -Pool web -Path /healthz -ProbeTimeoutSec 1 -FailureThreshold 2 -RecoveryThreshold 2 -IntervalSec 1 " +
                                     $"-Watch -MaxRounds 120 -StateStore '{_redis.Url}' -LeaseTtlSec {LeaseTtlSec} -AlertChannel $hook");
            var seen = new List<LbRemediationEvent>();
            await _redis.Process.WaitUntilAsync(async () => await _redis.CommandAsync("GET lbtools:{" + Endpoint + "|web}:lease") != "$-1", Patience, "the runner to hold the pool");

            _redis.Stop();
            _backends["w2"].Healthy = false;
            await WaitFor(() => Drain(run, seen).Count(e => e.Type == LbRemediationEventType.ApiFailure) >= 4, "four rounds with Redis down");

            Assert.Equal(0, await AdminState("web", "w2")); // failing for 4 rounds at threshold 2, yet not ejected: nothing changes without the store
            Assert.DoesNotContain(seen, e => e.Type == LbRemediationEventType.Ejected);
            Assert.Contains("state store " + _redis.Url + " unreachable", seen.First(e => e.Type == LbRemediationEventType.ApiFailure).Reason);
            Assert.Equal(1, HookAlerts("ApiFailure"));

            await _redis.RestartAsync();
            await WaitFor(() => Drain(run, seen).Any(e => e.Type == LbRemediationEventType.Ejected && e.Member == "w2" && e.Applied), "w2 ejected once Redis is back");
            run.Stop();

            Assert.Contains(seen, e => e.Type == LbRemediationEventType.Restored && e.Reason.Contains("answers again"));
            Assert.Equal(1, await AdminState("web", "w2"));
            Assert.Equal(1, HookAlerts("ApiFailure"));
            Assert.Empty(run.Errors);
        }

        [Fact]
        public async Task A_run_that_overlaps_a_running_one_on_the_same_state_files_stops_with_LbStateLocked_and_changes_nothing()
        {
            string folder = Path.Combine(_dir, "state");
            StartRunner("runner-a", 60, folder);
            await WaitFor(() => Directory.Exists(folder) && Directory.GetFiles(folder, "*.lock.holder").Length == 2, "the first run to lock both pools' files");
            _backends["w2"].Healthy = false; // a second run that went ahead would write a Detected or Ejected event at threshold 1

            using var ps = new PsSession();
            var r = ps.Run($"Connect-LbController -Provider HAProxy -Endpoint '{_haproxy.AdminEndpoint}' | Out-Null; " +
                           $"Invoke-LbHealthRemediation -Pool web, api -Path /healthz -FailureThreshold 1 -StatePath '{folder}' -LockTimeoutSec 1 -Verbose");

            var e = r.AllErrors.Single();
            Assert.StartsWith("LbStateLocked,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains($"host {Environment.MachineName}, pid ", e.Exception.Message);
            Assert.DoesNotContain($"pid {Environment.ProcessId},", e.Exception.Message);
            Assert.Empty(r.Output);
            Assert.DoesNotContain(r.Verbose, v => v.StartsWith("Round done", StringComparison.Ordinal));
        }

        [Fact]
        public async Task With_the_file_store_a_runner_killed_after_an_ejection_leaves_a_record_and_the_next_run_restores_the_member()
        {
            string folder = Path.Combine(_dir, "state");
            var first = StartRunner("runner-a", 60, folder);
            _backends["w2"].Healthy = false;
            await WaitFor(() => Changes("runner-a").Any(c => c.Member == "w2" && c.Type == "Ejected"), "w2 ejected");
            first.Kill();
            _backends["w2"].Healthy = true;

            using var ps = new PsSession();
            var r = ps.Run($"Connect-LbController -Provider HAProxy -Endpoint '{_haproxy.AdminEndpoint}' | Out-Null; " +
                           $"Get-LbPool -Name web, api | Invoke-LbHealthRemediation -Path /healthz -RecoveryThreshold 2 -IntervalSec 1 -Watch -MaxRounds 2 -StatePath '{folder}'");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Contains(r.Output.Select(o => (LbRemediationEvent)o.BaseObject), e => e.Type == LbRemediationEventType.Restored && e.Member == "w2" && e.Applied);
            Assert.Equal(0, await AdminState("web", "w2"));
        }

        [Fact]
        public async Task An_ejection_in_flight_when_a_run_was_killed_is_found_done_kept_and_restored()
        {
            // What a kill between the API call and its confirmation leaves: the intent in the file, the member in maintenance.
            var w2 = _backends["w2"];
            string state = Path.Combine(_dir, "web.state.json");
            File.WriteAllText(state, JsonSerializer.Serialize(new
            {
                Version = 1,
                Pool = "web",
                Endpoint,
                Members = new Dictionary<string, object>
                {
                    [$"127.0.0.1|{w2.Port}"] = new { Address = "127.0.0.1", w2.Port, Name = "w2", ConsecutiveFailures = 3, PendingEject = "Disable", PendingAt = DateTimeOffset.UtcNow },
                },
            }));
            await _haproxy.RuntimeCommandAsync("set server web/w2 state maint");
            Assert.Equal(1, await AdminState("web", "w2"));

            using var ps = new PsSession();
            var r = ps.Run($"Connect-LbController -Provider HAProxy -Endpoint '{_haproxy.AdminEndpoint}' | Out-Null; " +
                           $"Invoke-LbHealthRemediation -Pool web -Path /healthz -RecoveryThreshold 1 -StatePath '{state}'");

            Assert.False(r.HadErrors, r.ToString());
            var events = r.Output.Select(o => (LbRemediationEvent)o.BaseObject).ToList();
            Assert.Contains(events, e => e.Type == LbRemediationEventType.Detected && e.Member == "w2" && e.Reason.Contains("kept as ejected"));
            Assert.Contains(events, e => e.Type == LbRemediationEventType.Restored && e.Member == "w2" && e.Applied);
            Assert.Equal(0, await AdminState("web", "w2"));
            Assert.DoesNotContain("PendingEject\": \"Disable", File.ReadAllText(state));
        }

        [Fact]
        public async Task The_shared_runbook_run_on_two_machines_at_once_heals_each_pool_from_one_of_them()
        {
            _backends["w2"].Healthy = false;
            string runbook = Path.Combine(RepoPaths.Root, "examples", "Invoke-SharedSelfHealing.ps1");
            ManagedProcess Machine(string name) => PwshProcess.StartScript(name, runbook,
                new[] { "-Provider", "HAProxy", "-Endpoint", _haproxy.AdminEndpoint, "-Pool", "web,api",
                        "-StateStore", _redis.Url, "-HealthPath", "/healthz", "-FailureThreshold", "2", "-WatchSec", "6", "-IntervalSec", "1", "-JournalPath", JournalOf(name) });
            using var one = Machine("machine-1");
            using var two = Machine("machine-2");

            Assert.True(await one.WaitForExitAsync(Patience) && await two.WaitForExitAsync(Patience), "the runbooks did not finish");

            Assert.True(one.ExitCode == 0, one.Output);
            Assert.True(two.ExitCode == 0, two.Output);
            var ejections = Journal("machine-1").Concat(Journal("machine-2")).Where(l => l.Type == "Ejected" && l.Applied).ToList();
            Assert.Equal("w2", Assert.Single(ejections).Member);
            Assert.Equal(1, await AdminState("web", "w2"));
        }
}
}
