using System.Collections.Generic;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.Tests.Contract
{
    /// <summary>The contract suite against a real HAProxy 2.6 with real backends.</summary>
    [Trait("Category", "RealLoadBalancer")]
    public sealed class HaproxyContractTests : ProviderContractTests
    {
        protected override async Task<IContractTarget> StartTargetAsync()
        {
            var backends = new List<BackendServer>();
            for (int i = 1; i <= 4; i++) backends.Add(await BackendServer.StartAsync("b" + i));
            var options = new HaproxyOptions();
            options.AddBackend("web").AddServer(backends[0]).AddServer(backends[1]).WithHealthCheck();
            var haproxy = await HaproxyProcess.StartAsync(options);
            return new HaproxyTarget(haproxy, backends);
        }

        private sealed class HaproxyTarget : IContractTarget
        {
            private readonly HaproxyProcess _haproxy;
            private readonly List<BackendServer> _backends;

            public HaproxyTarget(HaproxyProcess haproxy, List<BackendServer> backends)
            {
                _haproxy = haproxy;
                _backends = backends;
                SeededMembers = new[] { ("127.0.0.1", backends[0].Port), ("127.0.0.1", backends[1].Port) };
                NewMembers = new[] { ("127.0.0.1", backends[2].Port), ("127.0.0.1", backends[3].Port) };
            }

            public string ConnectScript => $"Connect-LbController -Provider HAProxy -Endpoint '{_haproxy.AdminEndpoint}'";
            public string Pool => "web";
            public IReadOnlyList<(string Address, int Port)> SeededMembers { get; }
            public IReadOnlyList<(string Address, int Port)> NewMembers { get; }
            public LbCapabilities Capabilities => LbCapabilities.Disable | LbCapabilities.Drain | LbCapabilities.ForcedOffline
                                                  | LbCapabilities.Weight | LbCapabilities.ActiveConnections | LbCapabilities.MemberNames;

            public async ValueTask DisposeAsync()
            {
                await _haproxy.DisposeAsync();
                foreach (var b in _backends) await b.DisposeAsync();
            }
        }
    }
}
