using System;
using System.Diagnostics;
using System.IO;
using LoadBalancerTools.TestKit.Hosting;

// `dotnet run --project tools/Demo -c Release`: the demonstration is PowerShell (tools/Demo/Start-Demo.ps1,
// run by the pinned pwsh); this launcher exists so that the one command also restores and builds it all.
string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
var start = new ProcessStartInfo("dotnet") { WorkingDirectory = RepoPaths.Root };
foreach (var a in new[] { "tool", "run", "pwsh", "--", "-NoProfile", "-File", Path.Combine("tools", "Demo", "Start-Demo.ps1"), "-Configuration", configuration })
{
    start.ArgumentList.Add(a);
}
using var pwsh = Process.Start(start)!;
pwsh.WaitForExit();
return pwsh.ExitCode;
