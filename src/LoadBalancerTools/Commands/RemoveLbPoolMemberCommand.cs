using System;
using System.Globalization;
using System.Management.Automation;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Services;

namespace LoadBalancerTools.Commands
{
    /// <summary>Removes members, optionally draining them first; removing a member that is not there is not an error.</summary>
    [Cmdlet(VerbsCommon.Remove, "LbPoolMember", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByAddress)]
    [OutputType(typeof(void))]
    public sealed class RemoveLbPoolMemberCommand : LbMemberCmdlet
    {
        /// <summary>Stop new traffic first and wait until the member has no active connections.</summary>
        [Parameter]
        public SwitchParameter Drain { get; set; }

        [Parameter]
        [ValidateRange(0, 86400)]
        public int DrainTimeoutSec { get; set; } = 300;

        protected override void ProcessRecord()
        {
            var target = ResolveTarget();
            if (target == null) return;
            var (connection, pool, address, port) = target.Value;
            string what = Describe(connection, pool, address, port);
            try
            {
                var current = Run(ct => Pools.FindMemberAsync(connection, pool, address, port, Log, ct));
                if (current == null)
                {
                    WriteVerbose($"{what} does not exist; nothing to remove.");
                    return;
                }
                string action = Drain
                    ? string.Format(CultureInfo.InvariantCulture, "Drain (up to {0} s) and remove", DrainTimeoutSec)
                    : "Remove";
                if (!ShouldProcess(what, action)) return;
                // After a possible prompt the member is found again; otherwise the read above is fresh enough to act on.
                var drainTimeout = TimeSpan.FromSeconds(DrainTimeoutSec);
                var outcome = MayPrompt(ConfirmImpact.High)
                    ? Run(ct => Pools.RemoveMemberAsync(connection, pool, address, port, Drain, drainTimeout, Log, ct))
                    : Run(ct => Pools.RemoveMemberAsync(connection, current, Drain, drainTimeout, Log, ct));
                WriteVerbose(outcome == ChangeOutcome.Changed ? $"Removed {what}." : $"{what} was already gone.");
            }
            catch (LbException ex)
            {
                WriteLbError(ex, (object?)InputObject ?? what);
            }
        }
    }
}
