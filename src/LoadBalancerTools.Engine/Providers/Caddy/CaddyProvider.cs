using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;
using LoadBalancerTools.Util;

namespace LoadBalancerTools.Providers.Caddy
{
    /// <summary>
    /// Caddy 2.6+ admin API: pools are reverse_proxy handlers tagged with "@id", members are their
    /// upstreams. Every change carries the config's ETag in If-Match; when another writer got there
    /// first (412), the upstreams are read again and the change re-decided, so no update is lost.
    /// Caddy has no per-upstream disable or drain: removal is the only way out of rotation.
    /// </summary>
    public sealed class CaddyProvider : ILbProvider
    {
        private const int ConflictRetries = 10;
        private static readonly Random Jitter = new Random();
        private readonly JsonApiClient _api;

        public CaddyProvider(LbConnectionSettings settings)
        {
            var root = new UriBuilder(settings.Endpoint) { Path = "/", Query = "" }.Uri;
            _api = new JsonApiClient(root, ResilientHttp.For(root, settings.Transport), null, Map);
        }

        public string ProviderName => "Caddy";
        public string? ApiVersion => null;
        public LbCapabilities Capabilities => LbCapabilities.ActiveConnections;

        public async Task ConnectAsync(ILbLog log, CancellationToken cancellationToken)
        {
            var config = await _api.SendAsync(HttpMethod.Get, "config/", null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
            log.Verbose($"Caddy admin API answered; {FindHandlers(config).Count} reverse_proxy handler(s) tagged with @id.");
        }

        public Task DisconnectAsync(ILbLog log, CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task<IReadOnlyList<LbPool>> GetPoolsAsync(ILbLog log, CancellationToken cancellationToken)
        {
            var config = await _api.SendAsync(HttpMethod.Get, "config/", null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
            var stats = await UpstreamStatsAsync(log, cancellationToken).ConfigureAwait(false);
            return FindHandlers(config).Select(h =>
            {
                var dials = Dials(h.Handler);
                return new LbPool
                {
                    Provider = ProviderName,
                    Pool = h.Id,
                    MemberCount = dials.Count,
                    HealthyCount = dials.Count(d => Health(h.Handler, stats, d) == LbMemberHealth.Healthy),
                    Description = "reverse_proxy",
                    Raw = JsonRaw.ToObject(h.Handler),
                };
            }).ToList();
        }

        public async Task<IReadOnlyList<LbPoolMember>> GetMembersAsync(string pool, ILbLog log, CancellationToken cancellationToken)
        {
            var handler = await _api.SendAsync(HttpMethod.Get, IdPath(pool), null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
            var stats = await UpstreamStatsAsync(log, cancellationToken).ConfigureAwait(false);
            return Dials(handler).Select(dial =>
            {
                var (address, port) = MemberAddress.SplitEndpoint(dial, 80);
                stats.TryGetValue(dial, out var stat);
                return new LbPoolMember
                {
                    Provider = ProviderName,
                    Pool = pool,
                    Address = address,
                    Port = port,
                    Name = dial,
                    MemberId = dial,
                    State = LbMemberState.Enabled,
                    Health = Health(handler, stats, dial),
                    HealthReason = stat.ValueKind == JsonValueKind.Object ? $"fails {stat.Long("fails") ?? 0}" : null,
                    ActiveConnections = stat.ValueKind == JsonValueKind.Object ? stat.Long("num_requests") ?? 0 : 0,
                    Raw = stat.ValueKind == JsonValueKind.Object ? JsonRaw.ToObject(stat) : null,
                };
            }).ToList();
        }

        public async Task<LbPoolMember> AddMemberAsync(string pool, LbMemberSpec spec, ILbLog log, CancellationToken cancellationToken)
        {
            if (spec.State.HasValue && spec.State != LbMemberState.Enabled || spec.Weight.HasValue)
            {
                throw new LbException(LbErrorKind.NotSupported, "Caddy upstreams have no state or weight of their own: this is not supported by this provider (Caddy).") { ErrorId = ErrorIds.NotSupported };
            }
            string body = JsonSerializer.Serialize(new Dictionary<string, string> { ["dial"] = spec.Endpoint });
            for (int attempt = 1; ; attempt++)
            {
                var (dials, etag) = await ReadUpstreamsAsync(pool, log, cancellationToken).ConfigureAwait(false);
                // POST appends even a duplicate, so presence is decided on the same version the write is tied to.
                if (dials.Any(d => Same(d, spec.Address, spec.Port)))
                {
                    throw new LbException(LbErrorKind.AlreadyExists, $"{spec.Endpoint} is already an upstream of {pool}.");
                }
                var response = await _api.SendRawAsync(HttpMethod.Post, IdPath(pool) + "/upstreams", body, RequestKind.NonIdempotentWrite, log, cancellationToken,
                    r => r.Headers.TryAddWithoutValidation("If-Match", etag)).ConfigureAwait(false);
                if (response.Status == 412 && attempt < ConflictRetries)
                {
                    log.Verbose($"The Caddy config changed while adding {spec.Endpoint} to {pool}; reading it again.");
                    await BackOffAsync(attempt, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (!response.IsSuccess) throw Map(response);
                return new LbPoolMember { Provider = ProviderName, Pool = pool, Address = spec.Address, Port = spec.Port, Name = spec.Endpoint, MemberId = spec.Endpoint, State = LbMemberState.Enabled, Health = LbMemberHealth.Unknown };
            }
        }

        public async Task RemoveMemberAsync(LbPoolMember member, ILbLog log, CancellationToken cancellationToken)
        {
            for (int attempt = 1; ; attempt++)
            {
                var (dials, etag) = await ReadUpstreamsAsync(member.Pool, log, cancellationToken).ConfigureAwait(false);
                int index = dials.FindIndex(d => Same(d, member.Address, member.Port));
                if (index < 0) throw new LbException(LbErrorKind.NotFound, $"{member} is not an upstream of {member.Pool}.") { ErrorId = ErrorIds.MemberNotFound };
                // Upstreams are deleted by position, which only means something for the version it was read from.
                var response = await _api.SendRawAsync(HttpMethod.Delete, IdPath(member.Pool) + "/upstreams/" + index.ToString(CultureInfo.InvariantCulture), null,
                    RequestKind.IdempotentWrite, log, cancellationToken, r => r.Headers.TryAddWithoutValidation("If-Match", etag)).ConfigureAwait(false);
                if (response.Status == 412 && attempt < ConflictRetries)
                {
                    log.Verbose($"The Caddy config changed while removing {member}; reading it again.");
                    await BackOffAsync(attempt, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (!response.IsSuccess) throw Map(response);
                return;
            }
        }

        public Task<LbPoolMember> UpdateMemberAsync(LbPoolMember member, LbMemberUpdate update, ILbLog log, CancellationToken cancellationToken) =>
            throw new LbException(LbErrorKind.NotSupported,
                "Caddy has no per-upstream state or weight: this is not supported by this provider (Caddy). Remove the member to take it out of rotation.") { ErrorId = ErrorIds.NotSupported };

        public void Dispose() { }

        /// <summary>A short, growing, jittered pause, so writers that collided do not collide again in lockstep.</summary>
        private static Task BackOffAsync(int attempt, CancellationToken cancellationToken)
        {
            int ms;
            lock (Jitter) ms = Jitter.Next(10, 50) * attempt;
            return Task.Delay(ms, cancellationToken);
        }

        private async Task<(List<string> Dials, string ETag)> ReadUpstreamsAsync(string pool, ILbLog log, CancellationToken cancellationToken)
        {
            var response = await _api.SendRawAsync(HttpMethod.Get, IdPath(pool) + "/upstreams", null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccess) throw Map(response);
            var json = response.Json();
            var dials = json.ValueKind == JsonValueKind.Array
                ? json.EnumerateArray().Select(u => u.Str("dial") ?? "").ToList()
                : new List<string>();
            string etag = response.ETag ?? throw new LbException(LbErrorKind.MalformedResponse,
                $"Caddy sent no ETag for {pool}'s upstreams, so a safe concurrent change is impossible; Caddy 2.6 or later is required.");
            return (dials, etag);
        }

        private async Task<Dictionary<string, JsonElement>> UpstreamStatsAsync(ILbLog log, CancellationToken cancellationToken)
        {
            var map = new Dictionary<string, JsonElement>(StringComparer.OrdinalIgnoreCase);
            JsonElement stats;
            try
            {
                stats = await _api.SendAsync(HttpMethod.Get, "reverse_proxy/upstreams", null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
            }
            catch (LbException ex) when (ex.Kind == LbErrorKind.NotFound || ex.Kind == LbErrorKind.MalformedResponse || ex.Kind == LbErrorKind.ReadOnly)
            {
                // Upstream statistics are detail: without them health reads Unknown and the pool is still usable.
                log.Verbose($"Caddy's upstream statistics are unavailable ({ex.Message}); health reads Unknown.");
                return map;
            }
            if (stats.ValueKind == JsonValueKind.Array)
            {
                foreach (var s in stats.EnumerateArray()) if (s.Str("address") is string a) map[a] = s;
            }
            return map;
        }

        /// <summary>Passive health is the only kind the API exposes: unhealthy once fails reach max_fails.</summary>
        private static LbMemberHealth Health(JsonElement handler, Dictionary<string, JsonElement> stats, string dial)
        {
            var passive = handler.Prop("health_checks")?.Prop("passive");
            // Passive checks are on when fail_duration is set; an unset max_fails then means 1 (Caddy's
            // modules/caddyhttp/reverseproxy/healthchecks.go: "MaxFails ... Default: 1").
            bool on = passive?.Prop("fail_duration") != null || passive?.Long("max_fails") != null;
            long? maxFails = on ? passive?.Long("max_fails") ?? 1 : (long?)null;
            if (maxFails == null || !stats.TryGetValue(dial, out var stat)) return LbMemberHealth.Unknown;
            return (stat.Long("fails") ?? 0) >= Math.Max(1, maxFails.Value) ? LbMemberHealth.Unhealthy : LbMemberHealth.Healthy;
        }

        private static List<string> Dials(JsonElement handler) =>
            handler.Prop("upstreams") is { ValueKind: JsonValueKind.Array } ups
                ? ups.EnumerateArray().Select(u => u.Str("dial") ?? "").Where(d => d.Length > 0).ToList()
                : new List<string>();

        private static bool Same(string dial, string address, int port)
        {
            var (a, p) = MemberAddress.SplitEndpoint(dial, 80);
            return p == port && string.Equals(a, address, StringComparison.OrdinalIgnoreCase);
        }

        /// <summary>Every reverse_proxy handler tagged with @id, wherever it sits in the config.</summary>
        private static List<(string Id, JsonElement Handler)> FindHandlers(JsonElement node)
        {
            var found = new List<(string, JsonElement)>();
            void Walk(JsonElement e)
            {
                if (e.ValueKind == JsonValueKind.Object)
                {
                    if (e.Str("handler") == "reverse_proxy" && e.Str("@id") is string id) found.Add((id, e));
                    foreach (var p in e.EnumerateObject()) Walk(p.Value);
                }
                else if (e.ValueKind == JsonValueKind.Array)
                {
                    foreach (var item in e.EnumerateArray()) Walk(item);
                }
            }
            Walk(node);
            return found;
        }

        private static string IdPath(string pool) => "id/" + Uri.EscapeDataString(pool);

        private static LbException Map(ApiResponse response)
        {
            string text = response.TryJson()?.Str("error") ?? $"HTTP {response.Status}";
            string message = $"Caddy refused {response.Request}: {text}";
            if (response.Status == 404 && text.IndexOf("unknown object ID", StringComparison.OrdinalIgnoreCase) >= 0)
                return new LbException(LbErrorKind.NotFound, message + " No reverse_proxy handler has that @id.", statusCode: 404) { ErrorId = ErrorIds.PoolNotFound };
            if (response.Status == 412)
                return new LbException(LbErrorKind.Conflict, message + " Another writer kept changing the config; try again.", statusCode: 412) { ErrorId = ErrorIds.Conflict };
            if (response.Status == 403)
                return new LbException(LbErrorKind.AuthenticationFailed, message + " The admin API only accepts allowed origins; connect with the address it listens on.", statusCode: 403);
            return HttpErrors.FromStatus(response, message);
        }
    }
}
