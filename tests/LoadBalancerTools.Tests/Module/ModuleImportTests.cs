using System.Linq;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.Module
{
    public class ModuleImportTests
    {
        [Fact]
        public void The_built_module_exports_exactly_the_manifest_cmdlets_and_every_cmdlet_class_is_exported()
        {
            // The manifest's explicit list, as written.
            string manifest = System.IO.File.ReadAllText(RepoPaths.ModuleManifest);
            string list = System.Text.RegularExpressions.Regex.Match(manifest, @"CmdletsToExport\s*=\s*@\((?<l>[^)]*)\)").Groups["l"].Value;
            var declared = System.Text.RegularExpressions.Regex.Matches(list, "'([A-Za-z-]+)'").Select(m => m.Groups[1].Value).OrderBy(x => x).ToList();
            Assert.Contains("Invoke-LbHealthRemediation", declared);

            using var ps = new PsSession();
            var exported = ps.Run("Get-Command -Module LoadBalancerTools | ForEach-Object Name");
            Assert.False(exported.HadErrors, exported.ToString());
            Assert.Equal(declared, exported.Output.Select(o => o.ToString()).OrderBy(x => x).ToList());

            // Every cmdlet the assembly defines is in the list (none forgotten).
            var defined = ps.Run("(Get-Module LoadBalancerTools).ImplementingAssembly.GetExportedTypes() | " +
                                 "Where-Object { $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false).Count } | " +
                                 "ForEach-Object { $a = $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]; $a.VerbName + '-' + $a.NounName }");
            Assert.Equal(declared, defined.Output.Select(o => o.ToString()).OrderBy(x => x).ToList());
        }

        [Fact]
        public void Commands_without_a_connection_fail_with_a_clear_terminating_error()
        {
            using var ps = new PsSession();
            var r = ps.Run("Get-LbPool");
            var error = Assert.Single(r.AllErrors);
            Assert.Equal("LbNoConnection,LoadBalancerTools.Commands.GetLbPoolCommand", error.FullyQualifiedErrorId);
            Assert.Contains("Connect-LbController", error.Exception.Message);
        }

        [Fact]
        public void An_unknown_provider_is_named_in_the_error()
        {
            using var ps = new PsSession();
            var r = ps.Run("Connect-LbController -Provider Nginy -Endpoint http://127.0.0.1:1/api");
            var error = Assert.Single(r.AllErrors);
            Assert.StartsWith("LbUnknownProvider,", error.FullyQualifiedErrorId);
            Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.Contains("'Nginy'", error.Exception.Message);
            Assert.Contains("NginxPlus", error.Exception.Message);
        }
    }
}
