using System;
using System.Globalization;
using System.Management.Automation;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;

namespace LoadBalancerTools.Commands
{
    /// <summary>Removes members, optionally draining them first; removing a member that is not there is not an error.</summary>
    [Cmdlet(VerbsCommon.Remove, "LbPoolMember", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByName)]
    [OutputType(typeof(void))]
    public sealed class RemoveLbPoolMemberCommand : LbMemberCmdlet
    {
        /// <summary>Stop new traffic first and wait until the member has no active connections.</summary>
        [Parameter]
        public SwitchParameter Drain { get; set; }

        [Parameter]
        [ValidateRange(0, 86400)]
        public int DrainTimeoutSec { get; set; } = 300;

        /// <summary>HAProxy: give the member's server-template slot back (maintenance, placeholder address) instead of deleting the server.</summary>
        [Parameter]
        public SwitchParameter UseTemplateSlot { get; set; }

        /// <summary>F5 BIG-IP: also delete the member's node when no other pool uses it (BIG-IP keeps orphaned nodes otherwise).</summary>
        [Parameter]
        public SwitchParameter RemoveNode { get; set; }

        protected override void ProcessRecord()
        {
            var target = ResolveTarget();
            if (target == null) return;
            var (connection, pool, selector) = target.Value;
            string what = Describe(connection, pool, selector);
            LbPoolMember? resolved = null;
            WriteBatchOutcomes(_batch, o => WriteRemoved(connection, o));
            if (Batching(connection))
            {
                AddToBatch(connection, pool, selector, what);
                return;
            }
            try
            {
                if (RemoveNode) PoolService.RequireNodes(connection);
                if (UseTemplateSlot) PoolService.RequireSlots(connection);
                var found = Run(ct => Pools.ResolveAsync(connection, pool, selector, Log, ct));
                var current = resolved = found.Member;
                if (current == null)
                {
                    WriteVerbose($"{what} does not exist; nothing to remove.");
                    return;
                }
                what = Describe(connection, current);
                string action = Drain
                    ? string.Format(CultureInfo.InvariantCulture, "Drain (up to {0} s) and remove", DrainTimeoutSec)
                    : "Remove";
                if (!ShouldProcess(what, action)) return;
                // After a possible prompt the member is found again (by its identity); otherwise the read above is fresh enough to act on.
                var drainTimeout = TimeSpan.FromSeconds(DrainTimeoutSec);
                var exact = LbMemberSelector.Of(current);
                var outcome = UseTemplateSlot
                    ? Run(ct => Pools.ReturnSlotAsync(connection, current, Log, ct))
                    : MayPrompt(ConfirmImpact.High)
                        ? Run(ct => Pools.RemoveMemberAsync(connection, pool, exact, Drain, drainTimeout, Log, ct))
                        : Run(ct => Pools.RemoveMemberAsync(connection, current, Drain, drainTimeout, Log, ct));
                WriteVerbose(outcome == ChangeOutcome.Changed ? $"Removed {what}." : $"{what} was already gone.");
                if (outcome == ChangeOutcome.Changed) MarkChanged(connection);
                if (RemoveNode && found.SameEndpointCount <= 1) Run(ct => Pools.RemoveNodeIfUnusedAsync(connection, current, Log, ct));
                int others = found.SameEndpointCount - 1;
                if (others > 0 && outcome == ChangeOutcome.Changed)
                {
                    WriteWarning(string.Format(CultureInfo.InvariantCulture,
                        "Removed {0}; {1} other member(s) at {2} remain in pool '{3}' and still take traffic. List them with Get-LbPoolMember -Pool '{3}' -Address {4} -Port {5}.",
                        current.Display, others, current.Endpoint, pool, current.Address, current.Port));
                }
            }
            catch (LbException ex)
            {
                WriteLbError(ex, ErrorTarget(selector, resolved));
            }
        }

        private PipelineBatcher<(LbMemberSelector Selector, object? Tag)>? _batch;
        private LbConnection? _batchConnection;

        /// <summary>
        /// Piped records to a provider with a multi-member call (ELBv2) or transactions (F5) go many to a call.
        /// A drain waits on each member, and template slots and nodes are their own calls: those stay one by one.
        /// </summary>
        private bool Batching(LbConnection connection) =>
            MyInvocation.ExpectingInput && !Drain && !UseTemplateSlot && !RemoveNode && PoolService.Batches(connection);

        /// <summary>Confirms this record on its own (-WhatIf and -Confirm answer per record), then queues it; a full batch goes at once.</summary>
        private void AddToBatch(LbConnection connection, string pool, LbMemberSelector selector, string what)
        {
            if (!ShouldProcess(what, "Remove")) return;
            _batchConnection = connection;
            _batch ??= new PipelineBatcher<(LbMemberSelector Selector, object? Tag)>(
                (p, items, log, ct) => Pools.RemoveMembersAsync(connection, p, items, log, ct), PoolService.BatchSize(connection), CancellationToken);
            QueueForBatch(_batch, pool, (selector, ErrorTarget(selector)), o => WriteRemoved(connection, o));
        }

        protected override void EndProcessing()
        {
            CompleteBatch(_batch, o => WriteRemoved(_batchConnection!, o));
            // Then the changes are persisted (F5 save, NetScaler savec), once for the whole pipeline.
            base.EndProcessing();
        }

        /// <summary>A batched record that was removed: its verbose line, and a warning when copies at its address still take traffic. Remove writes no objects.</summary>
        private void WriteRemoved(LbConnection connection, BatchOutcome outcome)
        {
            if (outcome.Outcome != ChangeOutcome.Changed) return;
            WriteVerbose($"Removed {outcome.Member}.");
            if (outcome.Warning != null) WriteWarning($"Removed {outcome.Member!.Display}; {outcome.Warning}");
            MarkChanged(connection);
        }
    }
}
