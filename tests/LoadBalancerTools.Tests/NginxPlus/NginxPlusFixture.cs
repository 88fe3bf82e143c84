using System;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.NginxPlus
{
    /// <summary>A fresh emulator with an upstream "web" of two servers, and an engine session connected to it.</summary>
    public abstract class NginxPlusTestBase : IAsyncLifetime
    {
        protected NginxPlusEmulator Nginx { get; private set; } = null!;
        protected PsSession Ps { get; private set; } = null!;
        protected virtual NginxPlusEmulatorOptions Options => new NginxPlusEmulatorOptions();
        protected virtual bool ConnectFirst => true;

        public async Task InitializeAsync()
        {
            Nginx = await NginxPlusEmulator.StartAsync(Options);
            Nginx.AddUpstream("web");
            Nginx.AddServer("web", "10.0.0.1:80");
            Nginx.AddServer("web", "10.0.0.2:80");
            Ps = new PsSession();
            if (ConnectFirst)
            {
                var r = Ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{Nginx.ApiBase}' | Out-Null");
                Assert.False(r.HadErrors, r.ToString());
            }
        }

        public async Task DisposeAsync()
        {
            Ps?.Dispose();
            if (Nginx != null) await Nginx.DisposeAsync();
        }
    }
}
