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

        private ManagedProcess StartRunner(string id, int rounds)
        {
            var p = ManagedProcess.Start("runner-" + id, "dotnet",
                new[] { "pwsh", "-NoProfile", "-NonInteractive", "-File", _script, "-Module", RepoPaths.ModuleManifest, "-Endpoint", _haproxy.AdminEndpoint,
                        "-Store", _redis.Url, "-Runner", id, "-Journal", JournalOf(id), "-Rounds", rounds.ToString(CultureInfo.InvariantCulture),
                        "-LeaseTtlSec", LeaseTtlSec.ToString(CultureInfo.InvariantCulture) },
                workingDirectory: RepoPaths.Root);
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

            await WaitFor(() => leases.Holder("web") == survivor, $"{survivor} to take the pool", TimeSpan.FromSeconds(LeaseTtlSec + 5));
            Assert.True(killed.Elapsed <= TimeSpan.FromSeconds(LeaseTtlSec + 2), $"took the lease after {killed.Elapsed}");
            await WaitFor(() => Changes(survivor).Any(c => c.Member == "w2" && c.Type == "Restored"), "w2 restored by the survivor");

            Assert.Equal(0, await AdminState("web", "w2"));
            var changes = Changes("runner-a", "runner-b");
            Assert.Equal(new[] { ("Ejected", holder), ("Restored", survivor) }, changes.Select(c => (c.Type, c.Runner)));
        }
    }
}
