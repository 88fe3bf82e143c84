using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Runtime;
using System.Runtime.InteropServices;
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
/// NGINX Plus emulator, each figure beside a baseline measured in the same run, and prints a markdown
/// table. Run from the repository root:
///   dotnet run -c Release --project bench/LoadBalancerTools.Bench
/// Options: --members N (default 1000), --big N (default 10000), --latency-ms N (default 5).
/// </summary>
internal static class Program
{
    private static readonly List<string[]> Rows = new();
    private static readonly List<string> Notes = new();

    private static async Task<int> Main(string[] args)
    {
        // A separate mode (issue 12): many pools, two runners sharing Redis; see SharedRemediationBench.cs.
        if (args.Contains("--shared-remediation")) return await SharedRemediationBench.RunAsync(args);
        int members = Option(args, "--members", 1000);
        int big = Option(args, "--big", 10_000);
        int latencyMs = Option(args, "--latency-ms", 5);
        var total = Stopwatch.StartNew();
        try
        {
            string psVersion = ImportModule();
            await Converge(members, latencyMs);
            await ConvergeUnderFaults(members, latencyMs);
            await ListLargePool(big, latencyMs);
            await ProbeSweep(members);
            await FailureToEjection(trials: 5, threshold: 3, intervalSec: 1);
            Print(psVersion, members, latencyMs, total.Elapsed);
            return 0;
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine("Benchmark failed: " + ex);
            return 1;
        }
    }

    // ---- figures ----

    private static string ImportModule()
    {
        Log("Import-Module");
        string version;
        using (var warm = new PsSession(importModule: false))
        {
            // Warms the engine itself, so the figure is the module's import, not PowerShell's start-up.
            version = Checked(warm, "$PSVersionTable.PSVersion.ToString()").Output.Single().ToString();
        }
        string import = $"Import-Module '{RepoPaths.ModuleManifest.Replace("'", "''")}' -ErrorAction Stop";
        TimeSpan cold, warmTime;
        using (var ps = new PsSession(importModule: false)) cold = Time(() => Checked(ps, import));
        var warmRuns = new List<TimeSpan>();
        for (int i = 0; i < 5; i++)
        {
            using var ps = new PsSession(importModule: false);
            warmRuns.Add(Time(() => Checked(ps, import)));
        }
        warmTime = Median(warmRuns);
        Row("Import-Module, first in the process (assemblies loaded and JIT-compiled)", Ms(cold), "-", "-");
        Row("Import-Module in a new runspace (median of 5)", Ms(warmTime), "-", "-");
        return version;
    }

    private static async Task Converge(int n, int latencyMs)
    {
        Log($"converge an empty pool to {n} members");
        await using var emu = await NginxPlusEmulator.StartAsync(new NginxPlusEmulatorOptions { RecordRequests = false });
        emu.Faults.Latency = TimeSpan.FromMilliseconds(latencyMs);
        foreach (var pool in new[] { "warm", "seq", "sync" }) emu.AddUpstream(pool);
        using var ps = Connected(emu);
        Checked(ps, "$desired = " + DesiredScript(n));
        WarmUp(ps);

        var baseline = Time(() => Checked(ps, "foreach ($m in $desired) { Add-LbPoolMember -Pool seq -Address $m.Address -Port $m.Port }"));
        RequireConverged(emu, "seq", n);
        Log($"  sequential: {Seconds(baseline)}");
        var sync = Time(() => Checked(ps, "Sync-LbPool -Pool sync -Member $desired"));
        RequireConverged(emu, "sync", n);
        Log($"  Sync-LbPool: {Seconds(sync)}");
        var rerun = Time(() =>
        {
            if (Checked(ps, "Sync-LbPool -Pool sync -Member $desired -PassThru").Output.Count != 0) throw new InvalidOperationException("the second Sync-LbPool made changes");
        });

        Row($"Converge an empty pool to {n} members: Sync-LbPool (NginxPlus default ThrottleLimit 8)", Seconds(sync),
            $"{Seconds(baseline)} (Add-LbPoolMember loop)", Ratio(baseline, sync));
        Row($"Sync-LbPool again on the converged pool (one read, zero changes)", Ms(rerun), "-", "-");
    }

    private static async Task ConvergeUnderFaults(int n, int latencyMs)
    {
        Log($"converge to {n} members with 10% of requests answered 429 or 503");
        await using var emu = await NginxPlusEmulator.StartAsync(new NginxPlusEmulatorOptions { RecordRequests = false, FaultSeed = 7 });
        emu.Faults.Latency = TimeSpan.FromMilliseconds(latencyMs);
        foreach (var pool in new[] { "warm", "seq", "sync" }) emu.AddUpstream(pool);
        using var ps = Connected(emu);
        Checked(ps, "$desired = " + DesiredScript(n));
        WarmUp(ps);

        emu.Faults.RandomFaultRate = 0.1;
        int before = emu.Faults.InjectedCount;
        var sync = Time(() => Checked(ps, "Sync-LbPool -Pool sync -Member $desired"));
        int syncFaults = emu.Faults.InjectedCount - before;
        RequireConverged(emu, "sync", n);
        Log($"  Sync-LbPool: {Seconds(sync)}, {syncFaults} faults");

        before = emu.Faults.InjectedCount;
        var baseline = Time(() => Checked(ps, "foreach ($m in $desired) { Add-LbPoolMember -Pool seq -Address $m.Address -Port $m.Port }"));
        int seqFaults = emu.Faults.InjectedCount - before;
        RequireConverged(emu, "seq", n);
        Log($"  sequential: {Seconds(baseline)}, {seqFaults} faults");
        emu.Faults.RandomFaultRate = 0;

        Row($"Converge to {n} members, 10% of requests 429/503: all {n} present, 0 duplicates ({syncFaults} faults absorbed)", Seconds(sync),
            $"{Seconds(baseline)} (Add-LbPoolMember loop, {seqFaults} faults, 0 duplicates)", Ratio(baseline, sync));
    }

    private static async Task ListLargePool(int n, int latencyMs)
    {
        Log($"Get-LbPoolMember on a {n}-member pool");
        await using var emu = await NginxPlusEmulator.StartAsync(new NginxPlusEmulatorOptions { RecordRequests = false });
        emu.AddUpstream("big");
        for (int i = 0; i < n; i++) emu.AddServer("big", Address(i) + ":80");
        emu.Faults.Latency = TimeSpan.FromMilliseconds(latencyMs);
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

        Row($"Get-LbPoolMember on a {n}-member pool: time (median of 3)", Ms(get.Time), $"{Ms(raw.Time)} (the same two GETs, raw)", Times(get.Time, raw.Time) + " the raw GETs");
        Row($"Get-LbPoolMember on a {n}-member pool: allocated (process, emulator included)", Mb(get.Allocated),
            $"{Mb(raw.Allocated)} (raw GETs)", $"+{Mb(get.Allocated - raw.Allocated)} module");
        Row($"Get-LbPoolMember on a {n}-member pool: working set, peak / kept after", $"+{Mb(get.PeakWorkingSet)} / +{Mb(get.WorkingSet)}",
            $"+{Mb(raw.PeakWorkingSet)} / +{Mb(raw.WorkingSet)} (raw GETs)", "-");
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
            Row($"Probe sweep of {n} members: Test-LbPoolMember, piped (its default ThrottleLimit), all healthy", Seconds(sweep),
                $"{Seconds(baseline)} (one member per call)", Ratio(baseline, sweep));
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

    private static string Address(int i) => $"10.{i / 62500}.{i / 250 % 250}.{i % 250 + 1}";

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

    private static void Print(string psVersion, int members, int latencyMs, TimeSpan elapsed)
    {
        var gc = GC.GetGCMemoryInfo();
        Console.WriteLine();
        Console.WriteLine("## LoadBalancerTools benchmarks");
        Console.WriteLine();
        Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {Mb(gc.TotalAvailableMemoryBytes)} RAM available, {RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture}), " +
                          $"{RuntimeInformation.FrameworkDescription}, PowerShell {psVersion} hosted in-process, {(GCSettings.IsServerGC ? "server" : "workstation")} GC.");
        Console.WriteLine($"Emulator: NGINX Plus API emulator in the same process, {latencyMs} ms injected latency per request, request log off. " +
                          "Faulted runs: every tenth request on average answered 429 (Retry-After: 0) or 503 (no Retry-After), alternately.");
        Console.WriteLine();
        Console.WriteLine("| Figure | Value | Baseline | Ratio |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var row in Rows) Console.WriteLine("| " + string.Join(" | ", row) + " |");
        foreach (var note in Notes) Console.WriteLine(note);
        Console.WriteLine();
        Console.WriteLine($"Total benchmark time: {Seconds(elapsed)}.");
    }

    private static void Row(string figure, string value, string baseline, string ratio) => Rows.Add(new[] { figure, value, baseline, ratio });

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

    private static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : fallback;
    }
}
