using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services.Remediation.Stores;

namespace LoadBalancerTools.Services.Remediation
{
    /// <summary>One pool of one load balancer under remediation, with what this run knows of it.</summary>
    public sealed class RemediationTarget
    {
        public RemediationTarget(LbConnection connection, string pool)
        {
            Connection = connection;
            Key = new PoolKey(connection.Endpoint.ToString(), pool);
        }

        public LbConnection Connection { get; }
        public PoolKey Key { get; }
        public string Pool => Key.Pool;
        /// <summary>The state as of the last round this runner held the pool; null until loaded (or after the lease changed hands).</summary>
        public RemediationState? State { get; internal set; }
        public PoolLease? Lease { get; internal set; }

        /// <summary>The event marked with this pool's load balancer, so several connections' events are told apart.</summary>
        public LbRemediationEvent Stamp(LbRemediationEvent e)
        {
            e.Provider = Connection.Provider;
            e.Endpoint = Util.UrlRedaction.Redact(Connection.Endpoint.ToString());
            return e;
        }
    }

    /// <summary>What one round found for one pool: decisions to carry out, or why the pool was left alone.</summary>
    public sealed class PoolRound
    {
        internal PoolRound(RemediationTarget target, RoundDecisions decisions, string? leftAlone)
        {
            Target = target;
            Decisions = decisions;
            LeftAlone = leftAlone;
        }

        public RemediationTarget Target { get; }
        public RoundDecisions Decisions { get; }
        /// <summary>Why nothing is done to the pool this round ("pool web held by … until …"); null when this runner acts on it.</summary>
        public string? LeftAlone { get; }

        /// <summary>Left alone because the store did not answer (reported once for the round, not per pool).</summary>
        public bool StoreFailed { get; internal set; }
    }

    /// <summary>
    /// A remediation run over many pools: each round takes (or renews) every pool's lease from the state store,
    /// probes and decides for the pools it holds at once (probes bounded together by -ThrottleLimit), and lets the
    /// caller confirm and apply each decision. Pools held by another runner are skipped. When the store cannot be
    /// reached the round changes nothing, and the outage is reported once (one event and alert when it starts and
    /// when it ends, not one per round).
    /// </summary>
    public sealed class RemediationSession
    {
        private readonly RemediationRunner _runner;
        private readonly IRemediationStateStore _store;
        private readonly bool _dryRun;
        private readonly TimeProvider _time;
        private bool _storeFailing;
        private int _round;

        public RemediationSession(RemediationRunner runner, IRemediationStateStore store, IEnumerable<RemediationTarget> targets, bool dryRun, TimeProvider time)
        {
            _runner = runner;
            _store = store;
            _dryRun = dryRun;
            _time = time;
            _targets = targets.ToList();
        }

        private readonly List<RemediationTarget> _targets;

        /// <summary>The session the cmdlet uses, on the system clock (the cmdlet assembly must not name TimeProvider).</summary>
        public static RemediationSession OnSystemClock(RemediationRunner runner, IRemediationStateStore store, IEnumerable<RemediationTarget> targets, bool dryRun) =>
            new RemediationSession(runner, store, targets, dryRun, TimeProvider.System);

        public IReadOnlyList<RemediationTarget> Targets => _targets;

        /// <summary>A pool found not to exist before the first round: its lease given back, and no round touches it.</summary>
        public async Task LeaveOutAsync(RemediationTarget target, CancellationToken ct)
        {
            _targets.Remove(target);
            try
            {
                if (target.Lease != null && target.Lease.Held) await _store.ReleaseAsync(target.Lease, ct).ConfigureAwait(false);
            }
            catch (LbException) { /* the lease expires by itself */ }
            target.Lease = null;
            target.State = null;
        }

        public RemediationRunner Runner => _runner;

        /// <summary>This run's round (1 in the first); events that have no pool state of their own (store outages, pools held by others) carry it.</summary>
        public int Round => _round;

        /// <summary>
        /// Before the first round: every pool's lease taken where it is free and its state read and checked, so an
        /// invalid state or (with the file store) another run's lock stops the run before anything changed. A
        /// store that does not answer yet is left to the first round, which reports it and changes nothing.
        /// </summary>
        public async Task OpenAsync(CancellationToken ct)
        {
            foreach (var t in Targets)
            {
                try
                {
                    if (!_dryRun)
                    {
                        var lease = await _store.AcquireAsync(t.Key, ct).ConfigureAwait(false);
                        if (!lease.Held) continue;
                        t.Lease = lease;
                    }
                    t.State = await _store.LoadAsync(t.Key, ct).ConfigureAwait(false);
                }
                catch (LbException ex) when (ex.ErrorId == ErrorIds.StateStoreUnavailable)
                {
                    t.Lease = null;
                    t.State = null;
                }
            }
        }

        /// <summary>Leases, reads, probes and decides for every pool at once; beside the pools, the run-level events of the store's health this round.</summary>
        public async Task<(IReadOnlyList<PoolRound> Pools, RoundDecisions Store)> PlanAsync(RemediationPolicy policy, ProbeOptions probe, ILbLog log, CancellationToken ct)
        {
            _round++;
            using var gate = new SemaphoreSlim(Math.Max(1, probe.ThrottleLimit));
            var failures = new List<(RemediationTarget Target, LbException Error)>();
            var rounds = await Task.WhenAll(Targets.Select(async t =>
            {
                try
                {
                    return await PlanPoolAsync(t, policy, probe, gate, log, ct).ConfigureAwait(false);
                }
                catch (LbException ex) when (ex.ErrorId == ErrorIds.StateStoreUnavailable)
                {
                    lock (failures) failures.Add((t, ex));
                    // Whatever this runner knew may be stale when the store is back: read it again after the next grant.
                    t.Lease = null;
                    t.State = null;
                    return new PoolRound(t, new RoundDecisions(), $"pool {t.Pool} left alone: {ex.Message}") { StoreFailed = true };
                }
            })).ConfigureAwait(false);
            var failed = Targets.Where(t => failures.Any(f => f.Target == t)).ToList();
            return (rounds, StoreHealth(failures.Select(f => f.Error).FirstOrDefault(), failed, log));
        }

        private async Task<PoolRound> PlanPoolAsync(RemediationTarget t, RemediationPolicy policy, ProbeOptions probe, SemaphoreSlim gate, ILbLog log, CancellationToken ct)
        {
            if (!_dryRun)
            {
                var lease = await _store.AcquireAsync(t.Key, ct).ConfigureAwait(false);
                if (!lease.Held)
                {
                    t.Lease = null;
                    t.State = null;
                    string until = lease.Until?.ToString("u", CultureInfo.InvariantCulture) ?? "its run ends";
                    return new PoolRound(t, new RoundDecisions(), $"pool {t.Pool} held by {lease.Holder} until {until}");
                }
                // A new grant (first round, or taken over from another runner): that runner's counts and ejections are the truth.
                if (t.Lease == null || t.Lease.Token != lease.Token || t.State == null) t.State = await _store.LoadAsync(t.Key, ct).ConfigureAwait(false);
                t.Lease = lease;
            }
            else if (t.State == null)
            {
                t.State = await _store.LoadAsync(t.Key, ct).ConfigureAwait(false);
            }
            var decisions = await _runner.PlanAsync(t.Connection, t.State!, policy, probe, log, ct, gate).ConfigureAwait(false);
            foreach (var e in decisions.Events.Concat(decisions.Alerts)) t.Stamp(e);
            return new PoolRound(t, decisions, null);
        }

        /// <summary>
        /// The store's health this round: an ApiFailure for each pool it left alone, and a Restored for each pool when
        /// it answers again; one alert (titled by the store, not a load balancer) when the outage starts and one when it ends.
        /// </summary>
        private RoundDecisions StoreHealth(LbException? failure, IReadOnlyList<RemediationTarget> failed, ILbLog log)
        {
            var result = new RoundDecisions();
            if (failure != null)
            {
                if (failure.Data[RedisStateStore.DetailKey] is string detail) log.Debug($"{failure.Message}: {detail}");
                foreach (var t in failed)
                {
                    var ev = t.Stamp(StoreEvent(t.Pool, LbRemediationEventType.ApiFailure,
                        $"Left alone: {failure.Message}; nothing was changed this round, the next round tries again."));
                    ev.Success = false;
                    ev.Error = failure.Message;
                    result.Events.Add(ev);
                }
                if (!_storeFailing)
                {
                    var alert = StoreEvent(string.Join(", ", failed.Select(t => t.Pool).Distinct()), LbRemediationEventType.ApiFailure,
                        $"{Capitalized(failure.Message)}; nothing was changed on {failed.Count} pool(s), each round tries again.");
                    alert.Success = false;
                    alert.Error = failure.Message;
                    result.Alerts.Add(alert);
                }
                _storeFailing = true;
            }
            else if (_storeFailing)
            {
                _storeFailing = false;
                string reason = $"The state store {_store.Description} answers again.";
                foreach (var t in Targets)
                {
                    var back = t.Stamp(StoreEvent(t.Pool, LbRemediationEventType.Restored, reason));
                    back.Applied = true;
                    result.Events.Add(back);
                }
                var alert = StoreEvent(string.Join(", ", Targets.Select(t => t.Pool).Distinct()), LbRemediationEventType.Restored, reason);
                alert.Applied = true;
                result.Alerts.Add(alert);
            }
            return result;
        }

        private LbRemediationEvent StoreEvent(string pool, LbRemediationEventType type, string reason) =>
            new LbRemediationEvent
            {
                Timestamp = _time.GetUtcNow(),
                Type = type,
                Pool = pool,
                Round = _round,
                StateStore = _store.Description,
                Reason = reason,
            };

        private static string Capitalized(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text.Substring(1);

        /// <summary>Carries out one decision on a pool this runner holds; a store that stops answering means no change.</summary>
        public async Task<LbRemediationEvent> ApplyAsync(PoolRound round, RemediationPolicy policy, RemediationDecision decision, bool act, ILbLog log, CancellationToken ct)
        {
            var t = round.Target;
            try
            {
                return t.Stamp(await _runner.ApplyAsync(t.Connection, t.State!, policy, decision, act, Guard(t), log, ct).ConfigureAwait(false));
            }
            catch (LbException ex) when (ex.ErrorId == ErrorIds.StateStoreUnavailable)
            {
                var state = t.State ?? new RemediationState { Pool = t.Pool };
                t.Lease = null;
                t.State = null;
                var ev = RemediationEngine.Event(_time.GetUtcNow(), state, LbRemediationEventType.ApiFailure, decision.Record, $"Not changed: {ex.Message}. The next round tries again.");
                ev.Success = false;
                ev.Error = ex.Message;
                return t.Stamp(ev);
            }
        }

        private ChangeGuard Guard(RemediationTarget t)
        {
            if (_dryRun || t.Lease == null) return ChangeGuard.None;
            var lease = t.Lease;
            return new ChangeGuard
            {
                StillHeld = ct => _store.IsCurrentAsync(lease, ct),
                Save = (state, ct) => _store.SaveAsync(lease, state, ct),
            };
        }

        /// <summary>After the round's decisions: the pool's counts stored (only while the lease is still ours). False when they could not be.</summary>
        public async Task<string?> SaveAsync(PoolRound round, CancellationToken ct)
        {
            var t = round.Target;
            if (_dryRun || round.LeftAlone != null || t.Lease == null || t.State == null) return null;
            try
            {
                if (await _store.SaveAsync(t.Lease, t.State, ct).ConfigureAwait(false)) return null;
                t.Lease = null;
                t.State = null;
                return $"The state of pool '{t.Pool}' was not stored: this runner no longer holds its lease.";
            }
            catch (Exception ex) when (ex is LbException || ex is System.IO.IOException || ex is UnauthorizedAccessException)
            {
                return $"Could not store the state of pool '{t.Pool}' in the {_store.Description}: {ex.Message}";
            }
        }

        /// <summary>When a run is stopped (Ctrl+C) mid-round: what was decided so far is kept, best effort.</summary>
        public void SaveAllQuietly()
        {
            if (_dryRun) return;
            foreach (var t in Targets)
            {
                if (t.Lease == null || t.State == null) continue;
                try { _store.SaveAsync(t.Lease, t.State, CancellationToken.None).GetAwaiter().GetResult(); }
                catch (Exception ex) when (ex is LbException || ex is System.IO.IOException || ex is UnauthorizedAccessException) { /* the write-ahead records already stored stand */ }
            }
        }

        /// <summary>At the end of the run: leases given back, so another runner takes the pools at once instead of after the TTL.</summary>
        public async Task ReleaseAsync(CancellationToken ct)
        {
            foreach (var t in Targets)
            {
                if (t.Lease == null || !t.Lease.Held) continue;
                try { await _store.ReleaseAsync(t.Lease, ct).ConfigureAwait(false); }
                catch (LbException) { /* the lease expires by itself */ }
                t.Lease = null;
            }
        }
    }
}
