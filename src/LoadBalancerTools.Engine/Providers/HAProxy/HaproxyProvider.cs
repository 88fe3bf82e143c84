using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Providers.HAProxy
{
    /// <summary>
    /// HAProxy 2.6+ over its Runtime API: pools are backends, members are servers. Changes made here live
    /// in the running process only and vanish when HAProxy reloads, unless also written to its config.
    /// </summary>
    public sealed class HaproxyProvider : ILbProvider, ITemplateSlotProvider
    {
        // srv_admin_state bits (HAProxy's SRV_ADMF_*), include/haproxy/server-t.h: 0x01 forced, 0x02 inherited, 0x04 from DNS resolution, 0x20 from the
        // configuration. 0x40 (SRV_ADMF_FQDN_CHANGED) is set and never cleared once a server's FQDN changed:
        // it says nothing about traffic, so it is not maintenance.
        private const int MaintBits = 0x01 | 0x02 | 0x04 | 0x20;
        private const int DrainBits = 0x08 | 0x10;

        private readonly HaproxyRuntimeClient _api;
        private readonly TimeProvider _time;
        private string? _version;

        public HaproxyProvider(LbConnectionSettings settings)
        {
            _api = new HaproxyRuntimeClient(settings.Endpoint, settings.Transport);
            _time = settings.Transport.TimeProvider;
        }

        public string ProviderName => "HAProxy";
        public string? ApiVersion => _version;
        public LbCapabilities Capabilities =>
            LbCapabilities.Disable | LbCapabilities.Drain | LbCapabilities.ForcedOffline | LbCapabilities.Weight
            | LbCapabilities.ActiveConnections | LbCapabilities.MemberNames;

        public async Task ConnectAsync(ILbLog log, CancellationToken cancellationToken)
        {
            string info = await _api.SendAsync("show info", RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
            string? version = HaproxyTables.InfoValue(info, "Version");
            if (version == null)
            {
                throw new LbException(LbErrorKind.MalformedResponse, "The Runtime API did not answer 'show info' with a version; is this an HAProxy stats socket?");
            }
            _version = version.Split('-')[0];
            log.Verbose($"HAProxy {version} on the Runtime API.");
        }

        public Task DisconnectAsync(ILbLog log, CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task<IReadOnlyList<LbPool>> GetPoolsAsync(ILbLog log, CancellationToken cancellationToken)
        {
            var stat = HaproxyTables.Stat(await _api.SendAsync("show stat", RequestKind.Read, log, cancellationToken).ConfigureAwait(false));
            var servers = stat.Where(r => r.Get("type") == "2").ToLookup(r => r.Get("pxname"));
            return stat
                .Where(r => r.Get("svname") == "BACKEND")
                .Select(r => new LbPool
                {
                    Provider = ProviderName,
                    Pool = r.Get("pxname"),
                    MemberCount = servers[r.Get("pxname")].Count(),
                    HealthyCount = servers[r.Get("pxname")].Count(s => Health(s.Get("status"), s.Get("check_status")) == LbMemberHealth.Healthy),
                    Description = r.Get("algo").Length > 0 ? "balance " + r.Get("algo") : null,
                    Raw = r,
                })
                .ToList();
        }

        public async Task<IReadOnlyList<LbPoolMember>> GetMembersAsync(string pool, ILbLog log, CancellationToken cancellationToken)
        {
            RequireName(pool, "pool");
            string stateText = await _api.SendAsync("show servers state " + pool, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
            if (stateText.IndexOf("Can't find backend", StringComparison.Ordinal) >= 0) throw HaproxyErrors.Map("show servers state " + pool, stateText);
            var states = HaproxyTables.ServersState(stateText);
            var stats = HaproxyTables.Stat(await _api.SendAsync("show stat", RequestKind.Read, log, cancellationToken).ConfigureAwait(false))
                .Where(r => r.Get("pxname") == pool && r.Get("type") == "2")
                .ToDictionary(r => r.Get("svname"), StringComparer.Ordinal);

            var members = new List<LbPoolMember>();
            foreach (var s in states.Where(s => s.Get("be_name") == pool))
            {
                string name = s.Get("srv_name");
                stats.TryGetValue(name, out var stat);
                int admin = int.TryParse(s.Get("srv_admin_state"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int a) ? a : 0;
                string address = s.Get("srv_addr");
                if (address == "-" || address.Length == 0) address = s.Get("srv_fqdn");
                string status = stat?.Get("status") ?? "";
                members.Add(new LbPoolMember
                {
                    Provider = ProviderName,
                    Pool = pool,
                    Address = address.ToLowerInvariant(),
                    Port = int.TryParse(s.Get("srv_port"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int port) ? port : 0,
                    Name = name,
                    State = AdminState(admin),
                    Health = Health(status, stat?.Get("check_status") ?? ""),
                    HealthReason = string.Join(" ", new[] { status, stat?.Get("check_status") ?? "" }.Where(x => x.Length > 0)),
                    Weight = int.TryParse(s.Get("srv_uweight"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int w) ? w : (int?)null,
                    ActiveConnections = long.TryParse(stat?.Get("scur"), NumberStyles.Integer, CultureInfo.InvariantCulture, out long cur) ? cur : (long?)null,
                    VendorId = name,
                    MemberId = name,
                    Options = new LbMemberOptions
                    {
                        Tls = s.Get("srv_use_ssl") == "1",
                        CheckAddress = s.Get("srv_check_addr") is string ca && ca.Length > 0 && ca != "-" ? ca : null,
                        CheckPort = int.TryParse(s.Get("srv_check_port"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int cp) && cp > 0 ? cp : (int?)null,
                    },
                    Raw = new Dictionary<string, object?> { ["state"] = s, ["stat"] = stat },
                });
            }
            // Slots of a server-template in maintenance are shown as such, with their template's prefix.
            foreach (var group in TemplateGroups(members))
            {
                foreach (var slot in group.Where(m => m.State == LbMemberState.Disabled))
                {
                    slot.HealthReason = $"server-template slot of '{group.Key}' in maintenance" + (string.IsNullOrEmpty(slot.HealthReason) ? "" : "; " + slot.HealthReason);
                }
            }
            return members;
        }

        public async Task<LbPoolMember> AddMemberAsync(string pool, LbMemberSpec spec, ILbLog log, CancellationToken cancellationToken)
        {
            RequireName(pool, "pool");
            string name = spec.Name ?? DeriveName(spec);
            RequireName(name, "-Name");
            if (!System.Net.IPAddress.TryParse(spec.Address.Split('%')[0], out _))
            {
                // Dynamic servers are created with a static address: "add server" does not resolve host names
                // (management guide, "add server"), so the server would never take traffic.
                throw new LbException(LbErrorKind.InvalidInput,
                    $"'{spec.Address}' is a host name; HAProxy's runtime 'add server' takes an IP address only (dynamic servers do not resolve names). Give the IP address.")
                { ErrorId = ErrorIds.InvalidAddress };
            }
            string target = pool + "/" + name;
            string add = $"add server {target} {spec.Endpoint} check"
                + (spec.Weight.HasValue ? " weight " + spec.Weight.Value.ToString(CultureInfo.InvariantCulture) : "")
                + AddKeywords(spec.Options);
            if (spec.UseTemplateSlot) return await FillSlotAsync(pool, spec, log, cancellationToken).ConfigureAwait(false);
            string answer = await _api.SendAsync(add, RequestKind.NonIdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            if (answer.IndexOf("New server registered", StringComparison.Ordinal) < 0)
            {
                var refused = HaproxyErrors.Map(add, answer);
                // A static algorithm takes no runtime servers, but a free server-template slot can still be filled.
                if (refused.ErrorId == ErrorIds.Rejected && IsStaticRefusal(answer)
                    && FreeSlots(await GetMembersAsync(pool, log, cancellationToken).ConfigureAwait(false)).Count > 0)
                {
                    log.Verbose($"Backend '{pool}' takes no runtime servers ({HaproxyErrors.FirstLine(answer)}); filling a free server-template slot instead.");
                    return await FillSlotAsync(pool, spec, log, cancellationToken).ConfigureAwait(false);
                }
                throw refused;
            }

            // A new dynamic server starts in maintenance with checks off. If bringing it up fails, it is
            // deleted again, so the pool never keeps a half-added server.
            try
            {
                await RunAsync($"enable health {target}", log, cancellationToken).ConfigureAwait(false);
                if (InitialState(spec.State) is string state)
                {
                    await RunAsync($"set server {target} state {state}", log, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is LbException || ex is OperationCanceledException)
            {
                // Also when stopped: the clean-up runs on its own short clock, not the cancelled token,
                // so a stopped add never leaves a server in maintenance that a re-run calls "already there".
                await TryDeleteAsync(target, log).ConfigureAwait(false);
                throw;
            }
            var added = (await GetMembersAsync(pool, log, cancellationToken).ConfigureAwait(false)).FirstOrDefault(m => m.Name == name);
            return added ?? throw new LbException(LbErrorKind.Transient, $"HAProxy registered {target} but does not list it.") { Ambiguous = true };
        }

        public async Task RemoveMemberAsync(LbPoolMember member, ILbLog log, CancellationToken cancellationToken)
        {
            string target = member.Pool + "/" + member.Name;
            bool putInMaint = member.State != LbMemberState.Disabled;
            if (putInMaint)
            {
                await RunAsync($"set server {target} state maint", log, cancellationToken).ConfigureAwait(false);
            }
            string del = "del server " + target;
            string answer;
            try
            {
                answer = await _api.SendAsync(del, RequestKind.NonIdempotentWrite, log, cancellationToken).ConfigureAwait(false);
                // "del server" needs no active and no idle connections (management guide); idle keep-alive
                // connections close shortly after maintenance starts, so a refusal for them is tried again for a
                // short while (2.6 has no "wait ... srv-removable"; 3.0 would).
                long start = _time.GetTimestamp();
                while (answer.IndexOf("still has connections attached", StringComparison.OrdinalIgnoreCase) >= 0 && _time.GetElapsedTime(start) < RemovableWait)
                {
                    await _time.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
                    answer = await _api.SendAsync(del, RequestKind.NonIdempotentWrite, log, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (putInMaint && (ex is OperationCanceledException || ex is LbException { Ambiguous: false }))
            {
                throw await RestoreAfterFailedDeleteAsync(member, ex, log).ConfigureAwait(false);
            }
            if (answer.IndexOf("Server deleted", StringComparison.Ordinal) >= 0) return;
            var refused = HaproxyErrors.Map(del, answer);
            if (!putInMaint || refused.Kind == LbErrorKind.NotFound) throw refused;
            throw await RestoreAfterFailedDeleteAsync(member, refused, log).ConfigureAwait(false);
        }

        /// <summary>
        /// A delete that failed after the server was put in maintenance: puts its previous state back, so a
        /// failed remove never leaves a member silently out of rotation; where that fails too, the error says
        /// what state it is in and how to bring it back.
        /// </summary>
        private async Task<Exception> RestoreAfterFailedDeleteAsync(LbPoolMember member, Exception failure, ILbLog log)
        {
            string target = member.Pool + "/" + member.Name;
            string previous = member.State == LbMemberState.Draining ? "drain" : "ready";
            using var cleanup = new CancellationTokenSource(CleanupTimeout);
            try
            {
                await RunAsync($"set server {target} state {previous}", log, cleanup.Token).ConfigureAwait(false);
                log.Verbose($"{member} could not be deleted; it was put back to {member.State}.");
                if (failure is LbException lb)
                {
                    return new LbException(lb.Kind, lb.Message + $" {member} was put back to {member.State}.", lb.VendorCode, lb.StatusCode, lb) { ErrorId = lb.ErrorId };
                }
                return failure;
            }
            catch (Exception ex) when (ex is LbException || ex is OperationCanceledException)
            {
                string why = failure is LbException lb ? lb.Message : "the remove was stopped.";
                return new LbException(LbErrorKind.Conflict,
                    $"{why} {member} is now Disabled (in maintenance) and could not be put back to {member.State} ({ex.Message}). " +
                    $"Bring it back with: Set-LbPoolMember -Pool '{member.Pool}' -Name '{member.Name}' -State {(member.State == LbMemberState.Draining ? "Draining" : "Enabled")}",
                    inner: failure) { ErrorId = (failure as LbException)?.ErrorId ?? ErrorIds.Conflict };
            }
        }

        /// <summary>How long a delete refused for connections still attached is tried again before it fails.</summary>
        internal static readonly TimeSpan RemovableWait = TimeSpan.FromSeconds(5);

        /// <summary>
        /// The state a new or filled server leaves maintenance for: ready, or drain for -State Draining; none for
        /// Disabled and ForcedOffline (a server that was never up has no sessions to shut, so both stay in maint).
        /// </summary>
        private static string? InitialState(LbMemberState? state) => state switch
        {
            LbMemberState.Disabled => null,
            LbMemberState.ForcedOffline => null,
            LbMemberState.Draining => "drain",
            _ => "ready",
        };

        /// <summary>How long a clean-up after a failed or stopped change may take; it runs even when the change was cancelled.</summary>
        internal static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(10);

        public async Task<LbPoolMember> UpdateMemberAsync(LbPoolMember member, LbMemberUpdate update, ILbLog log, CancellationToken cancellationToken)
        {
            string target = member.Pool + "/" + member.Name;
            switch (update.State)
            {
                case LbMemberState.Enabled: await RunAsync($"set server {target} state ready", log, cancellationToken).ConfigureAwait(false); break;
                case LbMemberState.Disabled: await RunAsync($"set server {target} state maint", log, cancellationToken).ConfigureAwait(false); break;
                case LbMemberState.Draining: await RunAsync($"set server {target} state drain", log, cancellationToken).ConfigureAwait(false); break;
                case LbMemberState.ForcedOffline:
                    // Maintenance stops new traffic; shutting the sessions down cuts the existing ones too.
                    await RunAsync($"set server {target} state maint", log, cancellationToken).ConfigureAwait(false);
                    await RunAsync($"shutdown sessions server {target}", log, cancellationToken).ConfigureAwait(false);
                    break;
            }
            if (update.Weight.HasValue)
            {
                await RunAsync($"set server {target} weight {update.Weight.Value.ToString(CultureInfo.InvariantCulture)}", log, cancellationToken).ConfigureAwait(false);
            }
            if (update.Options is { } o)
            {
                if (o.TlsCaFile != null) throw new LbException(LbErrorKind.NotSupported, "HAProxy sets a server's CA file only when it is added: remove and add the member to change it.") { ErrorId = ErrorIds.NotSupported };
                // Management guide, "set server": ssl on|off, check-addr, check-port.
                if (o.Tls.HasValue) await RunAsync($"set server {target} ssl {(o.Tls.Value ? "on" : "off")}", log, cancellationToken).ConfigureAwait(false);
                if (o.CheckAddress != null) await RunAsync($"set server {target} check-addr {o.CheckAddress}", log, cancellationToken).ConfigureAwait(false);
                if (o.CheckPort.HasValue) await RunAsync($"set server {target} check-port {o.CheckPort.Value.ToString(CultureInfo.InvariantCulture)}", log, cancellationToken).ConfigureAwait(false);
            }
            var now = (await GetMembersAsync(member.Pool, log, cancellationToken).ConfigureAwait(false)).FirstOrDefault(m => m.Name == member.Name);
            return now ?? throw new LbException(LbErrorKind.NotFound, $"{member} disappeared during the change.") { ErrorId = ErrorIds.MemberNotFound };
        }

        public void Dispose() { }

        private static bool IsStaticRefusal(string answer) =>
            answer.IndexOf("must use a dynamic load balancing", StringComparison.OrdinalIgnoreCase) >= 0
            || answer.IndexOf("does not support dynamic servers", StringComparison.OrdinalIgnoreCase) >= 0;

        private static readonly System.Text.RegularExpressions.Regex SlotName =
            new System.Text.RegularExpressions.Regex(@"^(?<prefix>.*?[^0-9])(?<n>[0-9]+)$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

        /// <summary>
        /// Servers that belong to a server-template group: "PREFIX" + number, with at least two of one prefix
        /// (server-template names its servers prefix1..prefixN). Grouped by prefix.
        /// </summary>
        internal static ILookup<string, LbPoolMember> TemplateGroups(IReadOnlyList<LbPoolMember> members) =>
            members.Select(m => (Member: m, Match: SlotName.Match(m.Name)))
                   .Where(x => x.Match.Success)
                   .GroupBy(x => x.Match.Groups["prefix"].Value, StringComparer.Ordinal)
                   .Where(g => g.Count() >= 2)
                   .SelectMany(g => g.Select(x => (Prefix: g.Key, x.Member)))
                   .ToLookup(x => x.Prefix, x => x.Member, StringComparer.Ordinal);

        /// <summary>Template slots in maintenance: free to fill, lowest number first.</summary>
        internal static List<LbPoolMember> FreeSlots(IReadOnlyList<LbPoolMember> members) =>
            TemplateGroups(members).SelectMany(g => g).Where(m => m.State == LbMemberState.Disabled)
                .OrderBy(m => m.Name.Length).ThenBy(m => m.Name, StringComparer.Ordinal).ToList();

        /// <summary>
        /// Fills a free server-template slot (management guide: "set server &lt;b&gt;/&lt;s&gt; addr &lt;ip&gt; port &lt;port&gt;",
        /// then "set server ... state ready"); the member keeps the slot's name.
        /// </summary>
        public async Task<LbPoolMember> FillSlotAsync(string pool, LbMemberSpec spec, ILbLog log, CancellationToken cancellationToken)
        {
            var members = await GetMembersAsync(pool, log, cancellationToken).ConfigureAwait(false);
            var free = FreeSlots(members);
            var slot = spec.Name != null ? free.FirstOrDefault(m => m.Name == spec.Name) : free.FirstOrDefault();
            if (slot == null)
            {
                throw new LbException(LbErrorKind.Conflict, spec.Name != null
                    ? $"'{spec.Name}' is not a free server-template slot of backend '{pool}' (a free slot is in maintenance)."
                    : $"Backend '{pool}' has no free server-template slot (slots in maintenance): add slots to its server-template line, or remove a member to free one.")
                    { ErrorId = ErrorIds.Conflict };
            }
            string target = pool + "/" + slot.Name;
            await RunAsync($"set server {target} addr {spec.Address} port {spec.Port.ToString(CultureInfo.InvariantCulture)}", log, cancellationToken, accept: "changed").ConfigureAwait(false);
            if (spec.Weight.HasValue) await RunAsync($"set server {target} weight {spec.Weight.Value.ToString(CultureInfo.InvariantCulture)}", log, cancellationToken).ConfigureAwait(false);
            if (InitialState(spec.State) is string state) await RunAsync($"set server {target} state {state}", log, cancellationToken).ConfigureAwait(false);
            log.Verbose($"Filled server-template slot {target} with {spec.Endpoint}.");
            var filled = (await GetMembersAsync(pool, log, cancellationToken).ConfigureAwait(false)).FirstOrDefault(m => m.Name == slot.Name);
            return filled ?? throw new LbException(LbErrorKind.Transient, $"HAProxy filled {target} but does not list it.") { Ambiguous = true };
        }

        /// <summary>Maintenance first (no new traffic), then the slot's placeholder address: a free slot's, as its template declared.</summary>
        public async Task ReturnSlotAsync(LbPoolMember member, ILbLog log, CancellationToken cancellationToken)
        {
            string target = member.Pool + "/" + member.Name;
            var members = await GetMembersAsync(member.Pool, log, cancellationToken).ConfigureAwait(false);
            var group = TemplateGroups(members).FirstOrDefault(g => g.Any(m => m.Name == member.Name));
            if (group == null)
            {
                throw new LbException(LbErrorKind.NotSupported, $"{member} is not a server-template slot: remove it without -UseTemplateSlot.") { ErrorId = ErrorIds.NotSupported };
            }
            await RunAsync($"set server {target} state maint", log, cancellationToken).ConfigureAwait(false);
            var placeholder = group.FirstOrDefault(m => m.Name != member.Name && m.State == LbMemberState.Disabled);
            if (placeholder != null)
            {
                await RunAsync($"set server {target} addr {placeholder.Address} port {placeholder.Port.ToString(CultureInfo.InvariantCulture)}", log, cancellationToken, accept: "changed").ConfigureAwait(false);
            }
            log.Verbose($"Returned {member} to its server-template slot (maintenance{(placeholder != null ? ", address " + placeholder.Endpoint : "")}).");
        }

        /// <summary>"add server" keywords for the options (management guide, "add server"): ssl with verify, and the check's addr and port.</summary>
        private static string AddKeywords(LbMemberOptions? o)
        {
            if (o == null) return "";
            var sb = new System.Text.StringBuilder();
            if (o.Tls == true)
            {
                if (o.TlsCaFile != null && o.TlsCaFile.Any(c => char.IsWhiteSpace(c) || c == ';' || c == '#'))
                {
                    throw new LbException(LbErrorKind.InvalidInput, $"TlsCaFile '{o.TlsCaFile}' has a space, ';' or '#', which a runtime command cannot carry.") { ErrorId = ErrorIds.InvalidInput };
                }
                sb.Append(o.TlsCaFile != null ? " ssl verify required ca-file " + o.TlsCaFile : " ssl verify none");
            }
            if (o.CheckAddress != null) sb.Append(" addr ").Append(o.CheckAddress);
            if (o.CheckPort.HasValue) sb.Append(" port ").Append(o.CheckPort.Value.ToString(CultureInfo.InvariantCulture));
            return sb.ToString();
        }

        /// <summary>The member state an srv_admin_state value means (bits from include/haproxy/server-t.h).</summary>
        internal static LbMemberState AdminState(int admin) =>
            (admin & MaintBits) != 0 ? LbMemberState.Disabled : (admin & DrainBits) != 0 ? LbMemberState.Draining : LbMemberState.Enabled;

        /// <summary>Runs a command whose success is an empty answer.</summary>
        /// <param name="accept">Text of an answer that reports success (set server addr answers "IP changed from ... to ..."); else success is an empty answer.</param>
        private async Task RunAsync(string command, ILbLog log, CancellationToken cancellationToken, string? accept = null)
        {
            string answer = await _api.SendAsync(command, RequestKind.IdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            if (answer.Trim().Length == 0) return;
            if (accept != null && answer.IndexOf(accept, StringComparison.OrdinalIgnoreCase) >= 0 && answer.IndexOf("error", StringComparison.OrdinalIgnoreCase) < 0) return;
            throw HaproxyErrors.Map(command, answer);
        }

        private async Task TryDeleteAsync(string target, ILbLog log)
        {
            using var cleanup = new CancellationTokenSource(CleanupTimeout);
            try
            {
                await _api.SendAsync($"set server {target} state maint", RequestKind.IdempotentWrite, log, cleanup.Token).ConfigureAwait(false);
                string answer = await _api.SendAsync("del server " + target, RequestKind.NonIdempotentWrite, log, cleanup.Token).ConfigureAwait(false);
                if (answer.IndexOf("Server deleted", StringComparison.Ordinal) < 0 && answer.IndexOf("No such server", StringComparison.Ordinal) < 0)
                {
                    throw HaproxyErrors.Map("del server " + target, answer);
                }
            }
            catch (Exception ex) when (ex is LbException || ex is OperationCanceledException)
            {
                log.Warning($"Could not delete the half-added server {target}; it is in maintenance and takes no traffic. Remove it with Remove-LbPoolMember -Name '{target.Substring(target.IndexOf('/') + 1)}' ({ex.Message}).");
            }
        }

        private static LbMemberHealth Health(string status, string checkStatus)
        {
            if (status.StartsWith("UP ", StringComparison.Ordinal) || status.StartsWith("DOWN ", StringComparison.Ordinal)) return LbMemberHealth.Checking;
            switch (status)
            {
                case "UP":
                    return LbMemberHealth.Healthy;
                case "DRAIN":
                case "NOLB":
                    // The stats page shows DRAIN/NOLB in place of "no check" (the admin state wins), so they say
                    // nothing of health unless a check ran: an empty check_status means none is configured.
                    return checkStatus.Length > 0 ? LbMemberHealth.Healthy : LbMemberHealth.Unknown;
                case "DOWN":
                    return LbMemberHealth.Unhealthy;
                default:
                    // "no check" and "MAINT": HAProxy has no opinion of its own.
                    return LbMemberHealth.Unknown;
            }
        }

        /// <summary>A server name from the endpoint, in the characters HAProxy accepts in names.</summary>
        internal static string DeriveName(LbMemberSpec spec) =>
            spec.Address.Replace(':', '_') + "_" + spec.Port.ToString(CultureInfo.InvariantCulture);

        /// <summary>Names go into a command line: anything but HAProxy's name characters could smuggle in another command.</summary>
        private static void RequireName(string name, string what)
        {
            if (name.Length == 0 || name.Any(c => !(char.IsLetterOrDigit(c) && c < 128) && c != '_' && c != '-' && c != '.' && c != ':'))
            {
                throw new LbException(LbErrorKind.InvalidInput,
                    $"'{name}' is not a valid HAProxy {what}: use letters, digits, '_', '-', '.' and ':'.") { ErrorId = ErrorIds.InvalidName };
            }
        }
    }
}
