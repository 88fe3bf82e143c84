using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Xml.Linq;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.Help
{
    /// <summary>
    /// The build step itself, run as the build runs it (dotnet exec HelpBuilder.dll) on a copy of docs/:
    /// a malformed doc must fail with a message that names the file, the line and the rule.
    /// </summary>
    public sealed class HelpBuilderTests : IDisposable
    {
        // Same configuration as this test assembly (bin/<Configuration>/net10.0/).
        private static readonly string Configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar)).Parent!.Name;
        private static readonly string Tool = Path.Combine(RepoPaths.Root, "tools", "HelpBuilder", "bin", Configuration, "net10.0", "HelpBuilder.dll");
        private static readonly string CmdletAssembly = Path.Combine(RepoPaths.Root, "src", "LoadBalancerTools", "bin", Configuration, "netstandard2.0", "LoadBalancerTools.dll");

        private readonly string _work = Path.Combine(Path.GetTempPath(), "lbtools-help-" + Guid.NewGuid().ToString("N"));
        private readonly string _docs;
        private readonly string _out;

        public HelpBuilderTests()
        {
            _docs = Path.Combine(_work, "docs");
            _out = Path.Combine(_work, "en-US");
            Directory.CreateDirectory(_docs);
            foreach (string file in Directory.GetFiles(Path.Combine(RepoPaths.Root, "docs"), "*.md"))
            {
                File.Copy(file, Path.Combine(_docs, Path.GetFileName(file)));
            }
        }

        public void Dispose()
        {
            try { Directory.Delete(_work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }

        [Fact]
        public void The_shipped_docs_compile_without_a_gap_even_in_strict_mode()
        {
            var (exit, output) = RunBuilder(strict: true);
            Assert.True(exit == 0, output);
            Assert.DoesNotContain(": warning ", output, StringComparison.Ordinal);
            var maml = XDocument.Load(Path.Combine(_out, "LoadBalancerTools.dll-Help.xml"));
            XNamespace command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
            var names = maml.Root!.Elements(command + "command").Select(c => (string)c.Element(command + "details")!.Element(command + "name")!).ToList();
            Assert.Contains("Set-LbPoolMember", names);
            Assert.Equal(names.Count, Directory.GetFiles(_docs, "*-*.md").Length);
            Assert.StartsWith("TOPIC", File.ReadAllText(Path.Combine(_out, "about_LoadBalancerTools.help.txt")), StringComparison.Ordinal);
        }

        [Theory]
        [InlineData("Get-LbPool.md", "## SYNOPSIS", "## SYNOPSYS", "HB002")]
        [InlineData("Get-LbPool.md", "## OUTPUTS", "## OUTPUT", "HB002")]
        [InlineData("Connect-LbController.md", "# Connect-LbController\n", "# Connect-LbControler\n", "HB001")]
        [InlineData("Get-LbPool.md", "```powershell\nGet-LbPool\n```\n", "", "HB007")]
        [InlineData("Get-LbPool.md", "### Example 2:", "### Example 7:", "HB007")]
        [InlineData("Set-LbPoolMember.md", "### -Force\n", "### -Forse\n", "HB012")]
        [InlineData("Set-LbPoolMember.md", "### -Force\nSkips the extra confirmation that -State ForcedOffline asks for. -WhatIf still only shows the change.\n", "### -Force\n", "HB008")]
        [InlineData("Get-LbPoolMember.md", "$_.ActiveConnections }\n```", "$_.ActiveConnections }", "HB010")]
        [InlineData("Get-LbConnection.md", "### None\nYou cannot pipe objects to Get-LbConnection.\n", "", "HB009")]
        [InlineData("about_LoadBalancerTools.md", "## SHORT DESCRIPTION", "## SUMMARY", "HB013")]
        public void A_malformed_doc_fails_naming_file_line_and_rule_and_writes_nothing(string file, string find, string replace, string code)
        {
            Edit(file, find, replace);
            var (exit, output) = RunBuilder(strict: false);
            Assert.True(exit == 1, output);
            Assert.Matches($@"{System.Text.RegularExpressions.Regex.Escape(Path.Combine(_docs, file))}(\(\d+\))?: error {code}: ", output);
            Assert.False(Directory.Exists(_out) && Directory.EnumerateFiles(_out).Any(), "nothing is written when a doc is malformed");
        }

        [Fact]
        public void A_doc_for_a_cmdlet_that_does_not_exist_fails()
        {
            File.WriteAllText(Path.Combine(_docs, "Get-LbWidget.md"), "# Get-LbWidget\n\n## SYNOPSIS\nNothing.\n");
            var (exit, output) = RunBuilder(strict: false);
            Assert.Equal(1, exit);
            Assert.Contains("Get-LbWidget.md: error HB011: No cmdlet named 'Get-LbWidget'", output, StringComparison.Ordinal);
        }

        /// <summary>A cmdlet written before its help must not break everyone's build: a warning, an error only with --strict.</summary>
        [Fact]
        public void A_parameter_without_a_description_is_a_warning_and_an_error_in_strict_mode()
        {
            Edit("Get-LbConnection.md", "### -Default\nReturns only the default connection (the most recent Connect-LbController that is still open), or nothing when there is none.\n", "");
            var (exit, output) = RunBuilder(strict: false);
            Assert.True(exit == 0, output);
            Assert.Contains("warning HB101: Get-LbConnection: the parameter -Default has no description", output, StringComparison.Ordinal);

            (exit, output) = RunBuilder(strict: true);
            Assert.Equal(1, exit);
            Assert.Contains("error HB101: Get-LbConnection: the parameter -Default has no description", output, StringComparison.Ordinal);
        }

        [Fact]
        public void A_cmdlet_without_a_doc_is_reported()
        {
            File.Delete(Path.Combine(_docs, "Get-LbConnection.md"));
            var (exit, output) = RunBuilder(strict: false);
            Assert.True(exit == 0, output);
            Assert.Contains("warning HB100: The cmdlet Get-LbConnection", output, StringComparison.Ordinal);
        }

        private void Edit(string file, string find, string replace)
        {
            string path = Path.Combine(_docs, file);
            string text = File.ReadAllText(path).Replace("\r\n", "\n");
            Assert.True(text.Contains(find, StringComparison.Ordinal), $"{file} no longer contains the text this test edits: {find}");
            File.WriteAllText(path, text.Replace(find, replace));
        }

        private (int Exit, string Output) RunBuilder(bool strict)
        {
            Assert.True(File.Exists(Tool), $"{Tool} was not built");
            var start = new ProcessStartInfo(DotnetHost())
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string arg in new[] { "exec", Tool, "--docs", _docs, "--assembly", CmdletAssembly, "--out", _out })
            {
                start.ArgumentList.Add(arg);
            }
            if (strict) start.ArgumentList.Add("--strict");
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            string stdout = process.StandardOutput.ReadToEnd();
            Assert.True(process.WaitForExit(60_000), "HelpBuilder did not finish within a minute");
            return (process.ExitCode, stdout + stderr.Result);
        }

        private static string DotnetHost()
        {
            string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
            string? self = Environment.ProcessPath;
            if (self != null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) return self;
            return "dotnet";
        }
    }
}
