using System;
using System.Collections.Generic;
using System.Linq;
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
                ["F5"] = s => new F5.F5Provider(s),
            };

        public static IReadOnlyList<string> Names => Factories.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();

        public static bool TryCreate(LbConnectionSettings settings, out ILbProvider? provider)
        {
            provider = Factories.TryGetValue(settings.Provider, out var factory) ? factory(settings) : null;
            return provider != null;
        }

        /// <summary>The registered spelling of a provider name, for case-insensitive input.</summary>
        public static string? Canonical(string name) =>
            Factories.Keys.FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase));
    }
}
