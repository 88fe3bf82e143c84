using System.Collections.Generic;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.Tests.Contract
{
    /// <summary>The contract suite against a real Caddy 2.6 with real backends.</summary>
    [Trait("Category", "RealLoadBalancer")]
    public sealed class CaddyContractTests : ProviderContractTests
    {
        protected override async Task<IContractTarget> StartTargetAsync()
        {
            var backends = new List<BackendServer>();
            for (int i = 1; i <= 4; i++) backends.Add(await BackendServer.StartAsync("b" + i));
            var options = new CaddyOptions().AddUpstream(backends[0]).AddUpstream(backends[1]);
            var caddy = await CaddyProcess.StartAsync(options);
            return new CaddyTarget(caddy, backends);
        }

        private sealed class CaddyTarget : IContractTarget
        {
            private readonly CaddyProcess _caddy;
            private readonly List<BackendServer> _backends;

            public CaddyTarget(CaddyProcess caddy, List<BackendServer> backends)
            {
                _caddy = caddy;
                _backends = backends;
                SeededMembers = new[] { ("127.0.0.1", backends[0].Port), ("127.0.0.1", backends[1].Port) };
                NewMembers = new[] { ("127.0.0.1", backends[2].Port), ("127.0.0.1", backends[3].Port) };
            }

            public string ConnectScript => $"Connect-LbController -Provider Caddy -Endpoint '{_caddy.AdminUrl}'";
            public string Pool => _caddy.PoolId;
            public IReadOnlyList<(string Address, int Port)> SeededMembers { get; }
            public IReadOnlyList<(string Address, int Port)> NewMembers { get; }
            public LbCapabilities Capabilities => LbCapabilities.ActiveConnections;

            public async ValueTask DisposeAsync()
            {
                await _caddy.DisposeAsync();
                foreach (var b in _backends) await b.DisposeAsync();
            }
        }
    }
}
