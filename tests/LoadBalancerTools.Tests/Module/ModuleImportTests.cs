using System.Linq;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.Module
{
    public class ModuleImportTests
    {
        private static readonly string[] Exported =
        {
            "Add-LbPoolMember", "Connect-LbController", "Disconnect-LbController", "Get-LbConnection",
            "Get-LbPool", "Get-LbPoolMember", "Remove-LbPoolMember", "Set-LbPoolMember",
            "Sync-LbPool", "Wait-LbPoolMember",
        };

        [Fact]
        public void The_built_module_exports_exactly_the_manifest_cmdlets()
        {
            using var ps = new PsSession();
            var r = ps.Run("Get-Command -Module LoadBalancerTools | ForEach-Object Name");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(Exported.OrderBy(x => x), r.Output.Select(o => o.ToString()).OrderBy(x => x));
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
