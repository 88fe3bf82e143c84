using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit.Hosting;
using Xunit.Abstractions;

namespace LoadBalancerTools.Tests.Pester
{
    /// <summary>
    /// The Pester suite (tests/Pester/*.Tests.ps1) as part of <c>dotnet test</c>: one test per file, each run
    /// by Invoke-Pester in the pinned pwsh 7.6.9 (<c>dotnet tool run pwsh</c>), failing with the name and
    /// message of every failed Pester test.
    /// </summary>
    public sealed class PesterSuiteTests
    {
        private static readonly TimeSpan FileTimeout = TimeSpan.FromMinutes(10);
        private readonly ITestOutputHelper _output;

        public PesterSuiteTests(ITestOutputHelper output) => _output = output;

        public static IEnumerable<object[]> Files() =>
            Directory.GetFiles(Path.Combine(RepoPaths.Root, "tests", "Pester"), "*.Tests.ps1")
                .Select(f => new object[] { Path.GetFileName(f) })
                .OrderBy(f => (string)f[0], StringComparer.Ordinal);

        private static string PesterManifest =>
            typeof(PesterSuiteTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "PesterManifest").Value!;

        [Theory]
        [MemberData(nameof(Files))]
        public async Task Pester_file_passes_in_real_pwsh(string file)
        {
            string results = Path.Combine(Path.GetTempPath(), $"lbtools-pester-{Guid.NewGuid():N}.json");
            var start = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = RepoPaths.Root,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[]
            {
                "tool", "run", "pwsh", "--", "-NoProfile", "-NonInteractive", "-File", Path.Combine("tests", "Pester", "Invoke-PesterFile.ps1"),
                "-Path", Path.Combine("tests", "Pester", file), "-ResultPath", results, "-PesterManifest", PesterManifest,
            }) start.ArgumentList.Add(a);
            // Colour codes would only clutter the captured output; the stage is the one built with these tests.
            start.Environment["NO_COLOR"] = "1";
            start.Environment["LBTOOLS_CONFIGURATION"] = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";

            var log = new StringBuilder();
            using var pwsh = new Process { StartInfo = start };
            pwsh.OutputDataReceived += (_, e) => { if (e.Data != null) lock (log) log.AppendLine(e.Data); };
            pwsh.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (log) log.AppendLine(e.Data); };
            pwsh.Start();
            pwsh.BeginOutputReadLine();
            pwsh.BeginErrorReadLine();
            try
            {
                using var deadline = new System.Threading.CancellationTokenSource(FileTimeout);
                await pwsh.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                pwsh.Kill(entireProcessTree: true); // only the pwsh this test started, by its handle
                await pwsh.WaitForExitAsync();
                Assert.Fail($"{file} did not finish within {FileTimeout.TotalMinutes} minutes.\n{log}");
            }
            pwsh.WaitForExit(); // drains the redirected streams
            string text;
            lock (log) text = log.ToString();
            _output.WriteLine(text);

            try
            {
                Assert.True(File.Exists(results), $"{file}: Invoke-Pester wrote no results (exit code {pwsh.ExitCode}).\n{text}");
                using var json = JsonDocument.Parse(File.ReadAllText(results));
                var root = json.RootElement;
                var failures = root.GetProperty("Failures");
                var failed = failures.ValueKind == JsonValueKind.Array
                    ? failures.EnumerateArray().Select(f => $"- {f.GetProperty("Name").GetString()}: {f.GetProperty("Message").GetString()}").ToList()
                    : new List<string>();
                Assert.True(root.GetProperty("Failed").GetInt32() == 0 && failed.Count == 0,
                    $"{file}: {root.GetProperty("Failed").GetInt32()} Pester test(s) failed:\n{string.Join("\n", failed)}");
                Assert.True(root.GetProperty("Passed").GetInt32() > 0, $"{file}: no Pester test ran.\n{text}");
                Assert.Equal(0, pwsh.ExitCode);
            }
            finally
            {
                File.Delete(results);
            }
        }
    }
}
