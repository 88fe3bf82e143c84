using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;
using LoadBalancerTools.Providers;

namespace LoadBalancerTools.Services
{
    /// <summary>How a sync applies its plan.</summary>
    public sealed class SyncOptions
    {
        /// <summary>Remove members that are not in the desired list.</summary>
        public bool Prune { get; set; }
        /// <summary>How long a removed member may take to drain; zero removes without draining.</summary>
        public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(300);
        public TimeSpan DrainPollInterval { get; set; } = TimeSpan.FromSeconds(1);
        /// <summary>The most changes in flight at once (the adaptive limit stays below it); 0 for the provider's default ceiling.</summary>
        public int ThrottleLimit { get; set; }
        /// <summary>Check each add against a fresh read first: for plans confirmed at a prompt, which may be stale by now.</summary>
        public bool RecheckBeforeAdd { get; set; }
        /// <summary><see cref="MemberLock.Snapshot"/> taken before the plan's read: adds of members another writer in this process changed since are checked again.</summary>
        public long? ReadSnapshot { get; set; }
    }

    /// <summary>The changes that take a pool from what it is to what is desired.</summary>
    public sealed class SyncPlan
    {
        internal SyncPlan(string pool, List<LbChange> changes, List<string> notes, int currentCount)
        {
            Pool = pool;
            Changes = changes;
            Notes = notes;
            CurrentCount = currentCount;
        }

        public string Pool { get; }
        /// <summary>Adds and updates in the order of the desired list, then removals.</summary>
        public IReadOnlyList<LbChange> Changes { get; }
        /// <summary>Things worth telling the user that are not changes (extra members kept without -Prune...).</summary>
        public IReadOnlyList<string> Notes { get; }
        public int CurrentCount { get; }
    }

    /// <summary>A difference between the pool as read after the sync and the desired state.</summary>
    public sealed class SyncMismatch
    {
        internal SyncMismatch(string pool, string address, int port, IReadOnlyList<string> differences)
        {
            Pool = pool;
            Address = address;
            Port = port;
            Differences = differences;
        }

        public string Pool { get; }
        public string Address { get; }
        public int Port { get; }
        public IReadOnlyList<string> Differences { get; }
        public string Endpoint => LbPoolMember.FormatEndpoint(Address, Port);

        public string Message => $"After the sync, member {Endpoint} of pool '{Pool}' " + string.Join("; ", Differences) + ".";
    }

    /// <summary>
    /// Desired state for one pool: read once, plan typed changes, apply them with bounded concurrency
    /// (additions and updates first, then removals, drained together), read again and compare. Each
    /// change goes through <see cref="PoolService"/>'s idempotent operations, so a re-run after a partial
    /// failure converges without applying anything twice.
    /// </summary>
    public sealed class SyncService
    {
        internal const int ApplyProgressId = 71;
        internal const int DrainProgressId = 72;

        private readonly PoolService _pools;

        /// <summary>On the system clock. (Cmdlets use this one: the cmdlet assembly must not name TimeProvider, which lives in the isolated context.)</summary>
        public SyncService()
            : this(TimeProvider.System)
        {
        }

        public SyncService(TimeProvider time)
        {
            _pools = new PoolService(time);
        }

        public Task<IReadOnlyList<LbPoolMember>> ReadAsync(LbConnection connection, string pool, ILbLog log, CancellationToken ct) =>
            _pools.GetMembersAsync(connection, pool, log, ct);

        /// <summary>What the provider cannot do that the desired list asks for: checked before anything is sent.</summary>
        public static IReadOnlyList<LbException> CheckCapabilities(LbConnection connection, IReadOnlyList<DesiredMember> desired)
        {
            var problems = new List<LbException>();
            void Require(LbCapabilities capability, string what, Func<DesiredMember, bool> asks)
            {
                if (connection.Supports(capability)) return;
                var rows = desired.Where(asks).Select(d => d.Row).ToList();
                if (rows.Count == 0) return;
                string shown = string.Join(", ", rows.Take(10).Select(r => r.ToString(CultureInfo.InvariantCulture))) + (rows.Count > 10 ? ", ..." : "");
                problems.Add(new LbException(LbErrorKind.NotSupported,
                    $"{what} is not supported by this provider ({connection.Provider}), yet {rows.Count} desired row(s) ask for it (row {shown}). Supported: {connection.Capabilities}.")
                { ErrorId = ErrorIds.NotSupported });
            }
            Require(LbCapabilities.Weight, "Weight", d => d.Weight.HasValue);
            foreach (var d in desired.Where(d => !d.Options.IsEmpty))
            {
                try { PoolService.RequireOptions(connection, d.Options); }
                catch (LbException ex) { problems.Add(new LbException(ex.Kind, $"Desired row {d.Row.ToString(CultureInfo.InvariantCulture)} ({d.Endpoint}): {ex.Message}") { ErrorId = ex.ErrorId }); }
            }
            if (connection.Supports(LbCapabilities.Weight) && Providers.ProviderRegistry.WeightRange(connection.Provider) is { } range)
            {
                var bad = desired.Where(d => d.Weight < range.Min || d.Weight > range.Max).ToList();
                if (bad.Count > 0)
                {
                    problems.Add(new LbException(LbErrorKind.InvalidInput, string.Format(CultureInfo.InvariantCulture,
                        "Weight is not valid for {0} in {1} desired row(s) (row {2}): it takes {3} to {4}{5}.", connection.Provider, bad.Count,
                        string.Join(", ", bad.Take(10).Select(d => d.Row.ToString(CultureInfo.InvariantCulture))), range.Min, range.Max, range.Note))
                    { ErrorId = ErrorIds.InvalidWeight });
                }
            }
            Require(LbCapabilities.Disable, "State Disabled", d => d.State == LbMemberState.Disabled);
            Require(LbCapabilities.Drain, "State Draining", d => d.State == LbMemberState.Draining);
            Require(LbCapabilities.ForcedOffline, "State ForcedOffline", d => d.State == LbMemberState.ForcedOffline);
            return problems;
        }

        /// <summary>
        /// The planned adds the provider cannot make (a state it cannot create a member in): checked before -WhatIf
        /// shows the plan, so a dry run refuses what the real run would.
        /// </summary>
        public static IReadOnlyList<LbException> CheckAdds(LbConnection connection, SyncPlan plan)
        {
            var problems = new List<LbException>();
            foreach (var add in plan.Changes.Where(c => c.Action == LbChangeAction.Add && c.Spec != null))
            {
                try { PoolService.RequireAddable(connection, add.Spec!); }
                catch (LbException ex) { problems.Add(new LbException(ex.Kind, $"Member {add.Spec!.Endpoint} is missing and would be added: {ex.Message}") { ErrorId = ex.ErrorId }); }
            }
            return problems;
        }

        /// <summary>Compares what is with what is desired. Weight and State are only changed where the desired row gives them.</summary>
        public static SyncPlan Plan(LbConnection? connection, string pool, IReadOnlyList<LbPoolMember> current, IReadOnlyList<DesiredMember> desired, bool prune)
        {
            var changes = new List<LbChange>();
            var notes = new List<string>();
            var byKey = Group(current);
            var wanted = new HashSet<string>(desired.Select(d => d.Key), StringComparer.Ordinal);

            foreach (var d in desired)
            {
                if (!byKey.TryGetValue(d.Key, out var copies))
                {
                    changes.Add(new LbChange(LbChangeAction.Add, pool, d.Address, d.Port)
                    {
                        Name = d.Name,
                        StateAfter = d.State ?? LbMemberState.Enabled,   // a new member is Enabled unless the row says otherwise
                        WeightAfter = d.Weight,
                        Spec = new LbMemberSpec(d.Address, d.Port) { Name = d.Name, Weight = d.Weight, State = d.State, Options = d.Options },
                        Options = d.Options.IsEmpty ? null : d.Options,
                    });
                    continue;
                }
                // Of several copies, the one that serves stays: enabled and healthy first, then in the order read.
                var m = copies.OrderBy(Serving).First();
                bool stateDiffers = d.State.HasValue && d.State != m.State;
                bool weightDiffers = d.Weight.HasValue && d.Weight != m.Weight;
                var optionDiffs = d.Options.DifferencesFrom(m.Options);
                if (stateDiffers || weightDiffers || optionDiffs.Count > 0)
                {
                    changes.Add(new LbChange(LbChangeAction.Update, pool, m.Address, m.Port)
                    {
                        Name = m.Name,
                        StateBefore = m.State,
                        StateAfter = stateDiffers ? d.State : null,
                        WeightBefore = m.Weight,
                        WeightAfter = weightDiffers ? d.Weight : null,
                        Options = optionDiffs.Count > 0 ? d.Options : null,
                        OptionsBefore = optionDiffs.Count > 0 ? string.Join(", ", optionDiffs) : null,
                        Current = m,
                        MemberId = m.MemberId,
                    });
                }
                if (copies.Count > 1)
                {
                    // Duplicates are drift: each copy takes real traffic. The kept copy carries on serving, so the
                    // extra ones go without a drain; without -Prune they are reported and left alone.
                    foreach (var extra in copies.Where(c => !ReferenceEquals(c, m)))
                    {
                        var change = RemoveChange(pool, extra, drain: false, LbChangeAction.RemoveDuplicate);
                        if (!prune)
                        {
                            change.Status = LbChangeStatus.Skipped;
                            change.Error = $"{m.Endpoint} appears {copies.Count} times in pool '{pool}'; use -Prune to remove the extra copies.";
                        }
                        changes.Add(change);
                    }
                    if (!prune) notes.Add($"{m.Endpoint} appears {copies.Count} times in pool '{pool}'; use -Prune to remove the extra copies.");
                }
            }

            var extras = byKey.Where(kv => !wanted.Contains(kv.Key)).SelectMany(kv => kv.Value).ToList();
            if (prune)
            {
                changes.AddRange(extras.Select(m => RemoveChange(pool, m, drain: true)));
            }
            else if (extras.Count > 0)
            {
                notes.Add($"{extras.Count} member(s) of pool '{pool}' are not in the desired list and are kept; use -Prune to remove them.");
            }

            foreach (var c in changes)
            {
                c.Connection = connection;
                c.Provider = connection?.Provider ?? "";
                // A member the load balancer will not let the API change is reported, not attempted.
                if (c.Current?.ReadOnlyReason is string why && c.Status == LbChangeStatus.Planned)
                {
                    c.Status = LbChangeStatus.Skipped;
                    c.Error = $"{c.Current} is read-only: {why}.";
                }
            }
            return new SyncPlan(pool, changes, notes, current.Count);
        }

        /// <summary>
        /// Applies the planned changes (those still Planned; Skipped ones are left alone) and records each
        /// one's outcome on it. Per-change failures never throw; cancellation does.
        /// </summary>
        public async Task ApplyAsync(LbConnection connection, string pool, IReadOnlyList<LbChange> changes, SyncOptions options, ILbLog log, CancellationToken ct)
        {
            var first = changes.Where(c => c.Status == LbChangeStatus.Planned && !c.IsRemoval).ToList();
            var removals = changes.Where(c => c.Status == LbChangeStatus.Planned && c.IsRemoval).ToList();
            int total = first.Count + removals.Count;
            if (total == 0) return;

            int limit = Workers(connection, options);
            // An explicit -ThrottleLimit above the provider's default lets the endpoint's adaptive limit grow that far.
            if (options.ThrottleLimit > 0) Http.AdaptiveConcurrency.Find(connection.Endpoint)?.RaiseCeiling(options.ThrottleLimit);
            var progress = new BulkProgress(log, ApplyProgressId, $"Syncing pool '{pool}'", total, (done, all) =>
                string.Format(CultureInfo.InvariantCulture, "{0} of {1} change(s) done, {2} failed", done, all, changes.Count(c => c.Status == LbChangeStatus.Failed)));
            try
            {
                // Additions first, removals last: the pool never has fewer members serving than it needs in between.
                // Where the vendor has them, its own bulk features carry the work: one atomic transaction (F5),
                // or many members per call (ELBv2); otherwise bounded parallel single calls.
                if (ConnectionService.ProviderFor(connection) is ITransactionalProvider tx && first.Count > 1 && !options.RecheckBeforeAdd)
                {
                    await ApplyAtomicallyAsync(tx, first, progress, log, ct).ConfigureAwait(false);
                }
                else
                {
                    if (ConnectionService.ProviderFor(connection) is IBatchProvider batch && !options.RecheckBeforeAdd)
                    {
                        var adds = first.Where(c => c.Action == LbChangeAction.Add).ToList();
                        await AddInBatchesAsync(batch, pool, adds, progress, log, ct).ConfigureAwait(false);
                        first = first.Except(adds).ToList();
                    }
                    await BulkRunner.ForEachAsync(first, limit, (c, token) => ApplyOneAsync(connection, c, options, log, token), progress, ct).ConfigureAwait(false);
                }
                await RemoveAllAsync(connection, removals, options, limit, progress, log, ct).ConfigureAwait(false);
            }
            finally
            {
                progress.Complete();
            }
        }

        /// <summary>Changes in flight at most: -ThrottleLimit, else the provider's ceiling; the endpoint's adaptive limit holds the real number below it.</summary>
        public static int Workers(LbConnection connection, SyncOptions options) =>
            options.ThrottleLimit > 0 ? options.ThrottleLimit : ProviderRegistry.Concurrency(connection.Provider).Ceiling;

        /// <summary>
        /// Reads the pool again and compares it with the desired state. Differences for members whose
        /// change failed or was skipped are not repeated (their own error says it); an applied change
        /// that is not in effect is marked Failed.
        /// </summary>
        public async Task<IReadOnlyList<SyncMismatch>> VerifyAsync(LbConnection connection, string pool, IReadOnlyList<DesiredMember> desired, bool prune,
            IReadOnlyList<LbChange> changes, ILbLog log, CancellationToken ct)
        {
            var actual = await _pools.GetMembersAsync(connection, pool, log, ct).ConfigureAwait(false);
            var mismatches = Compare(pool, actual, desired, prune, changes);
            var byKey = changes.Where(c => c.Status == LbChangeStatus.Applied).ToLookup(c => DesiredMembers.Key(c.Address, c.Port), StringComparer.Ordinal);
            foreach (var mismatch in mismatches)
            {
                foreach (var c in byKey[DesiredMembers.Key(mismatch.Address, mismatch.Port)])
                {
                    c.Status = LbChangeStatus.Failed;
                    c.Error = mismatch.Message;
                    c.ErrorId = ErrorIds.SyncVerifyMismatch;
                }
            }
            return mismatches;
        }

        /// <summary>The differences between <paramref name="actual"/> and the desired state, skipping members whose change did not apply.</summary>
        public static IReadOnlyList<SyncMismatch> Compare(string pool, IReadOnlyList<LbPoolMember> actual, IReadOnlyList<DesiredMember> desired, bool prune, IReadOnlyList<LbChange> changes)
        {
            var excluded = new HashSet<string>(changes.Where(c => c.Status != LbChangeStatus.Applied).Select(c => DesiredMembers.Key(c.Address, c.Port)), StringComparer.Ordinal);
            var byKey = Group(actual);
            var result = new List<SyncMismatch>();
            foreach (var d in desired)
            {
                if (excluded.Contains(d.Key)) continue;
                var differences = new List<string>();
                if (!byKey.TryGetValue(d.Key, out var copies))
                {
                    differences.Add("is missing");
                }
                else
                {
                    var m = copies[0];
                    if (copies.Count > 1 && prune) differences.Add($"appears {copies.Count} times");
                    if (d.State.HasValue && m.State != d.State) differences.Add($"has state {m.State} where {d.State} was desired");
                    if (d.Weight.HasValue && m.Weight != d.Weight)
                    {
                        differences.Add(string.Format(CultureInfo.InvariantCulture, "has weight {0} where {1} was desired", m.Weight?.ToString(CultureInfo.InvariantCulture) ?? "(none)", d.Weight));
                    }
                    foreach (var o in d.Options.DifferencesFrom(m.Options)) differences.Add("differs in " + o);
                }
                if (differences.Count > 0) result.Add(new SyncMismatch(pool, d.Address, d.Port, differences));
            }
            if (prune)
            {
                var wanted = new HashSet<string>(desired.Select(d => d.Key), StringComparer.Ordinal);
                var removed = new HashSet<string>(changes.Where(c => c.IsRemoval && c.Status == LbChangeStatus.Applied)
                    .Select(c => DesiredMembers.Key(c.Address, c.Port)), StringComparer.Ordinal);
                foreach (var kv in byKey.Where(kv => !wanted.Contains(kv.Key) && !excluded.Contains(kv.Key)))
                {
                    var m = kv.Value[0];
                    // Removed, and draining on the load balancer's side until it drops the member by itself.
                    if (m.State == LbMemberState.Draining && removed.Contains(kv.Key)) continue;
                    result.Add(new SyncMismatch(pool, m.Address, m.Port, new[] { "is in the pool but not in the desired list" }));
                }
            }
            return result;
        }

        /// <summary>All adds and updates in one transaction: applied together or not at all, so a failure leaves the pool as it was and a re-run starts clean.</summary>
        private static async Task ApplyAtomicallyAsync(ITransactionalProvider tx, List<LbChange> changes, BulkProgress progress, ILbLog log, CancellationToken ct)
        {
            var batch = changes.Select(c => c.Action == LbChangeAction.Add
                ? LbBatchChange.AddMember(c.Pool, c.Spec!)
                : LbBatchChange.UpdateMember(c.Current!, new LbMemberUpdate { State = c.StateAfter, Weight = c.WeightAfter, Options = c.Options })).ToList();
            try
            {
                await tx.ApplyAtomicallyAsync(batch, log, ct).ConfigureAwait(false);
                foreach (var c in changes) c.Status = LbChangeStatus.Applied;
                log.Verbose($"Applied {changes.Count} change(s) in one transaction.");
            }
            catch (LbException ex)
            {
                foreach (var c in changes) c.Fail(ex);
            }
            foreach (var _ in changes) progress.Step();
        }

        /// <summary>Adds as many members per API call as the vendor takes; one refused member fails alone.</summary>
        private static async Task AddInBatchesAsync(IBatchProvider batch, string pool, List<LbChange> adds, BulkProgress progress, ILbLog log, CancellationToken ct)
        {
            int size = Math.Max(1, batch.MaxBatchSize);
            for (int i = 0; i < adds.Count; i += size)
            {
                var chunk = adds.Skip(i).Take(size).ToList();
                try
                {
                    var results = await batch.AddMembersAsync(pool, chunk.Select(c => c.Spec!).ToList(), log, ct).ConfigureAwait(false);
                    foreach (var c in chunk)
                    {
                        var r = results.FirstOrDefault(x => x.Port == c.Port && string.Equals(x.Address, c.Address, StringComparison.OrdinalIgnoreCase));
                        if (r == null || r.Succeeded) c.Status = LbChangeStatus.Applied;
                        else c.Fail(r.Error!);
                    }
                }
                catch (LbException ex)
                {
                    foreach (var c in chunk) c.Fail(ex);
                }
                foreach (var _ in chunk) progress.Step();
                log.Verbose($"Added {chunk.Count(c => c.Status == LbChangeStatus.Applied)} of {chunk.Count} member(s) in one call.");
            }
        }

        private async Task ApplyOneAsync(LbConnection connection, LbChange c, SyncOptions options, ILbLog log, CancellationToken ct)
        {
            try
            {
                if (c.Action == LbChangeAction.Add)
                {
                    // The plan's read decided the member is missing; only a conflict or a lost response reads again.
                    var (member, outcome) = options.RecheckBeforeAdd
                        ? await _pools.AddMemberAsync(connection, c.Pool, c.Spec!, log, ct).ConfigureAwait(false)
                        : await _pools.AddAbsentMemberAsync(connection, c.Pool, c.Spec!, options.ReadSnapshot, log, ct).ConfigureAwait(false);
                    c.Name = member.Name;
                    log.Verbose(outcome == ChangeOutcome.Changed ? $"Added {member}." : $"{member} was added meanwhile by someone else.");
                }
                else
                {
                    var update = new LbMemberUpdate { State = c.StateAfter, Weight = c.WeightAfter, Options = c.Options };
                    var (member, _) = await _pools.SetMemberAsync(connection, c.Current!, update, log, ct).ConfigureAwait(false);
                    log.Verbose($"Changed {member}: {c.Detail}.");
                }
                c.Status = LbChangeStatus.Applied;
            }
            catch (LbException ex)
            {
                c.Fail(ex);
            }
            catch (Exception ex) when (!(ex is OperationCanceledException))
            {
                // One change's unexpected failure must not abandon the others half-way.
                c.Fail(new LbException(LbErrorKind.Transient, $"{c} failed unexpectedly: {ex.Message}", inner: ex));
            }
        }

        /// <summary>
        /// Drains every member to remove through the one drain path (one shared poll of the pool, not one per
        /// member), then removes the drained ones by their identity.
        /// </summary>
        private async Task RemoveAllAsync(LbConnection connection, List<LbChange> removals, SyncOptions options, int limit, BulkProgress progress, ILbLog log, CancellationToken ct)
        {
            if (removals.Count == 0) return;
            var latest = removals.ToDictionary(c => c, c => (LbPoolMember?)c.Current);
            var toDrain = options.DrainTimeout > TimeSpan.Zero ? removals.Where(c => c.DrainFirst).ToList() : new List<LbChange>();
            if (toDrain.Count > 0)
            {
                var outcomes = await _pools.Drainer.DrainAsync(connection, toDrain.Select(c => c.Current!).ToList(), options.DrainTimeout, options.DrainPollInterval,
                    log, ct, DrainProgressId).ConfigureAwait(false);
                for (int i = 0; i < toDrain.Count; i++)
                {
                    var c = toDrain[i];
                    latest[c] = outcomes[i].Member;
                    if (outcomes[i].Error == null) continue;
                    c.Fail(outcomes[i].Error!);
                    progress.Step();
                }
            }

            var ready = removals.Where(c => c.Status == LbChangeStatus.Planned).ToList();
            await BulkRunner.ForEachAsync(ready, limit, async (c, token) =>
            {
                try
                {
                    var member = latest[c];
                    if (member == null)
                    {
                        log.Verbose(c.DrainFirst && connection.Supports(LbCapabilities.DrainOnRemove) && options.DrainTimeout > TimeSpan.Zero
                            ? $"Removed {c.Current}; the load balancer finished draining it."
                            : $"{c.Current} was removed meanwhile by someone else.");
                    }
                    else
                    {
                        var outcome = await _pools.RemoveMemberAsync(connection, member, false, TimeSpan.Zero, log, token).ConfigureAwait(false);
                        log.Verbose(outcome == ChangeOutcome.Changed ? $"Removed {member}." : $"{member} was removed meanwhile by someone else.");
                    }
                    c.Status = LbChangeStatus.Applied;
                }
                catch (LbException ex)
                {
                    c.Fail(ex);
                }
                catch (Exception ex) when (!(ex is OperationCanceledException))
                {
                    c.Fail(new LbException(LbErrorKind.Transient, $"{c} failed unexpectedly: {ex.Message}", inner: ex));
                }
            }, progress, ct).ConfigureAwait(false);
        }

        /// <summary>Lower serves better: enabled and healthy copies first.</summary>
        private static int Serving(LbPoolMember m) =>
            (m.State == LbMemberState.Enabled ? 0 : 2) + (m.Health == LbMemberHealth.Healthy ? 0 : m.Health == LbMemberHealth.Unhealthy ? 1 : 0);

        private static LbChange RemoveChange(string pool, LbPoolMember m, bool drain, LbChangeAction action = LbChangeAction.Remove) =>
            new LbChange(action, pool, m.Address, m.Port)
            {
                Name = m.Name,
                MemberId = m.MemberId,
                StateBefore = m.State,
                WeightBefore = m.Weight,
                Current = m,
                DrainFirst = drain,
            };

        /// <summary>Members by identity, in the order read; more than one per key means duplicates in the pool.</summary>
        private static Dictionary<string, List<LbPoolMember>> Group(IReadOnlyList<LbPoolMember> members)
        {
            var byKey = new Dictionary<string, List<LbPoolMember>>(StringComparer.Ordinal);
            foreach (var m in members)
            {
                string key = DesiredMembers.Key(m.Address, m.Port);
                if (!byKey.TryGetValue(key, out var list)) byKey[key] = list = new List<LbPoolMember>();
                list.Add(m);
            }
            return byKey;
        }
    }
}
