using System;
using System.Collections.Generic;
using System.Linq;
using LoadBalancerTools.Providers.AwsElbV2;
using LoadBalancerTools.Providers.NginxPlus;

namespace LoadBalancerTools.Providers
{
    /// <summary>The one place providers are registered: adding a vendor adds one line here.</summary>
    public static class ProviderRegistry
    {
        private static readonly Dictionary<string, Func<LbConnectionSettings, ILbProvider>> Factories =
            new Dictionary<string, Func<LbConnectionSettings, ILbProvider>>(StringComparer.OrdinalIgnoreCase)
            {
                ["NginxPlus"] = s => new NginxPlusProvider(s),
                ["HAProxy"] = s => new HAProxy.HaproxyProvider(s),
                ["Caddy"] = s => new Caddy.CaddyProvider(s),
                ["NetScaler"] = s => new NetScaler.NetScalerProvider(s),
                ["AwsElbV2"] = s => new AwsElbV2Provider(s),
                ["F5"] = s => new F5.F5Provider(s),
            };

        /// <summary>Providers whose endpoint can be derived (a cloud API's from its region); they may also require settings of their own.</summary>
        private static readonly Dictionary<string, Func<Uri?, string?, Uri>> EndpointResolvers =
            new Dictionary<string, Func<Uri?, string?, Uri>>(StringComparer.OrdinalIgnoreCase)
            {
                ["AwsElbV2"] = AwsElbV2Provider.ResolveEndpoint,
            };

        public static IReadOnlyList<string> Names => Factories.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();

        public static bool TryCreate(LbConnectionSettings settings, out ILbProvider? provider)
        {
            provider = Factories.TryGetValue(settings.Provider, out var factory) ? factory(settings) : null;
            return provider != null;
        }

        /// <summary>
        /// The endpoint to connect to: the one given, or the provider's default when it has one (null when
        /// neither). Throws <see cref="Errors.LbException"/> naming what the provider requires (AwsElbV2: -Region).
        /// </summary>
        public static Uri? ResolveEndpoint(string provider, Uri? endpoint, string? region) =>
            EndpointResolvers.TryGetValue(provider, out var resolve) ? resolve(endpoint, region) : endpoint;

        /// <summary>The registered spelling of a provider name, for case-insensitive input.</summary>
        public static string? Canonical(string name) =>
            Factories.Keys.FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase));
    }
}
