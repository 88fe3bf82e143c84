using System.Linq;
using System.Management.Automation;
using LoadBalancerTools.Completers;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Commands
{
    /// <summary>Lists the load balancer's pools, optionally filtered by a wildcard name.</summary>
    [Cmdlet(VerbsCommon.Get, "LbPool")]
    [OutputType(typeof(LbPool))]
    public sealed class GetLbPoolCommand : LbConnectedCmdlet
    {
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("Pool")]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(PoolNameCompleter))]
        public string[]? Name { get; set; }

        protected override void ProcessRecord()
        {
            var connection = ResolveConnection();
            try
            {
                var pools = Run(ct => Pools.GetPoolsAsync(connection, Log, ct));
                if (Name == null || Name.Length == 0)
                {
                    WriteObject(pools, enumerateCollection: true);
                    return;
                }
                foreach (string name in Name)
                {
                    var pattern = WildcardPattern.Get(name, WildcardOptions.IgnoreCase);
                    var matches = pools.Where(p => pattern.IsMatch(p.Pool)).ToList();
                    if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
                    {
                        WriteLbError(Services.PoolService.PoolNotFound(connection, name), name);
                    }
                    WriteObject(matches, enumerateCollection: true);
                }
            }
            catch (LbException ex)
            {
                WriteLbError(ex, connection);
            }
        }
    }
}
