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

        public RemediationRunner(PoolService pools, ProbeService probes, AlertService alerts, TimeProvider time)
        {
            _pools = pools;
            _probes = probes;
            _alerts = alerts;
            _time = time;
        }

        /// <summary>Reads and probes, then decides. When the API fails after its retries, the round is an ApiFailure and nothing else.</summary>
        public async Task<RoundDecisions> PlanAsync(LbConnection connection, RemediationState state, RemediationPolicy policy, ProbeOptions probe, ILbLog log, CancellationToken ct,
            SemaphoreSlim? probeGate = null)
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
                var decided = await DecideAsync(connection, state, policy, probe, members, probeGate, ct).ConfigureAwait(false);
                decided.Events.Insert(0, back);
                decided.Alerts.Insert(0, back);
                return decided;
            }
            return await DecideAsync(connection, state, policy, probe, members, probeGate, ct).ConfigureAwait(false);
        }

        private async Task<RoundDecisions> DecideAsync(LbConnection connection, RemediationState state, RemediationPolicy policy, ProbeOptions probe,
            IReadOnlyList<LbPoolMember> members, SemaphoreSlim? probeGate, CancellationToken ct)
        {
            // Members we removed are probed where they were, so they can come back.
            var targets = members.ToList();
            foreach (var rec in state.Members.Values.Where(r => r.Ejected && !members.Any(m => Keys.Of(m) == r.Key)))
            {
                targets.Add(new LbPoolMember { Provider = connection.Provider, Pool = state.Pool, Address = rec.Address, Port = rec.Port, Name = rec.Name, MemberId = rec.MemberId ?? "", Connection = connection });
            }
            var results = await _probes.ProbeAllAsync(targets, probe, ct, probeGate).ConfigureAwait(false);
            return RemediationEngine.Decide(state, policy, members, results, _time.GetUtcNow());
        }

        /// <summary>
        /// Carries out one decision (or only reports it, when <paramref name="act"/> is false under -WhatIf). The guard is
        /// asked first whether this runner still holds the pool, and stores the intent before the call (write-ahead):
        /// when either says no, nothing is changed.
        /// </summary>
        public async Task<LbRemediationEvent> ApplyAsync(LbConnection connection, RemediationState state, RemediationPolicy policy, RemediationDecision decision, bool act,
            ChangeGuard guard, ILbLog log, CancellationToken ct)
        {
            bool eject = decision.Kind == DecisionKind.Eject;
            var ev = RemediationEngine.Event(_time.GetUtcNow(), state, eject ? LbRemediationEventType.Ejected : LbRemediationEventType.Restored, decision.Record, decision.Reason);
            ev.Action = ActionName(decision, policy);
            if (!act)
            {
                ev.Reason = "WhatIf: " + ev.Reason;
                return ev;
            }
            if (!await guard.StillHeld(ct).ConfigureAwait(false)) return NotHeld(ev);
            var rec = decision.Record;
            if (eject)
            {
                // Write-ahead: the intent is stored before the call, so a kill at any point leaves a record.
                rec.PendingEject = policy.Action.ToString();
                rec.PendingAt = _time.GetUtcNow();
                rec.Weight = decision.Member?.Weight;
                if (!await guard.Save(state, ct).ConfigureAwait(false))
                {
                    rec.PendingEject = null;
                    rec.PendingAt = null;
                    return NotHeld(ev);
                }
            }
            try
            {
                await ChangeAsync(connection, state, policy, decision, log, ct).ConfigureAwait(false);
                RemediationEngine.Applied(decision, eject ? policy.Action : RemediationAction.Disable, _time.GetUtcNow());
                ev.Applied = true;
            }
            catch (LbException ex)
            {
                ev.Success = false;
                ev.Error = ex.Message;
                ev.Reason += $" The change failed: {ex.Message}";
                // It may have been applied: remember it as done, so the member is never left out unrecorded;
                // the next round's reconcile forgets it if the load balancer shows it never happened.
                if (ex.MayHaveBeenApplied) RemediationEngine.Applied(decision, eject ? policy.Action : RemediationAction.Disable, _time.GetUtcNow());
            }
            rec.PendingEject = null;
            rec.PendingAt = null;
            await ConfirmAsync(state, guard, ev, ct).ConfigureAwait(false);
            return ev;
        }

        private static LbRemediationEvent NotHeld(LbRemediationEvent ev)
        {
            ev.Type = LbRemediationEventType.Skipped;
            ev.Reason = "Not changed: this runner no longer holds the pool's lease (another runner took it over). " + ev.Reason;
            return ev;
        }

        /// <summary>After the call: the outcome replaces the intent. If the store fails now, the intent it holds is reconciled next round.</summary>
        private static async Task ConfirmAsync(RemediationState state, ChangeGuard guard, LbRemediationEvent ev, CancellationToken ct)
        {
            try
            {
                if (!await guard.Save(state, ct).ConfigureAwait(false)) ev.Reason += " The outcome was not stored: the lease was lost; the runner that holds it now reconciles the change.";
            }
            catch (LbException ex)
            {
                ev.Reason += $" The outcome was not stored ({ex.Message}); the stored intent is reconciled with the pool next round.";
            }
        }

        private async Task ChangeAsync(LbConnection connection, RemediationState state, RemediationPolicy policy, RemediationDecision decision, ILbLog log, CancellationToken ct)
        {
            var rec = decision.Record;
            if (decision.Kind == DecisionKind.Eject)
            {
                var member = decision.Member!;
                if (policy.Action == RemediationAction.Remove)
                {
                    await _pools.RemoveMemberAsync(connection, member, false, TimeSpan.Zero, log, ct).ConfigureAwait(false);
                    return;
                }
                var target = policy.Action == RemediationAction.Drain ? LbMemberState.Draining : LbMemberState.Disabled;
                await _pools.SetMemberAsync(connection, member, new LbMemberUpdate { State = target }, log, ct).ConfigureAwait(false);
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

    /// <summary>
    /// What a change must pass: the pool still held by this runner (the store's lease and fencing token), and the
    /// state stored before and after it. None holds nothing back and stores nothing (-WhatIf, unit tests).
    /// </summary>
    public sealed class ChangeGuard
    {
        public static readonly ChangeGuard None = new ChangeGuard();

        public Func<CancellationToken, Task<bool>> StillHeld { get; set; } = _ => Task.FromResult(true);
        public Func<RemediationState, CancellationToken, Task<bool>> Save { get; set; } = (_, _) => Task.FromResult(true);
    }
}
