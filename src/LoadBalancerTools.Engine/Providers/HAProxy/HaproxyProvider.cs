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
    public sealed class HaproxyProvider : ILbProvider
    {
        // srv_admin_state bits (HAProxy's SRV_ADMF_*): forced, inherited, config and resolution maintenance; forced and inherited drain.
        private const int MaintBits = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
        private const int DrainBits = 0x08 | 0x10;

        private readonly HaproxyRuntimeClient _api;
        private string? _version;

        public HaproxyProvider(LbConnectionSettings settings)
        {
            _api = new HaproxyRuntimeClient(settings.Endpoint, settings.Transport);
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
                    HealthyCount = servers[r.Get("pxname")].Count(s => Health(s.Get("status")) == LbMemberHealth.Healthy),
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
                    State = (admin & MaintBits) != 0 ? LbMemberState.Disabled : (admin & DrainBits) != 0 ? LbMemberState.Draining : LbMemberState.Enabled,
                    Health = Health(status),
                    HealthReason = string.Join(" ", new[] { status, stat?.Get("check_status") ?? "" }.Where(x => x.Length > 0)),
                    Weight = int.TryParse(s.Get("srv_uweight"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int w) ? w : (int?)null,
                    ActiveConnections = long.TryParse(stat?.Get("scur"), NumberStyles.Integer, CultureInfo.InvariantCulture, out long cur) ? cur : (long?)null,
                    VendorId = name,
                    Raw = new Dictionary<string, object?> { ["state"] = s, ["stat"] = stat },
                });
            }
            return members;
        }

        public async Task<LbPoolMember> AddMemberAsync(string pool, LbMemberSpec spec, ILbLog log, CancellationToken cancellationToken)
        {
            RequireName(pool, "pool");
            string name = spec.Name ?? DeriveName(spec);
            RequireName(name, "-Name");
            string target = pool + "/" + name;
            string add = $"add server {target} {spec.Endpoint} check"
                + (spec.Weight.HasValue ? " weight " + spec.Weight.Value.ToString(CultureInfo.InvariantCulture) : "");
            string answer = await _api.SendAsync(add, RequestKind.NonIdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            if (answer.IndexOf("New server registered", StringComparison.Ordinal) < 0) throw HaproxyErrors.Map(add, answer);

            // A new dynamic server starts in maintenance with checks off. If bringing it up fails, it is
            // deleted again, so the pool never keeps a half-added server.
            try
            {
                await RunAsync($"enable health {target}", log, cancellationToken).ConfigureAwait(false);
                if (spec.State != LbMemberState.Disabled)
                {
                    await RunAsync($"set server {target} state ready", log, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (LbException) when (!cancellationToken.IsCancellationRequested)
            {
                await TryDeleteAsync(target, log).ConfigureAwait(false);
                throw;
            }
            var added = (await GetMembersAsync(pool, log, cancellationToken).ConfigureAwait(false)).FirstOrDefault(m => m.Name == name);
            return added ?? throw new LbException(LbErrorKind.Transient, $"HAProxy registered {target} but does not list it.") { Ambiguous = true };
        }

        public async Task RemoveMemberAsync(LbPoolMember member, ILbLog log, CancellationToken cancellationToken)
        {
            string target = member.Pool + "/" + member.Name;
            if (member.State != LbMemberState.Disabled)
            {
                await RunAsync($"set server {target} state maint", log, cancellationToken).ConfigureAwait(false);
            }
            string del = "del server " + target;
            string answer = await _api.SendAsync(del, RequestKind.IdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            if (answer.IndexOf("Server deleted", StringComparison.Ordinal) < 0) throw HaproxyErrors.Map(del, answer);
        }

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
            var now = (await GetMembersAsync(member.Pool, log, cancellationToken).ConfigureAwait(false)).FirstOrDefault(m => m.Name == member.Name);
            return now ?? throw new LbException(LbErrorKind.NotFound, $"{member} disappeared during the change.") { ErrorId = ErrorIds.MemberNotFound };
        }

        public void Dispose() { }

        /// <summary>Runs a command whose success is an empty answer.</summary>
        private async Task RunAsync(string command, ILbLog log, CancellationToken cancellationToken)
        {
            string answer = await _api.SendAsync(command, RequestKind.IdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            if (answer.Trim().Length > 0) throw HaproxyErrors.Map(command, answer);
        }

        private async Task TryDeleteAsync(string target, ILbLog log)
        {
            try
            {
                await _api.SendAsync($"set server {target} state maint", RequestKind.IdempotentWrite, log, CancellationToken.None).ConfigureAwait(false);
                await _api.SendAsync("del server " + target, RequestKind.IdempotentWrite, log, CancellationToken.None).ConfigureAwait(false);
            }
            catch (LbException ex)
            {
                log.Warning($"Could not delete the half-added server {target}: {ex.Message}");
            }
        }

        private static LbMemberHealth Health(string status)
        {
            if (status.StartsWith("UP ", StringComparison.Ordinal) || status.StartsWith("DOWN ", StringComparison.Ordinal)) return LbMemberHealth.Checking;
            switch (status)
            {
                case "UP":
                case "DRAIN":
                case "NOLB":
                    return LbMemberHealth.Healthy;
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
