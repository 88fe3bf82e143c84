using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using LoadBalancerTools.Completers;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Util;

namespace LoadBalancerTools.Commands
{
    /// <summary>Lists pool members with state, health, weight and active connections.</summary>
    [Cmdlet(VerbsCommon.Get, "LbPoolMember")]
    [OutputType(typeof(LbPoolMember))]
    public sealed class GetLbPoolMemberCommand : LbConnectedCmdlet
    {
        /// <summary>Pool name or wildcard; all pools when omitted.</summary>
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(PoolNameCompleter))]
        public string[]? Pool { get; set; }

        [Parameter]
        [ArgumentCompleter(typeof(MemberAddressCompleter))]
        public string? Address { get; set; }

        [Parameter]
        [ValidateRange(1, 65535)]
        public int? Port { get; set; }

        /// <summary>Member name or wildcard (HAProxy server, F5 member, NetScaler server, NGINX peer 'address:port').</summary>
        [Parameter]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(MemberNameCompleter))]
        public string? Name { get; set; }

        protected override void ProcessRecord()
        {
            var connection = ResolveConnection();
            string? address = null;
            if (Address != null)
            {
                try { address = MemberAddress.Normalize(Address); }
                catch (LbException ex) { WriteLbError(ex, Address); return; }
            }

            var name = Name == null ? null : WildcardPattern.Get(Name, WildcardOptions.IgnoreCase);
            var searched = new List<string>();
            int found = 0;
            foreach (string pool in ResolvePools(connection))
            {
                try
                {
                    var members = Run(ct => Pools.GetMembersAsync(connection, pool, Log, ct));
                    var matches = members.Where(m => (address == null || string.Equals(m.Address, address, System.StringComparison.OrdinalIgnoreCase))
                                                     && (Port == null || m.Port == Port)
                                                     && (name == null || name.IsMatch(m.Name))).ToList();
                    searched.Add(pool);
                    found += matches.Count;
                    WriteObject(matches, enumerateCollection: true);
                }
                catch (LbException ex)
                {
                    WriteLbError(ex, pool);
                }
            }
            // Like Get-Item: a literal name that matches nothing in the pools read is an error; a wildcard that matches nothing is not.
            if (found == 0 && searched.Count > 0 && Name != null && !WildcardPattern.ContainsWildcardCharacters(Name))
            {
                var asked = new Services.LbMemberSelector { Name = Name, Address = address, Port = Port };
                string where = searched.Count == 1 ? $"pool '{searched[0]}'" : $"any of {searched.Count} pools";
                WriteLbError(new LbException(LbErrorKind.NotFound,
                        $"{asked} was not found in {where} on {connection.Provider} at {connection.Endpoint}. Get-LbPoolMember without -Name lists the members.")
                    { ErrorId = ErrorIds.MemberNotFound }, new LbMemberSpec(address ?? "", Port ?? 0) { Name = Name });
            }
        }

        /// <summary>Exact names go straight to the API (its NotFound names the pool); wildcards are matched against the pool list.</summary>
        private IEnumerable<string> ResolvePools(LbConnection connection)
        {
            var requested = Pool == null || Pool.Length == 0 ? new[] { "*" } : Pool;
            if (!requested.Any(WildcardPattern.ContainsWildcardCharacters)) return requested;
            IReadOnlyList<LbPool> all;
            try
            {
                all = Run(ct => Pools.GetPoolsAsync(connection, Log, ct));
            }
            catch (LbException ex)
            {
                WriteLbError(ex, connection);
                return Enumerable.Empty<string>();
            }
            var names = new List<string>();
            foreach (string name in requested)
            {
                if (!WildcardPattern.ContainsWildcardCharacters(name)) { names.Add(name); continue; }
                var pattern = WildcardPattern.Get(name, WildcardOptions.IgnoreCase);
                names.AddRange(all.Where(p => pattern.IsMatch(p.Pool)).Select(p => p.Pool));
            }
            return names.Distinct();
        }
    }
}
