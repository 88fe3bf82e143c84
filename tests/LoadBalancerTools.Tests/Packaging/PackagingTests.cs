using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Management.Automation.Language;
using System.Xml.Linq;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.Packaging
{
    /// <summary>
    /// dotnet pack of tools/Packaging/Packaging.proj, as ./build.ps1 -Task Package runs it, into a temporary
    /// folder: the package must be what PowerShellGet and PSResourceGet install, the module at the root
    /// and a nuspec whose fields come from the manifest (read here with PowerShell's own parser, not
    /// with the regular expressions the project uses).
    /// </summary>
    public sealed class PackagingTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lbtools-pack-" + Guid.NewGuid().ToString("N"));

        public void Dispose()
        {
            if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
        }

        private static Hashtable Manifest(string path)
        {
            var ast = Parser.ParseFile(path, out _, out var errors);
            Assert.Empty(errors);
            return (Hashtable)ast.Find(a => a is HashtableAst, false)!.SafeGetValue();
        }

        private static string[] Strings(object? value) => value switch
        {
            null => Array.Empty<string>(),
            string s => new[] { s },
            object[] items => items.Select(i => (string)i).ToArray(),
            _ => throw new InvalidOperationException("Unexpected manifest value " + value.GetType()),
        };

        private string Pack()
        {
            var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = RepoPaths.Root,
            };
            foreach (var a in new[] { "pack", Path.Combine(RepoPaths.Root, "tools", "Packaging", "Packaging.proj"), "-o", _dir, "--nologo" }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(TimeSpan.FromMinutes(3)), "dotnet pack did not finish within 3 minutes");
            Assert.True(p.ExitCode == 0, $"dotnet pack failed ({p.ExitCode}):\n{stdout.Result}\n{stderr.Result}");
            return Assert.Single(Directory.GetFiles(_dir, "*.nupkg"));
        }

        [Fact]
        public void The_package_holds_the_built_module_at_its_root_and_a_nuspec_taken_from_the_manifest()
        {
            var manifest = Manifest(Path.Combine(RepoPaths.Root, "LoadBalancerTools.psd1"));
            string version = (string)manifest["ModuleVersion"]!;
            string[] cmdlets = Strings(manifest["CmdletsToExport"]);
            Assert.NotEmpty(cmdlets);
            var psData = (Hashtable)((Hashtable)manifest["PrivateData"]!)["PSData"]!;

            string nupkg = Pack();
            Assert.Equal($"LoadBalancerTools.{version}.nupkg", Path.GetFileName(nupkg));
            using var zip = ZipFile.OpenRead(nupkg);
            var entries = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);

            // Every file of the built module, at the same relative path, and with the same bytes.
            string moduleDir = Path.Combine(RepoPaths.Root, "out", "LoadBalancerTools");
            foreach (string file in Directory.GetFiles(moduleDir, "*", SearchOption.AllDirectories))
            {
                string relative = Path.GetRelativePath(moduleDir, file).Replace('\\', '/');
                var entry = zip.GetEntry(relative);
                Assert.True(entry != null, $"{relative} is not at the package root");
                Assert.Equal(new FileInfo(file).Length, entry!.Length);
            }
            foreach (string required in new[]
            {
                "LoadBalancerTools.psd1", "LoadBalancerTools.dll", "LoadBalancerTools.Loader.dll", "LoadBalancerTools.format.ps1xml",
                "Dependencies/LoadBalancerTools.Engine.dll", "en-US/LoadBalancerTools.dll-Help.xml", "en-US/about_LoadBalancerTools.help.txt",
                "LICENSE", "CHANGELOG.md", "LoadBalancerTools.nuspec",
            })
            {
                Assert.Contains(required, entries);
            }
            Assert.DoesNotContain(entries, e => e.StartsWith("lib/", StringComparison.Ordinal) || e.StartsWith("content/", StringComparison.Ordinal)
                || e.StartsWith("Dependencies/Dependencies/", StringComparison.Ordinal));

            // The packed manifest is the one the version came from.
            string packedManifest = Path.Combine(_dir, "packed.psd1");
            zip.GetEntry("LoadBalancerTools.psd1")!.ExtractToFile(packedManifest);
            Assert.Equal(version, (string)Manifest(packedManifest)["ModuleVersion"]!);

            XNamespace ns = "http://schemas.microsoft.com/packaging/2011/08/nuspec.xsd";
            XElement metadata;
            using (var nuspec = zip.GetEntry("LoadBalancerTools.nuspec")!.Open()) metadata = XDocument.Load(nuspec).Root!.Element(ns + "metadata")!;
            string Field(string name) => (string?)metadata.Element(ns + name) ?? "";
            Assert.Equal("LoadBalancerTools", Field("id"));
            Assert.Equal(version, Field("version"));
            Assert.Equal((string)manifest["Author"]!, Field("authors"));
            Assert.Equal((string)manifest["Description"]!, Field("description"));
            Assert.Equal((string)psData["ReleaseNotes"]!, Field("releaseNotes"));
            Assert.Equal("MIT", Field("license"));
            Assert.Null(metadata.Element(ns + "dependencies"));

            var tags = Field("tags").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
            Assert.Contains("PSModule", tags);
            Assert.Contains("PSIncludes_Cmdlet", tags);
            foreach (string cmdlet in cmdlets)
            {
                Assert.Contains("PSCmdlet_" + cmdlet, tags);
                Assert.Contains("PSCommand_" + cmdlet, tags);
            }
            Assert.Equal(cmdlets.Length, tags.Count(t => t.StartsWith("PSCmdlet_", StringComparison.Ordinal)));
            Assert.Superset(Strings(psData["Tags"]).ToHashSet(StringComparer.Ordinal), tags);
        }
    }
}
