using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Services
{
    /// <summary>How draining one member ended.</summary>
    public sealed class DrainOutcome
    {
        internal DrainOutcome(LbPoolMember original) => Original = original;

        public LbPoolMember Original { get; }
        /// <summary>The member as last read, ready to remove; null when it left the pool (drained by removal, or removed by someone else).</summary>
        public LbPoolMember? Member { get; internal set; }
        /// <summary>Why it is not drained (timeout, a refused state change); the message says what state it was left in.</summary>
        public LbException? Error { get; internal set; }
    }

    /// <summary>
    /// The one drain path, used by Remove-LbPoolMember -Drain, Sync-LbPool -Prune and remediation: the drain
    /// state chosen from the provider's capabilities, the wait through <see cref="MemberWaitService"/>, and
    /// the messages that say what state a member was left in when the wait times out or is stopped.
    /// </summary>
    public sealed class DrainService
    {
        private readonly PoolService _pools;
        private readonly MemberWaitService _waiter;

        internal DrainService(PoolService pools, TimeProvider time)
        {
            _pools = pools;
            _waiter = new MemberWaitService(pools, time);
        }

        /// <summary>Draining where the vendor has it, else Disabled, else null (the member can only be removed).</summary>
        public static LbMemberState? DrainState(LbConnection connection) =>
            connection.Supports(LbCapabilities.Drain) ? LbMemberState.Draining
            : connection.Supports(LbCapabilities.Disable) ? LbMemberState.Disabled
            : (LbMemberState?)null;

        /// <summary>Drains one member; throws the timeout error. Returns the member ready to remove, or null when it left the pool.</summary>
        public async Task<LbPoolMember?> DrainOneAsync(LbConnection connection, LbPoolMember member, TimeSpan timeout, ILbLog log, CancellationToken ct)
        {
            var outcome = (await DrainAsync(connection, new[] { member }, timeout, _pools.DrainPollInterval, log, ct, progressId: 41).ConfigureAwait(false))[0];
            if (outcome.Error != null) throw outcome.Error;
            return outcome.Member;
        }

        /// <summary>
        /// Takes members of one connection out of rotation and waits (one shared poll per pool) until their
        /// connections finish, up to <paramref name="timeout"/>. Where the load balancer drains what it removes
        /// (ELBv2), removes them and waits until they are gone. Per-member failures are in the outcomes; a stop
        /// throws, naming the state the members were left in.
        /// </summary>
        public async Task<IReadOnlyList<DrainOutcome>> DrainAsync(LbConnection connection, IReadOnlyList<LbPoolMember> members, TimeSpan timeout, TimeSpan pollInterval,
            ILbLog log, CancellationToken ct, int progressId)
        {
            var outcomes = members.Select(m => new DrainOutcome(m) { Member = m }).ToList();
            if (outcomes.Count == 0) return outcomes;
            bool drainsOnRemove = connection.Supports(LbCapabilities.DrainOnRemove);
            var state = DrainState(connection);
            if (!drainsOnRemove && state == null)
            {
                log.Verbose($"{connection.Provider} cannot drain a member; it is removed directly.");
                return outcomes;
            }
            try
            {
                await StartAsync(connection, outcomes, drainsOnRemove, state, timeout, log, ct).ConfigureAwait(false);
                // Without connection counts a plain disable has nothing to wait for; a vendor drain state
                // (NetScaler "going out of service") or a removal that drains has.
                bool counts = connection.Supports(LbCapabilities.ActiveConnections);
                if (!drainsOnRemove && !counts && state != LbMemberState.Draining) return outcomes;
                var waiting = outcomes.Where(o => o.Error == null && (drainsOnRemove || o.Member != null)).ToList();
                if (waiting.Count == 0) return outcomes;
                if (waiting.Count > 1) log.Verbose($"Waiting up to {timeout.TotalSeconds:0} s for {waiting.Count} member(s) to drain.");
                var condition = drainsOnRemove ? LbWaitCondition.Absent : LbWaitCondition.Draining;
                string activity = waiting.Count == 1 ? $"Draining {waiting[0].Original}" : $"Draining {waiting.Count} members";
                var results = await _waiter.WaitAsync(connection, waiting.Select(o => WaitTarget.Of(o.Original, o)).ToList(), condition, timeout, pollInterval, log, ct,
                    progressId, absentIsMet: true, activity: activity).ConfigureAwait(false);
                foreach (var r in results)
                {
                    var o = (DrainOutcome)r.Target.Source!;
                    o.Member = drainsOnRemove ? null : r.Member;
                    if (r.Met)
                    {
                        log.Verbose(string.Format(CultureInfo.InvariantCulture, r.Member == null ? "{0} left the pool after {1:0.#} s."
                            : counts ? "{0} has no active connections after {1:0.#} s." : "{0} finished draining after {1:0.#} s.", o.Original, r.Elapsed.TotalSeconds));
                        continue;
                    }
                    o.Error = r.Error!.ErrorId == ErrorIds.WaitTimeout && r.Member != null ? TimedOut(r.Member, timeout, drainsOnRemove) : r.Error;
                }
                return outcomes;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                string left = drainsOnRemove ? "it was removed and the load balancer finishes its drain" : $"it was left {state} and not removed";
                string names = string.Join(", ", outcomes.Select(o => o.Original.ToString()));
                log.Warning($"Stopped while draining {names}: {left}. Run the same command again to finish, or Set-LbPoolMember -State Enabled to bring it back.");
                throw new OperationCanceledException($"Stopped while draining {names}: {left}.", ct);
            }
        }

        private async Task StartAsync(LbConnection connection, List<DrainOutcome> outcomes, bool drainsOnRemove, LbMemberState? state, TimeSpan timeout, ILbLog log, CancellationToken ct)
        {
            foreach (var o in outcomes)
            {
                var member = o.Original;
                try
                {
                    if (drainsOnRemove)
                    {
                        if (member.State != LbMemberState.Draining) await ConnectionService.ProviderFor(connection).RemoveMemberAsync(member, log, ct).ConfigureAwait(false);
                        log.Verbose($"{member} removed; waiting while {connection.Provider} drains it.");
                    }
                    else if (member.State == LbMemberState.Enabled)
                    {
                        var update = new LbMemberUpdate { State = state, DrainTimeoutSec = (int)timeout.TotalSeconds };
                        (o.Member, _) = await _pools.SetMemberAsync(connection, member, update, log, ct).ConfigureAwait(false);
                        log.Verbose($"{member} set to {state}; waiting for its connections to finish.");
                    }
                }
                catch (LbException ex) when (ex.Kind == LbErrorKind.NotFound && ex.ErrorId != ErrorIds.PoolNotFound)
                {
                    o.Member = null;
                }
                catch (LbException ex)
                {
                    o.Error = ex;
                }
            }
        }

        /// <summary>The drain timeout, saying what state the member is in and what to do.</summary>
        public static LbException TimedOut(LbPoolMember now, TimeSpan timeout, bool drainsOnRemove)
        {
            if (drainsOnRemove)
            {
                return new LbException(LbErrorKind.Conflict, string.Format(CultureInfo.InvariantCulture,
                    "{0} is still {1} after the drain timeout of {2:0.#} s. It was removed: the load balancer drops it when its own drain ends. Run again with a longer -DrainTimeoutSec to wait for that.",
                    now, now.State, timeout.TotalSeconds)) { ErrorId = ErrorIds.DrainTimeout };
            }
            string still = now.ActiveConnections.HasValue
                ? "has " + now.ActiveConnections.Value.ToString(CultureInfo.InvariantCulture) + " active connection(s)"
                : "is still draining";
            return new LbException(LbErrorKind.Conflict, string.Format(CultureInfo.InvariantCulture,
                "{0} {1} after the drain timeout of {2:0.#} s; it was left {3} and not removed. Run again with a longer -DrainTimeoutSec, remove it without -Drain, or bring it back with Set-LbPoolMember -State Enabled.",
                now, still, timeout.TotalSeconds, now.State)) { ErrorId = ErrorIds.DrainTimeout };
        }
    }
}
