using System;
using System.Collections.Generic;
using System.Linq;
using LoadBalancerTools.Model;
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

        /// <summary>
        /// Each vendor's documented weight range, checked before anything is sent. Providers without weights
        /// (Caddy, ELBv2) have none: their capabilities refuse a weight first.
        /// </summary>
        private static readonly Dictionary<string, (int Min, int Max, string Note)> WeightRanges =
            new Dictionary<string, (int, int, string)>(StringComparer.OrdinalIgnoreCase)
            {
                // ngx_http_upstream_module, "server ... weight=number": a positive integer, 1 by default; the
                // NGINX Plus API answers UpstreamBadWeight otherwise. No upper bound beyond a 32-bit integer.
                ["NginxPlus"] = (1, int.MaxValue, ""),
                // HAProxy configuration manual, "weight": 0 to 256; 0 takes no new traffic (persistent sessions still arrive).
                ["HAProxy"] = (0, 256, "; 0 takes no new traffic but keeps persistent sessions"),
                // BIG-IP pool member ratio: "Valid values range from 1 through 100" (Ansible bigip_pool_member docs).
                ["F5"] = (1, 100, ""),
                // NITRO servicegroup_servicegroupmember_binding "weight": 1 to 100.
                ["NetScaler"] = (NetScaler.NetScalerProvider.MinWeight, NetScaler.NetScalerProvider.MaxWeight, ""),
            };

        /// <summary>
        /// Calls in flight per endpoint: where the adaptive limit starts, and its ceiling (the default
        /// -ThrottleLimit). The ceilings are what each API is built to take at once; the limit finds the
        /// real figure from the answers.
        /// </summary>
        private static readonly Dictionary<string, (int Initial, int Ceiling)> ConcurrencyDefaults =
            new Dictionary<string, (int, int)>(StringComparer.OrdinalIgnoreCase)
            {
                // The NGINX Plus API is served by every worker process from shared memory: it takes many at once.
                ["NginxPlus"] = (8, 64),
                // iControl REST and NITRO run on the management plane's one REST daemon, which queues beyond a few.
                ["F5"] = (4, 16),
                ["NetScaler"] = (4, 16),
                // Every Runtime API command opens its own connection to the one HAProxy process.
                ["HAProxy"] = (4, 8),
                // Every Caddy write reloads the whole config and is tied to its ETag: parallel writes only collide.
                ["Caddy"] = (1, 1),
                // ELBv2 throttles per account and action with a token bucket (RequestLimitExceeded/Throttling beyond it).
                ["AwsElbV2"] = (4, 20),
            };

        /// <summary>Where a provider's adaptive concurrency starts and its ceiling.</summary>
        public static (int Initial, int Ceiling) Concurrency(string provider) =>
            ConcurrencyDefaults.TryGetValue(provider, out var c) ? c : (4, 16);

        /// <summary>The member options each vendor has (see <see cref="Model.LbMemberOptions"/>); others are refused with LbNotSupported.</summary>
        private static readonly Dictionary<string, string[]> Options = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase)
        {
            // NGINX Plus API, http/upstreams/{name}/servers: backup, max_conns, max_fails, fail_timeout, slow_start, route.
            ["NginxPlus"] = new[] { "Backup", "MaxConnections", "MaxFails", "FailTimeoutSec", "SlowStartSec", "Route" },
            // iControl REST ltm pool member: priorityGroup, connectionLimit, monitor.
            ["F5"] = new[] { "PriorityGroup", "ConnectionLimit", "Monitor" },
            // HAProxy management guide, "add server": ssl, verify, ca-file, check, addr, port keywords.
            ["HAProxy"] = new[] { "Tls", "TlsCaFile", "CheckAddress", "CheckPort" },
        };

        /// <summary>
        /// The states a vendor can create a member in, where it cannot take every state (others: any). Checked before
        /// -WhatIf answers, so a dry run refuses what the real run would.
        /// </summary>
        private static readonly Dictionary<string, (LbMemberState[] States, string Why)> AddStates =
            new Dictionary<string, (LbMemberState[], string)>(StringComparer.OrdinalIgnoreCase)
            {
                // NGINX Plus API POST .../servers takes "down" but no drain (drain is a PATCH on an existing server).
                ["NginxPlus"] = (new[] { LbMemberState.Enabled, LbMemberState.Disabled }, "add it Enabled or Disabled, then change its state"),
                // NITRO servicegroup_servicegroupmember_binding has a state (ENABLED/DISABLED), no graceful drain on bind.
                ["NetScaler"] = (new[] { LbMemberState.Enabled, LbMemberState.Disabled }, "add it Enabled or Disabled, then change its state"),
                // RegisterTargets puts a target in service; ELBv2 has no disabled target.
                ["AwsElbV2"] = (new[] { LbMemberState.Enabled }, "ELBv2 registers targets in service"),
                ["Caddy"] = (new[] { LbMemberState.Enabled }, "Caddy upstreams have no state of their own"),
            };

        /// <summary>The states a provider can add a member in and why, or null when it takes every state.</summary>
        public static (LbMemberState[] States, string Why)? AddableStates(string provider) =>
            AddStates.TryGetValue(provider, out var states) ? states : ((LbMemberState[], string)?)null;

        public static IReadOnlyCollection<string> SupportedOptions(string provider) =>
            Options.TryGetValue(provider, out var names) ? names : Array.Empty<string>();

        public static (int Min, int Max, string Note)? WeightRange(string provider) =>
            WeightRanges.TryGetValue(provider, out var range) ? range : ((int, int, string)?)null;

        public static IReadOnlyList<string> Names => Factories.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();

        public static bool TryCreate(LbConnectionSettings settings, out ILbProvider? provider)
        {
            var (initial, ceiling) = Concurrency(settings.Provider);
            settings.Transport.InitialConcurrency ??= initial;
            settings.Transport.MaxConcurrency ??= ceiling;
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
