using System.Collections.Generic;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;

namespace LoadBalancerTools.Tests.Contract
{
    public sealed class NginxPlusContractTests : ProviderContractTests
    {
        protected override async Task<IContractTarget> StartTargetAsync()
        {
            var emulator = await NginxPlusEmulator.StartAsync();
            emulator.AddUpstream("web");
            emulator.AddServer("web", "10.0.0.1:80");
            emulator.AddServer("web", "10.0.0.2:8080");
            return new NginxPlusTarget(emulator);
        }

        private sealed class NginxPlusTarget : IContractTarget
        {
            private readonly NginxPlusEmulator _emulator;
            public NginxPlusTarget(NginxPlusEmulator emulator) => _emulator = emulator;
            public string ConnectScript => $"Connect-LbController -Provider NginxPlus -Endpoint '{_emulator.ApiBase}'";
            public string Pool => "web";
            public IReadOnlyList<(string Address, int Port)> SeededMembers { get; } = new[] { ("10.0.0.1", 80), ("10.0.0.2", 8080) };
            public IReadOnlyList<(string Address, int Port)> NewMembers { get; } = new[] { ("10.0.0.9", 80), ("10.0.0.10", 80) };
            public LbCapabilities Capabilities => LbCapabilities.Disable | LbCapabilities.Drain | LbCapabilities.Weight | LbCapabilities.ActiveConnections;
            public (string Address, int Port)? AddReadOnlyMember()
            {
                _emulator.AddResolvedServer("web", parentId: 0, host: "app.example", address: "10.0.0.7:80");
                return ("10.0.0.7", 80);
            }
            public ValueTask DisposeAsync() => _emulator.DisposeAsync();
        }
    }
}
