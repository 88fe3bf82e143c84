using System;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancerTools.TestKit
{
    /// <summary>The way every emulator, receiver and stage server here starts: Kestrel on 127.0.0.1, a free port, no logging.</summary>
    public static class LoopbackServer
    {
        /// <summary>Builds the app, lets <paramref name="configure"/> add its pipeline, starts it and returns it with its port.</summary>
        public static async Task<(WebApplication App, int Port)> StartAsync(Action<WebApplication> configure, Action<ListenOptions>? listen = null)
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = Array.Empty<string>() });
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Listen(IPAddress.Loopback, 0, options => listen?.Invoke(options));
                kestrel.AddServerHeader = false;
            });
            var app = builder.Build();
            configure(app);
            await app.StartAsync().ConfigureAwait(false);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return (app, new Uri(address).Port);
        }
    }
}
