using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;

namespace LoadBalancerTools.Commands
{
    /// <summary>Changes a member's state (Enabled, Disabled, Draining, ForcedOffline; Drain is still accepted) or weight; what is already as asked is left alone.</summary>
    [Cmdlet(VerbsCommon.Set, "LbPoolMember", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ByName)]
    [OutputType(typeof(LbPoolMember))]
    public sealed class SetLbPoolMemberCommand : LbMemberCmdlet
    {
        [Parameter]
        [DrainingWord]
        public LbMemberState? State { get; set; }

        [Parameter]
        // The upper bound is the provider's (ProviderRegistry.WeightRanges), checked with a message that names it.
        [ValidateRange(0, int.MaxValue)]
        public int? Weight { get; set; }

        /// <summary>How long a graceful disable may take, where the vendor takes one (NetScaler delay).</summary>
        [Parameter]
        [ValidateRange(0, 86400)]
        public int? DrainTimeoutSec { get; set; }

        /// <summary>Skips the extra confirmation that forcing a member offline asks for.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

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
        };


        protected override void ProcessRecord()
        {
            var options = Options();
            if (State == null && Weight == null && options.IsEmpty)
            {
                ThrowTerminatingError(new ErrorRecord(new PSArgumentException("Give -State, -Weight or a member option (such as -MaxConnections)."),
                    ErrorIds.InvalidState, ErrorCategory.InvalidArgument, null));
            }
            var target = ResolveTarget();
            if (target == null) return;
            var (connection, pool, selector) = target.Value;
            string what = Describe(connection, pool, selector);
            var update = new LbMemberUpdate { State = State, Weight = Weight, DrainTimeoutSec = DrainTimeoutSec, Options = options.IsEmpty ? null : options };
            LbPoolMember? resolved = null;
            try
            {
                PoolService.RequireCapabilities(connection, update);
                var current = resolved = Run(ct => Pools.ResolveAsync(connection, pool, selector, Log, ct)).Member;
                if (current == null)
                {
                    WriteLbError(new LbException(LbErrorKind.NotFound, $"{what} does not exist.") { ErrorId = ErrorIds.MemberNotFound }, ErrorTarget(selector));
                    return;
                }
                what = Describe(connection, current);
                string change = Change(current, update);
                if (change.Length == 0)
                {
                    WriteVerbose($"{what} already has {update}; nothing to change.");
                    if (PassThru) WriteObject(current);
                    return;
                }
                if (!ShouldProcess(what, change)) return;
                if (update.State == LbMemberState.ForcedOffline && !Force && !ConfirmSuppressed()
                    && !ShouldContinue($"Forcing {what} offline cuts its existing connections. Continue?", "Force member offline"))
                {
                    return;
                }
                var (member, changed) = Run(ct => Pools.SetMemberAsync(connection, current, update, Log, ct));
                if (changed == ChangeOutcome.Changed) MarkChanged(connection);
                if (PassThru) WriteObject(member);
            }
            catch (LbException ex)
            {
                WriteLbError(ex, ErrorTarget(selector, resolved));
            }
        }

        private bool ConfirmSuppressed() =>
            MyInvocation.BoundParameters.TryGetValue("Confirm", out object? confirm) && confirm is SwitchParameter s && !s.IsPresent;

        private static string Change(LbPoolMember current, LbMemberUpdate update)
        {
            var parts = new List<string>();
            if (update.State.HasValue && update.State != current.State) parts.Add($"Change state {current.State} -> {update.State}");
            if (update.Weight.HasValue && update.Weight != current.Weight)
            {
                parts.Add(string.Format(CultureInfo.InvariantCulture, "Change weight {0} -> {1}", current.Weight?.ToString(CultureInfo.InvariantCulture) ?? "(none)", update.Weight));
            }
            if (update.Options != null)
            {
                foreach (var difference in update.Options.DifferencesFrom(current.Options)) parts.Add("Change " + difference);
            }
            return string.Join(", ", parts);
        }
    }
}
