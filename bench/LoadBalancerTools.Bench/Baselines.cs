using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Bench;

/// <summary>
/// What the module is measured against, none of it the module: a sequential PowerShell script of the kind a
/// runbook without the module has, and a bare concurrent HTTP client, the ceiling of what concurrency gives.
/// Both add the same members (<see cref="Address"/>) with the same request the NGINX Plus provider sends.
/// </summary>
internal static class Baselines
{
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "baselines", "sequential-add.ps1");

    /// <summary>Runs baselines/sequential-add.ps1 in the pinned pwsh (dotnet tool restore first); returns the time its loop took, by its own clock.</summary>
    public static async Task<TimeSpan> SequentialScriptAsync(Uri apiBase, string pool, int count)
    {
        await RunAsync("dotnet", "tool restore");
        string output = await RunAsync("dotnet", $"pwsh -NoProfile -NonInteractive -File \"{Script}\" -ApiBase {apiBase} -Pool {pool} -Count {count}");
        string last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();
        return TimeSpan.FromSeconds(double.Parse(last, CultureInfo.InvariantCulture));
    }

    /// <summary>Posts one server per member with <paramref name="concurrency"/> requests in flight: nothing but the HTTP calls.</summary>
    public static async Task<TimeSpan> BareClientAsync(Uri apiBase, string pool, int count, int concurrency)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue });
        var uri = new Uri($"{apiBase}/9/http/upstreams/{pool}/servers");
        int next = -1;
        async Task Worker()
        {
            await Task.Yield();
            for (int i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                using var body = new StringContent("{\"server\":\"" + Address(i) + ":80\"}", Encoding.UTF8, "application/json");
                using var response = await http.PostAsync(uri, body);
                response.EnsureSuccessStatusCode();
            }
        }
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Math.Max(1, concurrency)).Select(_ => Worker()));
        return clock.Elapsed;
    }

    /// <summary>The i-th member's address, as the module's desired list and the script build it.</summary>
    public static string Address(int i) => $"10.{i / 62500}.{i / 250 % 250}.{i % 250 + 1}";

    private static async Task<string> RunAsync(string file, string arguments)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"'{file} {arguments}' exited with {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
