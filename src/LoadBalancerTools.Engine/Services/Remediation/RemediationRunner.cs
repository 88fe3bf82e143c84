using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Alerts;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Services.Remediation
{
    /// <summary>The I/O around the decision engine: read the pool, probe, act, alert.</summary>
    public sealed class RemediationRunner
    {
        private readonly PoolService _pools;
        private readonly ProbeService _probes;
        private readonly AlertService _alerts;
        private readonly TimeProvider _time;

        /// <summary>The runner cmdlets use. (The cmdlet assembly must not name TimeProvider, which lives with the isolated dependencies.)</summary>
        public static RemediationRunner OnSystemClock(PoolService pools) =>
            new RemediationRunner(pools, new ProbeService(TimeProvider.System),
                new AlertService(new Http.TransportOptions { TotalTimeout = TimeSpan.FromSeconds(30), MaxRetries = 3 }, TimeProvider.System), TimeProvider.System);

        /// <summary>Saves the state (the cmdlet's state file): called before and after each ejection, for the write-ahead record.</summary>
        public Action<RemediationState>? Persist { get; set; }

        public RemediationRunner(PoolService pools, ProbeService probes, AlertService alerts, TimeProvider time)
        {
            _pools = pools;
            _probes = probes;
            _alerts = alerts;
            _time = time;
        }

        /// <summary>Reads and probes, then decides. When the API fails after its retries, the round is an ApiFailure and nothing else.</summary>
        public async Task<RoundDecisions> PlanAsync(LbConnection connection, RemediationState state, RemediationPolicy policy, ProbeOptions probe, ILbLog log, CancellationToken ct)
        {
            IReadOnlyList<LbPoolMember> members;
            try
            {
                members = await _pools.GetMembersAsync(connection, state.Pool, log, ct).ConfigureAwait(false);
            }
            catch (LbException ex)
            {
                state.Round++;
                var failure = RemediationEngine.Event(_time.GetUtcNow(), state, LbRemediationEventType.ApiFailure, null,
                    $"The load balancer's API failed after retries ({ex.Message}); nothing was probed or changed this round.");
                failure.Success = false;
                failure.Error = ex.Message;
                var round = new RoundDecisions();
                round.Events.Add(failure);
                if (!state.ApiFailing) round.Alerts.Add(failure);
                state.ApiFailing = true;
                return round;
            }
            if (state.ApiFailing)
            {
                state.ApiFailing = false;
                var back = RemediationEngine.Event(_time.GetUtcNow(), state, LbRemediationEventType.Restored, null, "The load balancer's API answers again.");
                back.Applied = true;
                var decided = await DecideAsync(connection, state, policy, probe, members, log, ct).ConfigureAwait(false);
                decided.Events.Insert(0, back);
                decided.Alerts.Insert(0, back);
                return decided;
            }
            return await DecideAsync(connection, state, policy, probe, members, log, ct).ConfigureAwait(false);
        }

        private async Task<RoundDecisions> DecideAsync(LbConnection connection, RemediationState state, RemediationPolicy policy, ProbeOptions probe,
            IReadOnlyList<LbPoolMember> members, ILbLog log, CancellationToken ct)
        {

            // Members we removed are probed where they were, so they can come back.
            var targets = members.ToList();
            foreach (var rec in state.Members.Values.Where(r => r.Ejected && !members.Any(m => Keys.Of(m) == r.Key)))
            {
                targets.Add(new LbPoolMember { Provider = connection.Provider, Pool = state.Pool, Address = rec.Address, Port = rec.Port, Name = rec.Name, MemberId = rec.MemberId ?? "", Connection = connection });
            }
            var results = await _probes.ProbeAllAsync(targets, probe, ct).ConfigureAwait(false);
            return RemediationEngine.Decide(state, policy, members, results, _time.GetUtcNow());
        }

        /// <summary>Carries out one decision (or only reports it, when <paramref name="act"/> is false under -WhatIf).</summary>
        public async Task<LbRemediationEvent> ApplyAsync(LbConnection connection, RemediationState state, RemediationPolicy policy, RemediationDecision decision, bool act, ILbLog log, CancellationToken ct)
        {
            bool eject = decision.Kind == DecisionKind.Eject;
            var ev = RemediationEngine.Event(_time.GetUtcNow(), state, eject ? LbRemediationEventType.Ejected : LbRemediationEventType.Restored, decision.Record, decision.Reason);
            ev.Action = ActionName(decision, policy);
            if (!act)
            {
                ev.Reason = "WhatIf: " + ev.Reason;
                return ev;
            }
            var rec = decision.Record;
            if (eject)
            {
                // Write-ahead: the intent is on disk before the call, so a kill at any point leaves a record.
                rec.PendingEject = policy.Action.ToString();
                rec.PendingAt = _time.GetUtcNow();
                rec.Weight = decision.Member?.Weight;
                Persist?.Invoke(state);
            }
            try
            {
                if (eject)
                {
                    var member = decision.Member!;
                    switch (policy.Action)
                    {
                        case RemediationAction.Remove:
                            await _pools.RemoveMemberAsync(connection, member, false, TimeSpan.Zero, log, ct).ConfigureAwait(false);
                            break;
                        default:
                            var target = policy.Action == RemediationAction.Drain ? LbMemberState.Draining : LbMemberState.Disabled;
                            await _pools.SetMemberAsync(connection, member, new LbMemberUpdate { State = target }, log, ct).ConfigureAwait(false);
                            break;
                    }
                }
                else if (decision.Member != null)
                {
                    await _pools.SetMemberAsync(connection, decision.Member, new LbMemberUpdate { State = LbMemberState.Enabled }, log, ct).ConfigureAwait(false);
                }
                else
                {
                    var spec = new LbMemberSpec(rec.Address, rec.Port)
                    {
                        Weight = connection.Supports(LbCapabilities.Weight) ? rec.Weight : null,
                        Name = connection.Supports(LbCapabilities.MemberNames) && rec.Name.Length > 0 ? rec.Name : null,
                    };
                    await _pools.AddMemberAsync(connection, state.Pool, spec, log, ct).ConfigureAwait(false);
                }
                RemediationEngine.Applied(decision, eject ? policy.Action : RemediationAction.Disable, _time.GetUtcNow());
                ev.Applied = true;
                rec.PendingEject = null;
                rec.PendingAt = null;
                Persist?.Invoke(state);
            }
            catch (LbException ex)
            {
                ev.Success = false;
                ev.Error = ex.Message;
                ev.Reason += $" The change failed: {ex.Message}";
                // It may have been applied: remember it as done, so the member is never left out unrecorded;
                // the next round's reconcile forgets it if the load balancer shows it never happened.
                if (ex.MayHaveBeenApplied) RemediationEngine.Applied(decision, eject ? policy.Action : RemediationAction.Disable, _time.GetUtcNow());
                rec.PendingEject = null;
                rec.PendingAt = null;
                Persist?.Invoke(state);
            }
            return ev;
        }

        public async Task<IReadOnlyList<LbRemediationEvent>> AlertAsync(IReadOnlyList<LbAlertChannel> channels, IEnumerable<LbRemediationEvent> events, string source, ILbLog log, CancellationToken ct)
        {
            var sent = new List<LbRemediationEvent>();
            foreach (var ev in events)
            {
                foreach (var channel in channels)
                {
                    sent.Add(await _alerts.SendAsync(channel, ev, source, log, ct).ConfigureAwait(false));
                }
            }
            return sent;
        }

        private static string ActionName(RemediationDecision decision, RemediationPolicy policy) =>
            decision.Kind == DecisionKind.Eject ? policy.Action.ToString()
            : decision.Member != null ? "Enable" : "Add";
    }
}
