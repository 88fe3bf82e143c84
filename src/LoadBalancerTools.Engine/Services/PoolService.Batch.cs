using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;
using LoadBalancerTools.Providers;

namespace LoadBalancerTools.Services
{
    /// <summary>What became of one record of a batch: its member (when known), whether anything changed, or its own error.</summary>
    public sealed class BatchOutcome
    {
        internal BatchOutcome(object? tag) => Tag = tag;

        /// <summary>What the caller gave with the record (the cmdlet's error target), handed back unchanged.</summary>
        public object? Tag { get; }
        public LbPoolMember? Member { get; internal set; }
        public ChangeOutcome Outcome { get; internal set; } = ChangeOutcome.Unchanged;
        /// <summary>This record's failure alone; the other records of the batch do not share it unless the whole call failed.</summary>
        public LbException? Error { get; internal set; }
        /// <summary>Something worth telling about this record that is not an error.</summary>
        public string? Warning { get; internal set; }
        public string? Verbose { get; internal set; }

        internal void Fail(LbException ex)
        {
            Error = ex;
            Outcome = ChangeOutcome.Unchanged;
        }
    }

    /// <summary>
    /// Many adds or removes in few API calls, where the vendor has a multi-member call (ELBv2
    /// RegisterTargets/DeregisterTargets) or an all-or-nothing transaction (F5): one read of the pool for the
    /// whole batch, the changes it still needs in as few calls as the vendor allows, and an outcome per record.
    /// The write-safety rules of the single calls hold: a failure that may have been applied is settled by
    /// reading the pool again, never by sending the batch again.
    /// </summary>
    public sealed partial class PoolService
    {
        /// <summary>Members per batch where the vendor names no limit of its own (an F5 transaction).</summary>
        public const int DefaultBatchSize = 100;

        /// <summary>Whether adds and removes on this connection can go many to a call.</summary>
        public static bool Batches(LbConnection connection) =>
            ConnectionService.ProviderFor(connection) is IBatchProvider || ConnectionService.ProviderFor(connection) is ITransactionalProvider;

        /// <summary>Records per flush: the vendor's most targets per call, else <see cref="DefaultBatchSize"/>.</summary>
        public static int BatchSize(LbConnection connection) =>
            ConnectionService.ProviderFor(connection) is IBatchProvider batch ? Math.Max(1, batch.MaxBatchSize) : DefaultBatchSize;

        /// <summary>Adds the members that are not there yet, as few calls as the vendor allows; one outcome per spec, in order.</summary>
        public async Task<IReadOnlyList<BatchOutcome>> AddMembersAsync(LbConnection connection, string pool, IReadOnlyList<(LbMemberSpec Spec, object? Tag)> items,
            bool wantMembers, ILbLog log, CancellationToken ct)
        {
            var outcomes = items.Select(i => new BatchOutcome(i.Tag)).ToArray();
            using var locks = await LockAllAsync(connection, pool, items.Select(i => (i.Spec.Address, i.Spec.Port)), ct).ConfigureAwait(false);
            IReadOnlyList<LbPoolMember> members;
            try
            {
                Util.MemberAddress.ValidatePoolName(pool);
                members = await GetMembersAsync(connection, pool, log, ct).ConfigureAwait(false);
            }
            catch (LbException ex)
            {
                foreach (var o in outcomes) o.Fail(ex);
                return outcomes;
            }

            // What is there already stays as it is; a second record for the same member rides on the first.
            var pending = new List<int>();
            var firstOf = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < items.Count; i++)
            {
                var spec = items[i].Spec;
                try
                {
                    RequireAddable(connection, spec);
                    var existing = Existing(connection, members, spec);
                    if (existing != null)
                    {
                        outcomes[i].Member = existing;
                        outcomes[i].Verbose = $"{existing.Display} is already a member of pool '{pool}'; nothing to add.";
                        continue;
                    }
                    string key = DesiredMembers.Key(spec.Address, spec.Port);
                    if (firstOf.ContainsKey(key)) continue;
                    firstOf[key] = i;
                    pending.Add(i);
                }
                catch (LbException ex)
                {
                    outcomes[i].Fail(ex);
                }
            }

            if (pending.Count > 0)
            {
                var specs = pending.Select(i => items[i].Spec).ToList();
                var errors = await SendAddsAsync(connection, pool, specs, log, ct).ConfigureAwait(false);
                Settle(outcomes, pending, errors);
                locks.MarkChanged(specs.Where((_, k) => errors[k] == null).Select(s => (s.Address, s.Port)));
                log.Verbose($"Added {errors.Count(e => e == null)} of {specs.Count} member(s) to pool '{pool}' in one batch.");
            }

            // A record that repeated an earlier one shares its outcome; members are read once more only when the caller writes them.
            for (int i = 0; i < items.Count; i++)
            {
                if (outcomes[i].Error != null || outcomes[i].Member != null || pending.Contains(i)) continue;
                if (firstOf.TryGetValue(DesiredMembers.Key(items[i].Spec.Address, items[i].Spec.Port), out int first) && outcomes[first].Error is { } shared) outcomes[i].Fail(shared);
            }
            if (wantMembers && outcomes.Any(o => o.Error == null && o.Member == null))
            {
                await FillMembersAsync(connection, pool, outcomes, items.Select(i => i.Spec).ToList(), log, ct).ConfigureAwait(false);
            }
            return outcomes;
        }

        /// <summary>Removes the members the selectors name, as few calls as the vendor allows; one outcome per selector, in order.</summary>
        public async Task<IReadOnlyList<BatchOutcome>> RemoveMembersAsync(LbConnection connection, string pool, IReadOnlyList<(LbMemberSelector Selector, object? Tag)> items,
            ILbLog log, CancellationToken ct)
        {
            var outcomes = items.Select(i => new BatchOutcome(i.Tag)).ToArray();
            IReadOnlyList<LbPoolMember> members;
            try
            {
                foreach (var item in items) Util.MemberAddress.RefuseControlCharacters(item.Selector.Name, "member name", ErrorIds.InvalidName);
                members = await GetMembersAsync(connection, pool, log, ct).ConfigureAwait(false);
            }
            catch (LbException ex)
            {
                foreach (var o in outcomes) o.Fail(ex);
                return outcomes;
            }

            var pending = new List<int>();
            for (int i = 0; i < items.Count; i++)
            {
                try
                {
                    var found = Resolve(pool, members, items[i].Selector);
                    if (found.Member == null)
                    {
                        outcomes[i].Verbose = $"{items[i].Selector} of pool '{pool}' does not exist; nothing to remove.";
                        continue;
                    }
                    RequireWritable(found.Member);
                    outcomes[i].Member = found.Member;
                    if (found.SameEndpointCount > 1)
                    {
                        outcomes[i].Warning = $"{found.SameEndpointCount - 1} other member(s) at {found.Member.Endpoint} remain in pool '{pool}' and still take traffic.";
                    }
                    // The same member named twice is removed once; the second record finds it gone.
                    if (pending.Any(p => outcomes[p].Member!.IsSameMember(found.Member))) continue;
                    pending.Add(i);
                }
                catch (LbException ex)
                {
                    outcomes[i].Fail(ex);
                }
            }
            if (pending.Count == 0) return outcomes;

            var targets = pending.Select(i => outcomes[i].Member!).ToList();
            using var locks = await LockAllAsync(connection, pool, targets.Select(m => (m.Address, m.Port)), ct).ConfigureAwait(false);
            var errors = await SendRemovesAsync(connection, pool, targets, log, ct).ConfigureAwait(false);
            Settle(outcomes, pending, errors);
            locks.MarkChanged(targets.Where((_, k) => errors[k] == null).Select(m => (m.Address, m.Port)));
            log.Verbose($"Removed {errors.Count(e => e == null)} of {targets.Count} member(s) from pool '{pool}' in one batch.");
            return outcomes;
        }

        /// <summary>The records that were sent: changed where their error is null, else failed with it.</summary>
        private static void Settle(BatchOutcome[] outcomes, List<int> sent, LbException?[] errors)
        {
            for (int k = 0; k < sent.Count; k++)
            {
                if (errors[k] == null) outcomes[sent[k]].Outcome = ChangeOutcome.Changed;
                else outcomes[sent[k]].Fail(errors[k]!);
            }
        }

        /// <summary>Sends the adds; returns each spec's error, or null where it is now in the pool.</summary>
        private async Task<LbException?[]> SendAddsAsync(LbConnection connection, string pool, List<LbMemberSpec> specs, ILbLog log, CancellationToken ct)
        {
            var errors = new LbException?[specs.Count];
            try
            {
                if (ConnectionService.ProviderFor(connection) is IBatchProvider batch)
                {
                    var results = await batch.AddMembersAsync(pool, specs, log, ct).ConfigureAwait(false);
                    var unknown = new List<int>();
                    for (int k = 0; k < specs.Count; k++)
                    {
                        var r = results.FirstOrDefault(x => x.Port == specs[k].Port && string.Equals(x.Address, specs[k].Address, StringComparison.OrdinalIgnoreCase));
                        if (r == null) unknown.Add(k);
                        else if (!r.Succeeded) errors[k] = r.Error;
                    }
                    // A spec the provider said nothing about is settled by reading, as an ambiguous one would be.
                    if (unknown.Count > 0)
                    {
                        var missing = new LbException(LbErrorKind.Transient, $"The vendor's answer did not mention these members of pool '{pool}'.") { Ambiguous = true };
                        await SettleByReadingAsync(connection, pool, unknown.Select(k => specs[k]).ToList(), missing, log, ct, (i, e) => errors[unknown[i]] = e).ConfigureAwait(false);
                    }
                }
                else
                {
                    var tx = (ITransactionalProvider)ConnectionService.ProviderFor(connection);
                    await tx.ApplyAtomicallyAsync(specs.Select(s => LbBatchChange.AddMember(pool, s)).ToList(), log, ct).ConfigureAwait(false);
                }
            }
            catch (LbException ex) when (ex.MayHaveBeenApplied)
            {
                log.Verbose($"A batch of {specs.Count} add(s) to pool '{pool}' may or may not have been applied ({ex.Message}); reading the pool before deciding.");
                await SettleByReadingAsync(connection, pool, specs, ex, log, ct, (k, e) => errors[k] = e).ConfigureAwait(false);
            }
            catch (LbException ex) when (specs.Count > 1 && ConnectionService.ProviderFor(connection) is ITransactionalProvider)
            {
                // The transaction applied nothing and names the change the device refused in words only: adding one
                // by one finds which record it was, so that record alone carries the error.
                log.Verbose($"The transaction of {specs.Count} add(s) to pool '{pool}' was refused ({ex.Message}); nothing was applied. Adding them one by one to find which member it was.");
                for (int k = 0; k < specs.Count; k++)
                {
                    try { await AddLockedAsync(connection, pool, specs[k], log, ct).ConfigureAwait(false); }
                    catch (LbException one) { errors[k] = one; }
                }
            }
            catch (LbException ex)
            {
                for (int k = 0; k < specs.Count; k++) errors[k] = ex;
            }
            return errors;
        }

        /// <summary>Reads the pool after a batch whose outcome is unknown: present is applied; absent is reported, not sent again.</summary>
        private async Task SettleByReadingAsync(LbConnection connection, string pool, List<LbMemberSpec> specs, LbException cause, ILbLog log, CancellationToken ct,
            Action<int, LbException?> settle)
        {
            IReadOnlyList<LbPoolMember> now;
            try
            {
                now = await GetMembersAsync(connection, pool, log, ct).ConfigureAwait(false);
            }
            catch (LbException readFailure)
            {
                for (int k = 0; k < specs.Count; k++) settle(k, OutcomeUnknown($"the add of member {specs[k].Endpoint} to pool '{pool}'", cause, readFailure));
                return;
            }
            for (int k = 0; k < specs.Count; k++)
            {
                settle(k, Existing(connection, now, specs[k]) != null ? null
                    : new LbException(cause.Kind, $"{specs[k].Endpoint} is not in pool '{pool}' after a batch that failed ({cause.Message}); it was not sent again. Run the command again to add it.",
                        cause.VendorCode, cause.StatusCode, cause) { ErrorId = cause.ErrorId });
            }
        }

        /// <summary>Sends the removes; returns each member's error, or null where it is gone.</summary>
        private async Task<LbException?[]> SendRemovesAsync(LbConnection connection, string pool, List<LbPoolMember> targets, ILbLog log, CancellationToken ct)
        {
            var errors = new LbException?[targets.Count];
            try
            {
                if (ConnectionService.ProviderFor(connection) is IBatchProvider batch)
                {
                    var results = await batch.RemoveMembersAsync(pool, targets, log, ct).ConfigureAwait(false);
                    for (int k = 0; k < targets.Count; k++)
                    {
                        // The provider reports a target by its vendor id (ELBv2 instance id or IP) and port.
                        string id = targets[k].VendorId ?? targets[k].Address;
                        var r = results.FirstOrDefault(x => x.Port == targets[k].Port && string.Equals(x.Address, id, StringComparison.OrdinalIgnoreCase));
                        if (r != null && !r.Succeeded) errors[k] = r.Error;
                    }
                }
                else
                {
                    var tx = (ITransactionalProvider)ConnectionService.ProviderFor(connection);
                    await tx.ApplyAtomicallyAsync(targets.Select(LbBatchChange.RemoveMember).ToList(), log, ct).ConfigureAwait(false);
                }
            }
            catch (LbException ex) when (ex.MayHaveBeenApplied)
            {
                log.Verbose($"A batch of {targets.Count} removal(s) from pool '{pool}' may or may not have been applied ({ex.Message}); reading the pool before deciding.");
                try
                {
                    var now = await GetMembersAsync(connection, pool, log, ct).ConfigureAwait(false);
                    for (int k = 0; k < targets.Count; k++)
                    {
                        if (now.Any(m => m.IsSameMember(targets[k])))
                        {
                            errors[k] = new LbException(ex.Kind, $"{targets[k]} is still in the pool after a batch that failed ({ex.Message}); it was not sent again. Run the command again to remove it.",
                                ex.VendorCode, ex.StatusCode, ex) { ErrorId = ex.ErrorId };
                        }
                    }
                }
                catch (LbException readFailure)
                {
                    for (int k = 0; k < targets.Count; k++) errors[k] = OutcomeUnknown($"the remove of member {targets[k]}", ex, readFailure);
                }
            }
            catch (LbException ex) when (targets.Count > 1 && ConnectionService.ProviderFor(connection) is ITransactionalProvider)
            {
                log.Verbose($"The transaction of {targets.Count} removal(s) from pool '{pool}' was refused ({ex.Message}); nothing was applied. Removing them one by one to find which member it was.");
                for (int k = 0; k < targets.Count; k++)
                {
                    try { await RemoveLockedAsync(connection, targets[k], false, TimeSpan.Zero, log, ct).ConfigureAwait(false); }
                    catch (LbException one) { errors[k] = one; }
                }
            }
            catch (LbException ex)
            {
                for (int k = 0; k < targets.Count; k++) errors[k] = ex;
            }
            return errors;
        }

        /// <summary>Reads the pool once for the members just added, so -PassThru writes them as the load balancer has them.</summary>
        private async Task FillMembersAsync(LbConnection connection, string pool, BatchOutcome[] outcomes, List<LbMemberSpec> specs, ILbLog log, CancellationToken ct)
        {
            IReadOnlyList<LbPoolMember> now;
            try
            {
                now = await GetMembersAsync(connection, pool, log, ct).ConfigureAwait(false);
            }
            catch (LbException ex)
            {
                log.Warning($"The members were added to pool '{pool}', but the pool could not be read again to write them: {ex.Message}");
                return;
            }
            for (int i = 0; i < outcomes.Length; i++)
            {
                if (outcomes[i].Error == null && outcomes[i].Member == null) outcomes[i].Member = Existing(connection, now, specs[i]);
            }
        }

        /// <summary>Every member's lock, taken in one order (so two batches never wait on each other), released together.</summary>
        private static async Task<LockSet> LockAllAsync(LbConnection connection, string pool, IEnumerable<(string Address, int Port)> keys, CancellationToken ct)
        {
            var set = new LockSet();
            try
            {
                foreach (var (address, port) in keys.Distinct().OrderBy(k => DesiredMembers.Key(k.Address, k.Port), StringComparer.Ordinal))
                {
                    set.Add(DesiredMembers.Key(address, port), await MemberLock.AcquireAsync(connection, pool, address, port, ct).ConfigureAwait(false));
                }
                return set;
            }
            catch
            {
                set.Dispose();
                throw;
            }
        }

        private sealed class LockSet : IDisposable
        {
            private readonly Dictionary<string, MemberLock.Handle> _handles = new Dictionary<string, MemberLock.Handle>(StringComparer.Ordinal);

            public void Add(string key, MemberLock.Handle handle) => _handles[key] = handle;

            public void MarkChanged(IEnumerable<(string Address, int Port)> changed)
            {
                foreach (var (address, port) in changed)
                {
                    if (_handles.TryGetValue(DesiredMembers.Key(address, port), out var handle)) handle.MarkChanged();
                }
            }

            public void Dispose()
            {
                foreach (var handle in _handles.Values) handle.Dispose();
            }
        }
    }
}
