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
    public enum ChangeOutcome
    {
        Changed,
        /// <summary>Already as asked: nothing was sent.</summary>
        Unchanged,
    }

    /// <summary>
    /// The pool operations every vendor shares, made safe to repeat: adds check first and survive a lost
    /// response without duplicating, removes of what is gone succeed, drains wait on a clock that tests can fake.
    /// </summary>
    public sealed class PoolService
    {
        private readonly TimeProvider _time;

        /// <summary>On the system clock. (Cmdlets use this one: the cmdlet assembly must not name third-party types such as Microsoft.Bcl.TimeProvider's, which live in the isolated context.)</summary>
        public PoolService()
            : this(TimeProvider.System)
        {
        }

        public PoolService(TimeProvider time)
        {
            _time = time;
        }

        /// <summary>First wait between drain polls; it doubles up to <see cref="MaxPollInterval"/>.</summary>
        public TimeSpan FirstPollInterval { get; set; } = TimeSpan.FromMilliseconds(200);
        public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromSeconds(2);
        /// <summary>How long an add whose outcome is unknown is given to land before it is sent again.</summary>
        public TimeSpan AmbiguousSettle { get; set; } = TimeSpan.FromSeconds(2);

        public async Task<IReadOnlyList<LbPoolMember>> GetMembersAsync(LbConnection connection, string pool, ILbLog log, CancellationToken ct)
        {
            var members = await connection.ProviderInstance.GetMembersAsync(pool, log, ct).ConfigureAwait(false);
            foreach (var m in members) m.Connection = connection;
            return members;
        }

        public async Task<IReadOnlyList<LbPool>> GetPoolsAsync(LbConnection connection, ILbLog log, CancellationToken ct)
        {
            var pools = await connection.ProviderInstance.GetPoolsAsync(log, ct).ConfigureAwait(false);
            foreach (var p in pools) p.Connection = connection;
            return pools;
        }

        public async Task<LbPoolMember?> FindMemberAsync(LbConnection connection, string pool, string address, int port, ILbLog log, CancellationToken ct)
        {
            var members = await GetMembersAsync(connection, pool, log, ct).ConfigureAwait(false);
            return members.FirstOrDefault(m => m.Matches(address, port));
        }

        /// <summary>Adds a member unless it is there already. A create whose response was lost is resolved by reading the pool again, never by sending it blind.</summary>
        public async Task<(LbPoolMember Member, ChangeOutcome Outcome)> AddMemberAsync(LbConnection connection, string pool, LbMemberSpec spec, ILbLog log, CancellationToken ct)
        {
            var existing = await FindMemberAsync(connection, pool, spec.Address, spec.Port, log, ct).ConfigureAwait(false);
            if (existing != null)
            {
                log.Verbose($"{spec.Endpoint} is already a member of {pool}; nothing to add.");
                return (existing, ChangeOutcome.Unchanged);
            }
            return await AddAbsentMemberAsync(connection, pool, spec, log, ct).ConfigureAwait(false);
        }

        /// <summary>
        /// Adds a member the caller has just seen missing (from its own read of the pool), without reading
        /// again first; AlreadyExists and ambiguous failures are still resolved by reading the pool.
        /// </summary>
        public async Task<(LbPoolMember Member, ChangeOutcome Outcome)> AddAbsentMemberAsync(LbConnection connection, string pool, LbMemberSpec spec, ILbLog log, CancellationToken ct)
        {
            const int attempts = 3;
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    var added = await connection.ProviderInstance.AddMemberAsync(pool, spec, log, ct).ConfigureAwait(false);
                    added.Connection = connection;
                    return (added, ChangeOutcome.Changed);
                }
                catch (LbException ex) when (ex.Kind == LbErrorKind.AlreadyExists)
                {
                    // Someone else added it between our read and our write: the goal is met.
                    var now = await FindMemberAsync(connection, pool, spec.Address, spec.Port, log, ct).ConfigureAwait(false);
                    if (now == null) throw;
                    log.Verbose($"{spec.Endpoint} already exists in {pool}; nothing to add.");
                    return (now, ChangeOutcome.Unchanged);
                }
                catch (LbException ex) when (ex.Ambiguous)
                {
                    log.Verbose($"The add of {spec.Endpoint} to {pool} may or may not have been applied ({ex.Message}); reading the pool before deciding.");
                    var now = await FindMemberAsync(connection, pool, spec.Address, spec.Port, log, ct).ConfigureAwait(false);
                    if (now != null)
                    {
                        log.Verbose($"{spec.Endpoint} is in {pool}: the add was applied.");
                        return (now, ChangeOutcome.Changed);
                    }
                    if (attempt >= attempts) throw;
                    // A request cut off by our timeout may still be working its way through the server:
                    // give it a moment and look once more, so a late landing is not doubled by a resend.
                    await _time.Delay(AmbiguousSettle, ct).ConfigureAwait(false);
                    now = await FindMemberAsync(connection, pool, spec.Address, spec.Port, log, ct).ConfigureAwait(false);
                    if (now != null)
                    {
                        log.Verbose($"{spec.Endpoint} is in {pool}: the add was applied late.");
                        return (now, ChangeOutcome.Changed);
                    }
                    log.Verbose($"{spec.Endpoint} is not in {pool}: sending the add again (attempt {attempt + 1} of {attempts}).");
                }
            }
        }

        /// <summary>Changes state and weight; what is already as asked is not sent again.</summary>
        public async Task<(LbPoolMember Member, ChangeOutcome Outcome)> SetMemberAsync(LbConnection connection, LbPoolMember current, LbMemberUpdate update, ILbLog log, CancellationToken ct)
        {
            RequireCapabilities(connection, update);
            var needed = new LbMemberUpdate { DrainTimeoutSec = update.DrainTimeoutSec };
            if (update.State.HasValue && update.State != current.State) needed.State = update.State;
            if (update.Weight.HasValue && update.Weight != current.Weight) needed.Weight = update.Weight;
            if (!needed.State.HasValue && !needed.Weight.HasValue)
            {
                log.Verbose($"{current} already has {update}; nothing to change.");
                return (current, ChangeOutcome.Unchanged);
            }
            var updated = await connection.ProviderInstance.UpdateMemberAsync(current, needed, log, ct).ConfigureAwait(false);
            updated.Connection = connection;
            return (updated, ChangeOutcome.Changed);
        }

        /// <summary>
        /// Removes a member; one that is gone already is not an error. With drain, it first stops new
        /// traffic and waits until the member has no active connections, up to the timeout; on timeout the
        /// member is left draining (not removed) and the error says so.
        /// </summary>
        public async Task<ChangeOutcome> RemoveMemberAsync(LbConnection connection, string pool, string address, int port, bool drain, TimeSpan drainTimeout, ILbLog log, CancellationToken ct)
        {
            var member = await FindMemberAsync(connection, pool, address, port, log, ct).ConfigureAwait(false);
            if (member == null)
            {
                log.Verbose($"{LbPoolMember.FormatEndpoint(address, port)} is not a member of {pool}; nothing to remove.");
                return ChangeOutcome.Unchanged;
            }
            return await RemoveMemberAsync(connection, member, drain, drainTimeout, log, ct).ConfigureAwait(false);
        }

        /// <summary>As above, for a member the caller has just read: no read before acting.</summary>
        public async Task<ChangeOutcome> RemoveMemberAsync(LbConnection connection, LbPoolMember member, bool drain, TimeSpan drainTimeout, ILbLog log, CancellationToken ct)
        {
            if (drain)
            {
                var drained = await DrainAsync(connection, member, drainTimeout, log, ct).ConfigureAwait(false);
                if (drained == null) return ChangeOutcome.Changed;
                member = drained;
            }
            try
            {
                await connection.ProviderInstance.RemoveMemberAsync(member, log, ct).ConfigureAwait(false);
            }
            catch (LbException ex) when (ex.Kind == LbErrorKind.NotFound && ex.ErrorId != ErrorIds.PoolNotFound)
            {
                log.Verbose($"{member} disappeared before the remove; nothing to remove.");
                return ChangeOutcome.Unchanged;
            }
            catch (LbException ex) when (ex.Ambiguous)
            {
                // A delete is safe to check: if the member is gone, the delete was applied.
                var after = await FindMemberAsync(connection, member.Pool, member.Address, member.Port, log, ct).ConfigureAwait(false);
                if (after != null) throw;
            }
            return ChangeOutcome.Changed;
        }

        /// <summary>Puts the member in drain (or disable, where drain is missing) and waits for its connections to reach zero; where the load balancer drains on removal, removes it and waits until it is gone. Returns the member as last read, or null if it vanished.</summary>
        public async Task<LbPoolMember?> DrainAsync(LbConnection connection, LbPoolMember member, TimeSpan timeout, ILbLog log, CancellationToken ct)
        {
            bool drainsOnRemove = connection.Supports(LbCapabilities.DrainOnRemove);
            var state = connection.Supports(LbCapabilities.Drain) ? LbMemberState.Draining
                : connection.Supports(LbCapabilities.Disable) ? LbMemberState.Disabled
                : (LbMemberState?)null;
            if (drainsOnRemove)
            {
                // The load balancer drains what it removes (ELBv2): remove now, then wait until it is gone.
                if (member.State != LbMemberState.Draining) await connection.ProviderInstance.RemoveMemberAsync(member, log, ct).ConfigureAwait(false);
                log.Verbose($"{member} removed; waiting while {connection.Provider} drains it.");
            }
            else if (state == null)
            {
                log.Verbose($"{connection.Provider} cannot drain a member; {member} is removed directly.");
                return member;
            }
            else if (member.State != state && member.State != LbMemberState.ForcedOffline)
            {
                (member, _) = await SetMemberAsync(connection, member, new LbMemberUpdate { State = state, DrainTimeoutSec = (int)timeout.TotalSeconds }, log, ct).ConfigureAwait(false);
                log.Verbose($"{member} set to {state}; waiting for its connections to finish.");
            }
            // Without connection counts, the vendor's own state tells when draining is over (NetScaler:
            // "going out of service" until then); a plain disable has nothing to wait for.
            bool counts = connection.Supports(LbCapabilities.ActiveConnections);
            if (!drainsOnRemove && !counts && state != LbMemberState.Draining) return member;

            long start = _time.GetTimestamp();
            var wait = FirstPollInterval;
            const int progressId = 41;
            string activity = $"Draining {member}";
            while (true)
            {
                var now = await FindMemberAsync(connection, member.Pool, member.Address, member.Port, log, ct).ConfigureAwait(false);
                if (now == null)
                {
                    log.Progress(progressId, activity, "gone", 100, completed: true);
                    log.Verbose($"{member} left the pool after {_time.GetElapsedTime(start).TotalSeconds:0.#} s.");
                    return null;
                }
                long active = now.ActiveConnections ?? 0;
                // Where removal drains, only the member's disappearance ends the wait.
                bool drained = !drainsOnRemove && (counts ? active <= 0 : now.State != LbMemberState.Draining);
                string still = drainsOnRemove ? now.State.ToString() : counts ? $"{active} active connection(s)" : "still draining";
                var elapsed = _time.GetElapsedTime(start);
                if (drained)
                {
                    log.Progress(progressId, activity, "drained", 100, completed: true);
                    log.Verbose(counts
                        ? $"{now} has no active connections after {elapsed.TotalSeconds:0.#} s."
                        : $"{now} finished draining after {elapsed.TotalSeconds:0.#} s.");
                    return now;
                }
                if (elapsed >= timeout)
                {
                    log.Progress(progressId, activity, "timed out", 100, completed: true);
                    if (drainsOnRemove)
                    {
                        throw new LbException(LbErrorKind.Conflict, string.Format(CultureInfo.InvariantCulture,
                            "{0} is still {1} after the drain timeout of {2:0.#} s. It was removed: the load balancer drops it when its own drain ends. Run again with a longer -DrainTimeoutSec to wait for that.",
                            now, now.State, timeout.TotalSeconds)) { ErrorId = ErrorIds.DrainTimeout };
                    }
                    throw new LbException(LbErrorKind.Conflict, string.Format(CultureInfo.InvariantCulture,
                        "{0} is {1} after the drain timeout of {2:0.#} s; it was left {3} and not removed. Run again with a longer -DrainTimeoutSec, or remove it without -Drain.",
                        now, still, timeout.TotalSeconds, now.State)) { ErrorId = ErrorIds.DrainTimeout };
                }
                int percent = (int)Math.Min(99, 100 * elapsed.TotalMilliseconds / Math.Max(1, timeout.TotalMilliseconds));
                log.Progress(progressId, activity, $"{still}, {elapsed.TotalSeconds:0} of {timeout.TotalSeconds:0} s", percent);
                var remaining = timeout - elapsed;
                await _time.Delay(remaining < wait ? remaining : wait, ct).ConfigureAwait(false);
                wait = TimeSpan.FromTicks(Math.Min(MaxPollInterval.Ticks, wait.Ticks * 2));
            }
        }

        /// <summary>NotSupported, naming the provider, before anything is sent.</summary>
        public static void RequireCapabilities(LbConnection connection, LbMemberUpdate update)
        {
            LbCapabilities needed = LbCapabilities.None;
            switch (update.State)
            {
                case LbMemberState.Disabled: needed |= LbCapabilities.Disable; break;
                case LbMemberState.Draining: needed |= LbCapabilities.Drain; break;
                case LbMemberState.ForcedOffline: needed |= LbCapabilities.ForcedOffline; break;
            }
            if (update.Weight.HasValue) needed |= LbCapabilities.Weight;
            var missing = needed & ~connection.Capabilities;
            if (missing != LbCapabilities.None)
            {
                throw new LbException(LbErrorKind.NotSupported,
                    $"{missing} is not supported by this provider ({connection.Provider}). Supported: {connection.Capabilities}.") { ErrorId = ErrorIds.NotSupported };
            }
        }
    }
}
