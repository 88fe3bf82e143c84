using System;
using System.Collections.Generic;
using System.Globalization;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Services
{
    /// <summary>
    /// Which member a command means: the vendor's identity (from a piped member object), or a name and/or an
    /// address and port typed by the user. Identity wins when given: a look-alike at the same address is never it.
    /// </summary>
    public sealed class LbMemberSelector
    {
        public string? MemberId { get; set; }
        public string? Name { get; set; }
        public string? Address { get; set; }
        public int? Port { get; set; }

        /// <summary>The selector a member object gives: its identity, with name and address for messages.</summary>
        public static LbMemberSelector Of(LbPoolMember member) => new LbMemberSelector
        {
            MemberId = member.MemberId.Length > 0 ? member.MemberId : null,
            Name = member.Name,
            Address = member.Address,
            Port = member.Port,
        };

        /// <summary>Name and address criteria (identity is compared by the caller).</summary>
        public bool Matches(LbPoolMember m) =>
            (Name == null || string.Equals(m.Name, Name, StringComparison.OrdinalIgnoreCase))
            && (Address == null || string.Equals(m.Address, Address, StringComparison.OrdinalIgnoreCase))
            && (Port == null || m.Port == Port);

        /// <summary>In the words every path uses for a member (<see cref="LbPoolMember.Label"/>): "Member 'b1' (127.0.0.1:39201)".</summary>
        public override string ToString()
        {
            if (Address != null && Port.HasValue) return "Member " + LbPoolMember.Label(Name, Address, Port.Value);
            var parts = new List<string>();
            if (Name != null) parts.Add($"'{Name}'");
            if (Address != null) parts.Add("at address " + Address);
            else if (Port.HasValue) parts.Add("at port " + Port.Value.ToString(CultureInfo.InvariantCulture));
            if (MemberId != null && parts.Count == 0) parts.Add($"with id '{MemberId}'");
            return "Member " + string.Join(" ", parts);
        }
    }

    /// <summary>The member a selector found (or null), and how many members share its address and port.</summary>
    public sealed class MemberMatch
    {
        public MemberMatch(LbPoolMember? member, int sameEndpointCount)
        {
            Member = member;
            SameEndpointCount = sameEndpointCount;
        }

        public LbPoolMember? Member { get; }
        /// <summary>Members at the found member's address and port, itself included: more than one means copies.</summary>
        public int SameEndpointCount { get; }
    }
}
