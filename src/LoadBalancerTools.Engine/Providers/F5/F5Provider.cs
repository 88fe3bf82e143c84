using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;
using LoadBalancerTools.Util;

namespace LoadBalancerTools.Providers.F5
{
    /// <summary>
    /// F5 BIG-IP LTM over iControl REST. Pools live in one partition (-Partition, default Common);
    /// members are named addr:port (IPv6 addr.port) and addressed by their full path.
    /// </summary>
    /// <remarks>
    /// Auth: one token per connection (see <see cref="F5TokenAuth"/>), extended to
    /// <see cref="TokenLifetimeSeconds"/> after each login and deleted at disconnect. When the device
    /// offers no token login (no login endpoint, or the tmos login provider refused), the connection
    /// falls back to basic authentication, which BIG-IP accepts for local users only.
    /// State: BIG-IP's "disabled" (session user-disabled) keeps existing and persistent connections
    /// and takes no new ones, which is a drain; there is no separate drain state to read back, so the
    /// provider declares Disable (which drains) and not Drain: a declared Drain would promise a
    /// Draining read-back the API cannot give. Remove-LbPoolMember -Drain disables, then waits for
    /// serverside.curConns to reach zero. A Draining update sent directly is written as Disabled.
    /// </remarks>
    public sealed class F5Provider : ILbProvider, ITransactionalProvider, INodeProvider, IPersistingProvider
    {
        /// <summary>
        /// Token lifetime set right after login. Long enough that most runs never re-login, short
        /// enough that a token leaked by a killed process stops counting against the 100-token cap
        /// within the hour. Expiry is handled anyway (log in again, replay once).
        /// </summary>
        public const int TokenLifetimeSeconds = 3600;
        internal const string CoordinationHeader = "X-F5-REST-Coordination-Id";

        private readonly LbConnectionSettings _settings;
        private readonly JsonApiClient _tokenApi;
        private readonly JsonApiClient _basicApi;
        private readonly F5TokenAuth _auth;
        private readonly string _partition;
        private readonly LbException? _partitionError;
        private volatile bool _basic;
        private string? _version;

        public F5Provider(LbConnectionSettings settings)
        {
            _settings = settings;
            try
            {
                _partition = F5Names.Partition(settings.Partition);
            }
            catch (LbException ex)
            {
                // Reported at connect, where errors reach the user as error records.
                _partition = F5Names.DefaultPartition;
                _partitionError = ex;
            }
            var http = ResilientHttp.For(settings.Endpoint, settings.Transport);
            var baseUri = ApiBase(settings.Endpoint);
            var plain = new JsonApiClient(baseUri, http, null, F5Errors.Map);
            _auth = new F5TokenAuth(settings, plain, TokenLifetimeSeconds);
            _tokenApi = new JsonApiClient(baseUri, http, null, F5Errors.Map);
            _tokenApi.UseSession(_auth.Session, _auth.Apply, F5TokenAuth.IsExpired);
            _basicApi = new JsonApiClient(baseUri, http, AddBasicAuth, F5Errors.Map);
        }

        public string ProviderName => "F5";
        /// <summary>The BIG-IP software version, e.g. 17.1.1.</summary>
        public string? ApiVersion => _version;
        public LbCapabilities Capabilities =>
            LbCapabilities.Disable | LbCapabilities.ForcedOffline | LbCapabilities.Weight | LbCapabilities.ActiveConnections | LbCapabilities.Transactions;

        /// <summary>The partition pools are read from and members are created in.</summary>
        public string Partition => _partition;
        /// <summary>True when token login was unavailable and basic authentication is in use.</summary>
        public bool UsesBasicAuth => _basic;
        /// <summary>Logins on this connection: 1 plus each renewal after an expiry.</summary>
        public int LoginCount => _auth.Session.LoginCount;

        /// <summary>Accepts https://bigip, https://bigip/mgmt or a proxy prefix ending in /mgmt.</summary>
        internal static Uri ApiBase(Uri endpoint)
        {
            string path = endpoint.AbsolutePath.TrimEnd('/');
            if (!path.EndsWith("/mgmt", StringComparison.OrdinalIgnoreCase)) path += "/mgmt";
            return new UriBuilder(endpoint) { Path = path + "/", Query = "" }.Uri;
        }

        private JsonApiClient Api => _basic ? _basicApi : _tokenApi;

        public async Task ConnectAsync(ILbLog log, CancellationToken cancellationToken)
        {
            if (_partitionError != null) throw _partitionError;
            try
            {
                await _auth.Session.GetTokenAsync(log, cancellationToken).ConfigureAwait(false);
            }
            catch (F5TokenLoginUnavailableException ex)
            {
                _basic = true;
                log.Verbose($"{ex.Message} Using basic authentication instead, which BIG-IP accepts for local users only.");
            }
            try
            {
                var version = await SendAsync(HttpMethod.Get, "tm/sys/version", null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
                _version = F5Stats.Version(version);
            }
            catch (LbException ex) when (OptionalReadFailed(ex))
            {
                // The version is detail: a role that may not read system objects, or a build or proxy that
                // answers 404, must not sink the connection.
                log.Verbose($"The BIG-IP version is unavailable ({ex.Message}); going on without it.");
            }
            catch (LbException) when (!_basic)
            {
                // Do not leave a token behind when the connection is not going to be used.
                try { await _auth.Session.CloseAsync(log, CancellationToken.None).ConfigureAwait(false); }
                catch (LbException) { /* it expires on its own */ }
                throw;
            }
            log.Verbose($"BIG-IP {_version ?? "(version unknown)"}, partition '{_partition}', " +
                        (_basic ? "basic authentication." : $"token authentication (token lifetime {TokenLifetimeSeconds} s)."));
        }

        public string? PersistAction => _settings.SyncGroup == null ? null : $"config-sync to device group '{_settings.SyncGroup}'";

        /// <summary>POST /mgmt/tm/cm run "config-sync to-group GROUP" (tmsh run cm config-sync), once per invocation.</summary>
        public async Task PersistAsync(ILbLog log, CancellationToken cancellationToken)
        {
            if (_settings.SyncGroup == null) return;
            string body = JsonSerializer.Serialize(new Dictionary<string, string> { ["command"] = "run", ["utilCmdArgs"] = "config-sync to-group " + _settings.SyncGroup });
            await SendAsync(HttpMethod.Post, "tm/cm", body, RequestKind.IdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            log.Verbose($"Synced the configuration to device group '{_settings.SyncGroup}'.");
        }

        /// <summary>
        /// Deletes the member's node unless another pool member still uses it: BIG-IP refuses that delete
        /// (01070110 "is referenced by a member of pool"), and the node is then kept.
        /// </summary>
        public async Task<bool> RemoveNodeIfUnusedAsync(LbPoolMember member, ILbLog log, CancellationToken cancellationToken)
        {
            string nodePath = F5Names.FullPath(F5Names.PartitionOf(member.VendorId ?? "") ?? _partition, NodeOf(member.Name));
            try
            {
                await SendAsync(HttpMethod.Delete, "tm/ltm/node/" + nodePath.Replace('/', '~'), null, RequestKind.NonIdempotentWrite, log, cancellationToken).ConfigureAwait(false);
                log.Verbose($"Deleted node {nodePath}: no other pool member used it.");
                return true;
            }
            catch (LbException ex) when (ex.Kind == LbErrorKind.NotFound)
            {
                return true;
            }
            catch (LbException ex) when (ex.StatusCode == 400)
            {
                log.Verbose($"Kept node {nodePath}: {ex.Message}");
                return false;
            }
        }

        /// <summary>
        /// Full paths of the nodes under these members that are disabled at node level (session user-disabled).
        /// Node state is detail: when it cannot be read, members read as their own state says.
        /// </summary>
        private async Task<HashSet<string>> DisabledNodesAsync(IReadOnlyList<JsonElement> items, ILbLog log, CancellationToken cancellationToken)
        {
            var disabled = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var partitions = items.Select(i => i.Str("partition") ?? _partition).Distinct(StringComparer.Ordinal).ToList();
            foreach (string partition in partitions)
            {
                try
                {
                    var nodes = await SendAsync(HttpMethod.Get, "tm/ltm/node?$filter=partition+eq+" + partition, null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
                    foreach (var node in Items(nodes, "nodes"))
                    {
                        if (string.Equals(node.Str("session"), "user-disabled", StringComparison.OrdinalIgnoreCase) && node.Str("fullPath") is string path) disabled.Add(path);
                    }
                }
                catch (LbException ex) when (OptionalReadFailed(ex))
                {
                    log.Verbose($"Node states in partition '{partition}' are unavailable ({ex.Message}); members read as their own state says.");
                }
            }
            return disabled;
        }

        /// <summary>An optional read's failure that leaves the rest usable: not found, not permitted, or an unreadable answer.</summary>
        private static bool OptionalReadFailed(LbException ex) =>
            ex.Kind == LbErrorKind.NotFound || ex.Kind == LbErrorKind.ReadOnly || ex.Kind == LbErrorKind.MalformedResponse
            || (ex.Kind == LbErrorKind.AuthenticationFailed && ex.StatusCode == 403);

        public async Task DisconnectAsync(ILbLog log, CancellationToken cancellationToken)
        {
            if (_basic) return;
            await _auth.Session.CloseAsync(log, cancellationToken).ConfigureAwait(false);
        }

        public async Task<IReadOnlyList<LbPool>> GetPoolsAsync(ILbLog log, CancellationToken cancellationToken)
        {
            const int page = 500;
            var pools = new List<LbPool>();
            for (int skip = 0; ;)
            {
                string query = string.Format(CultureInfo.InvariantCulture, "tm/ltm/pool?$filter=partition+eq+{0}&expandSubcollections=true&$top={1}&$skip={2}", _partition, page, skip);
                var json = await SendAsync(HttpMethod.Get, query, null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
                var items = Items(json, "pools");
                foreach (var item in items) pools.Add(ToPool(item));
                if (items.Count == 0 || json.Str("nextLink") == null) break;
                skip += items.Count;
            }
            return pools;
        }

        public async Task<IReadOnlyList<LbPoolMember>> GetMembersAsync(string pool, ILbLog log, CancellationToken cancellationToken)
        {
            string poolPath = PoolPath(pool);
            var list = await SendAsync(HttpMethod.Get, poolPath + "/members", null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
            var items = Items(list, "members of " + pool);
            if (items.Count == 0) return new List<LbPoolMember>();

            // One pool-level stats call for all members instead of one per member. Statistics are detail:
            // without them health reads Unknown and connection counts are missing, and Add, Set and Remove go on.
            IReadOnlyList<F5MemberStats> records;
            try
            {
                var stats = await SendAsync(HttpMethod.Get, poolPath + "/members/stats", null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
                records = F5Stats.Members(stats);
            }
            catch (LbException ex) when (OptionalReadFailed(ex))
            {
                log.Verbose($"Member statistics of pool '{pool}' are unavailable ({ex.Message}); health reads Unknown.");
                records = Array.Empty<F5MemberStats>();
            }
            var byNode = new Dictionary<string, F5MemberStats>(StringComparer.OrdinalIgnoreCase);
            var byAddress = new Dictionary<string, F5MemberStats>(StringComparer.OrdinalIgnoreCase);
            foreach (var r in records)
            {
                if (r.Port == null) continue;
                if (r.NodeName != null) byNode[r.NodeName + "|" + r.Port] = r;
                if (r.Address != null) byAddress[CanonicalAddress(r.Address) + "|" + r.Port] = r;
            }

            var disabledNodes = await DisabledNodesAsync(items, log, cancellationToken).ConfigureAwait(false);
            var members = new List<LbPoolMember>(items.Count);
            foreach (var item in items)
            {
                var member = ToMember(pool, item);
                string nodePath = F5Names.FullPath(F5Names.PartitionOf(member.VendorId ?? "") ?? _partition, NodeOf(member.Name));
                if (byNode.TryGetValue(nodePath + "|" + member.Port, out var record) || byAddress.TryGetValue(member.Address + "|" + member.Port, out record))
                {
                    ApplyStats(member, item, record);
                }
                if (member.State == LbMemberState.Enabled && disabledNodes.Contains(nodePath))
                {
                    // A node disabled at node level disables every member on it, whatever the member says.
                    member.State = LbMemberState.Disabled;
                    member.HealthReason = "node disabled" + (string.IsNullOrEmpty(member.HealthReason) ? "" : "; " + member.HealthReason);
                }
                members.Add(member);
            }
            return members;
        }

        public async Task<LbPoolMember> AddMemberAsync(string pool, LbMemberSpec spec, ILbLog log, CancellationToken cancellationToken)
        {
            string name = F5Names.MemberName(spec.Address, spec.Port);
            JsonElement created;
            try
            {
                created = await SendAsync(HttpMethod.Post, PoolPath(pool) + "/members", MemberBody(pool, name, spec), RequestKind.NonIdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            }
            catch (LbException ex) when (ex.Kind == LbErrorKind.AlreadyExists && !MentionsMember(ex))
            {
                // The member is new but BIG-IP would not create a node for the address: a node with that
                // address exists under another name. Members reference nodes by name, so use that one.
                var node = await FindNodeByAddressAsync(spec.Address, log, cancellationToken).ConfigureAwait(false);
                if (node == null) throw;
                string nodeName = node.Value.Str("fullPath") ?? F5Names.FullPath(node.Value.Str("partition") ?? _partition, node.Value.Str("name") ?? "");
                string reuse = (F5Names.PartitionOf(nodeName) == PoolPartition(pool) ? F5Names.Leaf(nodeName) : nodeName) + Separator(spec.Address) + spec.Port.ToString(CultureInfo.InvariantCulture);
                log.Verbose($"Node {nodeName} already has address {spec.Address}; adding the member as {reuse}.");
                created = await SendAsync(HttpMethod.Post, PoolPath(pool) + "/members", MemberBody(pool, reuse, spec), RequestKind.NonIdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            }
            RequireKind(created, JsonValueKind.Object, "the created member");
            return ToMember(pool, created);
        }

        public async Task RemoveMemberAsync(LbPoolMember member, ILbLog log, CancellationToken cancellationToken)
        {
            await SendAsync(HttpMethod.Delete, MemberPath(member), null, RequestKind.NonIdempotentWrite, log, cancellationToken).ConfigureAwait(false);
        }

        public async Task<LbPoolMember> UpdateMemberAsync(LbPoolMember member, LbMemberUpdate update, ILbLog log, CancellationToken cancellationToken)
        {
            var body = new Dictionary<string, object>();
            AddState(body, update.State);
            if (update.Weight.HasValue) body["ratio"] = Ratio(update.Weight.Value);
            AddOptions(body, update.Options);
            var updated = await SendAsync(new HttpMethod("PATCH"), MemberPath(member), JsonSerializer.Serialize(body), RequestKind.IdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            RequireKind(updated, JsonValueKind.Object, "the updated member");
            var result = ToMember(member.Pool, updated);
            result.Health = member.Health;
            result.HealthReason = member.HealthReason;
            result.ActiveConnections = member.ActiveConnections;
            return result;
        }

        /// <summary>
        /// One iControl transaction: every change is queued under the transaction's coordination id and
        /// the commit validates and applies them together; when any fails, none is applied.
        /// </summary>
        public async Task ApplyAtomicallyAsync(IReadOnlyList<LbBatchChange> changes, ILbLog log, CancellationToken cancellationToken)
        {
            if (changes == null || changes.Count == 0) return;
            foreach (var change in changes)
            {
                // Validate everything before a transaction exists, so bad input leaves nothing behind.
                if (change.Action == LbBatchAction.Add && change.Spec!.Weight.HasValue) Ratio(change.Spec.Weight.Value);
                if (change.Action == LbBatchAction.Update && change.Update!.Weight.HasValue) Ratio(change.Update.Weight.Value);
            }
            var started = await SendAsync(HttpMethod.Post, "tm/transaction", "{}", RequestKind.NonIdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            string? id = started.Prop("transId") is { } t ? (t.ValueKind == JsonValueKind.Number ? t.GetRawText() : t.ValueKind == JsonValueKind.String ? t.GetString() : null) : null;
            if (string.IsNullOrEmpty(id))
            {
                throw new LbException(LbErrorKind.MalformedResponse, "BIG-IP started a transaction without a transId; nothing was changed.");
            }
            log.Verbose($"BIG-IP transaction {id} started for {changes.Count} change(s).");
            Action<HttpRequestMessage> inTransaction = r => r.Headers.Add(CoordinationHeader, id);

            for (int i = 0; i < changes.Count; i++)
            {
                var change = changes[i];
                try
                {
                    switch (change.Action)
                    {
                        case LbBatchAction.Add:
                            string name = F5Names.MemberName(change.Spec!.Address, change.Spec.Port);
                            await SendAsync(HttpMethod.Post, PoolPath(change.Pool) + "/members", MemberBody(change.Pool, name, change.Spec), RequestKind.NonIdempotentWrite, log, cancellationToken, inTransaction).ConfigureAwait(false);
                            break;
                        case LbBatchAction.Remove:
                            await SendAsync(HttpMethod.Delete, MemberPath(change.Member!), null, RequestKind.IdempotentWrite, log, cancellationToken, inTransaction).ConfigureAwait(false);
                            break;
                        default:
                            var body = new Dictionary<string, object>();
                            AddState(body, change.Update!.State);
                            if (change.Update.Weight.HasValue) body["ratio"] = Ratio(change.Update.Weight.Value);
                            AddOptions(body, change.Update.Options);
                            await SendAsync(new HttpMethod("PATCH"), MemberPath(change.Member!), JsonSerializer.Serialize(body), RequestKind.IdempotentWrite, log, cancellationToken, inTransaction).ConfigureAwait(false);
                            break;
                    }
                }
                catch (LbException ex)
                {
                    await DiscardTransactionAsync(id!, log).ConfigureAwait(false);
                    throw new LbException(ex.Kind, $"Queuing change {i + 1} of {changes.Count} ({change}) failed: {ex.Message} The transaction was discarded; nothing was applied.", ex.VendorCode, ex.StatusCode)
                    {
                        ErrorId = ex.ErrorId,
                    };
                }
            }

            log.Verbose($"Committing BIG-IP transaction {id}.");
            JsonElement committed;
            try
            {
                committed = await SendAsync(new HttpMethod("PATCH"), "tm/transaction/" + id, "{\"state\":\"VALIDATING\"}", RequestKind.NonIdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            }
            catch (LbException ex) when (!ex.Ambiguous)
            {
                throw new LbException(ex.Kind, $"BIG-IP rejected transaction {id} of {changes.Count} change(s); none was applied. {ex.Message}", ex.VendorCode, ex.StatusCode)
                {
                    ErrorId = ex.ErrorId,
                };
            }
            await WaitForTransactionAsync(id!, committed, changes.Count, log, cancellationToken).ConfigureAwait(false);
            log.Verbose($"BIG-IP transaction {id} completed: {changes.Count} change(s) applied.");
        }

        /// <summary>A synchronous commit answers COMPLETED; an asynchronous one is polled until it ends.</summary>
        private async Task WaitForTransactionAsync(string id, JsonElement state, int count, ILbLog log, CancellationToken cancellationToken)
        {
            var time = _settings.Transport.TimeProvider;
            long start = time.GetTimestamp();
            var wait = _settings.Transport.BaseDelay;
            while (true)
            {
                string? s = state.Str("state");
                if (string.Equals(s, "COMPLETED", StringComparison.OrdinalIgnoreCase)) return;
                if (string.Equals(s, "FAILED", StringComparison.OrdinalIgnoreCase))
                {
                    throw new LbException(LbErrorKind.Rejected,
                        $"BIG-IP transaction {id} of {count} change(s) failed; none was applied: {state.Str("failureReason") ?? "no reason given"}.") { ErrorId = ErrorIds.Rejected };
                }
                if (time.GetElapsedTime(start) >= _settings.Transport.TotalTimeout)
                {
                    throw new LbException(LbErrorKind.Transient,
                        $"BIG-IP transaction {id} was still '{s}' after {_settings.Transport.TotalTimeout.TotalSeconds:0} s; read the pool to see whether it was applied.") { Ambiguous = true };
                }
                await time.Delay(wait, cancellationToken).ConfigureAwait(false);
                wait = TimeSpan.FromTicks(Math.Min(_settings.Transport.MaxDelay.Ticks, wait.Ticks * 2));
                state = await SendAsync(HttpMethod.Get, "tm/transaction/" + id, null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
            }
        }

        private async Task DiscardTransactionAsync(string id, ILbLog log)
        {
            try
            {
                await SendAsync(HttpMethod.Delete, "tm/transaction/" + id, null, RequestKind.IdempotentWrite, log, CancellationToken.None).ConfigureAwait(false);
            }
            catch (LbException ex)
            {
                log.Verbose($"Could not discard BIG-IP transaction {id} ({ex.Message}); uncommitted, it applies nothing and expires on its own.");
            }
        }

        public void Dispose() { }

        /// <summary>
        /// Sends with the connection's auth. Besides the 503s the transport retries, BIG-IP answers
        /// "there is an active asynchronous task executing" while it is busy; the request was not acted
        /// on, so it is sent again after a backoff, up to the connection's retry budget.
        /// </summary>
        private async Task<JsonElement> SendAsync(HttpMethod method, string path, string? body, RequestKind kind, ILbLog log, CancellationToken cancellationToken,
            Action<HttpRequestMessage>? customize = null)
        {
            var options = _settings.Transport;
            var delay = options.BaseDelay;
            for (int retry = 0; ; retry++)
            {
                var response = await Api.SendRawAsync(method, path, body, kind, log, cancellationToken, customize).ConfigureAwait(false);
                if (response.IsSuccess) return response.Json();
                // The transport retries 503s of reads and idempotent writes itself; a create or delete it hands
                // back, and BIG-IP's "active asynchronous task" refusal (503 or 400) says it was not applied.
                if ((response.Status != 503 || kind == RequestKind.NonIdempotentWrite) && retry < options.MaxRetries && F5Errors.IsBusy(response))
                {
                    log.Verbose(string.Format(CultureInfo.InvariantCulture, "BIG-IP is busy with an asynchronous task; retrying {0} in {1:0.###} s (retry {2} of {3}).",
                        response.Request, delay.TotalSeconds, retry + 1, options.MaxRetries));
                    await options.TimeProvider.Delay(delay, cancellationToken).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(options.MaxDelay.Ticks, delay.Ticks * 2));
                    continue;
                }
                throw F5Errors.Map(response);
            }
        }

        private void AddBasicAuth(HttpRequestMessage request)
        {
            var credential = _settings.Credential;
            if (credential == null) return;
            string pair = credential.UserName + ":" + credential.Password;
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(pair)));
        }

        private async Task<JsonElement?> FindNodeByAddressAsync(string address, ILbLog log, CancellationToken cancellationToken)
        {
            string wanted = CanonicalAddress(address);
            foreach (string partition in new[] { _partition, F5Names.DefaultPartition }.Distinct(StringComparer.Ordinal))
            {
                var nodes = await SendAsync(HttpMethod.Get, "tm/ltm/node?$filter=partition+eq+" + partition, null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
                foreach (var node in Items(nodes, "nodes"))
                {
                    if (node.Str("address") is string a && string.Equals(CanonicalAddress(a), wanted, StringComparison.OrdinalIgnoreCase)) return node;
                }
            }
            return null;
        }

        private static bool MentionsMember(LbException ex) => ex.Message.IndexOf("Pool Member", StringComparison.OrdinalIgnoreCase) >= 0;

        private string MemberBody(string pool, string name, LbMemberSpec spec)
        {
            var body = new Dictionary<string, object> { ["name"] = name, ["partition"] = PoolPartition(pool) };
            if (spec.Weight.HasValue) body["ratio"] = Ratio(spec.Weight.Value);
            AddState(body, spec.State);
            AddOptions(body, spec.Options);
            return JsonSerializer.Serialize(body);
        }

        /// <summary>The ltm pool member properties for the options (iControl REST: priorityGroup, connectionLimit, monitor).</summary>
        private static void AddOptions(Dictionary<string, object> body, LbMemberOptions? o)
        {
            if (o == null) return;
            if (o.PriorityGroup.HasValue) body["priorityGroup"] = o.PriorityGroup.Value;
            if (o.ConnectionLimit.HasValue) body["connectionLimit"] = o.ConnectionLimit.Value;
            if (o.Monitor != null) body["monitor"] = o.Monitor;
        }

        /// <summary>State and session are written together, as BIG-IP documents them.</summary>
        private static void AddState(Dictionary<string, object> body, LbMemberState? state)
        {
            switch (state)
            {
                case LbMemberState.Enabled:
                    body["state"] = "user-up";
                    body["session"] = "user-enabled";
                    break;
                case LbMemberState.Disabled:
                case LbMemberState.Draining: // BIG-IP's disable lets existing connections finish: a drain.
                    body["state"] = "user-up";
                    body["session"] = "user-disabled";
                    break;
                case LbMemberState.ForcedOffline:
                    body["state"] = "user-down";
                    body["session"] = "user-disabled";
                    break;
            }
        }

        private static int Ratio(int weight)
        {
            if (weight < 1)
            {
                throw new LbException(LbErrorKind.InvalidInput,
                    $"Weight {weight} is not valid on BIG-IP: the ratio starts at 1.") { ErrorId = ErrorIds.InvalidWeight };
            }
            return weight;
        }

        /// <summary>Reads back what the two fields mean together; monitor states (up, down, checking...) leave a member Enabled.</summary>
        internal static LbMemberState ReadState(string? state, string? session)
        {
            if (string.Equals(session, "user-disabled", StringComparison.OrdinalIgnoreCase))
            {
                return string.Equals(state, "user-down", StringComparison.OrdinalIgnoreCase) ? LbMemberState.ForcedOffline : LbMemberState.Disabled;
            }
            return LbMemberState.Enabled;
        }

        internal static LbMemberHealth ReadHealth(string? availability, string? monitorStatus)
        {
            switch (availability?.ToLowerInvariant())
            {
                case "available": return LbMemberHealth.Healthy;
                case "offline":
                case "unavailable": return LbMemberHealth.Unhealthy;
            }
            return string.Equals(monitorStatus, "checking", StringComparison.OrdinalIgnoreCase) ? LbMemberHealth.Checking : LbMemberHealth.Unknown;
        }

        private LbPool ToPool(JsonElement item)
        {
            var members = item.Prop("membersReference")?.Prop("items");
            var list = members is { ValueKind: JsonValueKind.Array } m ? m.EnumerateArray().ToList() : new List<JsonElement>();
            string name = item.Str("name") ?? "";
            string? partition = item.Str("partition");
            var details = new List<string> { "partition " + (partition ?? _partition) };
            if (item.Str("loadBalancingMode") is string mode) details.Add(mode);
            if (item.Str("monitor") is string monitor && monitor.Trim().Length > 0) details.Add("monitor " + monitor.Trim());
            return new LbPool
            {
                Provider = ProviderName,
                // Pools in folders (AS3 tenants, iApps: /Tenant/Application/pool) and in other partitions are named by
                // their full path, which round-trips into ~Tenant~Application~pool URLs.
                Pool = PoolName(item, name, partition),
                MemberCount = list.Count,
                HealthyCount = list.Count(x => x.Str("state") == "up" && ReadState(x.Str("state"), x.Str("session")) == LbMemberState.Enabled),
                Description = string.Join(", ", details),
                Raw = JsonRaw.ToObject(item),
            };
        }

        private string PoolName(JsonElement item, string name, string? partition)
        {
            string? subPath = item.Str("subPath");
            string fullPath = item.Str("fullPath") ?? F5Names.FullPath(partition ?? _partition, subPath == null ? name : subPath + "/" + name);
            // Directly in the connection's partition: the bare name (it resolves against -Partition).
            return subPath == null && string.Equals(partition ?? _partition, _partition, StringComparison.Ordinal) ? name : fullPath;
        }

        private LbPoolMember ToMember(string pool, JsonElement item)
        {
            string name = item.Str("name") ?? "";
            string partition = item.Str("partition") ?? PoolPartition(pool);
            string fullPath = item.Str("fullPath") ?? F5Names.FullPath(partition, name);
            if (!F5Names.TrySplitMemberName(name, out string node, out int port))
            {
                throw new LbException(LbErrorKind.MalformedResponse, $"BIG-IP returned member '{name}' in {pool}, which is not of the form address:port.");
            }
            string address = CanonicalAddress(item.Str("address") is string a && a.Length > 0 && a != "any6" ? a : node);
            return new LbPoolMember
            {
                Provider = ProviderName,
                Pool = pool,
                Address = address,
                Port = port,
                Name = name,
                State = ReadState(item.Str("state"), item.Str("session")),
                Health = LbMemberHealth.Unknown,
                Weight = (int?)item.Long("ratio"),
                VendorId = fullPath,
                MemberId = fullPath,
                Options = new LbMemberOptions
                {
                    PriorityGroup = (int?)item.Long("priorityGroup"),
                    ConnectionLimit = (int?)item.Long("connectionLimit"),
                    Monitor = item.Str("monitor")?.Trim(),
                },
                // Auto-created from an FQDN node's DNS answer: BIG-IP manages it and refuses changes (the F5-LTM
                // PowerShell module filters such members; f5-ansible documents fqdn_auto_populate).
                ReadOnlyReason = string.Equals(item.Str("ephemeral"), "true", StringComparison.OrdinalIgnoreCase)
                    ? "BIG-IP created it from an FQDN node's DNS answer (an ephemeral member); change the FQDN node instead"
                    : null,
                Raw = JsonRaw.ToObject(item),
            };
        }

        private static void ApplyStats(LbPoolMember member, JsonElement item, F5MemberStats stats)
        {
            member.Health = ReadHealth(stats.Availability, stats.MonitorStatus);
            string? reason = stats.MonitorStatus;
            if (!string.IsNullOrEmpty(stats.StatusReason)) reason = reason == null ? stats.StatusReason : $"{reason} ({stats.StatusReason})";
            member.HealthReason = reason;
            member.ActiveConnections = stats.CurrentConnections;
            member.Raw = new Dictionary<string, object?> { ["member"] = JsonRaw.ToObject(item), ["stats"] = JsonRaw.ToObject(stats.Entries) };
        }

        /// <summary>Addresses compare in canonical form; a route domain suffix (%2) is kept.</summary>
        private static string CanonicalAddress(string address)
        {
            string a = address.Trim();
            string suffix = "";
            int percent = a.IndexOf('%');
            if (percent >= 0)
            {
                suffix = a.Substring(percent);
                a = a.Substring(0, percent);
            }
            if (IPAddress.TryParse(a, out var ip)) a = ip.ToString();
            return (a + suffix).ToLowerInvariant();
        }

        private static string NodeOf(string memberName) => F5Names.TrySplitMemberName(memberName, out string node, out _) ? node : memberName;

        private static string Separator(string address) => address.IndexOf(':') >= 0 ? "." : ":";

        private string PoolFullPath(string pool) => F5Names.FullPath(_partition, pool);

        private string PoolPartition(string pool) => F5Names.PartitionOf(PoolFullPath(pool)) ?? _partition;

        private string PoolPath(string pool)
        {
            if (string.IsNullOrWhiteSpace(pool))
            {
                throw new LbException(LbErrorKind.InvalidInput, "A pool name is required.") { ErrorId = ErrorIds.PoolNotFound };
            }
            return "tm/ltm/pool/" + F5Names.UriSegment(PoolFullPath(pool.Trim()));
        }

        private string MemberPath(LbPoolMember member)
        {
            string fullPath = !string.IsNullOrEmpty(member.VendorId)
                ? member.VendorId!
                : F5Names.FullPath(PoolPartition(member.Pool), F5Names.MemberName(member.Address, member.Port));
            return PoolPath(member.Pool) + "/members/" + F5Names.UriSegment(fullPath);
        }

        private static List<JsonElement> Items(JsonElement json, string what)
        {
            RequireKind(json, JsonValueKind.Object, what);
            // An empty collection comes back without "items" at all.
            return json.Prop("items") is { ValueKind: JsonValueKind.Array } items ? items.EnumerateArray().ToList() : new List<JsonElement>();
        }

        private static void RequireKind(JsonElement element, JsonValueKind kind, string what)
        {
            if (element.ValueKind != kind)
            {
                throw new LbException(LbErrorKind.MalformedResponse, $"BIG-IP returned {element.ValueKind} for {what} where {kind} was expected; the response is not what iControl REST documents.");
            }
        }
    }
}
