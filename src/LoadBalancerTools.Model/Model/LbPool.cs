namespace LoadBalancerTools.Model
{
    /// <summary>A backend pool: an NGINX upstream, an F5 pool, a NetScaler service group, an ELBv2 target group, an HAProxy backend, a Caddy reverse_proxy handler.</summary>
    public sealed class LbPool
    {
        public string Provider { get; set; } = "";
        /// <summary>Named Pool so that Get-LbPool | Get-LbPoolMember binds by property name.</summary>
        public string Pool { get; set; } = "";
        public string Name => Pool;
        public int MemberCount { get; set; }
        public int HealthyCount { get; set; }
        /// <summary>Vendor-specific extra detail (algorithm, zone, ARN...).</summary>
        public string? Description { get; set; }
        // Internal: a hidden property in the type data, so Export-Csv and ConvertTo-Json leave it out; $x.Raw still reads it.
        internal LbConnection? Connection { get; set; }
        /// <summary>The vendor's own record, as parsed from its API.</summary>
        internal object? Raw { get; set; }

        public override string ToString() => Pool;
    }
}
