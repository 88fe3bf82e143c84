using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
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
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancerTools.TestKit;

/// <summary>
/// An in-process F5 BIG-IP iControl REST API (LTM pools, members, nodes, stats, transactions, token
/// auth) on 127.0.0.1 with a random port, following shared/VENDOR-APIS.md, error bodies included.
/// Seed it with <see cref="AddUser"/>, <see cref="AddPool"/> and <see cref="AddMember"/>; drive it at
/// <see cref="BaseAddress"/>; inspect it with <see cref="GetMembers"/>, the token counters and
/// <see cref="Requests"/>; break it with <see cref="Faults"/>, <see cref="ExpireAllTokens"/>,
/// <see cref="ExpireTokensAfter"/>, <see cref="IssueTokens"/> (the per-user token cap) and
/// <see cref="BusyFor"/> ("active asynchronous task executing").
/// </summary>
/// <remarks>
/// Pipeline: request log → faults (as if in the network or a proxy in front) → the device (auth, then
/// the API). URIs are decoded from the raw request target one segment at a time, so a client that
/// sends a route domain's % unencoded addresses a different object, as on a real device.
/// </remarks>
public sealed class F5Emulator : IAsyncDisposable
{
    public const string TokenHeader = "X-F5-Auth-Token";
    public const string CoordinationHeader = "X-F5-REST-Coordination-Id";

    private readonly F5State _state;
    private readonly object _logGate = new();
    private readonly List<(string Method, string Path, int Status)> _log = new();
    private WebApplication? _app;
    private int _disposed;

    private F5Emulator(F5EmulatorOptions options)
    {
        Options = options;
        _state = new F5State(options);
        Faults = new FaultInjector(options.FaultSeed, FormatError);
        BaseAddress = new Uri("http://127.0.0.1/");
    }

    /// <summary>Starts the emulator on 127.0.0.1 with a free port; one local user admin/admin exists.</summary>
    public static async Task<F5Emulator> StartAsync(F5EmulatorOptions? options = null)
    {
        var emulator = new F5Emulator(options ?? new F5EmulatorOptions());
        emulator.AddUser("admin", "admin");
        var (app, port) = await LoopbackServer.StartAsync(app =>
        {
            app.Use(emulator.RecordAsync);
            app.UseFaults(emulator.Faults);
            app.Run(emulator.HandleAsync);
        }).ConfigureAwait(false);
        emulator.BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        emulator._app = app;
        return emulator;
    }

    public F5EmulatorOptions Options { get; }

    /// <summary>http://127.0.0.1:PORT/ (the API is under /mgmt/).</summary>
    public Uri BaseAddress { get; private set; }

    /// <summary>Faults in front of the device. Injected 503s carry "There is an active asynchronous task executing."</summary>
    public FaultInjector Faults { get; }

    // ---- users and tokens ----

    /// <summary>Adds or replaces a user. Remote users (LDAP, RADIUS...) may log in for a token but not use basic auth.</summary>
    public void AddUser(string name, string password, bool remote = false) => _state.AddUser(name, password, remote);

    /// <summary>Successful logins (tokens issued by POST /mgmt/shared/authn/login).</summary>
    public int LoginCount => _state.LoginCount;
    public int FailedLoginCount => _state.FailedLoginCount;
    /// <summary>Successful PATCHes of a token's timeout.</summary>
    public int TokenExtensionCount => _state.TokenExtensionCount;
    /// <summary>Tokens deleted (logouts).</summary>
    public int LogoutCount => _state.LogoutCount;
    /// <summary>Requests refused with 401 because their token was unknown, expired or deleted.</summary>
    public int RejectedTokenCount => _state.RejectedTokenCount;
    /// <summary>Requests accepted with basic authentication.</summary>
    public int BasicAuthCount => _state.BasicAuthCount;

    /// <summary>Tokens neither expired nor deleted, for one user or all.</summary>
    public int LiveTokenCount(string? user = null) => _state.LiveTokens(user);

    /// <summary>Live tokens with their current timeout, to check extensions.</summary>
    public IReadOnlyList<(string User, int TimeoutSeconds)> LiveTokens => _state.LiveTokenDetails();

    /// <summary>Every token value ever issued, live or not: for checking that none leaks into output.</summary>
    public IReadOnlyList<string> IssuedTokens => _state.IssuedTokens();

    /// <summary>Every token expires now: the next call with one gets 401.</summary>
    public void ExpireAllTokens() => _state.ExpireAllTokens();

    /// <summary>
    /// After this many more authenticated requests, every token expires (once). With
    /// <paramref name="atMethod"/>, the expiry waits for the next request of that method (e.g. POST), so
    /// exactly that request meets the 401.
    /// </summary>
    public void ExpireTokensAfter(int requests, string? atMethod = null) => _state.ExpireTokensAfter(requests, atMethod);

    /// <summary>Issues tokens to a user as other tools would, counting against the per-user cap.</summary>
    public void IssueTokens(string user, int count) => _state.IssueTokens(user, count);

    /// <summary>The next <paramref name="writes"/> LTM writes are refused with "There is an active asynchronous task executing."</summary>
    public void BusyFor(int writes, int status = 400) => _state.BusyFor(writes, status);

    public int CommittedTransactions => _state.CommittedTransactions;
    public int FailedTransactions => _state.FailedTransactions;

    // ---- seeding and inspection ----

    public void AddPartition(string name) => _state.Write(c => c.Partitions.Add(name));

    /// <summary>Adds a pool; with a monitor, enabled members read session "monitor-enabled".</summary>
    public void AddPool(string name, string partition = "Common", string? monitor = "/Common/http", string loadBalancingMode = "round-robin", string? subPath = null) =>
        _state.Write(c =>
        {
            c.Partitions.Add(partition);
            var pool = new F5Pool { Partition = partition, Name = name, SubPath = subPath, Monitor = monitor, LoadBalancingMode = loadBalancingMode };
            c.Pools[pool.FullPath] = pool;
        });

    /// <summary>Adds a node, as if created before (by name, possibly not the address).</summary>
    public void AddNode(string name, string address, string partition = "Common") =>
        _state.Write(c => c.Nodes["/" + partition + "/" + name] = new F5Node { Partition = partition, Name = name, Address = address });

    /// <summary>
    /// Adds a member as if configured before, creating its node when missing. <paramref name="nodeName"/>
    /// defaults to the address. Returns the member's name (10.0.0.1:80, 2001:db8::1.80).
    /// </summary>
    /// <summary>A device group that config-sync can target.</summary>
    public void AddDeviceGroup(string name) => _state.Write(_ => _state.DeviceGroups.Add(name));

    /// <summary>The device groups config-synced so far, in order.</summary>
    public IReadOnlyList<string> ConfigSyncs => _state.Read(_ => _state.ConfigSyncs.ToList());

    public bool HasNode(string node, string partition = "Common") => _state.Read(c => c.Nodes.ContainsKey("/" + partition + "/" + node));

    /// <summary>Disables (or enables) a node at node level, which takes every member on it out of rotation.</summary>
    public void SetNodeSession(string node, string session, string partition = "Common") =>
        _state.Write(c => c.Nodes["/" + partition + "/" + node].Session = session);

    public string AddMember(string pool, string address, int port, string? nodeName = null, string partition = "Common",
        string state = "user-up", string session = "user-enabled", int ratio = 1, string availability = "available", long connections = 0,
        bool ephemeral = false)
    {
        var node = nodeName ?? address;
        var separator = F5NameRules.CanonicalIp(node) is { } ip && ip.Split('%')[0].Contains(':') ? '.' : ':';
        var name = node + separator + port.ToString(CultureInfo.InvariantCulture);
        _state.Write(c =>
        {
            var p = Pool(c, pool);
            var nodePath = "/" + partition + "/" + node;
            if (!c.Nodes.ContainsKey(nodePath)) c.Nodes[nodePath] = new F5Node { Partition = partition, Name = node, Address = address };
            p.Members.Add(new F5Member
            {
                Partition = partition, Name = name, NodeName = node, Address = address, Port = port,
                AdminState = state, Session = session, Ratio = ratio, CurrentConnections = connections, Ephemeral = ephemeral,
            });
            SetHealth(p.Members[^1], availability, null, null);
        });
        return name;
    }

    /// <summary>Sets what the monitor says: available, offline or unknown, with a monitorStatus (up, down, checking...).</summary>
    public void SetMemberHealth(string pool, string memberName, string availability, string? monitorStatus = null, string? reason = null) =>
        _state.Write(c => SetHealth(Member(c, pool, memberName), availability, monitorStatus, reason));

    /// <summary>Sets serverside.curConns for a member.</summary>
    public void SetConnections(string pool, string memberName, long connections) =>
        _state.Write(c => Member(c, pool, memberName).CurrentConnections = connections);

    /// <summary>The members of a pool as the emulator holds them (state and session as written).</summary>
    public IReadOnlyList<F5MemberSnapshot> GetMembers(string pool) =>
        _state.Read(c => Pool(c, pool).Members.Select(m => new F5MemberSnapshot(
            m.Name, m.FullPath, m.Address, m.Port, m.NodeName, m.AdminState, m.Session, m.Ratio, m.Availability, m.CurrentConnections,
            m.PriorityGroup, m.ConnectionLimit, m.MonitorRule)).ToList());

    public IReadOnlyList<F5NodeSnapshot> GetNodes() =>
        _state.Read(c => c.Nodes.Values.Select(n => new F5NodeSnapshot(n.FullPath, n.Address)).OrderBy(n => n.FullPath, StringComparer.Ordinal).ToList());

    private static void SetHealth(F5Member m, string availability, string? monitorStatus, string? reason)
    {
        if (availability is not ("available" or "offline" or "unknown"))
            throw new ArgumentException($"Unknown availability '{availability}'; use available, offline or unknown.", nameof(availability));
        m.Availability = availability;
        m.MonitorStatus = monitorStatus ?? availability switch { "available" => "up", "offline" => "down", _ => "unchecked" };
        m.StatusReason = reason ?? availability switch
        {
            "available" => "Pool member is available",
            "offline" => "Pool member has been marked down by a monitor",
            _ => "Pool member does not have service checking enabled",
        };
    }

    private static F5Pool Pool(F5Config c, string pool)
    {
        var path = pool.StartsWith('/') ? pool : "/Common/" + pool;
        return c.Pools.TryGetValue(path, out var p) ? p : throw new ArgumentException($"No pool {path}.", nameof(pool));
    }

    private static F5Member Member(F5Config c, string pool, string memberName) =>
        Pool(c, pool).Members.FirstOrDefault(m => m.Name == memberName || m.FullPath == memberName)
        ?? throw new ArgumentException($"No member {memberName} in {pool}.", nameof(memberName));

    // ---- request log ----

    /// <summary>Every request in completion order: method, raw path with query, final status (0 when dropped).</summary>
    public IReadOnlyList<(string Method, string Path, int Status)> Requests
    {
        get
        {
            lock (_logGate) return _log.ToArray();
        }
    }

    /// <summary>Requests with this method whose raw path contains <paramref name="pathContains"/>.</summary>
    public int CountRequests(string method, string pathContains, int? status = null)
    {
        lock (_logGate)
            return _log.Count(r => string.Equals(r.Method, method, StringComparison.OrdinalIgnoreCase)
                                   && r.Path.Contains(pathContains, StringComparison.Ordinal) && (status is null || r.Status == status));
    }

    public void ClearRequests()
    {
        lock (_logGate) _log.Clear();
    }

    // ---- pipeline ----

    private async Task RecordAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            if (Options.RecordRequests)
            {
                var status = FaultInjector.GetInjectedFault(context) == FaultKind.DropConnection ? 0 : context.Response.StatusCode;
                var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
                lock (_logGate) _log.Add((context.Request.Method, raw, status));
            }
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "/";
        var q = raw.IndexOf('?');
        var rawPath = q >= 0 ? raw[..q] : raw;
        F5Result result;
        if (!TryDecodeSegments(rawPath, out var segments))
        {
            result = F5Result.Error(400, $"The request URI {rawPath} has an invalid percent-encoding.", 1);
        }
        else if (segments.Count == 0 || segments[0] != "mgmt")
        {
            result = F5Result.Error(404, $"URI path {rawPath} not registered.", 1);
        }
        else
        {
            JsonNode? body = null;
            string text;
            using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8))
                text = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
            var bodyError = false;
            if (!string.IsNullOrWhiteSpace(text))
            {
                try { body = JsonNode.Parse(text); }
                catch (JsonException) { bodyError = true; }
            }
            if (bodyError)
            {
                result = F5Result.Error(400, "Unable to parse the request body as JSON.", 1);
            }
            else
            {
                var auth = context.Request.Headers.Authorization.ToString();
                var query = context.Request.Query.ToDictionary(kv => kv.Key, kv => kv.Value.ToString(), StringComparer.Ordinal);
                var request = new F5Request(
                    context.Request.Method.ToUpperInvariant(), segments.Skip(1).ToList(), query, body,
                    Header(context, TokenHeader),
                    auth.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) ? auth[6..].Trim() : null,
                    Header(context, CoordinationHeader),
                    rawPath);
                result = _state.Handle(request);
            }
        }
        context.Response.StatusCode = result.Status;
        if (result.Body is not null)
        {
            context.Response.ContentType = "application/json; charset=UTF-8";
            await context.Response.WriteAsync(result.Body.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static string? Header(HttpContext context, string name) =>
        context.Request.Headers.TryGetValue(name, out var v) && v.Count > 0 ? v.ToString() : null;

    /// <summary>Splits the raw path and decodes each segment; a % not followed by two hex digits is an error.</summary>
    private static bool TryDecodeSegments(string rawPath, out List<string> segments)
    {
        segments = new List<string>();
        foreach (var part in rawPath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            for (var i = part.IndexOf('%'); i >= 0; i = part.IndexOf('%', i + 1))
            {
                if (i + 2 >= part.Length || !Uri.IsHexDigit(part[i + 1]) || !Uri.IsHexDigit(part[i + 2])) return false;
            }
            segments.Add(Uri.UnescapeDataString(part));
        }
        return true;
    }

    /// <summary>Injected faults answer in iControl's error format.</summary>
    private static (string contentType, string body) FormatError(int status, string text, string code)
    {
        var message = status switch
        {
            503 => "There is an active asynchronous task executing.",
            401 => "Authentication required!",
            _ => text,
        };
        return ("application/json; charset=UTF-8", F5Result.Error(status, message, status == 503 ? 32 : 1).Body!.ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || _app is null) return;
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            await _app.StopAsync(cts.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
