using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
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

namespace LoadBalancerTools.Providers.NginxPlus
{
    /// <summary>
    /// NGINX Plus REST API (http upstreams). Servers are addressed by the id nginx assigns, so every
    /// change first finds the id by address. Writes need "api write=on" and an upstream with a zone.
    /// </summary>
    public sealed class NginxPlusProvider : ILbProvider
    {
        internal const int HighestSupportedVersion = 9;
        private readonly LbConnectionSettings _settings;
        private readonly JsonApiClient _api;
        private int _version;

        public NginxPlusProvider(LbConnectionSettings settings)
        {
            _settings = settings;
            var http = ResilientHttp.For(settings.Endpoint, settings.Transport);
            _api = new JsonApiClient(ApiBase(settings.Endpoint), http, Authenticate, NginxPlusErrors.Map);
        }

        public string ProviderName => "NginxPlus";
        public string? ApiVersion => _version == 0 ? null : _version.ToString(CultureInfo.InvariantCulture);
        public LbCapabilities Capabilities =>
            LbCapabilities.Disable | LbCapabilities.Drain | LbCapabilities.Weight | LbCapabilities.ActiveConnections;

        /// <summary>Accepts https://host:8443/api, .../api/ or just https://host:8443.</summary>
        internal static Uri ApiBase(Uri endpoint)
        {
            string path = endpoint.AbsolutePath.TrimEnd('/');
            if (path.Length == 0) path = "/api";
            return new UriBuilder(endpoint) { Path = path + "/", Query = "" }.Uri;
        }

        public async Task ConnectAsync(ILbLog log, CancellationToken cancellationToken)
        {
            var versions = await _api.SendAsync(HttpMethod.Get, "", null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
            if (versions.ValueKind != JsonValueKind.Array)
            {
                throw new LbException(LbErrorKind.MalformedResponse, $"GET {_api.BaseUri.AbsolutePath} did not return the list of API versions; is this the NGINX Plus API location?");
            }
            int best = versions.EnumerateArray()
                .Where(v => v.ValueKind == JsonValueKind.Number)
                .Select(v => v.GetInt32())
                .Where(v => v <= HighestSupportedVersion)
                .DefaultIfEmpty(0)
                .Max();
            if (best == 0)
            {
                throw new LbException(LbErrorKind.NotSupported, $"The NGINX Plus API offers versions [{string.Join(",", versions.EnumerateArray())}], none of which this module supports (1 to {HighestSupportedVersion}).");
            }
            _version = best;
            log.Verbose($"NGINX Plus API version {best} negotiated.");
        }

        public Task DisconnectAsync(ILbLog log, CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task<IReadOnlyList<LbPool>> GetPoolsAsync(ILbLog log, CancellationToken cancellationToken)
        {
            var upstreams = await _api.SendAsync(HttpMethod.Get, V("http/upstreams"), null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
            RequireKind(upstreams, JsonValueKind.Object, "http/upstreams");
            var pools = new List<LbPool>();
            foreach (var upstream in upstreams.EnumerateObject())
            {
                var peers = upstream.Value.Prop("peers");
                int count = peers?.ValueKind == JsonValueKind.Array ? peers.Value.GetArrayLength() : 0;
                int healthy = peers?.ValueKind == JsonValueKind.Array ? peers.Value.EnumerateArray().Count(p => p.Str("state") == "up") : 0;
                string? zone = upstream.Value.Str("zone");
                pools.Add(new LbPool
                {
                    Provider = ProviderName,
                    Pool = upstream.Name,
                    MemberCount = count,
                    HealthyCount = healthy,
                    Description = zone == null ? "static (no zone: read-only)" : "zone " + zone,
                    Raw = JsonRaw.ToObject(upstream.Value),
                });
            }
            return pools;
        }

        public async Task<IReadOnlyList<LbPoolMember>> GetMembersAsync(string pool, ILbLog log, CancellationToken cancellationToken)
        {
            var upstream = await _api.SendAsync(HttpMethod.Get, UpstreamPath(pool), null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
            RequireKind(upstream, JsonValueKind.Object, "upstream " + pool);
            var peers = upstream.Prop("peers") is { ValueKind: JsonValueKind.Array } p ? p.EnumerateArray().ToList() : new List<JsonElement>();

            // The servers list is the configuration (down, drain, weight); a static upstream has none.
            JsonElement servers;
            if (upstream.Str("zone") == null)
            {
                servers = default;
            }
            else
            {
                servers = await _api.SendAsync(HttpMethod.Get, UpstreamPath(pool) + "/servers", null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
                RequireKind(servers, JsonValueKind.Array, "servers of " + pool);
            }

            var members = new List<LbPoolMember>();
            if (servers.ValueKind == JsonValueKind.Array)
            {
                // Peers by id once, so a pool of thousands is matched in one pass.
                var peerById = new Dictionary<long, JsonElement>();
                foreach (var peer in peers) if (peer.Long("id") is long pid) peerById[pid] = peer;
                foreach (var server in servers.EnumerateArray())
                {
                    members.Add(ToMember(pool, server, server.Long("id") is long id && peerById.TryGetValue(id, out var peer) ? peer : (JsonElement?)null));
                }
            }
            else
            {
                foreach (var peer in peers) members.Add(ToMember(pool, peer, peer));
            }
            return members;
        }

        public async Task<LbPoolMember> AddMemberAsync(string pool, LbMemberSpec spec, ILbLog log, CancellationToken cancellationToken)
        {
            if (spec.State == LbMemberState.Draining || spec.State == LbMemberState.ForcedOffline)
            {
                throw new LbException(LbErrorKind.NotSupported, $"NGINX Plus cannot add a member in state {spec.State}; add it Enabled or Disabled, then change its state.") { ErrorId = ErrorIds.NotSupported };
            }
            var body = new Dictionary<string, object> { ["server"] = spec.Endpoint };
            if (spec.Weight.HasValue) body["weight"] = spec.Weight.Value;
            if (spec.State == LbMemberState.Disabled) body["down"] = true;
            AddOptions(body, spec.Options, creating: true);
            var created = await _api.SendAsync(HttpMethod.Post, UpstreamPath(pool) + "/servers", JsonSerializer.Serialize(body), RequestKind.NonIdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            RequireKind(created, JsonValueKind.Object, "the created server");
            return ToMember(pool, created, null);
        }

        public async Task RemoveMemberAsync(LbPoolMember member, ILbLog log, CancellationToken cancellationToken)
        {
            await _api.SendAsync(HttpMethod.Delete, ServerPath(member), null, RequestKind.NonIdempotentWrite, log, cancellationToken).ConfigureAwait(false);
        }

        public async Task<LbPoolMember> UpdateMemberAsync(LbPoolMember member, LbMemberUpdate update, ILbLog log, CancellationToken cancellationToken)
        {
            var body = new Dictionary<string, object>();
            switch (update.State)
            {
                case LbMemberState.Enabled: body["down"] = false; body["drain"] = false; break;
                case LbMemberState.Disabled: body["down"] = true; body["drain"] = false; break;
                case LbMemberState.Draining: body["down"] = false; body["drain"] = true; break;
                case LbMemberState.ForcedOffline:
                    throw new LbException(LbErrorKind.NotSupported,
                        "NGINX Plus has no forced-offline state that cuts existing connections: use -State Disabled (no new connections) or Drain.") { ErrorId = ErrorIds.NotSupported };
            }
            if (update.Weight.HasValue) body["weight"] = update.Weight.Value;
            AddOptions(body, update.Options, creating: false);
            var updated = await _api.SendAsync(new HttpMethod("PATCH"), ServerPath(member), JsonSerializer.Serialize(body), RequestKind.IdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            RequireKind(updated, JsonValueKind.Object, "the updated server");
            var result = ToMember(member.Pool, updated, null);
            result.Health = member.Health;
            result.ActiveConnections = member.ActiveConnections;
            return result;
        }

        public void Dispose() { }

        /// <summary>The API's server fields for the options (NGINX Plus API reference, http/upstreams/{name}/servers).</summary>
        private static void AddOptions(Dictionary<string, object> body, LbMemberOptions? o, bool creating)
        {
            if (o == null) return;
            if (o.Backup.HasValue)
            {
                // "backup" can be set only when the server is created (the API refuses it in a PATCH).
                if (!creating) throw new LbException(LbErrorKind.NotSupported, "NGINX Plus sets Backup only when a server is created: remove and add the member to change it.") { ErrorId = ErrorIds.NotSupported };
                body["backup"] = o.Backup.Value;
            }
            if (o.MaxConnections.HasValue) body["max_conns"] = o.MaxConnections.Value;
            if (o.MaxFails.HasValue) body["max_fails"] = o.MaxFails.Value;
            if (o.FailTimeoutSec.HasValue) body["fail_timeout"] = o.FailTimeoutSec.Value.ToString(CultureInfo.InvariantCulture) + "s";
            if (o.SlowStartSec.HasValue) body["slow_start"] = o.SlowStartSec.Value.ToString(CultureInfo.InvariantCulture) + "s";
            if (o.Route != null) body["route"] = o.Route;
        }

        /// <summary>"10s", "1m", "0" as seconds (nginx time units).</summary>
        private static int? Seconds(string? text)
        {
            if (string.IsNullOrEmpty(text)) return null;
            string t = text!.Trim();
            int factor = t.EndsWith("ms", StringComparison.Ordinal) ? 0 : t.EndsWith("s", StringComparison.Ordinal) ? 1 : t.EndsWith("m", StringComparison.Ordinal) ? 60 : t.EndsWith("h", StringComparison.Ordinal) ? 3600 : 1;
            string digits = new string(t.TakeWhile(char.IsDigit).ToArray());
            return int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n * factor : (int?)null;
        }

        private LbPoolMember ToMember(string pool, JsonElement server, JsonElement? peer)
        {
            string endpoint = server.Str("server") ?? "";
            var (address, port) = MemberAddress.SplitEndpoint(endpoint, 80);
            var state = server.Bool("down") ? LbMemberState.Disabled
                : server.Bool("drain") ? LbMemberState.Draining
                : LbMemberState.Enabled;
            string? peerState = peer?.Str("state");
            if (server.Str("state") is string own)
            {
                // A peer read without a server config (static upstream) carries its state only.
                state = own == "down" ? LbMemberState.Disabled : own == "draining" ? LbMemberState.Draining : LbMemberState.Enabled;
            }
            var member = new LbPoolMember
            {
                Provider = ProviderName,
                Pool = pool,
                Address = address,
                Port = port,
                Name = endpoint,
                State = state,
                Health = Health(peerState),
                HealthReason = peerState,
                Weight = (int?)server.Long("weight"),
                ActiveConnections = peer?.Long("active"),
                VendorId = server.Long("id")?.ToString(CultureInfo.InvariantCulture),
                // The server id: two peers may share one address, the id tells them apart.
                MemberId = server.Long("id")?.ToString(CultureInfo.InvariantCulture) ?? endpoint,
                Options = server.Str("server") == null ? null : new LbMemberOptions
                {
                    Backup = server.Bool("backup"),
                    MaxConnections = (int?)server.Long("max_conns"),
                    MaxFails = (int?)server.Long("max_fails"),
                    FailTimeoutSec = Seconds(server.Str("fail_timeout")),
                    SlowStartSec = Seconds(server.Str("slow_start")),
                    // NGINX Plus lists "route": "" for a server without one: that is no route, not an empty one.
                    Route = string.IsNullOrEmpty(server.Str("route")) ? null : server.Str("route"),
                },
                ReadOnlyReason = (server.Long("parent") ?? peer?.Long("parent")) is long parent
                    ? $"NGINX Plus created it by resolving '{server.Str("host") ?? peer?.Str("host")}' (configured server {parent.ToString(CultureInfo.InvariantCulture)}); change that server or the DNS record instead"
                    : null,
            };
            member.SetRaw(() => peer.HasValue
                ? new Dictionary<string, object?> { ["server"] = JsonRaw.ToObject(server), ["peer"] = JsonRaw.ToObject(peer.Value) }
                : JsonRaw.ToObject(server));
            return member;
        }

        private static LbMemberHealth Health(string? peerState)
        {
            switch (peerState)
            {
                case "up":
                case "draining":
                    return LbMemberHealth.Healthy;
                case "unhealthy":
                case "unavail":
                    return LbMemberHealth.Unhealthy;
                case "checking":
                    return LbMemberHealth.Checking;
                default:
                    // "down" is an administrative state: nginx does not check such a server.
                    return LbMemberHealth.Unknown;
            }
        }

        private void Authenticate(HttpRequestMessage request)
        {
            var credential = _settings.Credential;
            if (credential == null) return;
            string pair = credential.UserName + ":" + credential.Password;
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(pair)));
        }

        private string V(string path)
        {
            if (_version == 0) throw new InvalidOperationException("Not connected: the API version has not been negotiated.");
            return _version.ToString(CultureInfo.InvariantCulture) + "/" + path;
        }

        private string UpstreamPath(string pool) => V("http/upstreams/" + Uri.EscapeDataString(pool));

        private string ServerPath(LbPoolMember member)
        {
            if (string.IsNullOrEmpty(member.VendorId))
            {
                throw new LbException(LbErrorKind.Rejected, $"Member {member.Endpoint} of {member.Pool} has no server id: it belongs to a static upstream, which the API cannot change.") { ErrorId = ErrorIds.Rejected };
            }
            return UpstreamPath(member.Pool) + "/servers/" + member.VendorId;
        }

        private static void RequireKind(JsonElement element, JsonValueKind kind, string what)
        {
            if (element.ValueKind != kind)
            {
                throw new LbException(LbErrorKind.MalformedResponse, $"NGINX Plus returned {element.ValueKind} for {what} where {kind} was expected; the response is not what the API documents.");
            }
        }
    }
}
