using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.Bench;

/// <summary>
/// One round of Invoke-LbHealthRemediation over many pools: 100 pools of 10 members on 20 emulated NGINX Plus
/// controllers (5 ms per API call), members probed over HTTP on real local listeners, with two runners sharing
/// a real redis-server (each takes the pools it wins the lease for), beside one runner with the file store.
/// Run from the repository root:
///   dotnet run -c Release --project bench/LoadBalancerTools.Bench -- --shared-remediation
/// Options: --controllers N (20), --pools N (100), --members N (10), --latency-ms N (5), --rounds N (3).
/// </summary>
internal static class SharedRemediationBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        int controllers = Option(args, "--controllers", 20);
        int poolCount = Option(args, "--pools", 100);
        int members = Option(args, "--members", 10);
        int latencyMs = Option(args, "--latency-ms", 5);
        int rounds = Option(args, "--rounds", 3);
        var emulators = new List<NginxPlusEmulator>();
        var backends = new List<BackendServer>();
        string dir = Path.Combine(Path.GetTempPath(), "lbtools-bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            Log($"{poolCount} pools x {members} members on {controllers} controllers, {latencyMs} ms per API call");
            // One real HTTP listener per member slot; pools share them (a member is an address and port within its pool).
            for (int m = 0; m < members; m++) backends.Add(await BackendServer.StartAsync("m" + m));
            for (int c = 0; c < controllers; c++)
            {
                var emu = await NginxPlusEmulator.StartAsync(new NginxPlusEmulatorOptions { RecordRequests = false });
                emu.Faults.Latency = TimeSpan.FromMilliseconds(latencyMs);
                emulators.Add(emu);
            }
            for (int p = 0; p < poolCount; p++)
            {
                var emu = emulators[p % controllers];
                string pool = "pool" + p.ToString("000", CultureInfo.InvariantCulture);
                emu.AddUpstream(pool);
                foreach (var b in backends) emu.AddServer(pool, b.Address);
            }
            await using var redis = await RedisProcess.StartAsync();
            string connect = string.Join("; ", emulators.Select((e, i) => $"$c{i} = Connect-LbController -Provider NginxPlus -Endpoint '{e.ApiBase}'")) +
                             "; $pools = @(" + string.Join("; ", emulators.Select((_, i) => $"Get-LbPool -Connection $c{i}")) + ")";
            string common = "$pools | Invoke-LbHealthRemediation -Path /healthz -ProbeTimeoutSec 2 -ThrottleLimit 64 ";

            using var fileRunner = Session(connect);
            using var runnerA = Session(connect);
            using var runnerB = Session(connect);
            string file = common + $"-StatePath '{dir}'";
            string shared(string id) => common + $"-StateStore '{redis.Url}' -RunnerId {id}";

            Checked(fileRunner, file); // warm-up: JIT, connections, the state files created
            Checked(runnerA, shared("bench-a"));
            Checked(runnerB, shared("bench-b"));

            var fileTimes = new List<TimeSpan>();
            for (int i = 0; i < rounds; i++) fileTimes.Add(Time(() => Checked(fileRunner, file)));
            Log($"  one runner, file store: {Seconds(Median(fileTimes))}");

            var sharedTimes = new List<TimeSpan>();
            var split = new List<string>();
            for (int i = 0; i < rounds; i++)
            {
                // Both runners start the same round at once, as two machines on one schedule would.
                var clock = Stopwatch.StartNew();
                var a = Task.Run(() => Checked(runnerA, shared("bench-a") + " -Verbose"));
                var b = Task.Run(() => Checked(runnerB, shared("bench-b") + " -Verbose"));
                var results = await Task.WhenAll(a, b);
                clock.Stop();
                sharedTimes.Add(clock.Elapsed);
                split.Add(string.Join("/", results.Select(r => poolCount - r.Verbose.Count(v => v.Contains(" held by ", StringComparison.Ordinal)))));
            }
            Log($"  two runners, Redis: {Seconds(Median(sharedTimes))} (pools acted on per runner, each round: {string.Join(", ", split)})");

            Console.WriteLine();
            Console.WriteLine($"| One remediation round, {poolCount} pools x {members} members on {controllers} controllers ({latencyMs} ms per API call), HTTP probes | Time (median of {rounds}) |");
            Console.WriteLine("|---|---|");
            Console.WriteLine($"| Two runners sharing Redis, started together (pools acted on per runner: {string.Join(", ", split)}) | {Seconds(Median(sharedTimes))} |");
            Console.WriteLine($"| One runner, file store (one state file per pool) | {Seconds(Median(fileTimes))} |");
            Console.WriteLine();
            Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}. Target: under 10 s per round.");
            return 0;
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine("Benchmark failed: " + ex);
            return 1;
        }
        finally
        {
            foreach (var e in emulators) await e.DisposeAsync();
            foreach (var b in backends) await b.DisposeAsync();
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    private static PsSession Session(string connect)
    {
        var ps = new PsSession();
        Checked(ps, connect);
        return ps;
    }

    private static PsResult Checked(PsSession ps, string script)
    {
        var r = ps.Run(script);
        if (r.HadErrors) throw new InvalidOperationException($"'{script}' failed: {r}");
        return r;
    }

    private static TimeSpan Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed;
    }

    private static TimeSpan Median(List<TimeSpan> values) => values.OrderBy(v => v).ElementAt(values.Count / 2);

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";

    private static void Log(string message) => Console.Error.WriteLine($"[bench {DateTime.Now:HH:mm:ss}] {message}");

    private static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : fallback;
    }
}
