using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;
using LoadBalancerTools.Util;

namespace LoadBalancerTools.Providers.NetScaler
{
    /// <summary>
    /// Citrix / NetScaler ADC NITRO API (v1 config). Service groups are pools and their
    /// servicegroupmember bindings are members. One login session per connection, sent as the
    /// NITRO_AUTH_TOKEN cookie; when the appliance says it expired (444 or 1027) the session is renewed
    /// once and the request replayed once; Disconnect-LbController logs out. State mapping: see
    /// <see cref="NetScalerStates"/>.
    /// </summary>
    public sealed class NetScalerProvider : ILbProvider, IPersistingProvider
    {
        /// <summary>Idle timeout asked for at login: NetScaler's own default. Expiry is handled by logging in again, so a longer-lived cookie buys nothing.</summary>
        internal const int SessionTimeoutSec = 900;
        internal const int MinWeight = 1;
        internal const int MaxWeight = 100;
        private const string Binding = "servicegroup_servicegroupmember_binding";

        private readonly LbConnectionSettings _settings;
        private readonly JsonApiClient _plain;
        private readonly JsonApiClient _api;
        private readonly ApiSession _session;
        private bool _connected;

        public NetScalerProvider(LbConnectionSettings settings)
        {
            _settings = settings;
            var http = ResilientHttp.For(settings.Endpoint, settings.Transport);
            var baseUri = ApiBase(settings.Endpoint);
            // Login and logout go without the session wrapper: an expired session must not trigger a login to log out.
            _plain = new JsonApiClient(baseUri, http, null, NetScalerErrors.Map);
            _api = new JsonApiClient(baseUri, http, null, NetScalerErrors.Map);
            _session = new ApiSession(LoginAsync, LogoutAsync);
            _api.UseSession(_session, ApplyCookie, NetScalerErrors.IsSessionExpired);
        }

        public string ProviderName => "NetScaler";
        public string? ApiVersion => _connected ? "v1" : null;
        public string? PersistAction => _settings.SaveConfig ? "save the running configuration (nsconfig?action=save)" : null;

        /// <summary>Unsaved changes are lost at the next reboot: the running configuration is written to ns.conf.</summary>
        public async Task PersistAsync(ILbLog log, CancellationToken cancellationToken)
        {
            if (!_settings.SaveConfig) return;
            await SendAsync(HttpMethod.Post, "nsconfig?action=save", "{\"nsconfig\":{}}", RequestKind.IdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            log.Verbose("Saved the NetScaler running configuration.");
        }

        public LbCapabilities Capabilities =>
            LbCapabilities.Disable | LbCapabilities.Drain | LbCapabilities.ForcedOffline | LbCapabilities.Weight | LbCapabilities.ActiveConnections;

        /// <summary>Logins so far on this connection (the first plus each renewal).</summary>
        internal int LoginCount => _session.LoginCount;

        /// <summary>Accepts https://ns1, https://ns1/nitro/v1 or https://ns1/nitro/v1/config.</summary>
        internal static Uri ApiBase(Uri endpoint)
        {
            string path = endpoint.AbsolutePath.TrimEnd('/');
            int nitro = path.IndexOf("/nitro/v1", StringComparison.OrdinalIgnoreCase);
            path = nitro >= 0 ? path.Substring(0, nitro) : path;
            return new UriBuilder(endpoint) { Path = path + "/nitro/v1/config/", Query = "" }.Uri;
        }

        public async Task ConnectAsync(ILbLog log, CancellationToken cancellationToken)
        {
            if (!string.IsNullOrEmpty(_settings.Partition))
            {
                // Ignoring it would quietly change the default partition instead of the one the user named.
                throw new LbException(LbErrorKind.NotSupported,
                    $"-Partition '{_settings.Partition}': NetScaler admin partitions are not supported by this provider; connect with a user whose default partition is the one to manage.") { ErrorId = ErrorIds.NotSupported };
            }
            // Logging in at connect makes a wrong password fail here, once, instead of on every later command.
            await _session.GetTokenAsync(log, cancellationToken).ConfigureAwait(false);
            _connected = true;
        }

        public async Task DisconnectAsync(ILbLog log, CancellationToken cancellationToken)
        {
            _connected = false;
            await _session.CloseAsync(log, cancellationToken).ConfigureAwait(false);
        }

        public async Task<IReadOnlyList<LbPool>> GetPoolsAsync(ILbLog log, CancellationToken cancellationToken)
        {
            var groups = Items(await SendAsync(HttpMethod.Get, "servicegroup", null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false), "servicegroup");
            // One bulk read of every binding counts members for all groups, instead of one call per group.
            var bindings = Items(await SendAsync(HttpMethod.Get, Binding + "?bulkbindings=yes", null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false), Binding);
            var byGroup = bindings.ToLookup(b => b.Str("servicegroupname") ?? "", StringComparer.Ordinal);

            var pools = new List<LbPool>();
            foreach (var group in groups)
            {
                string name = group.Str("servicegroupname") ?? "";
                var members = byGroup[name].ToList();
                string? type = group.Str("servicetype");
                string? effective = group.Str("servicegroupeffectivestate");
                pools.Add(new LbPool
                {
                    Provider = ProviderName,
                    Pool = name,
                    MemberCount = members.Count,
                    HealthyCount = members.Count(m => NetScalerStates.Health(m.Str("state"), m.Str("svrstate")) == LbMemberHealth.Healthy),
                    Description = string.Join(", ", new[] { type, effective, Is(group.Str("state"), "DISABLED") ? "group disabled" : null }.Where(s => !string.IsNullOrEmpty(s))),
                    Raw = JsonRaw.ToObject(group),
                });
            }
            return pools;
        }

        public async Task<IReadOnlyList<LbPoolMember>> GetMembersAsync(string pool, ILbLog log, CancellationToken cancellationToken)
        {
            JsonElement body;
            try
            {
                body = await SendAsync(HttpMethod.Get, BindingPath(pool), null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
            }
            catch (LbException ex) when (ex.Kind == LbErrorKind.NotFound)
            {
                // Reading a group's bindings can only miss the group itself.
                ex.ErrorId = ErrorIds.PoolNotFound;
                throw;
            }
            var members = Items(body, Binding).Select(b => ToMember(pool, b)).ToList();
            await ReadConnectionsAsync(members, log, cancellationToken).ConfigureAwait(false);
            return members;
        }

        /// <summary>
        /// Open client connections (stat/servicegroupmember, cursrvrconnections) of the members out of rotation:
        /// the ones a drain waits on. NITRO has one statistics call per member, so members in rotation are not
        /// asked (their count stays unknown), and a failed statistics read leaves the count unknown too.
        /// </summary>
        private async Task ReadConnectionsAsync(List<LbPoolMember> members, ILbLog log, CancellationToken cancellationToken)
        {
            var wanted = members.Where(m => m.State != LbMemberState.Enabled).ToList();
            if (wanted.Count == 0) return;
            using var gate = new SemaphoreSlim(4);
            await Task.WhenAll(wanted.Select(async m =>
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    string args = "servicegroupname:" + Uri.EscapeDataString(m.Pool) + ",servername:" + Uri.EscapeDataString(ServerName(m))
                                  + ",port:" + m.Port.ToString(CultureInfo.InvariantCulture);
                    var stats = await SendAsync(HttpMethod.Get, "../stat/servicegroupmember?args=" + args, null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
                    var item = Items(stats, "servicegroupmember").FirstOrDefault();
                    if (item.ValueKind == JsonValueKind.Object) m.ActiveConnections = Number(item, "cursrvrconnections");
                }
                catch (LbException ex) when (ex.Kind == LbErrorKind.NotFound || ex.Kind == LbErrorKind.ReadOnly || ex.Kind == LbErrorKind.MalformedResponse || ex.Kind == LbErrorKind.Rejected)
                {
                    log.Verbose($"Connection statistics of {m} are unavailable ({ex.Message}).");
                }
                finally
                {
                    gate.Release();
                }
            })).ConfigureAwait(false);
        }

        public async Task<LbPoolMember> AddMemberAsync(string pool, LbMemberSpec spec, ILbLog log, CancellationToken cancellationToken)
        {
            if (spec.State == LbMemberState.Draining || spec.State == LbMemberState.ForcedOffline)
            {
                throw new LbException(LbErrorKind.NotSupported, $"NetScaler cannot bind a member in state {spec.State}; add it Enabled or Disabled, then change its state.") { ErrorId = ErrorIds.NotSupported };
            }
            if (spec.Weight.HasValue) RequireWeight(spec.Weight.Value);
            bool isIp = IPAddress.TryParse(spec.Address, out _);
            var binding = new Dictionary<string, object> { ["servicegroupname"] = pool, ["port"] = spec.Port };
            // An IP is bound directly (NetScaler creates a server named after it); a host name must be an existing server entity.
            binding[isIp ? "ip" : "servername"] = spec.Address;
            if (spec.Weight.HasValue) binding["weight"] = spec.Weight.Value;
            if (spec.State == LbMemberState.Disabled) binding["state"] = "DISABLED";
            string json = JsonSerializer.Serialize(new Dictionary<string, object> { [Binding] = binding });

            await SendAsync(HttpMethod.Post, Binding, json, RequestKind.NonIdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            // NITRO answers a bind with a status only: the member is described from what was sent.
            return new LbPoolMember
            {
                Provider = ProviderName,
                Pool = pool,
                Address = spec.Address,
                Port = spec.Port,
                Name = spec.Address,
                State = spec.State ?? LbMemberState.Enabled,
                Health = LbMemberHealth.Unknown,
                Weight = spec.Weight ?? 1,
                VendorId = spec.Address,
                MemberId = spec.Address + ":" + spec.Port.ToString(CultureInfo.InvariantCulture),
            };
        }

        public async Task RemoveMemberAsync(LbPoolMember member, ILbLog log, CancellationToken cancellationToken)
        {
            await SendAsync(HttpMethod.Delete, BindingPath(member.Pool) + "?args=" + MemberArgs(member), null, RequestKind.NonIdempotentWrite, log, cancellationToken).ConfigureAwait(false);
        }

        public async Task<LbPoolMember> UpdateMemberAsync(LbPoolMember member, LbMemberUpdate update, ILbLog log, CancellationToken cancellationToken)
        {
            string server = ServerName(member);
            if (update.Weight.HasValue)
            {
                RequireWeight(update.Weight.Value);
                string json = JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["servicegroup"] = new Dictionary<string, object> { ["servicegroupname"] = member.Pool, ["servername"] = server, ["port"] = member.Port, ["weight"] = update.Weight.Value },
                });
                await SendAsync(HttpMethod.Put, "servicegroup", json, RequestKind.IdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            }
            if (update.State.HasValue)
            {
                if (update.State == LbMemberState.ForcedOffline && update.DrainTimeoutSec > 0)
                {
                    log.Verbose($"-DrainTimeoutSec is ignored for ForcedOffline: {member} goes out of service at once.");
                }
                var (action, body) = NetScalerStates.StateChange(member.Pool, server, member.Port, update.State.Value, update.DrainTimeoutSec);
                string json = JsonSerializer.Serialize(new Dictionary<string, object> { ["servicegroup"] = body });
                await SendAsync(HttpMethod.Post, "servicegroup?action=" + action, json, RequestKind.IdempotentWrite, log, cancellationToken).ConfigureAwait(false);
                log.Verbose(body.TryGetValue("delay", out var delay)
                    ? $"{member}: {action} sent (graceful {body["graceful"]}, delay {delay} s)."
                    : body.TryGetValue("graceful", out var graceful) ? $"{member}: {action} sent (graceful {graceful}, no delay)." : $"{member}: {action} sent.");
            }

            // NITRO answers with a status only; read the member back so State shows what the appliance did (Draining or already Disabled).
            var filter = "?filter=servername:" + Uri.EscapeDataString(server) + ",port:" + member.Port.ToString(CultureInfo.InvariantCulture);
            var readBack = await SendAsync(HttpMethod.Get, BindingPath(member.Pool) + filter, null, RequestKind.Read, log, cancellationToken).ConfigureAwait(false);
            var now = Items(readBack, Binding).Select(b => ToMember(member.Pool, b)).FirstOrDefault(m => m.Matches(member.Address, member.Port));
            if (now != null) return now;
            return new LbPoolMember
            {
                Provider = ProviderName, Pool = member.Pool, Address = member.Address, Port = member.Port, Name = member.Name,
                State = update.State ?? member.State, Health = member.Health, HealthReason = member.HealthReason,
                Weight = update.Weight ?? member.Weight, VendorId = member.VendorId, MemberId = member.MemberId, Raw = member.Raw,
            };
        }

        public void Dispose() { }

        // ---- session ----

        private async Task<string> LoginAsync(ILbLog log, CancellationToken cancellationToken)
        {
            var credential = _settings.Credential;
            if (credential == null || string.IsNullOrEmpty(credential.UserName))
            {
                throw new LbException(LbErrorKind.AuthenticationFailed,
                    "NetScaler needs a user name and password: pass -Credential or -SecretName, or set LBTOOLS_NETSCALER_USERNAME and LBTOOLS_NETSCALER_PASSWORD.") { ErrorId = ErrorIds.AuthenticationFailed };
            }
            string json = JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["login"] = new Dictionary<string, object> { ["username"] = credential.UserName, ["password"] = credential.Password, ["timeout"] = SessionTimeoutSec },
            });
            // A login creates a server-side session: repeat it only when the appliance certainly did not act.
            var response = await _plain.SendRawAsync(HttpMethod.Post, "login", json, RequestKind.NonIdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            if (NetScalerErrors.IsFailure(response)) throw NetScalerErrors.Map(response);
            string? session = response.Json().Str("sessionid");
            if (string.IsNullOrEmpty(session))
            {
                throw new LbException(LbErrorKind.MalformedResponse, $"{response.Request} succeeded but returned no sessionid; is this a NetScaler NITRO endpoint?", statusCode: response.Status);
            }
            log.Verbose($"Logged in to NetScaler as '{credential.UserName}' (session idle timeout {SessionTimeoutSec} s).");
            return session!;
        }

        private async Task LogoutAsync(string session, ILbLog log, CancellationToken cancellationToken)
        {
            var response = await _plain.SendRawAsync(HttpMethod.Post, "logout", "{\"logout\":{}}", RequestKind.IdempotentWrite, log, cancellationToken,
                r => ApplyCookie(r, session)).ConfigureAwait(false);
            if (NetScalerErrors.IsSessionExpired(response))
            {
                log.Verbose("The NetScaler session had already ended; nothing to log out.");
                return;
            }
            if (NetScalerErrors.IsFailure(response)) throw NetScalerErrors.Map(response);
            log.Verbose("Logged out of NetScaler.");
        }

        private static void ApplyCookie(HttpRequestMessage request, string session) =>
            request.Headers.TryAddWithoutValidation("Cookie", "NITRO_AUTH_TOKEN=" + session);

        // ---- helpers ----

        /// <summary>Sends over the session and fails on an error body even under a 2xx status (207 bulk results).</summary>
        private async Task<JsonElement> SendAsync(HttpMethod method, string path, string? json, RequestKind kind, ILbLog log, CancellationToken cancellationToken)
        {
            var response = await _api.SendRawAsync(method, path, json, kind, log, cancellationToken).ConfigureAwait(false);
            if (NetScalerErrors.IsFailure(response)) throw NetScalerErrors.Map(response);
            var body = response.Json();
            if (body.ValueKind != JsonValueKind.Object && body.ValueKind != JsonValueKind.Undefined)
            {
                throw new LbException(LbErrorKind.MalformedResponse, $"NetScaler returned {body.ValueKind} for {response.Request} where a NITRO object was expected.", statusCode: response.Status);
            }
            return body;
        }

        /// <summary>The records under <paramref name="key"/>; NITRO leaves the key out when there are none.</summary>
        private static IReadOnlyList<JsonElement> Items(JsonElement body, string key)
        {
            var items = body.Prop(key);
            if (items == null || items.Value.ValueKind == JsonValueKind.Null) return Array.Empty<JsonElement>();
            if (items.Value.ValueKind == JsonValueKind.Array) return items.Value.EnumerateArray().ToList();
            if (items.Value.ValueKind == JsonValueKind.Object) return new[] { items.Value };
            throw new LbException(LbErrorKind.MalformedResponse, $"NetScaler returned {items.Value.ValueKind} for '{key}' where a list was expected.");
        }

        private LbPoolMember ToMember(string pool, JsonElement b)
        {
            string? ip = b.Str("ip");
            string? server = b.Str("servername");
            // Domain-based members carry no IP (0.0.0.0): their server name is their address.
            string address = string.IsNullOrEmpty(ip) || ip == "0.0.0.0" || ip == "::" ? (server ?? "").ToLowerInvariant() : CanonicalIp(ip!);
            string? state = b.Str("state");
            string? svrstate = b.Str("svrstate");
            return new LbPoolMember
            {
                Provider = ProviderName,
                Pool = b.Str("servicegroupname") ?? pool,
                Address = address,
                Port = (int)(Number(b, "port") ?? 0),
                Name = server ?? address,
                State = NetScalerStates.State(state, svrstate),
                Health = NetScalerStates.Health(state, svrstate),
                HealthReason = svrstate,
                Weight = (int?)Number(b, "weight"),
                VendorId = server,
                // A binding is its server name and port.
                MemberId = (server ?? address) + ":" + ((int)(Number(b, "port") ?? 0)).ToString(CultureInfo.InvariantCulture),
                Raw = JsonRaw.ToObject(b),
            };
        }

        /// <summary>NITRO sends some numbers as strings ("weight":"1"); take either.</summary>
        private static long? Number(JsonElement e, string name)
        {
            var value = e.Prop(name);
            if (value == null) return null;
            if (value.Value.ValueKind == JsonValueKind.Number && value.Value.TryGetDouble(out double d)) return (long)d;
            if (value.Value.ValueKind == JsonValueKind.String && double.TryParse(value.Value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out d)) return (long)d;
            return null;
        }

        private static string CanonicalIp(string ip) =>
            IPAddress.TryParse(ip, out var parsed) ? parsed.ToString().ToLowerInvariant() : ip.ToLowerInvariant();

        private static string BindingPath(string pool) => Binding + "/" + Uri.EscapeDataString(pool);

        private static string ServerName(LbPoolMember member) =>
            string.IsNullOrEmpty(member.VendorId) ? member.Address : member.VendorId!;

        /// <summary>
        /// args=servername:…,port:… whenever the binding's server name is known (a member bound through a named
        /// server is unbound only by that name; citrix-adc-ansible does the same), else ip:…,port:…; values escaped.
        /// </summary>
        private static string MemberArgs(LbPoolMember member)
        {
            bool byName = !string.IsNullOrEmpty(member.VendorId) || !IPAddress.TryParse(member.Address, out _);
            string key = byName ? "servername" : "ip";
            string value = byName ? ServerName(member) : member.Address;
            return key + ":" + Uri.EscapeDataString(value) + ",port:" + member.Port.ToString(CultureInfo.InvariantCulture);
        }

        private static void RequireWeight(int weight)
        {
            if (weight < MinWeight || weight > MaxWeight)
            {
                throw new LbException(LbErrorKind.InvalidInput,
                    string.Format(CultureInfo.InvariantCulture, "Weight {0} is not valid for NetScaler: service-group members take {1} to {2}.", weight, MinWeight, MaxWeight))
                { ErrorId = ErrorIds.InvalidWeight };
            }
        }

        private static bool Is(string? value, string expected) => string.Equals(value, expected, StringComparison.OrdinalIgnoreCase);
    }
}
