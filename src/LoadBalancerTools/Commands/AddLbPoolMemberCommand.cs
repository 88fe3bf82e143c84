using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using LoadBalancerTools.Completers;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;

namespace LoadBalancerTools.Commands
{
    /// <summary>Adds members to a pool; a member that is already there is left as it is.</summary>
    [Cmdlet(VerbsCommon.Add, "LbPoolMember", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(LbPoolMember))]
    public sealed class AddLbPoolMemberCommand : LbConnectedCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(PoolNameCompleter))]
        public string Pool { get; set; } = "";

        [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
        [Alias("IPAddress", "Host")]
        public string Address { get; set; } = "";

        [Parameter(Mandatory = true, Position = 2, ValueFromPipelineByPropertyName = true)]
        public int Port { get; set; }

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateRange(0, 65535)]
        public int? Weight { get; set; }

        [Parameter(ValueFromPipelineByPropertyName = true)]
        public LbMemberState? State { get; set; }

        /// <summary>Member name, for providers that name members (HAProxy); derived from address and port otherwise.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public string? Name { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        private LbConnection? _commandLineConnection;

        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            // Piped members carry their own Connection, which binds by property name; an add goes where the
            // command line says (copying members from one load balancer to another is the point of piping them).
            _commandLineConnection = Connection;
        }

        protected override void ProcessRecord()
        {
            Connection = _commandLineConnection;
            var connection = ResolveConnection();
            string endpoint = LbPoolMember.FormatEndpoint(Address, Port);
            if (!TryValidateEndpoint(Address, Port, endpoint, out string address)) return;
            var spec = new LbMemberSpec(address, Port) { Weight = Weight, State = State, Name = string.IsNullOrWhiteSpace(Name) ? null : Name };

            try
            {
                long snapshot = MemberLock.Snapshot();
                var existing = Run(ct => Pools.FindExistingAsync(connection, Pool, spec, Log, ct));
                if (existing != null)
                {
                    var differences = new List<string>();
                    if (spec.Weight.HasValue && spec.Weight != existing.Weight)
                        differences.Add(string.Format(CultureInfo.InvariantCulture, "weight {0} (asked: {1})", existing.Weight?.ToString(CultureInfo.InvariantCulture) ?? "(none)", spec.Weight));
                    if (spec.State.HasValue && spec.State != existing.State)
                        differences.Add($"state {existing.State} (asked: {spec.State})");
                    if (differences.Count > 0)
                    {
                        WriteWarning($"{existing.Display} is already a member of pool '{Pool}' with {string.Join(" and ", differences)}; nothing was changed. " +
                                     $"Change it with Set-LbPoolMember -Pool '{Pool}' -Address {existing.Address} -Port {existing.Port}, or converge the pool with Sync-LbPool.");
                    }
                    WriteVerbose($"{existing.Display} is already a member of pool '{Pool}'; nothing to add.");
                    if (PassThru) WriteObject(existing);
                    return;
                }
                if (!ShouldProcess($"pool '{Pool}' ({connection})", $"Add member {spec.Endpoint}{Details(spec)}")) return;
                // The read above decided, unless a prompt may have let time pass: then the add checks again first.
                // Otherwise it reads again only to resolve a conflict or a lost response.
                bool recheck = MayPrompt(ConfirmImpact.Medium);
                var (member, outcome) = Run(ct => recheck
                    ? Pools.AddMemberAsync(connection, Pool, spec, Log, ct)
                    : Pools.AddAbsentMemberAsync(connection, Pool, spec, snapshot, Log, ct));
                if (outcome == ChangeOutcome.Changed)
                {
                    WriteVerbose($"Added {member}.");
                    MarkChanged(connection);
                }
                if (PassThru) WriteObject(member);
            }
            catch (LbException ex)
            {
                WriteLbError(ex, spec.Endpoint);
            }
        }

        private static string Details(LbMemberSpec spec)
        {
            var parts = new List<string>();
            if (spec.Name != null) parts.Add("name " + spec.Name);
            if (spec.Weight.HasValue) parts.Add("weight " + spec.Weight.Value.ToString(CultureInfo.InvariantCulture));
            parts.Add("state " + (spec.State ?? LbMemberState.Enabled));
            return " (" + string.Join(", ", parts) + ")";
        }
    }
}
