using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
using System.Text;
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
/// An in-process NGINX Plus API (upstreams and their servers, http and stream) on 127.0.0.1 with a random
/// port, following the vendor facts in shared/VENDOR-APIS.md, error bodies included. Seed it with
/// <see cref="AddUpstream"/>/<see cref="AddServer"/>, drive it over HTTP at <see cref="ApiBase"/>, inspect it
/// with <see cref="GetServers"/> and <see cref="Requests"/>, and break it with <see cref="Faults"/>.
/// </summary>
/// <remarks>
/// Pipeline: request log → faults (as if in the network or a proxy) → basic auth (as nginx's auth_basic in
/// front of the API location) → API. So a fault answer is logged, and an injected fault skips auth.
/// </remarks>
public sealed class NginxPlusEmulator : IAsyncDisposable
{
    private static readonly string[] PeerStates = { "up", "draining", "down", "unavail", "checking", "unhealthy" };

    private readonly NginxPlusState _state;
    private readonly NginxPlusApi _api;
    private readonly object _logGate = new();
    private readonly List<(string Method, string Path, int Status)> _log = new();
    private readonly string _serverHeader;
    private WebApplication? _app;
    private volatile BasicCredentials? _credentials;
    private int _disposed;

    private NginxPlusEmulator(NginxPlusEmulatorOptions options)
    {
        Options = options;
        _state = new NginxPlusState(options.WriteEnabled, options.DuplicatePolicy);
        _api = new NginxPlusApi(_state, options);
        _serverHeader = "nginx/" + options.NginxVersion;
        Faults = new FaultInjector(options.FaultSeed, FormatError);
        BaseAddress = ApiBase = new Uri("http://127.0.0.1/");
    }

    /// <summary>Starts the emulator on 127.0.0.1 with a free port.</summary>
    public static async Task<NginxPlusEmulator> StartAsync(NginxPlusEmulatorOptions? options = null)
    {
        options ??= new NginxPlusEmulatorOptions();
        if (options.SupportedVersions is null || options.SupportedVersions.Count == 0)
            throw new ArgumentException("At least one API version must be supported.", nameof(options));

        var emulator = new NginxPlusEmulator(options);
        var (app, port) = await LoopbackServer.StartAsync(app =>
        {
            app.Use(emulator.RecordAsync);
            app.UseFaults(emulator.Faults);
            app.Use(emulator.AuthenticateAsync);
            app.Map("/api/{**rest}", (RequestDelegate)emulator._api.HandleAsync);
        }, listen =>
        {
            if (options.Https) listen.UseHttps(SelfSignedCertificate.Create("127.0.0.1"));
        }).ConfigureAwait(false);
        string scheme = options.Https ? "https" : "http";
        emulator.BaseAddress = new Uri($"{scheme}://127.0.0.1:{port}/");
        emulator.ApiBase = new Uri($"{scheme}://127.0.0.1:{port}/api");
        emulator._app = app;
        return emulator;
    }

    /// <summary>The options the emulator was started with.</summary>
    public NginxPlusEmulatorOptions Options { get; }

    /// <summary>http://127.0.0.1:PORT/</summary>
    public Uri BaseAddress { get; private set; }

    /// <summary>http://127.0.0.1:PORT/api (no trailing slash; append "/9/http/upstreams" and so on).</summary>
    public Uri ApiBase { get; private set; }

    /// <summary>Fault injection in front of the API; its 401/429/503 bodies use the nginx error format.</summary>
    public FaultInjector Faults { get; }

    /// <summary><c>api write=on</c>. When false every POST, PATCH and DELETE gets 405 MethodDisabled.</summary>
    public bool WriteEnabled { get => _state.WriteEnabled; set => _state.WriteEnabled = value; }

    /// <summary>What a POST of an address already in the upstream does.</summary>
    public NginxDuplicatePolicy DuplicatePolicy { get => _state.DuplicatePolicy; set => _state.DuplicatePolicy = value; }

    /// <summary>
    /// While a server has drain=true, each GET that returns its peer lowers its <c>active</c> by this many
    /// (never below 0), after rendering. 0 (default) leaves active connections alone.
    /// </summary>
    public int DrainConnectionsPerRead { get => _state.DrainConnectionsPerRead; set => _state.DrainConnectionsPerRead = value; }

    // ---- seeding and inspection ----

    /// <summary>Declares an upstream. Without a zone it is static: hidden from the lists, 400 UpstreamStatic when addressed.</summary>
    public void AddUpstream(string name, bool zone = true, bool stream = false) => _state.AddUpstream(name, zone, stream);

    /// <summary>Adds a server as if from the configuration file and returns its id. The address is normalised like a POST ("10.0.0.1" → "10.0.0.1:80").</summary>
    public int AddServer(string upstream, string server, int weight = 1, bool down = false, bool drain = false, bool backup = false, bool stream = false) =>
        _state.AddServer(upstream, server, weight, down, drain, backup, stream);

    /// <summary>Snapshot of an upstream's servers, in id order of creation.</summary>
    /// <summary>A server nginx created by resolving <paramref name="host"/> (it lists "parent" and "host"; PATCH and DELETE are refused).</summary>
    public int AddResolvedServer(string upstream, int parentId, string host, string address) => _state.AddResolvedServer(upstream, parentId, host, address);

    public IReadOnlyList<NginxPlusServerSnapshot> GetServers(string upstream, bool stream = false) => _state.GetServers(upstream, stream);

    /// <summary>
    /// Sets the peer state of every server with this address. "down" sets down=true and "draining" sets
    /// drain=true (the API then reports those, as the flags win); up, unavail, checking and unhealthy set the
    /// health state reported while neither flag is set, with matching health-check counters.
    /// </summary>
    public void SetPeerState(string upstream, string server, string state, bool stream = false) =>
        _state.Update(upstream, stream, NginxPlusState.ByAddress(server, stream), ApplyPeerState(state), $"'{server}'");

    /// <summary>As <see cref="SetPeerState(string, string, string, bool)"/>, for the server with this id.</summary>
    public void SetPeerState(string upstream, int id, string state, bool stream = false) =>
        _state.Update(upstream, stream, s => s.Id == id, ApplyPeerState(state), $"with id {id}");

    /// <summary>Sets the active connections reported on every peer with this address.</summary>
    public void SetActiveConnections(string upstream, string server, int active, bool stream = false) =>
        _state.Update(upstream, stream, NginxPlusState.ByAddress(server, stream), SetActive(active), $"'{server}'");

    /// <summary>Sets the active connections reported on the peer with this id.</summary>
    public void SetActiveConnections(string upstream, int id, int active, bool stream = false) =>
        _state.Update(upstream, stream, s => s.Id == id, SetActive(active), $"with id {id}");

    private static Action<NginxServer> ApplyPeerState(string state)
    {
        if (Array.IndexOf(PeerStates, state) < 0)
            throw new ArgumentException($"Unknown peer state '{state}'; use one of {string.Join(", ", PeerStates)}.", nameof(state));
        return s =>
        {
            var now = DateTimeOffset.UtcNow;
            switch (state)
            {
                case "down":
                    s.Down = true;
                    s.DownStart = now;
                    break;
                case "draining":
                    s.Drain = true;
                    break;
                case "up":
                    if (s.Health is "unhealthy" or "checking")
                    {
                        s.Checks++;
                        s.LastPassed = true;
                    }
                    s.Health = "up";
                    s.DownStart = null;
                    break;
                case "unavail":
                    s.Health = "unavail";
                    s.Fails += Math.Max(1, s.MaxFails);
                    s.Unavail++;
                    s.DownStart = now;
                    break;
                case "checking":
                    s.Health = "checking";
                    s.LastPassed = null;
                    s.DownStart = now;
                    break;
                case "unhealthy":
                    s.Health = "unhealthy";
                    s.Checks++;
                    s.CheckFails++;
                    s.Unhealthy++;
                    s.LastPassed = false;
                    s.DownStart = now;
                    break;
            }
        };
    }

    private static Action<NginxServer> SetActive(int active)
    {
        if (active < 0) throw new ArgumentOutOfRangeException(nameof(active), active, "Must not be negative.");
        return s => s.Active = active;
    }

    // ---- auth ----

    /// <summary>Puts HTTP basic auth in front of the API: 401 with WWW-Authenticate: Basic when missing or wrong.</summary>
    public void RequireBasicAuth(string user, string password, string realm = "NGINX Plus API")
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(password);
        _credentials = new BasicCredentials(Encoding.UTF8.GetBytes(user + ":" + password), realm);
        Faults.UnauthorizedChallenge = $"Basic realm=\"{realm}\"";
    }

    /// <summary>Removes the basic-auth requirement.</summary>
    public void DisableBasicAuth()
    {
        _credentials = null;
        Faults.UnauthorizedChallenge = null;
    }

    // ---- request log ----

    /// <summary>
    /// Every request seen, in completion order: method, path with query, and final status. Status 0 means
    /// the connection was dropped before processing; a DropAfterProcessing request keeps the status its
    /// handler produced, because the change was applied.
    /// </summary>
    public IReadOnlyList<(string Method, string Path, int Status)> Requests
    {
        get
        {
            lock (_logGate) return _log.ToArray();
        }
    }

    /// <summary>Requests with this method whose path (with query) contains <paramref name="pathContains"/>.</summary>
    public int CountRequests(string method, string pathContains) => CountRequests(method, pathContains, status: null);

    /// <summary>As above, restricted to one final status (e.g. 201 for POSTs that created a server).</summary>
    public int CountRequests(string method, string pathContains, int? status)
    {
        var count = 0;
        lock (_logGate)
        {
            foreach (var (m, p, s) in _log)
                if (string.Equals(m, method, StringComparison.OrdinalIgnoreCase)
                    && p.Contains(pathContains, StringComparison.Ordinal)
                    && (status is null || s == status))
                    count++;
        }
        return count;
    }

    /// <summary>Empties the request log.</summary>
    public void ClearRequests()
    {
        lock (_logGate) _log.Clear();
    }

    // ---- pipeline ----

    private async Task RecordAsync(HttpContext context, RequestDelegate next)
    {
        context.Response.Headers.Server = _serverHeader;
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            if (Options.RecordRequests)
            {
                var status = FaultInjector.GetInjectedFault(context) == FaultKind.DropConnection ? 0 : context.Response.StatusCode;
                var entry = (context.Request.Method, context.Request.Path.Value + context.Request.QueryString.Value, status);
                lock (_logGate) _log.Add(entry);
            }
        }
    }

    private Task AuthenticateAsync(HttpContext context, RequestDelegate next)
    {
        var credentials = _credentials;
        if (credentials is null || credentials.Accepts(context.Request.Headers.Authorization.ToString()))
            return next(context);

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = $"Basic realm=\"{credentials.Realm}\"";
        var (contentType, body) = FormatError(401, "unauthorized", "Unauthorized");
        context.Response.ContentType = contentType;
        return context.Response.WriteAsync(body, context.RequestAborted);
    }

    // nginx's auth_basic answers with its built-in HTML page, not an API error; the API's own errors are JSON.
    private const string UnauthorizedPage =
        "<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n" +
        "<center><h1>401 Authorization Required</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

    private static (string contentType, string body) FormatError(int status, string text, string code)
    {
        if (status == StatusCodes.Status401Unauthorized) return ("text/html", UnauthorizedPage);
        return ("application/json", Encoding.UTF8.GetString(NginxPlusState.RenderError(new NginxApiError(status, text, code))));
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || _app is null) return;
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            await _app.StopAsync(cts.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class BasicCredentials(byte[] expected, string realm)
    {
        public string Realm { get; } = realm;

        public bool Accepts(string header)
        {
            const string scheme = "Basic ";
            if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
            byte[] decoded;
            try
            {
                decoded = Convert.FromBase64String(header.Substring(scheme.Length).Trim());
            }
            catch (FormatException)
            {
                return false;
            }
            return CryptographicOperations.FixedTimeEquals(decoded, expected);
        }
    }
}
