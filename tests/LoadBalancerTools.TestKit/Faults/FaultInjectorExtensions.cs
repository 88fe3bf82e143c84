using System;
using Microsoft.AspNetCore.Builder;

namespace LoadBalancerTools.TestKit;

/// <summary>Wires a <see cref="FaultInjector"/> into an ASP.NET Core pipeline.</summary>
public static class FaultInjectorExtensions
{
    /// <summary>
    /// Adds the injector as middleware. Register it before authentication and the emulator's handlers, so
    /// faults act like the network or a proxy in front of the device.
    /// </summary>
    public static IApplicationBuilder UseFaults(this IApplicationBuilder app, FaultInjector injector)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(injector);
        return app.Use((context, next) => injector.InvokeAsync(context, next));
    }
}
