using System.Management.Automation;
using LoadBalancerTools.Completers;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Commands
{
    /// <summary>
    /// A cmdlet that acts on one existing member per record: either a piped LbPoolMember
    /// (-InputObject) or -Pool/-Address/-Port, which bind by property name from CSV rows and objects.
    /// </summary>
    public abstract class LbMemberCmdlet : LbConnectedCmdlet
    {
        protected const string ByObject = "ByObject";
        protected const string ByAddress = "ByAddress";

        [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
        public LbPoolMember? InputObject { get; set; }

        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ByAddress)]
        [ArgumentCompleter(typeof(PoolNameCompleter))]
        public string Pool { get; set; } = "";

        [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true, ParameterSetName = ByAddress)]
        [Alias("IPAddress", "Host")]
        [ArgumentCompleter(typeof(MemberAddressCompleter))]
        public string Address { get; set; } = "";

        [Parameter(Mandatory = true, Position = 2, ValueFromPipelineByPropertyName = true, ParameterSetName = ByAddress)]
        public int Port { get; set; }

        /// <summary>The member this record names, validated; null after writing an error for bad input.</summary>
        protected (LbConnection Connection, string Pool, string Address, int Port)? ResolveTarget()
        {
            if (InputObject != null && Connection == null) Connection = InputObject.Connection;
            var connection = ResolveConnection();
            string pool = InputObject?.Pool ?? Pool;
            string address = InputObject?.Address ?? Address;
            int port = InputObject?.Port ?? Port;
            if (!TryValidateEndpoint(address, port, InputObject ?? (object)LbPoolMember.FormatEndpoint(address, port), out string normalized)) return null;
            return (connection, pool, normalized, port);
        }

        protected static string Describe(LbConnection connection, string pool, string address, int port) =>
            $"member {LbPoolMember.FormatEndpoint(address, port)} of pool '{pool}' ({connection})";
    }
}
