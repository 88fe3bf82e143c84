using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.TestKit.RealServers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

// The stage for the demonstration; the play itself is examples/demo-3am.ps1, in PowerShell, using only
// the module's cmdlets (plus a "fail this backend" button that stands in for a 3 AM outage).
string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
string lbHost = Path.Combine(RepoPaths.Root, "tools", "LbHost", "bin", configuration, "net10.0", "LbHost.dll");
string script = Path.Combine(RepoPaths.Root, "examples", "demo-3am.ps1");
string work = Path.Combine(Path.GetTempPath(), "lbtools-demo-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(work);

Console.WriteLine("Starting the stage: four web backends, a spare, HAProxy 2.6 in front, steady client traffic, an alert receiver.");
var backends = new List<BackendServer>();
for (int i = 1; i <= 5; i++) backends.Add(await BackendServer.StartAsync("web" + i));
var options = new HaproxyOptions();
var pool = options.AddBackend("web");
foreach (var b in backends.Take(4)) pool.AddServer(b);
foreach (var s in pool.Servers) s.Check = false; // HAProxy's own checks are off: the module does the healing
pool.ExtraLines.Add("retries 0");
await using var haproxy = await HaproxyProcess.StartAsync(options);
await using var alerts = await WebhookReceiver.StartAsync();
await using var traffic = TrafficGenerator.Start(haproxy.FrontendUrl, requestsPerSecond: 40, concurrency: 2, maxDuration: TimeSpan.FromMinutes(5));

// The "outage" buttons and the traffic report, for the script.
var (control, controlPort) = await LoopbackServer.StartAsync(app =>
{
    app.MapPost("/fail/{name}", async (string name) => { await backends.Single(b => b.Name == name).StopAsync(); return Results.Ok(); });
    app.MapPost("/recover/{name}", async (string name) => { await backends.Single(b => b.Name == name).RestartAsync(); return Results.Ok(); });
    app.MapPost("/traffic/reset", () => { traffic.ResetCounters(); return Results.Ok(); });
    app.MapGet("/traffic", () => { var s = traffic.Snapshot(); return Results.Json(new { s.Total, s.Successes, s.Failures, s.HitsByBackend }); });
    app.MapGet("/alerts", () => Results.Json(alerts.Received.Select(a => new { a.Path, a.Body })));
});
string controlUrl = $"http://127.0.0.1:{controlPort}";

int exit;
try
{
    var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = work };
    foreach (var a in new[]
    {
        lbHost, script,
        "-Endpoint", haproxy.AdminEndpoint,
        "-Spare", backends[4].Address,
        "-ControlUri", controlUrl,
        "-AlertUri", alerts.BaseUrl.ToString(),
        "-WorkDirectory", work,
    }) psi.ArgumentList.Add(a);
    using var run = Process.Start(psi)!;
    await run.WaitForExitAsync();
    exit = run.ExitCode;
}
finally
{
    await control.StopAsync();
    foreach (var b in backends) await b.DisposeAsync();
    Directory.Delete(work, recursive: true);
}
Console.WriteLine(exit == 0 ? "Demo finished; every process it started has been stopped." : $"Demo failed (exit code {exit}).");
return exit;
