using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Services.Remediation
{
    public enum DecisionKind
    {
        Eject,
        Restore,
    }

    /// <summary>An action remediation wants to take; applied (or not, under -WhatIf) by the runner.</summary>
    public sealed class RemediationDecision
    {
        public RemediationDecision(DecisionKind kind, MemberRecord record, LbPoolMember? member, string reason)
        {
            Kind = kind;
            Record = record;
            Member = member;
            Reason = reason;
        }

        public DecisionKind Kind { get; }
        public MemberRecord Record { get; }
        /// <summary>The member as the load balancer showed it this round; null when we had removed it.</summary>
        public LbPoolMember? Member { get; }
        public string Reason { get; }
    }

    /// <summary>What one round decided: events to report now and actions to take.</summary>
    public sealed class RoundDecisions
    {
        public List<LbRemediationEvent> Events { get; } = new List<LbRemediationEvent>();
        public List<RemediationDecision> Actions { get; } = new List<RemediationDecision>();
        /// <summary>Events that should also go to the alert channels.</summary>
        public List<LbRemediationEvent> Alerts { get; } = new List<LbRemediationEvent>();
    }

    /// <summary>
    /// The decision logic, pure: members as the load balancer shows them, probe results and the
    /// remembered state in; events and actions out. No I/O and no clock of its own.
    /// </summary>
    public static class RemediationEngine
    {
        public static RoundDecisions Decide(RemediationState state, RemediationPolicy policy,
            IReadOnlyList<LbPoolMember> members, IReadOnlyList<LbProbeResult> probes, DateTimeOffset now)
        {
            var result = new RoundDecisions();
            state.Round++;
            state.AdoptIdentities(members);
            // By identity: one address may hold several members (NGINX Plus peers, HAProxy servers).
            var inPool = new Dictionary<string, LbPoolMember>(StringComparer.Ordinal);
            foreach (var m in members)
            {
                if (!inPool.ContainsKey(Keys.Of(m))) inPool[Keys.Of(m)] = m;
            }
            var probeOf = probes.GroupBy(p => Keys.Of(p.Address, p.Port)).ToDictionary(g => g.Key, g => g.First());
            ReconcileIntents(state, inPool, result, now);
            Reconcile(state, inPool, policy);

            // Who is in rotation: members that take traffic, not ours nor an operator's disabled ones.
            var rotation = members.Where(m => m.State == LbMemberState.Enabled && !(state.Members.TryGetValue(Keys.Of(m), out var r) && r.Ejected)).ToList();
            var failing = new Dictionary<string, string>();
            foreach (var m in members)
            {
                string key = Keys.Of(m);
                bool ours = state.Members.TryGetValue(key, out var rec) && rec.Ejected;
                string? why = Failure(probeOf.TryGetValue(Keys.Of(m.Address, m.Port), out var p) ? p : null, ours ? null : m);
                if (why != null) failing[key] = why;
            }
            foreach (var rec in state.Members.Values.Where(r => r.Ejected && !inPool.ContainsKey(r.Key)))
            {
                string? why = Failure(probeOf.TryGetValue(Keys.Of(rec.Address, rec.Port), out var p) ? p : null, null);
                if (why != null) failing[rec.Key] = why;
            }

            // Everything in rotation failing at once says more about our own network than about the pool.
            if (rotation.Count >= 2 && rotation.All(m => failing.ContainsKey(Keys.Of(m))))
            {
                var e = Event(now, state, LbRemediationEventType.Skipped, null,
                    string.Format(CultureInfo.InvariantCulture,
                        "All {0} members in rotation failed at once: suspected network partition between this prober and the pool, so nothing is ejected or restored this round.", rotation.Count));
                result.Events.Add(e);
                if (!state.PartitionSuspected) result.Alerts.Add(e);
                state.PartitionSuspected = true;
                return result;
            }
            if (state.PartitionSuspected)
            {
                // The incident opened by the partition alert is closed the same way it was opened.
                var over = Event(now, state, LbRemediationEventType.Restored, null, "Probes reach the pool again: the suspected network partition is over.");
                over.Applied = true;
                result.Events.Add(over);
                result.Alerts.Add(over);
            }
            state.PartitionSuspected = false;

            // Count the streaks.
            foreach (var m in members)
            {
                var rec = state.For(m);
                int before = rec.ConsecutiveFailures;
                Observe(rec, failing.TryGetValue(rec.Key, out var why) ? why : null);
                if (why != null && !rec.Ejected && m.State != LbMemberState.Enabled && rec.ConsecutiveFailures >= policy.FailureThreshold)
                {
                    // Someone else took it out of rotation: nothing to eject, so the count stops at the threshold and is explained once.
                    rec.ConsecutiveFailures = policy.FailureThreshold;
                    if (before < policy.FailureThreshold)
                    {
                        result.Events.Add(Event(now, state, LbRemediationEventType.Skipped, rec,
                            string.Format(CultureInfo.InvariantCulture, "{0}; already {1}, left alone (not ejected by LoadBalancerTools).", why, m.State)));
                    }
                }
                else if (why != null && !rec.Ejected)
                {
                    result.Events.Add(Event(now, state, LbRemediationEventType.Detected, rec,
                        string.Format(CultureInfo.InvariantCulture, "{0} (failure {1} of {2}).", why, rec.ConsecutiveFailures, policy.FailureThreshold)));
                }
            }
            foreach (var rec in state.Members.Values.Where(r => r.Ejected && !inPool.ContainsKey(r.Key)).ToList())
            {
                Observe(rec, failing.TryGetValue(rec.Key, out var why) ? why : null);
            }

            // Ejections, worst first, within the caps.
            int total = members.Count + state.Members.Values.Count(r => r.Ejected && !inPool.ContainsKey(r.Key));
            int maxEjected = total * policy.MaxEjectPercent / 100;
            // Out of rotation counts what an operator took out too: the cap protects the pool, not our tally.
            int ejected = total - rotation.Count;
            int remaining = rotation.Count;
            var candidates = rotation
                .Select(m => (Member: m, Record: state.Members[Keys.Of(m)]))
                .Where(c => c.Record.ConsecutiveFailures >= policy.FailureThreshold)
                .OrderByDescending(c => c.Record.ConsecutiveFailures)
                .ThenBy(c => c.Record.Key, StringComparer.Ordinal);
            foreach (var (member, rec) in candidates)
            {
                string? blocked = null;
                if (ejected + 1 > maxEjected)
                {
                    blocked = string.Format(CultureInfo.InvariantCulture,
                        "Not ejected: -MaxEjectPercent {0} allows at most {1} of {2} members out of rotation and {3} already are. The member keeps failing ({4}).",
                        policy.MaxEjectPercent, maxEjected, total, ejected, failing[rec.Key]);
                }
                else if (remaining - 1 < policy.MinHealthyMembers)
                {
                    blocked = string.Format(CultureInfo.InvariantCulture,
                        "Not ejected: it would leave {0} member(s) in rotation, below -MinHealthyMembers {1}. The member keeps failing ({2}).",
                        remaining - 1, policy.MinHealthyMembers, failing[rec.Key]);
                }
                if (blocked != null)
                {
                    var e = Event(now, state, LbRemediationEventType.Skipped, rec, blocked);
                    result.Events.Add(e);
                    if (!rec.SkipAlerted) result.Alerts.Add(e);
                    rec.SkipAlerted = true;
                    continue;
                }
                result.Actions.Add(new RemediationDecision(DecisionKind.Eject, rec, member,
                    string.Format(CultureInfo.InvariantCulture, "{0} consecutive failures (threshold {1}): {2}", rec.ConsecutiveFailures, policy.FailureThreshold, failing[rec.Key])));
                ejected++;
                remaining--;
            }

            // Restores of what we ejected, once it has been good long enough.
            foreach (var rec in state.Members.Values.Where(r => r.Ejected && r.ConsecutiveSuccesses >= policy.RecoveryThreshold).OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                result.Actions.Add(new RemediationDecision(DecisionKind.Restore, rec, inPool.TryGetValue(rec.Key, out var m) ? m : null,
                    string.Format(CultureInfo.InvariantCulture, "{0} consecutive good rounds (threshold {1}).", rec.ConsecutiveSuccesses, policy.RecoveryThreshold)));
            }
            return result;
        }

        /// <summary>Records what an applied action did, so the next round (or run) knows.</summary>
        public static void Applied(RemediationDecision decision, RemediationAction action, DateTimeOffset now)
        {
            var rec = decision.Record;
            if (decision.Kind == DecisionKind.Eject)
            {
                rec.EjectedWith = action.ToString();
                rec.EjectedAt = now;
                rec.Weight = decision.Member?.Weight;
                rec.SkipAlerted = false;
            }
            else
            {
                rec.EjectedWith = null;
                rec.EjectedAt = null;
                rec.ConsecutiveFailures = 0;
                rec.SkipAlerted = false;
            }
        }

        /// <summary>
        /// Ejections that were in flight when a run stopped (written ahead, never confirmed): the pool says whether
        /// they happened. Done → kept as ejected, to be restored later; not done → forgotten. Either way the
        /// journal says so.
        /// </summary>
        private static void ReconcileIntents(RemediationState state, Dictionary<string, LbPoolMember> inPool, RoundDecisions result, DateTimeOffset now)
        {
            foreach (var rec in state.Members.Values.Where(r => r.PendingEject != null).ToList())
            {
                inPool.TryGetValue(rec.Key, out var m);
                if (m == null && rec.MemberId != null)
                {
                    m = inPool.Values.FirstOrDefault(x => x.Matches(rec.Address, rec.Port));
                }
                string action = rec.PendingEject!;
                bool happened = action == nameof(RemediationAction.Remove)
                    ? m == null || m.State == LbMemberState.Draining
                    : m != null && m.State != LbMemberState.Enabled;
                rec.PendingEject = null;
                rec.PendingAt = null;
                string reason;
                if (happened)
                {
                    rec.EjectedWith = action;
                    rec.EjectedAt ??= now;
                    reason = $"An ejection ({action}) was under way when an earlier run stopped; the load balancer shows it happened, so the member is kept as ejected and will be restored when it recovers.";
                }
                else
                {
                    reason = $"An ejection ({action}) was under way when an earlier run stopped; the load balancer shows it never happened, so it is forgotten.";
                }
                result.Events.Add(Event(now, state, LbRemediationEventType.Detected, rec, reason));
            }
        }

        public static LbRemediationEvent Event(DateTimeOffset now, RemediationState state, LbRemediationEventType type, MemberRecord? rec, string reason) =>
            new LbRemediationEvent
            {
                Timestamp = now,
                Type = type,
                Pool = state.Pool,
                Address = rec?.Address,
                Port = rec?.Port,
                Member = rec?.Name,
                Reason = reason,
                ConsecutiveFailures = rec?.ConsecutiveFailures,
                ConsecutiveSuccesses = rec?.ConsecutiveSuccesses,
                Round = state.Round,
            };

        /// <summary>Why this observation is a failure, or null when the member looks healthy.</summary>
        private static string? Failure(LbProbeResult? probe, LbPoolMember? lbView)
        {
            if (probe != null && !probe.Success) return "probe " + probe.Target + " failed: " + (probe.Error ?? "no answer");
            if (lbView != null && lbView.Health == LbMemberHealth.Unhealthy)
                return "the load balancer reports it unhealthy" + (string.IsNullOrEmpty(lbView.HealthReason) ? "" : $" ({lbView.HealthReason})");
            return probe == null ? "not probed" : null;
        }

        private static void Observe(MemberRecord rec, string? failure)
        {
            if (failure != null)
            {
                rec.ConsecutiveFailures++;
                rec.ConsecutiveSuccesses = 0;
                rec.LastError = failure;
            }
            else
            {
                rec.ConsecutiveSuccesses++;
                rec.ConsecutiveFailures = 0;
                rec.LastError = null;
                if (!rec.Ejected) rec.SkipAlerted = false;
            }
        }

        /// <summary>Forgets ejections an operator has undone (re-enabled, re-added or removed the member) and members long gone.</summary>
        private static void Reconcile(RemediationState state, Dictionary<string, LbPoolMember> inPool, RemediationPolicy policy)
        {
            foreach (var rec in state.Members.Values.ToList())
            {
                inPool.TryGetValue(rec.Key, out var m);
                if (!rec.Ejected)
                {
                    if (m == null) state.Members.Remove(rec.Key);
                    continue;
                }
                bool removedByUs = rec.EjectedWith == nameof(RemediationAction.Remove);
                // Still listed but Draining after our removal (ELBv2 keeps a deregistered target until its drain ends): still ours.
                if (removedByUs && m != null && m.State != LbMemberState.Draining) { rec.EjectedWith = null; rec.ConsecutiveFailures = 0; } // someone added it back
                else if (!removedByUs && m == null) state.Members.Remove(rec.Key);        // someone removed it
                else if (!removedByUs && m!.State == LbMemberState.Enabled)
                {
                    // Someone re-enabled it: their call. Its count starts again, so it is not ejected on the next blip.
                    rec.EjectedWith = null;
                    rec.ConsecutiveFailures = 0;
                }
            }
        }
    }
}
