using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.TestKit.RealServers;

/// <summary>
/// Real pwsh 7.6.9 (the repository's pinned .NET local tool) running a script as a separate process, as a
/// scheduled task on another machine would: <c>dotnet pwsh -NoProfile -NonInteractive -File script …</c> from
/// the repository root, stopped by process id like every harness process.
/// </summary>
public static class PwshProcess
{
    private static readonly Lazy<bool> Restored = new(Restore);

    public static ManagedProcess StartScript(string name, string script, IEnumerable<string> arguments)
    {
        _ = Restored.Value;
        return ManagedProcess.Start(name, "dotnet", new[] { "pwsh", "-NoProfile", "-NonInteractive", "-File", script }.Concat(arguments), workingDirectory: RepoPaths.Root);
    }

    /// <summary>A fresh clone has the tool in its manifest but not yet on disk: restore it once per test process.</summary>
    private static bool Restore()
    {
        using var restore = Process.Start(new ProcessStartInfo("dotnet", "tool restore") { WorkingDirectory = RepoPaths.Root, RedirectStandardOutput = true, RedirectStandardError = true })!;
        string output = restore.StandardOutput.ReadToEnd() + restore.StandardError.ReadToEnd();
        if (!restore.WaitForExit(120_000) || restore.ExitCode != 0) throw new InvalidOperationException("'dotnet tool restore' failed: " + output);
        return true;
    }
}
