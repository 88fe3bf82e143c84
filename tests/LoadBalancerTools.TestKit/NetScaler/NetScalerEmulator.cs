using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancerTools.TestKit;

/// <summary>
/// An in-process NetScaler ADC NITRO API (v1 config: login/logout, service groups and their member
/// bindings) on 127.0.0.1 with a random port, following shared/VENDOR-APIS.md, error bodies included.
/// Sessions time out on the emulator's clock and can be expired on demand; graceful disables with a delay
/// report GOING OUT OF SERVICE until the delay passes on that clock or <see cref="CompleteGracefulDisables"/>.
/// </summary>
/// <remarks>
/// Pipeline: request log → faults (as if in the network) → NITRO (authentication, then the resource).
/// Unverified details, chosen defensively: a request with no session at all gets 401 errorcode 1026
/// ("Not logged in"); weight comes back as a string, as NITRO renders unsigned numbers.
/// </remarks>
public sealed class NetScalerEmulator : IAsyncDisposable
{
    private const string Prefix = "/nitro/v1/config/";
    private const string StatPrefix = "/nitro/v1/stat/";
    private const string Binding = "servicegroup_servicegroupmember_binding";
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    private readonly NetScalerState _state;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private readonly Dictionary<string, string> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly List<NetScalerRequest> _log = new();
    private int _expireCountdown = -1;
    private int _logins;
    private int _logouts;
    private int _expired;
    private WebApplication? _app;
    private int _disposed;

    private sealed class Session(string user, int timeoutSec, DateTimeOffset lastUsed)
    {
        public string User { get; } = user;
        public int TimeoutSec { get; } = timeoutSec;
        public DateTimeOffset LastUsed { get; set; } = lastUsed;
    }

    private NetScalerEmulator(NetScalerEmulatorOptions options)
    {
        Options = options;
        _time = options.TimeProvider;
        _state = new NetScalerState(_time);
        _users[options.UserName] = options.Password;
        SessionExpiredCode = options.SessionExpiredCode;
        Faults = new FaultInjector(options.FaultSeed, FormatFault);
        BaseAddress = new Uri("http://127.0.0.1/");
    }

    /// <summary>Starts the emulator on 127.0.0.1 with a free port.</summary>
    public static async Task<NetScalerEmulator> StartAsync(NetScalerEmulatorOptions? options = null)
    {
        var emulator = new NetScalerEmulator(options ?? new NetScalerEmulatorOptions());
        var (app, port) = await LoopbackServer.StartAsync(app =>
        {
            app.Use(emulator.RecordAsync);
            app.UseFaults(emulator.Faults);
            app.Map("/nitro/v1/{**rest}", (RequestDelegate)emulator.HandleAsync);
        }).ConfigureAwait(false);
        emulator.BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        emulator._app = app;
        return emulator;
    }

    public NetScalerEmulatorOptions Options { get; }

    /// <summary>http://127.0.0.1:PORT/ (what a user gives Connect-LbController -Endpoint).</summary>
    public Uri BaseAddress { get; private set; }

    /// <summary>http://127.0.0.1:PORT/nitro/v1/config/</summary>
    public Uri ConfigBase => new(BaseAddress, "nitro/v1/config/");

    /// <summary>Faults in front of the API; 401/429/503 answers carry NITRO error bodies (401 is errorcode 444, a killed session).</summary>
    public FaultInjector Faults { get; }

    /// <summary>Errorcode of a rejected session: 444 or 1027.</summary>
    public int SessionExpiredCode { get; set; }

    /// <summary>
    /// Called with each request before faults and processing: lets a test act as another client at an exact
    /// moment (bind the member a client is about to bind, say).
    /// </summary>
    public Action<HttpRequest>? BeforeRequest { get; set; }

    // ---- seeding and inspection ----

    public void AddUser(string user, string password)
    {
        lock (_gate) _users[user] = password;
    }

    public void AddServiceGroup(string name, string serviceType = "HTTP") => _state.AddGroup(name, serviceType);

    /// <summary>A server entity; a host name makes it domain-based (its members carry IP 0.0.0.0).</summary>
    public void AddServer(string name, string ipOrDomain) => _state.AddServer(name, ipOrDomain);

    /// <summary>Binds a member as if from the saved configuration: by IP, or by the name of an existing server.</summary>
    public void AddMember(string serviceGroup, string ipOrServer, int port, int weight = 1, bool disabled = false) =>
        _state.SeedMember(serviceGroup, ipOrServer, port, weight, disabled);

    /// <summary>Sets the monitor's verdict on a member (UP, DOWN, BUSY, UNKNOWN); shown while it is enabled or going out of service.</summary>
    public void SetMemberHealth(string serviceGroup, string ipOrServer, int port, string health) => _state.SetHealth(serviceGroup, ipOrServer, port, health);

    public IReadOnlyList<NetScalerMemberSnapshot> GetMembers(string serviceGroup) => _state.Snapshot(serviceGroup);

    /// <summary>Sets a member's open client connections, as stat/servicegroupmember reports them.</summary>
    public void SetConnections(string serviceGroup, string ipOrServer, int port, int connections) => _state.SetConnections(serviceGroup, ipOrServer, port, connections);

    /// <summary>Ends every graceful disable under way, as if the delays had passed; returns how many.</summary>
    public int CompleteGracefulDisables() => _state.CompleteGracefulDisables();

    // ---- sessions ----

    /// <summary>Successful logins so far.</summary>
    public int LoginCount => Volatile.Read(ref _logins);

    /// <summary>Successful logouts so far.</summary>
    public int LogoutCount => Volatile.Read(ref _logouts);

    /// <summary>Sessions killed by <see cref="ExpireAllSessions"/>, the request countdown or the idle timeout.</summary>
    public int ExpiredCount => Volatile.Read(ref _expired);

    /// <summary>Sessions that are logged in and not yet idle past their timeout.</summary>
    public int LiveSessionCount
    {
        get
        {
            lock (_gate)
            {
                var now = _time.GetUtcNow();
                return _sessions.Values.Count(s => !IdleExpired(s, now));
            }
        }
    }

    /// <summary>Kills every session now; their next request gets 401 with <see cref="SessionExpiredCode"/>.</summary>
    public void ExpireAllSessions()
    {
        lock (_gate)
        {
            _expired += _sessions.Count;
            _sessions.Clear();
        }
    }

    /// <summary>After <paramref name="requests"/> more requests authenticated by session, kills every session (once).</summary>
    public void ExpireSessionsAfter(int requests)
    {
        if (requests < 0) throw new ArgumentOutOfRangeException(nameof(requests));
        lock (_gate) _expireCountdown = requests;
    }

    // ---- request log ----

    /// <summary>Every request, in completion order: method, path with query, final status, body (never a login body).</summary>
    public IReadOnlyList<NetScalerRequest> Requests
    {
        get
        {
            lock (_gate) return _log.ToArray();
        }
    }

    /// <summary>Requests with this method whose path (with query) contains <paramref name="pathContains"/>, optionally with one status.</summary>
    public int CountRequests(string method, string pathContains, int? status = null) =>
        Requests.Count(r => string.Equals(r.Method, method, StringComparison.OrdinalIgnoreCase)
                            && r.Path.Contains(pathContains, StringComparison.Ordinal) && (status == null || r.Status == status));

    private int _saves;

    /// <summary>How many times the running configuration was saved (nsconfig?action=save).</summary>
    public int SaveCount => Volatile.Read(ref _saves);

    public void ClearRequests()
    {
        lock (_gate) _log.Clear();
    }

    // ---- pipeline ----

    private async Task RecordAsync(HttpContext context, RequestDelegate next)
    {
        string? body = null;
        var request = context.Request;
        bool isLogin = request.Path.Value?.EndsWith("/login", StringComparison.OrdinalIgnoreCase) == true;
        if (!isLogin && (HttpMethods.IsPost(request.Method) || HttpMethods.IsPut(request.Method)))
        {
            request.EnableBuffering();
            using (var reader = new StreamReader(request.Body, Encoding.UTF8, false, 4096, leaveOpen: true))
                body = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
            request.Body.Position = 0;
        }
        try
        {
            BeforeRequest?.Invoke(request);
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            var status = FaultInjector.GetInjectedFault(context) == FaultKind.DropConnection ? 0 : context.Response.StatusCode;
            var entry = new NetScalerRequest(request.Method, request.Path.Value + request.QueryString.Value, status, body);
            lock (_gate) _log.Add(entry);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        NsResult result;
        string path = context.Request.Path.Value ?? "";
        if (path.StartsWith(StatPrefix + "servicegroupmember", StringComparison.OrdinalIgnoreCase))
        {
            result = Authenticate(context.Request) ?? _state.MemberStats(Pairs(context.Request.Query["args"]) ?? new Dictionary<string, string>());
        }
        else if (!path.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            result = NsResult.Error(404, NetScalerState.NoSuchResource, "Not found: only /nitro/v1/config/ is emulated");
        }
        else
        {
            var segments = path.Substring(Prefix.Length).Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
            var body = await ReadBodyAsync(context.Request).ConfigureAwait(false);
            result = Dispatch(context, segments, body);
        }
        context.Response.StatusCode = result.Status;
        context.Response.ContentType = "application/json; charset=utf-8";
        var bytes = Encoding.UTF8.GetBytes(result.Body.ToJsonString(Compact));
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    private NsResult Dispatch(HttpContext context, string[] segments, (JsonNode? Node, bool Valid) body)
    {
        var request = context.Request;
        string method = request.Method;
        string resource = segments.Length > 0 ? segments[0].ToLowerInvariant() : "";
        string? name = segments.Length > 1 ? segments[1] : null;

        if (resource == "login")
            return HttpMethods.IsPost(method) ? Login(context, body) : MethodNotAllowed();

        var auth = Authenticate(request);
        if (auth is { } rejected) return rejected;

        if (!body.Valid) return NsResult.Error(400, NetScalerState.InvalidArgument, "Invalid argument: the request body is not JSON");
        var query = request.Query;
        switch (resource)
        {
            case "logout":
                if (!HttpMethods.IsPost(method)) return MethodNotAllowed();
                return Logout(request);

            case "nsconfig":
                // POST nsconfig?action=save writes the running configuration to ns.conf; without it changes are
                // lost at the next reboot (citrix-adc-ansible save_config, default true).
                if (!HttpMethods.IsPost(method) || query["action"].ToString() != "save") return MethodNotAllowed();
                Interlocked.Increment(ref _saves);
                return NsResult.Done();

            case "servicegroup":
                if (HttpMethods.IsGet(method)) return _state.ListGroups(name);
                var group = Object(body.Node, "servicegroup");
                if (group == null) return NsResult.Error(400, NetScalerState.RequiredArgumentMissing, "Required argument missing [servicegroup]");
                if (HttpMethods.IsPost(method))
                {
                    string action = query["action"].ToString().ToLowerInvariant();
                    if (action == "enable") return _state.EnableDisable(group, enable: true);
                    if (action == "disable") return _state.EnableDisable(group, enable: false);
                    return NsResult.Error(501, NetScalerState.InvalidArgument, "Only ?action=enable and ?action=disable are emulated on servicegroup");
                }
                if (HttpMethods.IsPut(method)) return _state.Update(group);
                return MethodNotAllowed();

            case Binding:
                if (HttpMethods.IsGet(method))
                {
                    if (name == null && !string.Equals(query["bulkbindings"], "yes", StringComparison.OrdinalIgnoreCase))
                        return NsResult.Error(400, NetScalerState.RequiredArgumentMissing, "Required argument missing [servicegroupname]");
                    return _state.ListBindings(name, Pairs(query["filter"]));
                }
                if (HttpMethods.IsPost(method) || HttpMethods.IsPut(method)) return BindAll(request, body.Node);
                if (HttpMethods.IsDelete(method))
                {
                    if (name == null) return NsResult.Error(400, NetScalerState.RequiredArgumentMissing, "Required argument missing [servicegroupname]");
                    return _state.Unbind(name, Pairs(query["args"]) ?? new Dictionary<string, string>());
                }
                return MethodNotAllowed();

            default:
                return NsResult.Error(501, NetScalerState.InvalidArgument, $"Resource '{resource}' is not emulated");
        }
    }

    /// <summary>One binding, or an array of them (bulk): a partial failure is 207 with errorcode 1243 and one result per operation.</summary>
    private NsResult BindAll(HttpRequest request, JsonNode? body)
    {
        var node = body is JsonObject o ? o[Binding] : null;
        if (node is JsonObject one) return _state.Bind(one);
        if (node is not JsonArray many) return NsResult.Error(400, NetScalerState.RequiredArgumentMissing, $"Required argument missing [{Binding}]");

        bool stopOnError = !string.Equals(request.Headers["X-NITRO-ONERROR"], "continue", StringComparison.OrdinalIgnoreCase);
        var results = new JsonArray();
        bool failed = false;
        foreach (var item in many)
        {
            var r = item is JsonObject b ? _state.Bind(b) : NsResult.Error(400, NetScalerState.InvalidArgument, "Invalid argument");
            if (r.Code != 0)
            {
                failed = true;
                results.Add(NsResult.Envelope(r.Code, r.Body["message"]!.GetValue<string>(), "ERROR"));
                if (stopOnError) break;
            }
            else
            {
                results.Add(NsResult.Envelope(0, "Done", "NONE"));
            }
        }
        if (!failed) return NsResult.Done(201);
        var bulk = NsResult.Envelope(NetScalerState.BulkOperationFailed, "Bulk operation failed", "ERROR");
        bulk["response"] = results;
        return new NsResult(207, bulk);
    }

    private NsResult Login(HttpContext context, (JsonNode? Node, bool Valid) body)
    {
        var login = Object(body.Node, "login");
        if (!body.Valid || login == null) return NsResult.Error(400, NetScalerState.RequiredArgumentMissing, "Required argument missing [login]");
        string? user = NetScalerState.Str(login, "username");
        string? password = NetScalerState.Str(login, "password");
        if (user == null || password == null) return NsResult.Error(400, NetScalerState.RequiredArgumentMissing, "Required argument missing [username, password]");
        int timeout = NetScalerState.Int(login, "timeout") ?? Options.DefaultSessionTimeoutSec;
        if (!Accepts(user, password)) return NsResult.Error(401, 354, "Invalid username or password");

        string id = "##" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        lock (_gate)
        {
            _sessions[id] = new Session(user, timeout, _time.GetUtcNow());
            _logins++;
        }
        context.Response.Headers.SetCookie = $"NITRO_AUTH_TOKEN={id}; path=/nitro/v1";
        var done = NsResult.Envelope(0, "Done", "NONE");
        done["sessionid"] = id;
        return new NsResult(201, done);
    }

    private NsResult Logout(HttpRequest request)
    {
        string? token = Token(request);
        lock (_gate)
        {
            if (token != null && _sessions.Remove(token)) _logouts++;
        }
        return NsResult.Done(201);
    }

    /// <summary>null when the request may go on; the 401 otherwise. Per-call X-NITRO-USER/X-NITRO-PASS needs no session.</summary>
    private NsResult? Authenticate(HttpRequest request)
    {
        string? user = request.Headers["X-NITRO-USER"];
        string? pass = request.Headers["X-NITRO-PASS"];
        if (!string.IsNullOrEmpty(user))
            return pass != null && Accepts(user, pass) ? null : NsResult.Error(401, 354, "Invalid username or password");

        string? token = Token(request);
        if (token == null) return NsResult.Error(401, 1026, "Not logged in");
        lock (_gate)
        {
            if (_expireCountdown == 0)
            {
                _expired += _sessions.Count;
                _sessions.Clear();
                _expireCountdown = -1;
            }
            var now = _time.GetUtcNow();
            if (_sessions.TryGetValue(token, out var session) && IdleExpired(session, now))
            {
                _sessions.Remove(token);
                _expired++;
                session = null;
            }
            if (session == null) return Expired();
            session.LastUsed = now;
            if (_expireCountdown > 0) _expireCountdown--;
            return null;
        }
    }

    private NsResult Expired() => SessionExpiredCode == 1027
        ? NsResult.Error(401, 1027, "Not logged in or connection timed out")
        : NsResult.Error(401, 444, "Session expired or killed. Please login again");

    private bool Accepts(string user, string password)
    {
        lock (_gate)
        {
            return _users.TryGetValue(user, out var expected)
                   && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(password));
        }
    }

    private static bool IdleExpired(Session s, DateTimeOffset now) => s.TimeoutSec > 0 && now - s.LastUsed > TimeSpan.FromSeconds(s.TimeoutSec);

    private static string? Token(HttpRequest request) =>
        request.Cookies.TryGetValue("NITRO_AUTH_TOKEN", out var token) && !string.IsNullOrEmpty(token) ? token : null;

    private static NsResult MethodNotAllowed() => NsResult.Error(405, NetScalerState.InvalidArgument, "Method not allowed on this resource");

    private static JsonObject? Object(JsonNode? body, string key) => body is JsonObject o && o[key] is JsonObject inner ? inner : null;

    /// <summary>"k:v,k2:v2" (args= and filter=); values may be percent-encoded (IPv6 colons). A key never holds a colon.</summary>
    private static Dictionary<string, string>? Pairs(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        var pairs = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = part.IndexOf(':');
            if (colon <= 0) continue;
            pairs[part.Substring(0, colon).Trim()] = Uri.UnescapeDataString(part.Substring(colon + 1));
        }
        return pairs;
    }

    private static async Task<(JsonNode? Node, bool Valid)> ReadBodyAsync(HttpRequest request)
    {
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsDelete(request.Method)) return (null, true);
        string text;
        using (var reader = new StreamReader(request.Body, Encoding.UTF8))
            text = await reader.ReadToEndAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text)) return (null, true);
        try
        {
            return (JsonNode.Parse(text), true);
        }
        catch (JsonException)
        {
            return (null, false);
        }
    }

    /// <summary>
    /// Bodies of injected faults. 401 is a killed session (errorcode 444) and 429 the appliance's connection
    /// limit (446), both NITRO bodies; anything else (503) is the plain page of the web server or proxy in
    /// front of the API, so clients meet a non-JSON error body too.
    /// </summary>
    private static (string contentType, string body) FormatFault(int status, string text, string code) => status switch
    {
        401 => ("application/json; charset=utf-8", NsResult.Envelope(444, "Session expired or killed. Please login again", "ERROR").ToJsonString()),
        429 => ("application/json; charset=utf-8", NsResult.Envelope(446, "Connection limit to CFE exceeded", "ERROR").ToJsonString()),
        _ => ("text/html", $"<html><head><title>{status} {text}</title></head><body><h1>{status} {text}</h1></body></html>"),
    };

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || _app is null) return;
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            await _app.StopAsync(cts.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
