using System.Management.Automation;
using LoadBalancerTools.Completers;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;

namespace LoadBalancerTools.Commands
{
    /// <summary>
    /// A cmdlet that acts on one existing member per record: a piped LbPoolMember (-InputObject, acted on by
    /// its vendor identity), -Pool/-Address/-Port (which bind by property name from CSV rows and objects;
    /// -Name narrows them), -Pool/-Name, or -Pool/-MemberId (the vendor's identity, for look-alikes names cannot tell apart).
    /// </summary>
    public abstract class LbMemberCmdlet : LbConnectedCmdlet
    {
        protected const string ByObject = "ByObject";
        protected const string ByAddress = "ByAddress";
        protected const string ByName = "ByName";
        protected const string ByMemberId = "ByMemberId";

        [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
        public LbPoolMember? InputObject { get; set; }

        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ByAddress)]
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ByName)]
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ByMemberId)]
        [ArgumentCompleter(typeof(PoolNameCompleter))]
        public string Pool { get; set; } = "";

        [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true, ParameterSetName = ByAddress)]
        [Alias("IPAddress", "Host")]
        [ArgumentCompleter(typeof(MemberAddressCompleter))]
        public string Address { get; set; } = "";

        [Parameter(Mandatory = true, Position = 2, ValueFromPipelineByPropertyName = true, ParameterSetName = ByAddress)]
        public int Port { get; set; }

        /// <summary>The member's name (HAProxy server, F5 member, NetScaler server...): picks one of several members at one address.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = ByAddress)]
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ByName)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(MemberNameCompleter))]
        public string? Name { get; set; }

        /// <summary>
        /// The vendor's identity of one member (LbPoolMember.MemberId): exactly that member, where several share an
        /// address and port and their names cannot tell them apart (NGINX Plus names a server by its address:port).
        /// Not bound by property name: rows from Export-Csv carry MemberId beside Address and Port, and go by those.
        /// </summary>
        [Parameter(Mandatory = true, ParameterSetName = ByMemberId)]
        [ValidateNotNullOrEmpty]
        public string? MemberId { get; set; }

        /// <summary>The member this record names, validated; null after writing an error for bad input.</summary>
        protected (LbConnection Connection, string Pool, LbMemberSelector Selector)? ResolveTarget()
        {
            if (InputObject != null && Connection == null) Connection = InputObject.Connection;
            var connection = ResolveConnection();
            if (InputObject != null) return (connection, InputObject.Pool, LbMemberSelector.Of(InputObject));
            if (ParameterSetName == ByName) return (connection, Pool, new LbMemberSelector { Name = Name });
            if (ParameterSetName == ByMemberId) return (connection, Pool, new LbMemberSelector { MemberId = MemberId });
            string? name = string.IsNullOrEmpty(Name) ? null : Name;
            if (!TryValidateEndpoint(Address, Port, ErrorTarget(new LbMemberSelector { Address = Address, Port = Port, Name = name }), out string normalized)) return null;
            return (connection, Pool, new LbMemberSelector { Address = normalized, Port = Port, Name = name });
        }

        /// <summary>The member by name and address, for -WhatIf and messages.</summary>
        protected static string Describe(LbConnection connection, LbPoolMember member) =>
            $"member {LbPoolMember.Label(member.Name, member.Address, member.Port)} of pool '{member.Pool}' ({connection})";

        protected static string Describe(LbConnection connection, string pool, LbMemberSelector selector) =>
            $"{char.ToLowerInvariant(selector.ToString()[0])}{selector.ToString().Substring(1)} of pool '{pool}' ({connection})";

        /// <summary>
        /// What an error record points at (its TargetObject): the piped member, else the member found, else what was
        /// asked for as an LbMemberSpec (address, port, name), so that scripts read $_.TargetObject.Address.
        /// </summary>
        protected object ErrorTarget(LbMemberSelector selector, LbPoolMember? found = null) =>
            (object?)InputObject ?? (object?)found ?? new LbMemberSpec(selector.Address ?? "", selector.Port ?? 0) { Name = selector.Name };
    }
}
