using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.Module
{
    /// <summary>
    /// A connection object carries no provider: the engine's registry holds it from Connect-LbController until
    /// Disconnect-LbController, or until the runspace that made it closes, and not a moment longer.
    /// </summary>
    public sealed class ConnectionRegistryTests
    {
        [Fact]
        public async Task Disconnect_releases_the_provider_and_the_closed_connection_is_refused_by_name()
        {
            await using var nginx = await NginxPlusEmulator.StartAsync();
            nginx.AddUpstream("web");
            using var ps = new PsSession();
            var r = ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{nginx.ApiBase}'");
            var connection = Assert.IsType<LbConnection>(r.Output.Single().BaseObject);
            Assert.Equal("NginxPlus", ConnectionService.ProviderFor(connection).ProviderName);

            var closed = ps.Run("Disconnect-LbController; $c = Get-LbConnection; @($c).Count");
            Assert.False(closed.HadErrors, closed.ToString());
            Assert.Equal(0, closed.Output.Single().BaseObject);
            Assert.False(connection.IsConnected);
            var ex = Assert.Throws<LbException>(() => ConnectionService.ProviderFor(connection));
            Assert.Equal(ErrorIds.NoConnection, ex.ErrorId);
            Assert.Contains(nginx.ApiBase.ToString(), ex.Message);
        }

        [Fact]
        public async Task A_closed_runspace_releases_its_connections()
        {
            await using var nginx = await NginxPlusEmulator.StartAsync();
            nginx.AddUpstream("web");
            LbConnection connection;
            using (var ps = new PsSession())
            {
                connection = Assert.IsType<LbConnection>(ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{nginx.ApiBase}'").Output.Single().BaseObject);
                Assert.True(connection.IsConnected);
            }
            Assert.False(connection.IsConnected);
            Assert.Throws<LbException>(() => ConnectionService.ProviderFor(connection));
        }
    }
}
