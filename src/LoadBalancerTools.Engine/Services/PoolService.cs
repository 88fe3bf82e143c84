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
    public sealed partial class PoolService
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

        /// <summary>
        /// Sends of one create or delete whose earlier sends are proven (by reading the pool) not to have landed.
        /// Five, not three: at a 5 % rate of 503s, three in a row hit about one member in eight thousand, so one
        /// sync of a thousand members in eight would fail a member; five in a row, one in three million.
        /// </summary>
        private const int WriteAttempts = 5;

        /// <summary>Wait between polls while a member drains.</summary>
        public TimeSpan DrainPollInterval { get; set; } = TimeSpan.FromSeconds(1);
        /// <summary>How long an add whose outcome is unknown is given to land before it is sent again.</summary>
        public TimeSpan AmbiguousSettle { get; set; } = TimeSpan.FromSeconds(2);

        public async Task<IReadOnlyList<LbPoolMember>> GetMembersAsync(LbConnection connection, string pool, ILbLog log, CancellationToken ct)
        {
            Util.MemberAddress.ValidatePoolName(pool);
            IReadOnlyList<LbPoolMember> members;
            try
            {
                members = await ConnectionService.ProviderFor(connection).GetMembersAsync(pool, log, ct).ConfigureAwait(false);
            }
            catch (LbException ex) when (ex.Kind == LbErrorKind.NotFound)
            {
                throw PoolNotFound(connection, pool, ex);
            }
            foreach (var m in members) m.Connection = connection;
            return members;
        }

        /// <summary>
        /// A missing pool in the module's own words, the same for every vendor (HAProxy says only "Can't find
        /// backend."): which pool, on which load balancer. The vendor's answer stays as the inner exception.
        /// Get-LbPool uses it too (with no vendor answer), so every cmdlet says it in one wording.
        /// </summary>
        internal static LbException PoolNotFound(LbConnection connection, string pool, LbException? vendor = null) =>
            new LbException(LbErrorKind.NotFound, $"Pool '{pool}' was not found on {connection.Provider} at {connection.Endpoint}. Get-LbPool lists the pools there.",
                vendor?.VendorCode, vendor?.StatusCode, vendor) { ErrorId = ErrorIds.PoolNotFound };

        public async Task<IReadOnlyList<LbPool>> GetPoolsAsync(LbConnection connection, ILbLog log, CancellationToken ct)
        {
            var pools = await ConnectionService.ProviderFor(connection).GetPoolsAsync(log, ct).ConfigureAwait(false);
            foreach (var p in pools) p.Connection = connection;
            return pools;
        }

        /// <summary>
        /// The member a selector names: by the vendor's identity when it has one (a piped member object),
        /// else by name and/or address and port. More than one match is refused with LbAmbiguousMember,
        /// listing the candidates by name, so a change never reaches a look-alike.
        /// </summary>
        public async Task<MemberMatch> ResolveAsync(LbConnection connection, string pool, LbMemberSelector selector, ILbLog log, CancellationToken ct)
        {
            Util.MemberAddress.RefuseControlCharacters(selector.Name, "member name", ErrorIds.InvalidName);
            var members = await GetMembersAsync(connection, pool, log, ct).ConfigureAwait(false);
            return Resolve(pool, members, selector);
        }

        /// <summary>As <see cref="ResolveAsync"/>, on a pool already read.</summary>
        public static MemberMatch Resolve(string pool, IReadOnlyList<LbPoolMember> members, LbMemberSelector selector)
        {
            List<LbPoolMember> matches = selector.MemberId is { Length: > 0 } id
                ? members.Where(m => m.HasId(id)).ToList()
                : members.Where(selector.Matches).ToList();
            if (matches.Count > 1)
            {
                // -Name helps only where the names differ: on NGINX Plus, say, a server's name is its address:port.
                bool namesTellApart = selector.Name == null
                    && matches.Select(m => m.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count() == matches.Count
                    && matches.All(m => !string.Equals(m.Name, m.Endpoint, StringComparison.OrdinalIgnoreCase));
                string advice = namesTellApart
                    ? "name the one you mean with -Name or -MemberId, or pipe it from Get-LbPoolMember"
                    : "their names cannot tell them apart: give the one you mean with -MemberId, or pipe it from Get-LbPoolMember (the object carries its MemberId)";
                throw new LbException(LbErrorKind.InvalidInput, string.Format(CultureInfo.InvariantCulture,
                    "{0} in pool '{1}' matches {2} members: {3}. Nothing was changed; {4}.",
                    selector, pool, matches.Count, string.Join(", ", matches.Select(m => $"{LbPoolMember.Label(m.Name, m.Address, m.Port)} with MemberId '{m.MemberId}'")), advice))
                { ErrorId = ErrorIds.AmbiguousMember };
            }
            var member = matches.Count == 1 ? matches[0] : null;
            int sameEndpoint = member == null ? 0 : members.Count(m => m.Matches(member.Address, member.Port));
            return new MemberMatch(member, sameEndpoint);
        }

        /// <summary>Adds a member unless it is there already. A create whose outcome is unknown is resolved by reading the pool again, never by sending it blind.</summary>
        public async Task<(LbPoolMember Member, ChangeOutcome Outcome)> AddMemberAsync(LbConnection connection, string pool, LbMemberSpec spec, ILbLog log, CancellationToken ct)
        {
            using (var handle = await MemberLock.AcquireAsync(connection, pool, spec.Address, spec.Port, ct).ConfigureAwait(false))
            {
                var members = await GetMembersAsync(connection, pool, log, ct).ConfigureAwait(false);
                var existing = Existing(connection, members, spec);
                if (existing != null)
                {
                    log.Verbose($"{existing} is already a member of {pool}; nothing to add.");
                    return (existing, ChangeOutcome.Unchanged);
                }
                WarnSharedEndpoint(members, spec, log);
                var result = await AddLockedAsync(connection, pool, spec, log, ct).ConfigureAwait(false);
                handle.MarkChanged();
                return result;
            }
        }

        /// <summary>
        /// Adds a member the caller has just seen missing (from its own read of the pool), without reading
        /// again first; AlreadyExists and unknown outcomes are still resolved by reading the pool.
        /// </summary>
        /// <param name="readSnapshot">
        /// <see cref="MemberLock.Snapshot"/> taken before the caller's read: when another writer in this process
        /// added or removed the member since, the pool is read again first. Null trusts the caller's read.
        /// </param>
        public async Task<(LbPoolMember Member, ChangeOutcome Outcome)> AddAbsentMemberAsync(LbConnection connection, string pool, LbMemberSpec spec, long? readSnapshot, ILbLog log, CancellationToken ct)
        {
            using (var handle = await MemberLock.AcquireAsync(connection, pool, spec.Address, spec.Port, ct).ConfigureAwait(false))
            {
                if (handle.ChangedSince(readSnapshot))
                {
                    var existing = Existing(connection, await GetMembersAsync(connection, pool, log, ct).ConfigureAwait(false), spec);
                    if (existing != null)
                    {
                        log.Verbose($"{existing} was added meanwhile; nothing to add.");
                        return (existing, ChangeOutcome.Unchanged);
                    }
                }
                var result = await AddLockedAsync(connection, pool, spec, log, ct).ConfigureAwait(false);
                handle.MarkChanged();
                return result;
            }
        }

        /// <summary>The member the spec asks for, if the pool holds it (duplicates allowed: any copy counts).</summary>
        public async Task<LbPoolMember?> FindExistingAsync(LbConnection connection, string pool, LbMemberSpec spec, ILbLog log, CancellationToken ct)
        {
            var members = await GetMembersAsync(connection, pool, log, ct).ConfigureAwait(false);
            var existing = Existing(connection, members, spec);
            if (existing == null) WarnSharedEndpoint(members, spec, log);
            return existing;
        }

        /// <summary>A named add at an address and port another member has makes a second server there: said, since both take traffic.</summary>
        private static void WarnSharedEndpoint(IReadOnlyList<LbPoolMember> members, LbMemberSpec spec, ILbLog log)
        {
            if (spec.Name == null || spec.UseTemplateSlot) return;
            var other = members.FirstOrDefault(m => m.Matches(spec.Address, spec.Port));
            if (other != null)
            {
                log.Warning($"{other} already serves {spec.Endpoint}; adding '{spec.Name}' makes a second server at that address and port, and both take traffic. Use Set-LbPoolMember on '{other.Name}' instead if that is the member you mean.");
            }
        }

        private async Task<(LbPoolMember Member, ChangeOutcome Outcome)> AddLockedAsync(LbConnection connection, string pool, LbMemberSpec spec, ILbLog log, CancellationToken ct)
        {
            Util.MemberAddress.ValidatePoolName(pool);
            RequireAddable(connection, spec);
            if (spec.UseTemplateSlot) RequireSlots(connection);
            const int attempts = WriteAttempts;
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    var added = await ConnectionService.ProviderFor(connection).AddMemberAsync(pool, spec, log, ct).ConfigureAwait(false);
                    added.Connection = connection;
                    return (added, ChangeOutcome.Changed);
                }
                catch (LbException ex) when (ex.Kind == LbErrorKind.AlreadyExists)
                {
                    // Someone else added it between our read and our write: the goal is met.
                    var now = await ReadForOutcomeAsync(connection, pool, spec, "add", ex, log, ct).ConfigureAwait(false);
                    if (now == null) throw;
                    log.Verbose($"{now} already exists in {pool}; nothing to add.");
                    return (now, ChangeOutcome.Unchanged);
                }
                catch (LbException ex) when (ex.MayHaveBeenApplied)
                {
                    log.Verbose($"The add of {spec.Endpoint} to {pool} may or may not have been applied ({ex.Message}); reading the pool before deciding.");
                    var now = await ReadForOutcomeAsync(connection, pool, spec, "add", ex, log, ct).ConfigureAwait(false);
                    if (now != null)
                    {
                        log.Verbose($"{now} is in {pool}: the add was applied.");
                        return (now, ChangeOutcome.Changed);
                    }
                    // A request cut off by our timeout (or by a gateway, 502/504) may still be working its way through
                    // the server: give it a moment and look once more, so a late landing is not doubled by a resend.
                    // An answer from the API itself (a 503, a 500) means it is done with the request: the read above is final.
                    if (MayLandLate(ex))
                    {
                        await _time.Delay(AmbiguousSettle, ct).ConfigureAwait(false);
                        now = await ReadForOutcomeAsync(connection, pool, spec, "add", ex, log, ct).ConfigureAwait(false);
                        if (now != null)
                        {
                            log.Verbose($"{now} is in {pool}: the add was applied late.");
                            return (now, ChangeOutcome.Changed);
                        }
                    }
                    if (attempt >= attempts)
                    {
                        throw new LbException(ex.Kind, $"The add of {spec.Endpoint} to {pool} was not applied after {attempts} attempts; the last failure: {ex.Message}",
                            ex.VendorCode, ex.StatusCode, ex) { ErrorId = ex.ErrorId };
                    }
                    log.Verbose($"{spec.Endpoint} is not in {pool}: sending the add again (attempt {attempt + 1} of {attempts}).");
                }
            }
        }

        /// <summary>Whether a failed write may still be in progress on the server: no answer came, or a gateway's (502, 504) rather than the API's own.</summary>
        private static bool MayLandLate(LbException ex) => !(ex.StatusCode is int status) || status == 502 || status == 504;

        /// <summary>The member the spec asks for, as the pool holds it now: by name where the vendor names members and a name was given, else by address and port.</summary>
        private static LbPoolMember? Existing(LbConnection connection, IReadOnlyList<LbPoolMember> members, LbMemberSpec spec)
        {
            // Where removal drains (ELBv2), a Draining member is on its way out: adding it again is a real add.
            if (connection.Supports(LbCapabilities.DrainOnRemove)) members = members.Where(m => m.State != LbMemberState.Draining).ToList();
            // A template slot is named by its slot, not by the member it will hold: it is found by address.
            if (spec.Name == null || spec.UseTemplateSlot || !connection.Supports(LbCapabilities.MemberNames)) return members.FirstOrDefault(m => m.Matches(spec.Address, spec.Port));
            var named = members.FirstOrDefault(m => string.Equals(m.Name, spec.Name, StringComparison.Ordinal));
            if (named != null && !named.Matches(spec.Address, spec.Port))
            {
                throw new LbException(LbErrorKind.AlreadyExists,
                    $"Pool '{named.Pool}' already has a member named '{spec.Name}', at {named.Endpoint}, not {spec.Endpoint}. Choose another -Name, or change that member with Set-LbPoolMember.")
                { ErrorId = ErrorIds.AlreadyExists };
            }
            return named;
        }

        /// <summary>Reads the pool to learn a write's outcome; when that read fails too, the outcome is unknown and the error says so, naming the member.</summary>
        private async Task<LbPoolMember?> ReadForOutcomeAsync(LbConnection connection, string pool, LbMemberSpec spec, string what, LbException cause, ILbLog log, CancellationToken ct)
        {
            try
            {
                return Existing(connection, await ReadStartedFromNowAsync(connection, pool, log, ct).ConfigureAwait(false), spec);
            }
            catch (LbException readFailure)
            {
                throw OutcomeUnknown($"the {what} of member {spec.Name ?? spec.Endpoint} ({spec.Endpoint}) to pool '{pool}'", cause, readFailure);
            }
        }

        private readonly object _readsLock = new object();
        private readonly Dictionary<string, PoolReads> _outcomeReads = new Dictionary<string, PoolReads>(StringComparer.Ordinal);

        /// <summary>A pool's read on the wire now, and the one queued to start when it ends.</summary>
        private sealed class PoolReads
        {
            public Task<IReadOnlyList<LbPoolMember>>? Running;
            public Task<IReadOnlyList<LbPoolMember>>? Queued;
        }

        /// <summary>
        /// A read of the pool that starts after this call, so it sees every write answered before it. Writes of one
        /// command that fail together (a burst of 503s in a sync of a thousand) share reads instead of each reading
        /// the whole pool: while one read is on the wire, every caller joins the one queued behind it, which starts
        /// when it ends. At most two reads of a pool are in flight, however many writes wait on them.
        /// </summary>
        private Task<IReadOnlyList<LbPoolMember>> ReadStartedFromNowAsync(LbConnection connection, string pool, ILbLog log, CancellationToken ct)
        {
            string key = connection.Endpoint.AbsoluteUri + "|" + pool;
            lock (_readsLock)
            {
                if (!_outcomeReads.TryGetValue(key, out var reads)) _outcomeReads[key] = reads = new PoolReads();
                if (reads.Running == null || reads.Running.IsCompleted) return reads.Running = GetMembersAsync(connection, pool, log, ct);
                if (reads.Queued != null) return reads.Queued;
                var queued = new TaskCompletionSource<IReadOnlyList<LbPoolMember>>(TaskCreationOptions.RunContinuationsAsynchronously);
                reads.Queued = queued.Task;
                _ = ReadAfterAsync(reads, reads.Running, queued, connection, pool, log, ct);
                return queued.Task;
            }
        }

        private async Task ReadAfterAsync(PoolReads reads, Task previous, TaskCompletionSource<IReadOnlyList<LbPoolMember>> queued,
            LbConnection connection, string pool, ILbLog log, CancellationToken ct)
        {
            try { await previous.ConfigureAwait(false); }
            catch (Exception) { /* the earlier read's callers hear of its failure; this one is a new attempt */ }
            lock (_readsLock)
            {
                reads.Running = queued.Task;
                reads.Queued = null;
            }
            try
            {
                queued.SetResult(await GetMembersAsync(connection, pool, log, ct).ConfigureAwait(false));
            }
            catch (OperationCanceledException)
            {
                queued.SetCanceled();
            }
            catch (Exception ex)
            {
                queued.SetException(ex);
            }
        }

        private static LbException OutcomeUnknown(string what, LbException cause, LbException readFailure) =>
            new LbException(LbErrorKind.Transient,
                $"The outcome of {what} is unknown: the request failed ({cause.Message}) and the pool could not be read to check ({readFailure.Message}). " +
                "Run the same command again when the API answers: it reads the pool first and never applies anything twice.",
                cause.VendorCode, cause.StatusCode, cause) { ErrorId = ErrorIds.OutcomeUnknown, Ambiguous = true };

        /// <summary>Changes state and weight; what is already as asked is not sent again.</summary>
        public async Task<(LbPoolMember Member, ChangeOutcome Outcome)> SetMemberAsync(LbConnection connection, LbPoolMember current, LbMemberUpdate update, ILbLog log, CancellationToken ct)
        {
            RequireCapabilities(connection, update);
            RequireWritable(current);
            var needed = new LbMemberUpdate { DrainTimeoutSec = update.DrainTimeoutSec };
            if (update.State.HasValue && update.State != current.State) needed.State = update.State;
            if (update.Weight.HasValue && update.Weight != current.Weight) needed.Weight = update.Weight;
            if (update.Options != null && update.Options.DifferencesFrom(current.Options).Count > 0) needed.Options = update.Options;
            if (!needed.State.HasValue && !needed.Weight.HasValue && needed.Options == null)
            {
                log.Verbose($"{current} already has {update}; nothing to change.");
                return (current, ChangeOutcome.Unchanged);
            }
            var updated = await ConnectionService.ProviderFor(connection).UpdateMemberAsync(current, needed, log, ct).ConfigureAwait(false);
            updated.Connection = connection;
            return (updated, ChangeOutcome.Changed);
        }

        /// <summary>
        /// Removes a member; one that is gone already is not an error. With drain, it first stops new
        /// traffic and waits until the member has no active connections, up to the timeout; on timeout the
        /// member is left draining (not removed) and the error says so.
        /// </summary>
        public async Task<ChangeOutcome> RemoveMemberAsync(LbConnection connection, string pool, LbMemberSelector selector, bool drain, TimeSpan drainTimeout, ILbLog log, CancellationToken ct)
        {
            var member = (await ResolveAsync(connection, pool, selector, log, ct).ConfigureAwait(false)).Member;
            if (member == null)
            {
                log.Verbose($"{selector} is not a member of {pool}; nothing to remove.");
                return ChangeOutcome.Unchanged;
            }
            return await RemoveMemberAsync(connection, member, drain, drainTimeout, log, ct).ConfigureAwait(false);
        }

        /// <summary>As above, by address and port (LbAmbiguousMember when several members share them).</summary>
        public Task<ChangeOutcome> RemoveMemberAsync(LbConnection connection, string pool, string address, int port, bool drain, TimeSpan drainTimeout, ILbLog log, CancellationToken ct) =>
            RemoveMemberAsync(connection, pool, new LbMemberSelector { Address = address, Port = port }, drain, drainTimeout, log, ct);

        /// <summary>As above, for a member the caller has just read: no read before acting. Acts on the member's identity only.</summary>
        public async Task<ChangeOutcome> RemoveMemberAsync(LbConnection connection, LbPoolMember member, bool drain, TimeSpan drainTimeout, ILbLog log, CancellationToken ct)
        {
            using (var handle = await MemberLock.AcquireAsync(connection, member.Pool, member.Address, member.Port, ct).ConfigureAwait(false))
            {
                var outcome = await RemoveLockedAsync(connection, member, drain, drainTimeout, log, ct).ConfigureAwait(false);
                if (outcome == ChangeOutcome.Changed) handle.MarkChanged();
                return outcome;
            }
        }

        private async Task<ChangeOutcome> RemoveLockedAsync(LbConnection connection, LbPoolMember member, bool drain, TimeSpan drainTimeout, ILbLog log, CancellationToken ct)
        {
            RequireWritable(member);
            if (drain)
            {
                var drained = await Drainer.DrainOneAsync(connection, member, drainTimeout, log, ct).ConfigureAwait(false);
                if (drained == null) return ChangeOutcome.Changed;
                member = drained;
            }
            const int attempts = WriteAttempts;
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    await ConnectionService.ProviderFor(connection).RemoveMemberAsync(member, log, ct).ConfigureAwait(false);
                    return ChangeOutcome.Changed;
                }
                catch (LbException ex) when (ex.Kind == LbErrorKind.NotFound && ex.ErrorId != ErrorIds.PoolNotFound)
                {
                    if (attempt > 1) return ChangeOutcome.Changed; // our earlier, unanswered delete took it
                    log.Verbose($"{member} disappeared before the remove; nothing to remove.");
                    return ChangeOutcome.Unchanged;
                }
                catch (LbException ex) when (ex.MayHaveBeenApplied)
                {
                    // A delete is checked, not repeated blind: gone means applied.
                    log.Verbose($"The remove of {member} may or may not have been applied ({ex.Message}); reading the pool before deciding.");
                    LbPoolMember? after;
                    try
                    {
                        var members = await ReadStartedFromNowAsync(connection, member.Pool, log, ct).ConfigureAwait(false);
                        after = members.FirstOrDefault(m => m.IsSameMember(member));
                    }
                    catch (LbException readFailure)
                    {
                        throw OutcomeUnknown($"the remove of member {member}", ex, readFailure);
                    }
                    if (after == null)
                    {
                        log.Verbose($"{member} is gone: the remove was applied.");
                        return ChangeOutcome.Changed;
                    }
                    if (attempt >= attempts)
                    {
                        throw new LbException(ex.Kind, $"{member} is still in the pool after {attempts} remove attempts; the last failure: {ex.Message}",
                            ex.VendorCode, ex.StatusCode, ex) { ErrorId = ex.ErrorId };
                    }
                    log.Verbose($"{member} is still in the pool: sending the remove again (attempt {attempt + 1} of {attempts}).");
                    member = after;
                }
            }
        }

        /// <summary>The one drain path: the state to drain to, the wait and its messages (see <see cref="DrainService"/>).</summary>
        public DrainService Drainer => _drainer ??= new DrainService(this, _time);
        private DrainService? _drainer;

        /// <summary>
        /// Makes the changes of one cmdlet invocation last where the vendor needs a separate step (NetScaler save,
        /// F5 config-sync); returns what was done, or null when nothing is needed.
        /// </summary>
        public async Task<string?> PersistAsync(LbConnection connection, ILbLog log, CancellationToken ct)
        {
            if (!(ConnectionService.ProviderFor(connection) is IPersistingProvider persisting) || persisting.PersistAction == null) return null;
            try
            {
                await persisting.PersistAsync(log, ct).ConfigureAwait(false);
                return persisting.PersistAction;
            }
            catch (LbException ex)
            {
                throw new LbException(ex.Kind,
                    $"The changes were applied to {connection} but could not be made permanent ({persisting.PersistAction}): {ex.Message} They are lost at the next reboot or overwritten by the next sync unless this step is run again.",
                    ex.VendorCode, ex.StatusCode, ex) { ErrorId = ErrorIds.PersistFailed };
            }
        }

        /// <summary>NotSupported unless the provider has member slots to fill (HAProxy server-template).</summary>
        public static void RequireSlots(LbConnection connection)
        {
            if (!(ConnectionService.ProviderFor(connection) is ITemplateSlotProvider))
            {
                throw new LbException(LbErrorKind.NotSupported,
                    $"-UseTemplateSlot is not supported by this provider ({connection.Provider}): it has no server-template slots.") { ErrorId = ErrorIds.NotSupported };
            }
        }

        /// <summary>Gives a member's server-template slot back instead of deleting the server (HAProxy).</summary>
        public async Task<ChangeOutcome> ReturnSlotAsync(LbConnection connection, LbPoolMember member, ILbLog log, CancellationToken ct)
        {
            RequireSlots(connection);
            RequireWritable(member);
            using (var handle = await MemberLock.AcquireAsync(connection, member.Pool, member.Address, member.Port, ct).ConfigureAwait(false))
            {
                await ((ITemplateSlotProvider)ConnectionService.ProviderFor(connection)).ReturnSlotAsync(member, log, ct).ConfigureAwait(false);
                handle.MarkChanged();
                return ChangeOutcome.Changed;
            }
        }

        /// <summary>NotSupported unless the provider keeps nodes apart from members (F5), before anything is sent.</summary>
        public static void RequireNodes(LbConnection connection)
        {
            if (!(ConnectionService.ProviderFor(connection) is INodeProvider))
            {
                throw new LbException(LbErrorKind.NotSupported,
                    $"-RemoveNode is not supported by this provider ({connection.Provider}): its members have no separate node object.") { ErrorId = ErrorIds.NotSupported };
            }
        }

        /// <summary>Deletes a removed member's node when nothing else uses it (F5); true when deleted or already gone.</summary>
        public Task<bool> RemoveNodeIfUnusedAsync(LbConnection connection, LbPoolMember member, ILbLog log, CancellationToken ct)
        {
            RequireNodes(connection);
            return ((INodeProvider)ConnectionService.ProviderFor(connection)).RemoveNodeIfUnusedAsync(member, log, ct);
        }

        /// <summary>NotSupported naming each option the provider lacks, and InvalidInput for values out of range, before anything is sent.</summary>
        public static void RequireOptions(LbConnection connection, LbMemberOptions? options)
        {
            if (options == null || options.IsEmpty) return;
            var supported = Providers.ProviderRegistry.SupportedOptions(connection.Provider);
            var missing = options.Given().Select(g => g.Name).Where(n => !supported.Contains(n)).ToList();
            if (missing.Count > 0)
            {
                throw new LbException(LbErrorKind.NotSupported,
                    $"{string.Join(", ", missing)} {(missing.Count == 1 ? "is" : "are")} not supported by this provider ({connection.Provider})." +
                    (supported.Count > 0 ? $" It takes: {string.Join(", ", supported)}." : " It takes no member options.")) { ErrorId = ErrorIds.NotSupported };
            }
            void NonNegative(string name, int? value)
            {
                if (value < 0) throw new LbException(LbErrorKind.InvalidInput, $"{name} {value} is not valid: use 0 or more.") { ErrorId = ErrorIds.InvalidInput };
            }
            NonNegative("MaxConnections", options.MaxConnections);
            NonNegative("MaxFails", options.MaxFails);
            NonNegative("FailTimeoutSec", options.FailTimeoutSec);
            NonNegative("SlowStartSec", options.SlowStartSec);
            NonNegative("PriorityGroup", options.PriorityGroup);
            NonNegative("ConnectionLimit", options.ConnectionLimit);
            if (options.CheckPort.HasValue) Util.MemberAddress.ValidatePort(options.CheckPort.Value);
            if (options.CheckAddress != null && !System.Net.IPAddress.TryParse(options.CheckAddress, out _))
            {
                throw new LbException(LbErrorKind.InvalidInput, $"CheckAddress '{options.CheckAddress}' is not an IP address (HAProxy checks an address, not a name).") { ErrorId = ErrorIds.InvalidAddress };
            }
            foreach (var (name, value) in options.Given())
            {
                if (value is string text) Util.MemberAddress.RefuseControlCharacters(text, name, ErrorIds.InvalidInput);
            }
            if (options.TlsCaFile != null && options.Tls != true)
            {
                throw new LbException(LbErrorKind.InvalidInput, "TlsCaFile verifies a TLS server: give -Tls with it.") { ErrorId = ErrorIds.InvalidInput };
            }
        }

        /// <summary>NotSupported for a member the load balancer lists but does not let the API change.</summary>
        public static void RequireWritable(LbPoolMember member)
        {
            if (member.ReadOnlyReason != null)
            {
                throw new LbException(LbErrorKind.NotSupported, $"{member} is read-only: {member.ReadOnlyReason}. Nothing was sent.") { ErrorId = ErrorIds.NotSupported };
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
                // Named in the words the user typed (-State Draining, -Weight), with what to do instead.
                var words = new List<string>();
                if ((missing & LbCapabilities.Disable) != 0) words.Add("Disabled");
                if ((missing & LbCapabilities.Drain) != 0) words.Add("Draining");
                if ((missing & LbCapabilities.ForcedOffline) != 0) words.Add("ForcedOffline");
                if ((missing & LbCapabilities.Weight) != 0) words.Add("Weight");
                throw new LbException(LbErrorKind.NotSupported,
                    $"{string.Join(" and ", words)} {(words.Count == 1 ? "is" : "are")} not supported by {connection.Provider}. {InsteadOf(connection, update.State)}Supported: {connection.Capabilities}.")
                { ErrorId = ErrorIds.NotSupported };
            }
            RequireWeight(connection, update.Weight);
            RequireOptions(connection, update.Options);
        }

        /// <summary>What takes a member out of rotation where the asked state cannot (empty when nothing can be said).</summary>
        private static string InsteadOf(LbConnection connection, LbMemberState? state)
        {
            if (state == null || state == LbMemberState.Enabled) return "";
            // ELBv2 drains what it deregisters: DrainService removes and waits while the target group's deregistration delay runs.
            if (connection.Supports(LbCapabilities.DrainOnRemove))
                return "Use Remove-LbPoolMember -Drain instead: it deregisters the member and waits while the load balancer drains it (the target group's deregistration delay). ";
            if (DrainService.DrainState(connection) is LbMemberState other && other != state)
                return $"Use -State {other} instead, or Remove-LbPoolMember -Drain, which sets {other} and waits for connections to finish before removing it. ";
            if (DrainService.DrainState(connection) == null)
                return "Its members have no state of their own: Remove-LbPoolMember takes one out of rotation. ";
            return "";
        }

        /// <summary>
        /// What an add asks that the provider cannot do (a name with control characters, a weight it lacks or out of
        /// range, options, a state it cannot create a member in), before anything is sent: the cmdlets check it
        /// before -WhatIf answers, so a dry run refuses what the real run would.
        /// </summary>
        public static void RequireAddable(LbConnection connection, LbMemberSpec spec)
        {
            Util.MemberAddress.RefuseControlCharacters(spec.Name, "member name", ErrorIds.InvalidName);
            if (spec.Weight.HasValue && !connection.Supports(LbCapabilities.Weight))
            {
                throw new LbException(LbErrorKind.NotSupported,
                    $"Weight is not supported by this provider ({connection.Provider}): add the member without -Weight.") { ErrorId = ErrorIds.NotSupported };
            }
            RequireWeight(connection, spec.Weight);
            RequireOptions(connection, spec.Options);
            if (spec.State is LbMemberState state && Providers.ProviderRegistry.AddableStates(connection.Provider) is { } addable && Array.IndexOf(addable.States, state) < 0)
            {
                throw new LbException(LbErrorKind.NotSupported,
                    $"{connection.Provider} cannot add a member in state {state}: {addable.Why}.") { ErrorId = ErrorIds.NotSupported };
            }
        }

        /// <summary>The vendor's documented weight range (see <see cref="Providers.ProviderRegistry.WeightRange"/>), checked before anything is sent.</summary>
        public static void RequireWeight(LbConnection connection, int? weight)
        {
            if (weight == null || !(Providers.ProviderRegistry.WeightRange(connection.Provider) is { } range)) return;
            if (weight < range.Min || weight > range.Max)
            {
                throw new LbException(LbErrorKind.InvalidInput, string.Format(CultureInfo.InvariantCulture,
                    "Weight {0} is not valid for {1}: it takes {2} to {3}{4}.", weight, connection.Provider, range.Min, range.Max, range.Note))
                { ErrorId = ErrorIds.InvalidWeight };
            }
        }
    }
}
