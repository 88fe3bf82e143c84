using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancerTools.Bench;

/// <summary>
/// Measures the built module (out/LoadBalancerTools) through the real PowerShell engine against the
/// NGINX Plus emulator, beside baselines that are not the module: a sequential PowerShell script that
/// sends one Invoke-RestMethod per member (run by the pinned pwsh), and a bare concurrent HttpClient at
/// the concurrency the module reached. Prints a markdown table. Run from the repository root:
///   dotnet run -c Release --project bench/LoadBalancerTools.Bench
/// Options: --only a,b (scenarios, see <see cref="Scenarios"/>; --list names them), --members N (default
/// 1000), --big N (default 10000), --latencies 5,25 (ms per call).
/// </summary>
internal static class Program
{
    private static readonly List<string[]> Rows = new();
    private static readonly List<string> Notes = new();
    private static Settings Options = new(1000, 10_000, new[] { 5, 25 });

    internal sealed record Settings(int Members, int Big, int[] LatenciesMs);

    /// <summary>
    /// Every scenario, in the order they run. A new one is one line here and a method (in this file or a file
    /// of its own); <c>--only name</c> runs it alone. The ones not on by default take long or need extra tools.
    /// </summary>
    private static readonly (string Name, bool Default, string What, Func<Task> Run)[] Scenarios =
    {
        ("import", true, "Import-Module, first and in new runspaces", () => { ImportModule(); return Task.CompletedTask; }),
        ("sync", true, "converge an empty pool: Sync-LbPool vs the sequential script vs a bare client, at each latency", ConvergeAll),
        ("faults", true, "converge under 10% 429/503 at the highest latency, against the same run without faults", ConvergeUnderFaults),
        ("get", true, "Get-LbPoolMember of a big pool: time and allocations beyond the raw GETs", ListLargePool),
        ("profile", true, "per-change cost of Sync-LbPool with no latency, against the bare client", ProfileSync),
        ("probe", false, "probe sweep with Test-LbPoolMember", () => ProbeSweep(Options.Members)),
        ("ejection", false, "failure to ejection on a real HAProxy", () => FailureToEjection(trials: 5, threshold: 3, intervalSec: 1)),
    };

    private static async Task<int> Main(string[] args)
    {
        // A separate mode (issue 12): many pools, two runners sharing Redis; see SharedRemediationBench.cs.
        if (args.Contains("--shared-remediation")) return await SharedRemediationBench.RunAsync(args);
        if (args.Contains("--list"))
        {
            foreach (var s in Scenarios) Console.WriteLine($"{s.Name,-10} {(s.Default ? "default" : "opt-in "),-8} {s.What}");
            return 0;
        }
        Options = new Settings(Option(args, "--members", 1000), Option(args, "--big", 10_000),
            (OptionText(args, "--latencies") ?? "5,25").Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray());
        var only = OptionText(args, "--only")?.Split(',').Select(n => n.Trim()).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var unknown = only?.Where(n => Scenarios.All(s => !s.Name.Equals(n, StringComparison.OrdinalIgnoreCase))).ToList();
        if (unknown is { Count: > 0 })
        {
            Console.Error.WriteLine($"Unknown scenario(s): {string.Join(", ", unknown)}. Known: {string.Join(", ", Scenarios.Select(s => s.Name))}.");
            return 2;
        }
        var total = Stopwatch.StartNew();
        try
        {
            string psVersion = PowerShellVersion();
            foreach (var scenario in Scenarios.Where(s => only == null ? s.Default : only.Contains(s.Name)))
            {
                await scenario.Run();
            }
            Print(psVersion, total.Elapsed);
            return 0;
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine("Benchmark failed: " + ex);
            return 1;
        }
    }

    // ---- figures ----

    private static string PowerShellVersion()
    {
        using var warm = new PsSession(importModule: false);
        return Checked(warm, "$PSVersionTable.PSVersion.ToString()").Output.Single().ToString();
    }

    private static void ImportModule()
    {
        Log("Import-Module");
        string import = $"Import-Module '{RepoPaths.ModuleManifest.Replace("'", "''")}' -ErrorAction Stop";
        TimeSpan cold;
        using (var ps = new PsSession(importModule: false)) cold = Time(() => Checked(ps, import));
        var warmRuns = new List<TimeSpan>();
        for (int i = 0; i < 5; i++)
        {
            using var ps = new PsSession(importModule: false);
            warmRuns.Add(Time(() => Checked(ps, import)));
        }
        Row("Import-Module, first in the process (assemblies loaded and JIT-compiled)", Ms(cold), "-", "-", "-");
        Row("Import-Module in a new runspace (median of 5)", Ms(Median(warmRuns)), "-", "-", "-");
    }

    /// <summary>What one converge measured: the module, and (with -Verbose) the concurrency it reached, from its own verbose lines.</summary>
    private sealed record Converged(TimeSpan Time, int PeakConcurrency, int FinalConcurrency, int Faults);

    private static async Task ConvergeAll()
    {
        foreach (int latency in Options.LatenciesMs) await Converge(Options.Members, latency);
    }

    /// <summary>
    /// Converges an empty pool to n members three ways on one emulator: Sync-LbPool, the sequential script,
    /// and a bare HttpClient at the peak concurrency Sync-LbPool reached (the ceiling of what concurrency gives).
    /// </summary>
    private static async Task Converge(int n, int latencyMs)
    {
        Log($"converge an empty pool to {n} members, {latencyMs} ms per call");
        await using var emu = await NginxPlusEmulator.StartAsync(new NginxPlusEmulatorOptions { RecordRequests = false });
        emu.Faults.Latency = TimeSpan.FromMilliseconds(latencyMs);
        foreach (var pool in new[] { "warm", "script", "sync", "bare" }) emu.AddUpstream(pool);

        // As a runbook runs it: no -Verbose. The endpoint is new, so the adaptive limit starts from the provider's default.
        var module = SyncModule(emu, "sync", n, verbose: false);
        Log($"  Sync-LbPool: {Seconds(module.Time)}");
        var script = await Baselines.SequentialScriptAsync(emu.ApiBase, "script", n);
        RequireConverged(emu, "script", n);
        Log($"  sequential script: {Seconds(script)}");
        // The ceiling of what concurrency can give: nothing but the POSTs, at the module's own ceiling from the start.
        int ceiling = NginxPlusCeiling;
        var bare = await Baselines.BareClientAsync(emu.ApiBase, "bare", n, ceiling);
        RequireConverged(emu, "bare", n);
        Log($"  bare client at {ceiling}: {Seconds(bare)}");

        string figure = $"Converge an empty pool to {n:N0} members, {latencyMs} ms per call: Sync-LbPool";
        Row(figure + " vs the sequential script", Seconds(module.Time), $"{Seconds(script)} (Invoke-RestMethod loop in pwsh)", Ratio(script, module.Time),
            latencyMs >= 25 ? Target(script.TotalSeconds / module.Time.TotalSeconds >= 10, "≥10× faster") : "-");
        Row(figure + $" vs a bare HttpClient at the module's ceiling ({ceiling} in flight from the first request)", Seconds(module.Time), $"{Seconds(bare)} (bare client)",
            Times(module.Time, bare) + " the bare client's time",
            latencyMs >= 25 ? Target(module.Time.TotalSeconds / bare.TotalSeconds <= 1.25, "≤1.25× the bare client") : "-");
    }

    /// <summary>Sync-LbPool's default -ThrottleLimit for NGINX Plus: the adaptive limit's ceiling (ProviderRegistry).</summary>
    private const int NginxPlusCeiling = 64;

    /// <summary>Sync-LbPool of an empty pool to n members in a connected runspace; with -Verbose, the concurrency lines tell how the limit moved.</summary>
    private static Converged SyncModule(NginxPlusEmulator emu, string pool, int n, bool verbose)
    {
        using var ps = Connected(emu);
        Checked(ps, "$desired = " + DesiredScript(n));
        WarmUp(ps);
        int before = emu.Faults.InjectedCount;
        PsResult? result = null;
        var time = Time(() => result = Checked(ps, $"Sync-LbPool -Pool {pool} -Member $desired" + (verbose ? " -Verbose" : "")));
        int faults = emu.Faults.InjectedCount - before;
        RequireConverged(emu, pool, n);
        var limits = result!.Verbose.Select(v => ConcurrencyLine.Match(v)).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        // No line means the limit never moved from the provider's start.
        int start = 8;
        return new Converged(time, limits.DefaultIfEmpty(start).Max(), limits.DefaultIfEmpty(start).Last(), faults);
    }

    private static readonly Regex ConcurrencyLine = new(@"^Concurrency for \S+ now (\d+)\.$");

    private static async Task ConvergeUnderFaults()
    {
        int n = Options.Members;
        int latencyMs = Options.LatenciesMs.Max();
        Log($"converge to {n} members, {latencyMs} ms per call, with and without 10% of requests answered 429 or 503");
        await using var emu = await NginxPlusEmulator.StartAsync(new NginxPlusEmulatorOptions { RecordRequests = false, FaultSeed = 7 });
        emu.Faults.Latency = TimeSpan.FromMilliseconds(latencyMs);
        foreach (var pool in new[] { "warm", "clean", "faulty" }) emu.AddUpstream(pool);
        var clean = SyncModule(emu, "clean", n, verbose: true);
        Log($"  without faults: {Seconds(clean.Time)}");
        emu.Faults.RandomFaultRate = 0.1;
        var faulty = SyncModule(emu, "faulty", n, verbose: true);
        emu.Faults.RandomFaultRate = 0;
        Log($"  with faults: {Seconds(faulty.Time)}, {faulty.Faults} faults, concurrency final {faulty.FinalConcurrency}");

        Row($"Converge to {n:N0} members, {latencyMs} ms per call, 10% of requests 429/503: all {n:N0} present, 0 duplicates ({faulty.Faults} faults absorbed; concurrency ended at {faulty.FinalConcurrency})",
            Seconds(faulty.Time), $"{Seconds(clean.Time)} (the module, same run, no faults)", Times(faulty.Time, clean.Time) + " the fault-free time",
            Target(faulty.Time.TotalSeconds <= 2 * clean.Time.TotalSeconds, "≤2× the fault-free time"));
    }

    private static async Task ListLargePool()
    {
        int n = Options.Big;
        Log($"Get-LbPoolMember on a {n}-member pool");
        await using var emu = await NginxPlusEmulator.StartAsync(new NginxPlusEmulatorOptions { RecordRequests = false });
        emu.AddUpstream("big");
        for (int i = 0; i < n; i++) emu.AddServer("big", Address(i) + ":80");
        emu.Faults.Latency = TimeSpan.FromMilliseconds(Options.LatenciesMs.Min());
        using var ps = Connected(emu);
        using var http = new HttpClient();
        var upstream = new Uri(emu.ApiBase + "/9/http/upstreams/big");

        // The same two documents the provider reads, fetched and kept as text: the emulator's and HTTP's share.
        async Task Raw()
        {
            var a = http.GetStringAsync(upstream);
            var b = http.GetStringAsync(new Uri(upstream + "/servers"));
            if ((await a).Length + (await b).Length == 0) throw new InvalidOperationException("empty pool documents");
        }
        await Raw();
        var rawRuns = new List<Measured>();
        for (int i = 0; i < 3; i++) rawRuns.Add(await MeasureAsync(Raw));
        var raw = rawRuns.OrderBy(m => m.Time).ElementAt(1);
        Checked(ps, "$null = Get-LbPoolMember -Pool big");
        // Median of three runs; each keeps its result in a variable, as a user's session would, until measured.
        var runs = new List<Measured>();
        for (int i = 0; i < 3; i++)
        {
            runs.Add(await MeasureAsync(() =>
            {
                var r = Checked(ps, "$big = Get-LbPoolMember -Pool big; $big.Count");
                if (Convert.ToInt32(r.Output.Single().BaseObject, CultureInfo.InvariantCulture) != n) throw new InvalidOperationException("Get-LbPoolMember returned the wrong count");
                return Task.CompletedTask;
            }));
            Checked(ps, "$big = $null");
        }
        var get = runs.OrderBy(m => m.Time).ElementAt(1);
        long beyond = get.Allocated - raw.Allocated;

        Row($"Get-LbPoolMember on a {n:N0}-member pool: time (median of 3)", Ms(get.Time), $"{Ms(raw.Time)} (the same two GETs, raw)", Times(get.Time, raw.Time) + " the raw GETs",
            Target(get.Time < TimeSpan.FromSeconds(1), "under 1 s"));
        Row($"Get-LbPoolMember on a {n:N0}-member pool: allocated beyond the raw GETs (process-wide, emulator share subtracted)", Mb(beyond),
            $"{Mb(raw.Allocated)} (raw GETs, emulator included)", $"{Mb(get.Allocated)} in all", Target(beyond < 100L * 1024 * 1024, "under 100 MB"));
        Row($"Get-LbPoolMember on a {n:N0}-member pool: working set, peak / kept after", $"+{Mb(get.PeakWorkingSet)} / +{Mb(get.WorkingSet)}",
            $"+{Mb(raw.PeakWorkingSet)} / +{Mb(raw.WorkingSet)} (raw GETs)", "-", "-");
    }

    /// <summary>
    /// What Sync-LbPool spends beside the HTTP calls: with no injected latency, the module against the bare
    /// client at the same concurrency; the difference per change is the module's own work (read, plan,
    /// confirmation, bookkeeping, verification read).
    /// </summary>
    private static async Task ProfileSync()
    {
        int n = Options.Members;
        Log($"profile: Sync-LbPool of {n} members with no latency");
        await using var emu = await NginxPlusEmulator.StartAsync(new NginxPlusEmulatorOptions { RecordRequests = false });
        foreach (var pool in new[] { "warm", "sync", "bare" }) emu.AddUpstream(pool);
        using var ps = Connected(emu);
        Checked(ps, "$desired = " + DesiredScript(n));
        WarmUp(ps);
        var module = await MeasureAsync(() => { Checked(ps, "Sync-LbPool -Pool sync -Member $desired"); return Task.CompletedTask; });
        RequireConverged(emu, "sync", n);
        int concurrency = NginxPlusCeiling;
        var bare = await MeasureAsync(() => Baselines.BareClientAsync(emu.ApiBase, "bare", n, concurrency));
        RequireConverged(emu, "bare", n);
        double usPerChange = (module.Time - bare.Time).TotalMilliseconds * 1000 / n;
        double kbPerChange = (module.Allocated - bare.Allocated) / 1024.0 / n;
        Row($"Sync-LbPool of {n:N0} members, no latency: whole command (read, plan, confirmation, {n:N0} adds, verification read)",
            Seconds(module.Time), $"{Seconds(bare.Time)} (bare client at {concurrency})", Times(module.Time, bare.Time) + " the bare client's time", "-");
        Row($"Sync-LbPool of {n:N0} members, no latency: the module's own cost per change (time and allocations beyond the bare client's)",
            $"{usPerChange.ToString("0", CultureInfo.InvariantCulture)} µs, {kbPerChange.ToString("0.0", CultureInfo.InvariantCulture)} KB",
            $"{Mb(bare.Allocated)} for the bare client in all", "-", "-");
    }

    private static async Task ProbeSweep(int n)
    {
        Log("probe sweep");
        using var check = new PsSession();
        var present = Checked(check, "[bool](Get-Command -Name Test-LbPoolMember -Module LoadBalancerTools -ErrorAction SilentlyContinue)");
        if (!(bool)present.Output.Single().BaseObject)
        {
            Row($"Probe sweep of {n} members (Test-LbPoolMember)", "n/a (Test-LbPoolMember not present)", "-", "-");
            return;
        }

        // One HTTP server on every loopback address: members 127.0.x.y:port are all distinct and all answer.
        await using var backend = await StartProbeTarget();
        await using var emu = await NginxPlusEmulator.StartAsync(new NginxPlusEmulatorOptions { RecordRequests = false });
        emu.AddUpstream("probe");
        for (int i = 0; i < n; i++) emu.AddServer("probe", $"127.0.{i / 250 + 1}.{i % 250 + 1}:{backend.Port}");
        using var ps = Connected(emu);
        Checked(ps, "$members = Get-LbPoolMember -Pool probe; $probe = @{}; " +
                    "if ((Get-Command Test-LbPoolMember).Parameters.ContainsKey('Path')) { $probe.Path = '/healthz' }");
        try
        {
            // Warm up both paths, then time them; every probe must succeed for the figure to count.
            Checked(ps, "$null = $members[0..9] | Test-LbPoolMember @probe; foreach ($m in $members[0..9]) { $null = $m | Test-LbPoolMember @probe }");
            int ok = 0;
            var sweep = Time(() => ok = Checked(ps, "$members | Test-LbPoolMember @probe | Where-Object Success").Output.Count);
            if (ok != n) throw new InvalidOperationException($"{n - ok} of {n} probes failed in the sweep");
            var baseline = Time(() => ok = Checked(ps, "foreach ($m in $members) { $m | Test-LbPoolMember @probe | Where-Object Success }").Output.Count);
            if (ok != n) throw new InvalidOperationException($"{n - ok} of {n} probes failed in the baseline");
            Row($"Probe sweep of {n} members: Test-LbPoolMember, piped (its default ThrottleLimit), all healthy (the module against itself)", Seconds(sweep),
                $"{Seconds(baseline)} (the module, one member per call)", Ratio(baseline, sweep));
        }
        catch (InvalidOperationException ex)
        {
            Row($"Probe sweep of {n} members (Test-LbPoolMember)", "failed: " + ex.Message.Replace("|", "/"), "-", "-");
        }
    }

    /// <summary>
    /// Self-healing on a real HAProxy: a backend dies at a random moment of the probing cycle; how long
    /// until Invoke-LbHealthRemediation has taken it out of rotation. The floor is threshold × interval:
    /// the rounds that must see it fail, whatever the tool does.
    /// </summary>
    private static async Task FailureToEjection(int trials, int threshold, int intervalSec)
    {
        Log("failure to ejection (real HAProxy)");
        // The first failing round comes 0 to 1 interval after the failure, so ejection lands between
        // (threshold - 1) x interval and threshold x interval, plus the rounds' own time.
        string floor = string.Format(CultureInfo.InvariantCulture, "threshold x interval = {0:0.00} s (window {1:0.00}-{0:0.00} s)", threshold * intervalSec, (threshold - 1) * intervalSec);
        if (!System.IO.File.Exists("/usr/sbin/haproxy"))
        {
            Row($"Backend failure to ejection, real HAProxy", "n/a (haproxy not installed)", floor, "-");
            return;
        }
        var backends = new List<LoadBalancerTools.TestKit.RealServers.BackendServer>();
        for (int i = 1; i <= 4; i++) backends.Add(await LoadBalancerTools.TestKit.RealServers.BackendServer.StartAsync("b" + i));
        var options = new LoadBalancerTools.TestKit.RealServers.HaproxyOptions();
        var web = options.AddBackend("web");
        foreach (var b in backends) web.AddServer(b);
        foreach (var server in web.Servers) server.Check = false;
        await using var haproxy = await LoadBalancerTools.TestKit.RealServers.HaproxyProcess.StartAsync(options);
        var random = new Random(7);
        var times = new List<TimeSpan>();
        try
        {
            for (int trial = 0; trial < trials; trial++)
            {
                var victim = backends[trial % backends.Count];
                using var ps = new PsSession();
                Checked(ps, $"Connect-LbController -Provider HAProxy -Endpoint '{haproxy.AdminEndpoint}' | Out-Null");
                using var run = ps.Start($"Invoke-LbHealthRemediation -Pool web -Path /healthz -ProbeTimeoutSec 1 -FailureThreshold {threshold} -IntervalSec {intervalSec} -Watch -DurationSec 60");
                // Let it settle, then kill at a random point of the cycle.
                Thread.Sleep(1500 + random.Next(intervalSec * 1000));
                var clock = Stopwatch.StartNew();
                await victim.StopAsync();
                // The bench holds no reference to the engine (it imports the built module like a user), so events are read by name.
                while (!run.Output.ToList().Any(o => o.TypeNames[0] == "LoadBalancerTools.Model.LbRemediationEvent" && o.Properties["Type"].Value.ToString() == "Ejected"))
                {
                    if (clock.Elapsed > TimeSpan.FromSeconds(30) || run.IsCompleted) throw new InvalidOperationException("no ejection within 30 s");
                    Thread.Sleep(10);
                }
                times.Add(clock.Elapsed);
                run.Stop();
                await victim.RestartAsync();
                await haproxy.RuntimeCommandAsync($"set server web/{victim.Name} state ready");
            }
            var median = Median(times);
            Row($"Backend failure to ejection on real HAProxy (median of {trials}, max {Seconds(times.Max())}; threshold {threshold}, interval {intervalSec} s)",
                Seconds(median), floor, (median.TotalSeconds / (threshold * intervalSec)).ToString("0.00", CultureInfo.InvariantCulture) + "x threshold x interval");
        }
        finally
        {
            foreach (var b in backends) await b.DisposeAsync();
        }
    }

    // ---- helpers ----

    private static PsSession Connected(NginxPlusEmulator emu)
    {
        var ps = new PsSession();
        Checked(ps, $"Connect-LbController -Provider NginxPlus -Endpoint '{emu.ApiBase}' | Out-Null");
        return ps;
    }

    /// <summary>Compiles both code paths before anything is timed.</summary>
    private static void WarmUp(PsSession ps)
    {
        Checked(ps, "$w = " + DesiredScript(10) + "; foreach ($m in $w) { Add-LbPoolMember -Pool warm -Address $m.Address -Port $m.Port }; " +
                    "Sync-LbPool -Pool warm -Member $w -Prune -DrainTimeoutSec 0; Sync-LbPool -Pool warm -Member @() -Prune -Force -DrainTimeoutSec 0 -Confirm:$false");
    }

    /// <summary>The desired members as a runbook builds them: objects with Address and Port.</summary>
    private static string DesiredScript(int n) =>
        $"foreach ($i in 0..{n - 1}) {{ [pscustomobject]@{{ Address = '10.{{0}}.{{1}}.{{2}}' -f [int][math]::Floor($i / 62500), ([int][math]::Floor($i / 250) % 250), ($i % 250 + 1); Port = 80 }} }}";

    private static string Address(int i) => Baselines.Address(i);

    private static void RequireConverged(NginxPlusEmulator emu, string pool, int n)
    {
        var servers = emu.GetServers(pool);
        int duplicates = servers.GroupBy(s => s.Server, StringComparer.OrdinalIgnoreCase).Sum(g => g.Count() - 1);
        if (servers.Count != n || duplicates != 0)
        {
            throw new InvalidOperationException($"pool '{pool}' has {servers.Count} servers ({duplicates} duplicates) where {n} were desired");
        }
    }

    private static PsResult Checked(PsSession ps, string script)
    {
        var r = ps.Run(script);
        if (r.HadErrors) throw new InvalidOperationException($"'{Shorten(script)}' failed: {r}");
        return r;
    }

    private static TimeSpan Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed;
    }

    private sealed record Measured(TimeSpan Time, long Allocated, long WorkingSet, long PeakWorkingSet);

    /// <summary>Time, bytes allocated by the whole process, and the working set's growth (peak sampled every 2 ms, and what is kept after).</summary>
    private static async Task<Measured> MeasureAsync(Func<Task> action)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long ws0 = Environment.WorkingSet;
        long peak = ws0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                long ws = Environment.WorkingSet;
                if (ws > Volatile.Read(ref peak)) Volatile.Write(ref peak, ws);
                try { await Task.Delay(2, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        long alloc0 = GC.GetTotalAllocatedBytes(precise: true);
        var sw = Stopwatch.StartNew();
        await action();
        var time = sw.Elapsed;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
        stop.Cancel();
        await sampler;
        long ws1 = Environment.WorkingSet;
        return new Measured(time, allocated, ws1 - ws0, Math.Max(peak, ws1) - ws0);
    }

    private static async Task<ProbeTarget> StartProbeTarget()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Any, 0));
        var app = builder.Build();
        app.Run(context => context.Response.WriteAsync("ok"));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ProbeTarget(app, new Uri(address.Replace("0.0.0.0", "127.0.0.1").Replace("[::]", "127.0.0.1")).Port);
    }

    private sealed class ProbeTarget(WebApplication app, int port) : IAsyncDisposable
    {
        public int Port { get; } = port;
        public async ValueTask DisposeAsync() => await app.DisposeAsync();
    }

    private static void Print(string psVersion, TimeSpan elapsed)
    {
        var gc = GC.GetGCMemoryInfo();
        Console.WriteLine();
        Console.WriteLine("## LoadBalancerTools benchmarks");
        Console.WriteLine();
        Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {Mb(gc.TotalAvailableMemoryBytes)} RAM available, {RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture}), " +
                          $"{RuntimeInformation.FrameworkDescription}, PowerShell {psVersion} hosted in-process, {(GCSettings.IsServerGC ? "server" : "workstation")} GC.");
        Console.WriteLine("Emulator: NGINX Plus API emulator (Kestrel, keep-alive) in the same process, the stated latency injected per request, request log off. " +
                          "Faulted run: every tenth request on average answered 429 (Retry-After: 0) or 503 (no Retry-After), alternately. " +
                          "Baselines: the sequential script is bench/LoadBalancerTools.Bench/baselines/sequential-add.ps1 run by the pinned pwsh (its loop timed by itself, start-up excluded); " +
                          "the bare client is an HttpClient posting the same bodies with that many requests in flight and nothing else.");
        Console.WriteLine();
        Console.WriteLine("| Figure | Module | Baseline | Ratio | Target |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var row in Rows) Console.WriteLine("| " + string.Join(" | ", row) + " |");
        foreach (var note in Notes) Console.WriteLine(note);
        Console.WriteLine();
        Console.WriteLine($"Total benchmark time: {Seconds(elapsed)}.");
    }

    private static void Row(string figure, string value, string baseline, string ratio, string target = "-") => Rows.Add(new[] { figure, value, baseline, ratio, target });

    /// <summary>A target's verdict for the table.</summary>
    private static string Target(bool met, string target) => (met ? "met: " : "NOT met: ") + target;

    private static void Log(string message) => Console.Error.WriteLine($"[bench {DateTime.Now:HH:mm:ss}] {message}");

    private static TimeSpan Median(List<TimeSpan> values) => values.OrderBy(v => v).ElementAt(values.Count / 2);

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";

    private static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms";

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MB";

    /// <summary>How many times faster the measured figure is than its baseline.</summary>
    private static string Ratio(TimeSpan baseline, TimeSpan measured) => Times(baseline, measured) + " faster";

    private static string Times(TimeSpan a, TimeSpan b) =>
        (a.TotalMilliseconds / Math.Max(0.001, b.TotalMilliseconds)).ToString("0.0", CultureInfo.InvariantCulture) + "x";

    private static string Shorten(string s) => s.Length <= 120 ? s : s.Substring(0, 117) + "...";

    private static string? OptionText(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : fallback;
    }
}
