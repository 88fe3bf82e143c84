using System.Collections.Generic;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.Tests.F5;

namespace LoadBalancerTools.Tests.Contract
{
    public sealed class F5ContractTests : ProviderContractTests
    {
        protected override async Task<IContractTarget> StartTargetAsync()
        {
            var emulator = await F5Emulator.StartAsync();
            emulator.AddPool("web");
            emulator.AddMember("web", "10.0.0.1", 80);
            emulator.AddMember("web", "10.0.0.2", 8080);
            return new F5Target(emulator);
        }

        private sealed class F5Target : IContractTarget
        {
            private readonly F5Emulator _emulator;
            public F5Target(F5Emulator emulator) => _emulator = emulator;
            public string ConnectScript => F5Support.ConnectScript(_emulator);
            public string Pool => "web";
            public IReadOnlyList<(string Address, int Port)> SeededMembers { get; } = new[] { ("10.0.0.1", 80), ("10.0.0.2", 8080) };
            public IReadOnlyList<(string Address, int Port)> NewMembers { get; } = new[] { ("10.0.0.9", 80), ("10.0.0.10", 80) };
            // Disable is BIG-IP's drain (existing connections finish); there is no separate Draining read-back, so Drain is not declared.
            public LbCapabilities Capabilities =>
                LbCapabilities.Disable | LbCapabilities.ForcedOffline | LbCapabilities.Weight | LbCapabilities.ActiveConnections | LbCapabilities.Transactions;
            public (string Address, int Port)? AddReadOnlyMember()
            {
                _emulator.AddMember("web", "10.0.0.7", 80, nodeName: "_auto_10.0.0.7", ephemeral: true);
                return ("10.0.0.7", 80);
            }
            public ValueTask DisposeAsync() => _emulator.DisposeAsync();
        }
    }
}
