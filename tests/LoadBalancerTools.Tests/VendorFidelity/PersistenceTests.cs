using System;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.Tests.F5;

namespace LoadBalancerTools.Tests.VendorFidelity
{
    /// <summary>
    /// Changes that last: NetScaler saves its running configuration and F5 config-syncs to a device group,
    /// once per command that changed something, never per member, and never when nothing changed.
    /// </summary>
    public sealed class PersistenceTests
    {
        private static string NsCredential => "([pscredential]::new('nsroot', [Net.NetworkCredential]::new('', 'nsroot').SecurePassword))";

        [Fact]
        public async Task NetScaler_saves_once_per_command_that_changed_something()
        {
            await using var ns = await NetScalerEmulator.StartAsync();
            ns.AddServiceGroup("web");
            using var ps = new PsSession();
            Assert.False(ps.Run($"Connect-LbController -Provider NetScaler -Endpoint '{ns.BaseAddress}' -Credential {NsCredential} | Out-Null").HadErrors);

            var add = ps.Run("1..5 | ForEach-Object { [pscustomobject]@{ Address = \"10.0.0.$_\"; Port = 80 } } | Add-LbPoolMember -Pool web -Verbose");
            Assert.False(add.HadErrors, add.ToString());
            Assert.Equal(1, ns.SaveCount);
            Assert.Contains(add.Verbose, v => v.Contains("permanent") && v.Contains("nsconfig"));

            var again = ps.Run("1..5 | ForEach-Object { [pscustomobject]@{ Address = \"10.0.0.$_\"; Port = 80 } } | Add-LbPoolMember -Pool web");
            Assert.False(again.HadErrors, again.ToString());
            Assert.Equal(1, ns.SaveCount); // nothing changed, nothing saved

            var sync = ps.Run("Sync-LbPool -Pool web -Member @('10.0.0.1:80') -Prune -Force -DrainTimeoutSec 0");
            Assert.False(sync.HadErrors, sync.ToString());
            Assert.Equal(2, ns.SaveCount);
        }

        [Fact]
        public async Task NetScaler_saving_can_be_switched_off()
        {
            await using var ns = await NetScalerEmulator.StartAsync();
            ns.AddServiceGroup("web");
            using var ps = new PsSession();
            Assert.False(ps.Run($"Connect-LbController -Provider NetScaler -Endpoint '{ns.BaseAddress}' -Credential {NsCredential} -SaveConfig:$false | Out-Null").HadErrors);

            Assert.False(ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80").HadErrors);
            Assert.Equal(0, ns.SaveCount);
        }

        [Fact]
        public async Task F5_config_syncs_to_the_device_group_once_per_command()
        {
            await using var f5 = await F5Emulator.StartAsync();
            f5.AddPool("web");
            f5.AddDeviceGroup("ha-pair");
            using var ps = new PsSession();
            Assert.False(ps.Run(F5Support.ConnectScript(f5, extra: "-SyncGroup ha-pair") + " | Out-Null").HadErrors);

            var r = ps.Run("1..3 | ForEach-Object { [pscustomobject]@{ Address = \"10.0.0.$_\"; Port = 80 } } | Add-LbPoolMember -Pool web");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(new[] { "ha-pair" }, f5.ConfigSyncs);
        }

        [Fact]
        public async Task A_failed_sync_says_the_changes_were_applied_but_not_made_permanent()
        {
            await using var f5 = await F5Emulator.StartAsync();
            f5.AddPool("web");
            using var ps = new PsSession();
            Assert.False(ps.Run(F5Support.ConnectScript(f5, extra: "-SyncGroup no-such-group") + " | Out-Null").HadErrors);

            var r = ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80");

            var e = Assert.Single(r.Errors);
            Assert.StartsWith("LbPersistFailed,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains("applied", e.Exception.Message);
            Assert.Single(f5.GetMembers("web"));
        }

        [Fact]
        public async Task SyncGroup_is_refused_for_other_providers()
        {
            await using var ns = await NetScalerEmulator.StartAsync();
            using var ps = new PsSession();
            var r = ps.Run($"Connect-LbController -Provider NetScaler -Endpoint '{ns.BaseAddress}' -Credential {NsCredential} -SyncGroup x");
            Assert.StartsWith("LbNotSupported,", r.AllErrors.Single().FullyQualifiedErrorId, StringComparison.Ordinal);
        }
    }
}
