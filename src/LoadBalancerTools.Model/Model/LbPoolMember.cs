using System;
using System.Globalization;

namespace LoadBalancerTools.Model
{
    /// <summary>One backend of a pool. Property names match the parameters of the member cmdlets, so objects bind by property name down the pipeline.</summary>
    public sealed class LbPoolMember
    {
        public string Provider { get; set; } = "";
        public string Pool { get; set; } = "";
        public string Address { get; set; } = "";
        public int Port { get; set; }
        public string Name { get; set; } = "";
        // Internal: PowerShell shows it through the type data (LbTypeData), so ConvertTo-Json writes the name, not a number.
        internal LbMemberState State { get; set; }
        internal LbMemberHealth Health { get; set; } = LbMemberHealth.Unknown;
        /// <summary>The vendor's reason or detail behind Health (for example an AWS reason code).</summary>
        public string? HealthReason { get; set; }
        public int? Weight { get; set; }
        public long? ActiveConnections { get; set; }
        /// <summary>The vendor's own identifier (NGINX server id, AWS instance id...).</summary>
        public string? VendorId { get; set; }
        /// <summary>
        /// The vendor's stable identity of this member within its pool: NGINX Plus server id, HAProxy server
        /// name, F5 member full path, NetScaler server name and port, ELBv2 target id and port, Caddy dial
        /// address. Changes given a member object act on this, never on "the first member at this address".
        /// </summary>
        public string MemberId { get; set; } = "";
        /// <summary>The vendor options the load balancer reports for this member (NGINX Plus max_conns, F5 priorityGroup, HAProxy ssl...).</summary>
        public LbMemberOptions? Options { get; set; }
        /// <summary>AWS ELBv2: the target's Availability Zone as registered ("all" for an IP outside the VPC); null elsewhere.</summary>
        public string? AvailabilityZone { get; set; }
        /// <summary>
        /// Why the load balancer does not let this member be changed through its API (an NGINX Plus server created
        /// by DNS resolution, an F5 member auto-created from an FQDN node); null when it can be changed.
        /// </summary>
        public string? ReadOnlyReason { get; set; }
        /// <summary>The member is listed but cannot be changed or removed through the API (see <see cref="ReadOnlyReason"/>).</summary>
        public bool ReadOnly => ReadOnlyReason != null;
        // Internal: hidden properties in the type data, so Export-Csv and ConvertTo-Json leave them out; $x.Raw still reads it.
        internal LbConnection? Connection { get; set; }

        private object? _raw;
        private Func<object?>? _buildRaw;

        /// <summary>The vendor's own record. Built on first read when the provider gave it as <see cref="SetRaw"/>: listing thousands of members does not pay for dictionaries nobody looks at.</summary>
        internal object? Raw
        {
            get
            {
                var build = _buildRaw;
                if (build != null)
                {
                    _raw = build();
                    _buildRaw = null;
                }
                return _raw;
            }
            set
            {
                _raw = value;
                _buildRaw = null;
            }
        }

        /// <summary>Sets <see cref="Raw"/> to what <paramref name="build"/> returns, called once, when Raw is first read.</summary>
        internal void SetRaw(Func<object?> build)
        {
            _raw = null;
            _buildRaw = build;
        }

        /// <summary>The address:port form used in messages, with brackets for IPv6.</summary>
        public string Endpoint => FormatEndpoint(Address, Port);

        public static string FormatEndpoint(string address, int port) =>
            address.IndexOf(':') >= 0 && !address.StartsWith("[", StringComparison.Ordinal)
                ? $"[{address}]:{port.ToString(CultureInfo.InvariantCulture)}"
                : $"{address}:{port.ToString(CultureInfo.InvariantCulture)}";

        public bool Matches(string address, int port) =>
            Port == port && string.Equals(Address, address, StringComparison.OrdinalIgnoreCase);

        /// <summary>Whether this is the member <paramref name="memberId"/> names (by the vendor's identity).</summary>
        public bool HasId(string memberId) => string.Equals(MemberId, memberId, StringComparison.Ordinal);

        /// <summary>Whether <paramref name="other"/> is this same member: by identity where both have one, else by address and port.</summary>
        public bool IsSameMember(LbPoolMember other) =>
            MemberId.Length > 0 && other.MemberId.Length > 0 ? HasId(other.MemberId) : Matches(other.Address, other.Port);

        /// <summary>Name and address, for messages: "web/spare3 (10.0.0.9:80)", or "web/10.0.0.9:80" where the name is the address.</summary>
        public string Display => $"{Pool}/{Label(Name, Address, Port, quote: false)}";

        /// <summary>
        /// A member in words: "'spare3' (10.0.0.9:80)" where it has a name of its own, else "10.0.0.9:80" (names
        /// that only repeat the address add nothing). One wording for messages, -WhatIf and errors.
        /// </summary>
        public static string Label(string? name, string address, int port, bool quote = true)
        {
            string endpoint = FormatEndpoint(address, port);
            bool named = !string.IsNullOrEmpty(name) && !string.Equals(name, endpoint, StringComparison.OrdinalIgnoreCase)
                         && !string.Equals(name, address, StringComparison.OrdinalIgnoreCase);
            return named ? (quote ? $"'{name}' ({endpoint})" : $"{name} ({endpoint})") : endpoint;
        }

        public override string ToString() => Display;
    }

    /// <summary>A member to add: what the user asked for.</summary>
    public sealed class LbMemberSpec
    {
        public LbMemberSpec(string address, int port)
        {
            Address = address;
            Port = port;
        }

        public string Address { get; }
        public int Port { get; }
        public string? Name { get; set; }
        public int? Weight { get; set; }
        public LbMemberState? State { get; set; }
        public string? AvailabilityZone { get; set; }
        /// <summary>HAProxy: fill a free server-template slot instead of adding a runtime server.</summary>
        public bool UseTemplateSlot { get; set; }
        /// <summary>Vendor options to create the member with; empty for none.</summary>
        public LbMemberOptions Options { get; set; } = new LbMemberOptions();

        public string Endpoint => LbPoolMember.FormatEndpoint(Address, Port);
    }

    /// <summary>A change to an existing member; null fields stay as they are.</summary>
    public sealed class LbMemberUpdate
    {
        public LbMemberState? State { get; set; }
        public int? Weight { get; set; }
        /// <summary>Seconds a graceful disable may take (NetScaler delay); null for the provider's default.</summary>
        public int? DrainTimeoutSec { get; set; }
        /// <summary>Vendor options to change; null or empty for none.</summary>
        public LbMemberOptions? Options { get; set; }

        public override string ToString()
        {
            var parts = new System.Collections.Generic.List<string>();
            if (State.HasValue) parts.Add("state " + State.Value);
            if (Weight.HasValue) parts.Add("weight " + Weight.Value.ToString(CultureInfo.InvariantCulture));
            if (Options != null && !Options.IsEmpty) parts.Add(Options.ToString());
            return string.Join(", ", parts);
        }
    }
}
