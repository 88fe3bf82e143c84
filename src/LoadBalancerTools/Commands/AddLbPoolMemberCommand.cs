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
        // The upper bound is the provider's (ProviderRegistry.WeightRanges), checked with a message that names it.
        [ValidateRange(0, int.MaxValue)]
        public int? Weight { get; set; }

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [DrainingWord]
        public LbMemberState? State { get; set; }

        /// <summary>Member name, for providers that name members (HAProxy); derived from address and port otherwise.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public string? Name { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>HAProxy: fill a free server-template slot instead of adding a runtime server (-Name picks the slot).</summary>
        [Parameter]
        public SwitchParameter UseTemplateSlot { get; set; }

        /// <summary>NGINX Plus: a backup server, used when the primary ones are unavailable.</summary>
        [Parameter]
        public SwitchParameter Backup { get; set; }

        /// <summary>HAProxy: with -Tls, the CA file that verifies the server's certificate; without it the certificate is not verified.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public string? TlsCaFile { get; set; }

        /// <summary>NGINX Plus: max_conns, the most connections at once (0 = no limit).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public int? MaxConnections { get; set; }

        /// <summary>NGINX Plus: slow_start, seconds over which a recovering server's weight ramps up.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public int? SlowStartSec { get; set; }

        /// <summary>NGINX Plus: max_fails within fail_timeout that mark the server unavailable.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public int? MaxFails { get; set; }

        /// <summary>NGINX Plus: fail_timeout, in seconds.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public int? FailTimeoutSec { get; set; }

        /// <summary>NGINX Plus: the route name for sticky sessions.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public string? Route { get; set; }

        /// <summary>F5: priorityGroup.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public int? PriorityGroup { get; set; }

        /// <summary>F5: connectionLimit (0 = no limit).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public int? ConnectionLimit { get; set; }

        /// <summary>F5: the member's monitor, such as /Common/http.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public string? Monitor { get; set; }

        /// <summary>HAProxy: TLS to the server.</summary>
        [Parameter]
        public SwitchParameter Tls { get; set; }

        /// <summary>HAProxy: the address health checks go to.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public string? CheckAddress { get; set; }

        /// <summary>HAProxy: the port health checks go to.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateRange(1, 65535)]
        public int? CheckPort { get; set; }

        private LbMemberOptions Options() => new LbMemberOptions
        {
            MaxConnections = MaxConnections, SlowStartSec = SlowStartSec, MaxFails = MaxFails, FailTimeoutSec = FailTimeoutSec,
            Route = string.IsNullOrEmpty(Route) ? null : Route,
            PriorityGroup = PriorityGroup, ConnectionLimit = ConnectionLimit, Monitor = string.IsNullOrEmpty(Monitor) ? null : Monitor,
            Tls = MyInvocation.BoundParameters.ContainsKey(nameof(Tls)) ? Tls.IsPresent : (bool?)null,
            CheckAddress = string.IsNullOrEmpty(CheckAddress) ? null : CheckAddress, CheckPort = CheckPort,
            Backup = MyInvocation.BoundParameters.ContainsKey(nameof(Backup)) ? Backup.IsPresent : (bool?)null,
            TlsCaFile = string.IsNullOrEmpty(TlsCaFile) ? null : TlsCaFile,
        };


        private LbMemberSpec Spec(string address) => new LbMemberSpec(address, Port)
        {
            Weight = Weight, State = State, Name = string.IsNullOrWhiteSpace(Name) ? null : Name, Options = Options(), UseTemplateSlot = UseTemplateSlot,
        };

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
            WriteBatchOutcomes(_batch, o => WriteAdded(connection, o));
            // A bad address or port points its error at what was asked (an LbMemberSpec, as every later error does).
            var asked = Spec(Address);
            if (!TryValidateEndpoint(Address, Port, asked, out string address)) return;
            var spec = Spec(address);
            if (Batching(connection))
            {
                AddToBatch(connection, spec);
                return;
            }

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
                // What the provider cannot do is refused before -WhatIf answers, so a dry run fails as the real run would.
                PoolService.RequireAddable(connection, spec);
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
                WriteLbError(ex, spec);
            }
        }

        private PipelineBatcher<(LbMemberSpec Spec, object? Tag)>? _batch;

        /// <summary>
        /// Piped records to a provider with a multi-member call (ELBv2) or transactions (F5) go many to a call:
        /// 80 piped adds to a target group are one read and one RegisterTargets, not 80 of each.
        /// </summary>
        private bool Batching(LbConnection connection) => MyInvocation.ExpectingInput && !UseTemplateSlot && PoolService.Batches(connection);

        /// <summary>Confirms this record on its own (-WhatIf and -Confirm answer per record), then queues it; a full batch goes at once.</summary>
        private void AddToBatch(LbConnection connection, LbMemberSpec spec)
        {
            try
            {
                PoolService.RequireAddable(connection, spec);
            }
            catch (LbException ex)
            {
                WriteLbError(ex, spec);
                return;
            }
            if (!ShouldProcess($"pool '{Pool}' ({connection})", $"Add member {spec.Endpoint}{Details(spec)}")) return;
            _batch ??= new PipelineBatcher<(LbMemberSpec Spec, object? Tag)>(
                (pool, items, log, ct) => Pools.AddMembersAsync(connection, pool, items, PassThru, log, ct), PoolService.BatchSize(connection), CancellationToken);
            QueueForBatch(_batch, Pool, (spec, spec), o => WriteAdded(connection, o));
        }

        protected override void EndProcessing()
        {
            CompleteBatch(_batch, o => WriteAdded(_commandLineConnection ?? ResolveConnection(), o));
            // Then the changes are persisted (F5 save, NetScaler savec), once for the whole pipeline.
            base.EndProcessing();
        }

        /// <summary>A batched record that was added or found: its verbose line and, with -PassThru, the member.</summary>
        private void WriteAdded(LbConnection connection, BatchOutcome outcome)
        {
            if (outcome.Outcome == ChangeOutcome.Changed)
            {
                WriteVerbose($"Added {outcome.Member?.ToString() ?? (outcome.Tag as LbMemberSpec)?.Endpoint}.");
                MarkChanged(connection);
            }
            if (PassThru && outcome.Member != null) WriteObject(outcome.Member);
        }

        private static string Details(LbMemberSpec spec)
        {
            var parts = new List<string>();
            if (spec.Name != null) parts.Add("name " + spec.Name);
            if (spec.Weight.HasValue) parts.Add("weight " + spec.Weight.Value.ToString(CultureInfo.InvariantCulture));
            if (!spec.Options.IsEmpty) parts.Add(spec.Options.ToString());
            parts.Add("state " + (spec.State ?? LbMemberState.Enabled));
            return " (" + string.Join(", ", parts) + ")";
        }
    }
}
