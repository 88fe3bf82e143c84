using System.Collections.Generic;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;

namespace LoadBalancerTools.Tests.Contract
{
    public sealed class NetScalerContractTests : ProviderContractTests
    {
        protected override async Task<IContractTarget> StartTargetAsync()
        {
            var emulator = await NetScalerEmulator.StartAsync(new NetScalerEmulatorOptions { UserName = "lbops", Password = "C0ntract!pw" });
            emulator.AddServiceGroup("web");
            emulator.AddMember("web", "10.0.0.1", 80);
            emulator.AddMember("web", "10.0.0.2", 8080);
            return new NetScalerTarget(emulator);
        }

        private sealed class NetScalerTarget : IContractTarget
        {
            private readonly NetScalerEmulator _emulator;
            public NetScalerTarget(NetScalerEmulator emulator) => _emulator = emulator;
            public string ConnectScript =>
                "$cred = [pscredential]::new('lbops', [System.Net.NetworkCredential]::new('', 'C0ntract!pw').SecurePassword); " +
                $"Connect-LbController -Provider NetScaler -Endpoint '{_emulator.BaseAddress}' -Credential $cred";
            public string Pool => "web";
            public IReadOnlyList<(string Address, int Port)> SeededMembers { get; } = new[] { ("10.0.0.1", 80), ("10.0.0.2", 8080) };
            public IReadOnlyList<(string Address, int Port)> NewMembers { get; } = new[] { ("10.0.0.9", 80), ("10.0.0.10", 80) };
            public LbCapabilities Capabilities => LbCapabilities.Disable | LbCapabilities.Drain | LbCapabilities.ForcedOffline | LbCapabilities.Weight | LbCapabilities.ActiveConnections;
            public ValueTask DisposeAsync() => _emulator.DisposeAsync();
        }
    }
}
