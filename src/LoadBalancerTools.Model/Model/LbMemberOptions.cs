using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace LoadBalancerTools.Model
{
    /// <summary>
    /// The vendor options people set on members, beside state and weight. Each provider takes the ones its
    /// vendor has (the engine's ProviderRegistry.SupportedOptions); the others are refused with
    /// LbNotSupported before anything is sent. Null means "not given" (on a spec) or "not reported" (on a member).
    /// </summary>
    public sealed class LbMemberOptions
    {
        // NGINX Plus (ngx_http_upstream_module "server" parameters, the API's server fields)
        /// <summary>A backup server, used when the primary servers are unavailable (NGINX Plus: settable only at creation).</summary>
        public bool? Backup { get; set; }
        /// <summary>NGINX Plus max_conns: the most connections at once (0 = no limit).</summary>
        public int? MaxConnections { get; set; }
        /// <summary>NGINX Plus slow_start: seconds over which a recovering server's weight ramps up.</summary>
        public int? SlowStartSec { get; set; }
        /// <summary>NGINX Plus max_fails: failed attempts within fail_timeout that mark the server unavailable.</summary>
        public int? MaxFails { get; set; }
        /// <summary>NGINX Plus fail_timeout, in seconds.</summary>
        public int? FailTimeoutSec { get; set; }
        /// <summary>NGINX Plus route: the server's route name for sticky sessions.</summary>
        public string? Route { get; set; }

        // F5 BIG-IP (ltm pool member properties)
        /// <summary>F5 priorityGroup: members of the highest group take traffic while enough of them are up.</summary>
        public int? PriorityGroup { get; set; }
        /// <summary>F5 connectionLimit (0 = no limit).</summary>
        public int? ConnectionLimit { get; set; }
        /// <summary>F5 member monitor, such as "/Common/http" or "default" (the pool's).</summary>
        public string? Monitor { get; set; }

        // HAProxy ("add server" / "set server" keywords)
        /// <summary>HAProxy: TLS to the server ("ssl").</summary>
        public bool? Tls { get; set; }
        /// <summary>HAProxy: with Tls, the CA file that verifies the server's certificate ("verify required ca-file"); without it "verify none".</summary>
        public string? TlsCaFile { get; set; }
        /// <summary>HAProxy: the address health checks go to ("check addr"), when not the server's.</summary>
        public string? CheckAddress { get; set; }
        /// <summary>HAProxy: the port health checks go to ("check port"), when not the server's.</summary>
        public int? CheckPort { get; set; }

        /// <summary>The options given (non-null), by name.</summary>
        public IReadOnlyList<(string Name, object Value)> Given()
        {
            var given = new List<(string, object)>();
            void Add(string name, object? value) { if (value != null) given.Add((name, value)); }
            Add(nameof(Backup), Backup); Add(nameof(MaxConnections), MaxConnections); Add(nameof(SlowStartSec), SlowStartSec);
            Add(nameof(MaxFails), MaxFails); Add(nameof(FailTimeoutSec), FailTimeoutSec); Add(nameof(Route), Route);
            Add(nameof(PriorityGroup), PriorityGroup); Add(nameof(ConnectionLimit), ConnectionLimit); Add(nameof(Monitor), Monitor);
            Add(nameof(Tls), Tls); Add(nameof(TlsCaFile), TlsCaFile); Add(nameof(CheckAddress), CheckAddress); Add(nameof(CheckPort), CheckPort);
            return given;
        }

        // Internal: a helper, not data; it would be one more column in Export-Csv and one more field in ConvertTo-Json.
        internal bool IsEmpty => Given().Count == 0;

        /// <summary>The option of this name, or null.</summary>
        public object? Get(string name) => Given().FirstOrDefault(g => g.Name == name).Value;

        /// <summary>"max connections 5 (now 0)" for each given option that differs from <paramref name="current"/>.</summary>
        public IReadOnlyList<string> DifferencesFrom(LbMemberOptions? current)
        {
            var result = new List<string>();
            foreach (var (name, value) in Given())
            {
                object? now = current?.Get(name);
                if (!Equals(Normalize(value), Normalize(now)))
                {
                    result.Add(string.Format(CultureInfo.InvariantCulture, "{0} {1} (now {2})", name, Text(value), now == null ? "(not set)" : Text(now)));
                }
            }
            return result;
        }

        private static object? Normalize(object? v) => v is string s ? s.Trim().ToLowerInvariant() : v;

        private static string Text(object v) => v is bool b ? (b ? "on" : "off") : Convert.ToString(v, CultureInfo.InvariantCulture) ?? "";

        public override string ToString() => string.Join(", ", Given().Select(g => g.Name + " " + Text(g.Value)));
    }
}
