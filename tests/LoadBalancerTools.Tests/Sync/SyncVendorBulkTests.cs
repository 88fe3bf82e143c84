using System;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.Tests.F5;

namespace LoadBalancerTools.Tests.Sync
{
    /// <summary>Sync-LbPool uses the vendor's own bulk features where they exist.</summary>
    public sealed class SyncVendorBulkTests
    {
        private static string Desired(int count, string prefix) =>
            $"$desired = 1..{count} | ForEach-Object {{ @{{ Address = \"{prefix}$_\"; Port = 80 }} }}";

        [Fact]
        public async Task On_F5_the_adds_go_in_one_transaction_and_a_failed_transaction_changes_nothing()
        {
            await using var f5 = await F5Emulator.StartAsync();
            f5.AddPool("web");
            using var ps = new PsSession();
            Assert.False(ps.Run(F5Support.ConnectScript(f5) + " | Out-Null").HadErrors);

            var r = ps.Run(Desired(30, "10.2.0.") + "; Sync-LbPool -Pool web -Member $desired -PassThru");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(30, f5.GetMembers("web").Count);
            Assert.Equal(1, f5.CommittedTransactions);

            // A weight outside BIG-IP's ratio range (1 to 100) is refused before anything is sent.
            f5.ClearRequests();
            var outOfRange = ps.Run("Sync-LbPool -Pool web -Member ($desired + @(@{ Address = '10.3.0.2'; Port = 80; Weight = 500 }))");
            Assert.Contains(outOfRange.Errors, e => e.FullyQualifiedErrorId.StartsWith("LbInvalidWeight,", StringComparison.Ordinal));
            Assert.Equal(0, f5.CountRequests("POST", "/transaction"));

            // A transaction the device refuses at commit is refused whole: nothing of it lands, and each change
            // says why. (A host name needs an existing node on BIG-IP: "invalid IP address ... for a new node".)
            var bad = ps.Run("$more = @(@{ Address = '10.3.0.1'; Port = 80 }, @{ Address = 'app-z.example'; Port = 80; Weight = 50 }); " +
                             "Sync-LbPool -Pool web -Member ($desired + $more) -PassThru");
            Assert.True(bad.HadErrors, bad.ToString());
            Assert.All(bad.Errors, e => Assert.StartsWith("LbSyncAddFailed,", e.FullyQualifiedErrorId));
            Assert.Equal(2, bad.Errors.Count); // both adds failed together: the transaction is all or nothing
            Assert.Equal(30, f5.GetMembers("web").Count);
        }

        [Fact]
        public async Task On_AWS_the_adds_go_many_targets_per_RegisterTargets_call()
        {
            await using var aws = await AwsElbV2Emulator.StartAsync();
            aws.AddTargetGroup("web", targetType: "ip");
            using var ps = new PsSession();
            string credential = $"([pscredential]::new('{AwsElbV2Emulator.DefaultAccessKeyId}', [Net.NetworkCredential]::new('', '{AwsElbV2Emulator.DefaultSecretKey}').SecurePassword))";
            Assert.False(ps.Run($"Connect-LbController -Provider AwsElbV2 -Region us-east-1 -Endpoint '{aws.Endpoint}' -Credential {credential} | Out-Null").HadErrors);
            aws.ClearRequests();

            var r = ps.Run(Desired(100, "10.4.0.") + "; Sync-LbPool -Pool web -Member $desired");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(100, aws.GetTargets("web").Count);
            Assert.InRange(aws.Count("RegisterTargets", 200), 1, 3);
        }
    }
}
