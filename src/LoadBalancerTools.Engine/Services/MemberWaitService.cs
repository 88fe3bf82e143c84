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
    /// <summary>One member to wait for.</summary>
    public sealed class WaitTarget
    {
        public WaitTarget(string pool, string address, int port, object? source = null)
        {
            Pool = pool;
            Address = address;
            Port = port;
            Source = source;
        }

        public string Pool { get; }
        public string Address { get; }
        public int Port { get; }
        /// <summary>The member's identity, when known: then only that member counts, not a look-alike at its address.</summary>
        public string? MemberId { get; set; }
        /// <summary>The member's name, for messages.</summary>
        public string? Name { get; set; }
        /// <summary>What the caller gave (a piped member, say), for error records.</summary>
        public object? Source { get; }
        public string Description => Address.Length == 0 && Name == null ? $"member with id '{MemberId}' of pool '{Pool}'"
            : Address.Length == 0 ? $"member '{Name}' of pool '{Pool}'"
            : $"member {LbPoolMember.Label(Name, Address, Port)} of pool '{Pool}'";

        /// <summary>A target for a member just read: by its identity.</summary>
        public static WaitTarget Of(LbPoolMember member, object? source = null) =>
            new WaitTarget(member.Pool, member.Address, member.Port, source) { MemberId = member.MemberId.Length > 0 ? member.MemberId : null, Name = member.Name };
    }

    /// <summary>How the wait for one member ended: met, or an error (timeout or an unusable pool).</summary>
    public sealed class WaitResult
    {
        public WaitResult(WaitTarget target)
        {
            Target = target;
        }

        public WaitTarget Target { get; }
        public bool Met => Error == null;
        /// <summary>The member as last read; null when it was not in the pool.</summary>
        public LbPoolMember? Member { get; internal set; }
        public LbException? Error { get; internal set; }
        public TimeSpan Elapsed { get; internal set; }
    }

    /// <summary>
    /// Polls pools until members reach a condition or a timeout passes. One read per pool per tick serves
    /// every member waited on in that pool. The clock is injected, so tests run on fake time.
    /// </summary>
    public sealed class MemberWaitService
    {
        private readonly PoolService _pools;
        private readonly TimeProvider _time;

        /// <summary>On the system clock. (Cmdlets use this one: the cmdlet assembly must not name TimeProvider, which lives in the isolated context.)</summary>
        public MemberWaitService()
            : this(TimeProvider.System)
        {
        }

        public MemberWaitService(TimeProvider time)
            : this(new PoolService(time), time)
        {
        }

        internal MemberWaitService(PoolService pools, TimeProvider time)
        {
            _pools = pools;
            _time = time;
        }

        public static bool IsMet(LbPoolMember? member, LbWaitCondition condition) => IsMet(member, condition, member?.ActiveConnections.HasValue == true);

        /// <param name="counts">Whether the provider reports active connections; without them only the vendor's drain state tells.</param>
        public static bool IsMet(LbPoolMember? member, LbWaitCondition condition, bool counts)
        {
            switch (condition)
            {
                case LbWaitCondition.Absent:
                    return member == null;
                case LbWaitCondition.Healthy:
                    return member != null && member.Health == LbMemberHealth.Healthy;
                default:
                    // Without connection counts, the vendor's own state says when draining is over
                    // (NetScaler: "going out of service" until its delay ends).
                    return member != null && member.State != LbMemberState.Enabled
                        && (counts ? (member.ActiveConnections ?? 0) <= 0 : member.State != LbMemberState.Draining);
            }
        }

        /// <summary>
        /// Waits for every target; never throws for a target's timeout (its result carries the error), only for
        /// cancellation. With <paramref name="absentIsMet"/>, a member that leaves the pool counts as done
        /// (a drain before removal is over when someone else removed it).
        /// </summary>
        public async Task<IReadOnlyList<WaitResult>> WaitAsync(LbConnection connection, IReadOnlyList<WaitTarget> targets, LbWaitCondition condition,
            TimeSpan timeout, TimeSpan pollInterval, ILbLog log, CancellationToken ct, int progressId = 73, bool absentIsMet = false, string? activity = null)
        {
            var results = targets.Select(t => new WaitResult(t)).ToList();
            var pending = new List<WaitResult>(results);
            long start = _time.GetTimestamp();
            bool counts = connection.Supports(LbCapabilities.ActiveConnections);
            activity ??= targets.Count == 1
                ? $"Waiting for {targets[0].Description} to be {Word(condition)}"
                : $"Waiting for {targets.Count} members to be {Word(condition)}";
            if (pollInterval <= TimeSpan.Zero) pollInterval = TimeSpan.FromSeconds(1);

            while (true)
            {
                foreach (var group in pending.GroupBy(r => r.Target.Pool, StringComparer.Ordinal).ToList())
                {
                    IReadOnlyList<LbPoolMember> members;
                    try
                    {
                        members = await _pools.GetMembersAsync(connection, group.Key, log, ct).ConfigureAwait(false);
                    }
                    catch (LbException ex) when (ex.Kind == LbErrorKind.Transient || ex.Kind == LbErrorKind.Throttled || ex.Kind == LbErrorKind.Unreachable)
                    {
                        // A failed read says nothing about the members; the next tick asks again, within the timeout.
                        log.Warning($"Could not read pool '{group.Key}' while waiting ({ex.Message}); trying again.");
                        continue;
                    }
                    catch (LbException ex)
                    {
                        foreach (var r in group)
                        {
                            r.Error = ex;
                            r.Elapsed = _time.GetElapsedTime(start);
                            pending.Remove(r);
                        }
                        continue;
                    }
                    var byKey = new Dictionary<string, LbPoolMember>(StringComparer.Ordinal);
                    foreach (var m in members)
                    {
                        string key = DesiredMembers.Key(m.Address, m.Port);
                        if (!byKey.ContainsKey(key)) byKey[key] = m;
                    }
                    foreach (var r in group)
                    {
                        LbPoolMember? member;
                        if (r.Target.MemberId != null) member = members.FirstOrDefault(m => m.HasId(r.Target.MemberId));
                        else if (r.Target.Address.Length == 0) member = members.FirstOrDefault(m => string.Equals(m.Name, r.Target.Name, StringComparison.OrdinalIgnoreCase));
                        else byKey.TryGetValue(DesiredMembers.Key(r.Target.Address, r.Target.Port), out member);
                        r.Member = member;
                        if (IsMet(member, condition, counts) || (absentIsMet && member == null))
                        {
                            r.Elapsed = _time.GetElapsedTime(start);
                            pending.Remove(r);
                            log.Verbose(string.Format(CultureInfo.InvariantCulture, "{0} is {1} after {2:0.#} s.", Capitalize(r.Target.Description), condition, r.Elapsed.TotalSeconds));
                        }
                    }
                }

                var elapsed = _time.GetElapsedTime(start);
                if (pending.Count == 0)
                {
                    log.Progress(progressId, activity, "done", 100, completed: true);
                    return results;
                }
                if (elapsed >= timeout)
                {
                    foreach (var r in pending)
                    {
                        r.Elapsed = elapsed;
                        r.Error = TimedOut(r, condition, timeout);
                    }
                    log.Progress(progressId, activity, "timed out", 100, completed: true);
                    return results;
                }
                int percent = (int)Math.Min(99, 100 * elapsed.TotalMilliseconds / Math.Max(1, timeout.TotalMilliseconds));
                // One member: what it shows now ("6 active connection(s)", "Draining"); several: how many are done.
                string status = targets.Count == 1 && pending.Count == 1 && pending[0].Member is { } only
                    ? string.Format(CultureInfo.InvariantCulture, "{0}; {1:0} of {2:0} s",
                        counts && only.ActiveConnections.HasValue ? only.ActiveConnections.Value.ToString(CultureInfo.InvariantCulture) + " active connection(s)" : only.State.ToString(),
                        elapsed.TotalSeconds, timeout.TotalSeconds)
                    : string.Format(CultureInfo.InvariantCulture, "{0} of {1} {2}; {3:0} of {4:0} s",
                        targets.Count - pending.Count, targets.Count, condition, elapsed.TotalSeconds, timeout.TotalSeconds);
                log.Progress(progressId, activity, status, percent);
                var remaining = timeout - elapsed;
                await _time.Delay(remaining < pollInterval ? remaining : pollInterval, ct).ConfigureAwait(false);
            }
        }

        private static LbException TimedOut(WaitResult r, LbWaitCondition condition, TimeSpan timeout)
        {
            string seen;
            var m = r.Member;
            if (m == null)
            {
                seen = "it is not in the pool";
            }
            else
            {
                var parts = new List<string> { "state " + m.State, "health " + m.Health };
                if (m.ActiveConnections.HasValue) parts.Add(m.ActiveConnections.Value.ToString(CultureInfo.InvariantCulture) + " active connection(s)");
                seen = condition == LbWaitCondition.Absent ? "it is still in the pool (" + string.Join(", ", parts) + ")" : "it has " + string.Join(", ", parts);
            }
            return new LbException(LbErrorKind.Conflict, string.Format(CultureInfo.InvariantCulture,
                "Timed out after {0:0.#} s waiting for {1} to be {2}: {3}.", timeout.TotalSeconds, r.Target.Description, Word(condition), seen))
            { ErrorId = ErrorIds.WaitTimeout };
        }

        private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s.Substring(1);

        /// <summary>The goal in words, with -State's own word: a member waited on for Draining is done when it is drained.</summary>
        private static string Word(LbWaitCondition condition) => condition == LbWaitCondition.Draining
            ? "Draining (drained: out of rotation with no active connections)"
            : condition.ToString();
    }
}
