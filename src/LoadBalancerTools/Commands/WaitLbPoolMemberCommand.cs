using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;

namespace LoadBalancerTools.Commands
{
    /// <summary>
    /// Waits until members are Healthy, drained (-State Draining: out of rotation with no active connections) or Absent
    /// from their pool, polling the load balancer; a member still not there at the timeout is an error.
    /// Piped members are waited for together, with one read per pool per poll.
    /// </summary>
    /// <remarks>Writes each member as last read once it is Healthy or drained; nothing for Absent.</remarks>
    [Cmdlet(VerbsLifecycle.Wait, "LbPoolMember", DefaultParameterSetName = ByName)]
    [OutputType(typeof(LbPoolMember))]
    public sealed class WaitLbPoolMemberCommand : LbMemberCmdlet
    {
        private readonly List<(LbConnection Connection, WaitTarget Target)> _targets = new List<(LbConnection, WaitTarget)>();

        /// <summary>What to wait for: Healthy, Draining (drained: out of rotation, no connections; Drained is still accepted) or Absent.</summary>
        [Parameter(Mandatory = true)]
        [DrainingWord]
        public LbWaitCondition State { get; set; }

        /// <summary>How long to wait, in seconds, for all the members together.</summary>
        [Parameter]
        [ValidateRange(0, 86400)]
        public int TimeoutSec { get; set; } = 300;

        /// <summary>Seconds between reads of the pool.</summary>
        [Parameter]
        [ValidateRange(0.05, 3600.0)]
        public double PollIntervalSec { get; set; } = 2;

        internal MemberWaitService Waiter { get; } = new MemberWaitService();

        protected override void ProcessRecord()
        {
            var target = ResolveTarget();
            if (target == null) return;
            var (connection, pool, selector) = target.Value;
            _targets.Add((connection, new WaitTarget(pool, selector.Address ?? "", selector.Port ?? 0, ErrorTarget(selector))
            {
                MemberId = selector.MemberId,
                Name = selector.Name,
            }));
        }

        protected override void EndProcessing()
        {
            if (_targets.Count == 0) return;
            var timeout = TimeSpan.FromSeconds(TimeoutSec);
            var interval = TimeSpan.FromSeconds(PollIntervalSec);
            var groups = _targets.GroupBy(t => t.Connection).ToList();
            var results = Run(async ct =>
            {
                var waits = groups.Select((g, i) => Waiter.WaitAsync(g.Key, g.Select(t => t.Target).ToList(), State, timeout, interval, Log, ct, progressId: 73 + i));
                return (await System.Threading.Tasks.Task.WhenAll(waits).ConfigureAwait(false)).SelectMany(r => r).ToList();
            });

            // In the order the members came in.
            var byTarget = results.ToDictionary(r => r.Target);
            foreach (var (_, target) in _targets)
            {
                var result = byTarget[target];
                if (result.Met)
                {
                    if (State != LbWaitCondition.Absent && result.Member != null) WriteObject(result.Member);
                    continue;
                }
                var error = result.Error!;
                if (error.ErrorId == ErrorIds.WaitTimeout)
                {
                    WriteError(new ErrorRecord(error, ErrorIds.WaitTimeout, ErrorCategory.OperationTimeout, target.Source));
                }
                else
                {
                    WriteLbError(error, target.Source);
                }
            }
        }
    }
}
