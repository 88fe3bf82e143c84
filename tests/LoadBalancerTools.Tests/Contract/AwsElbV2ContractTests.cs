using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;

namespace LoadBalancerTools.Tests.Contract
{
    /// <summary>
    /// ELBv2 against the contract: an instance target group whose deregistration delay is 0, so a
    /// removed target leaves at once (as on AWS with that setting). Disable, Drain-as-a-state and Weight
    /// are refused as not supported: ELBv2 drains only by deregistering.
    /// </summary>
    public sealed class AwsElbV2ContractTests : ProviderContractTests
    {
        protected override async Task<IContractTarget> StartTargetAsync()
        {
            var emulator = await AwsElbV2Emulator.StartAsync();
            emulator.AddTargetGroup("web", port: 80, deregistrationDelay: TimeSpan.Zero);
            emulator.AddTarget("web", "i-0aaaaaaaaaaaaaaa1", 80);
            emulator.AddTarget("web", "i-0aaaaaaaaaaaaaaa2", 8080);
            return new ElbV2Target(emulator);
        }

        private sealed class ElbV2Target : IContractTarget
        {
            private readonly AwsElbV2Emulator _emulator;
            public ElbV2Target(AwsElbV2Emulator emulator) => _emulator = emulator;
            public string ConnectScript =>
                $"Connect-LbController -Provider AwsElbV2 -Region {_emulator.Region} -Endpoint '{_emulator.Endpoint}' " +
                $"-Credential ([pscredential]::new('{AwsElbV2Emulator.DefaultAccessKeyId}', [Net.NetworkCredential]::new('', '{AwsElbV2Emulator.DefaultSecretKey}').SecurePassword))";
            public string Pool => "web";
            public IReadOnlyList<(string Address, int Port)> SeededMembers { get; } = new[] { ("i-0aaaaaaaaaaaaaaa1", 80), ("i-0aaaaaaaaaaaaaaa2", 8080) };
            public IReadOnlyList<(string Address, int Port)> NewMembers { get; } = new[] { ("i-0bbbbbbbbbbbbbbb1", 80), ("i-0bbbbbbbbbbbbbbb2", 80) };
            public LbCapabilities Capabilities => LbCapabilities.BatchChanges | LbCapabilities.DrainOnRemove;
            public ValueTask DisposeAsync() => _emulator.DisposeAsync();
        }
    }
}
