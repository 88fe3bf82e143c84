using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LoadBalancerTools.TestKit;

/// <summary>What one API call produced: a JSON body with a status, or an nginx error.</summary>
internal readonly struct NginxResponse
{
    private NginxResponse(int status, byte[]? json, NginxApiError? error)
    {
        Status = status;
        Json = json;
        Error = error;
    }

    public int Status { get; }
    public byte[]? Json { get; }
    public NginxApiError? Error { get; }

    public static NginxResponse Ok(byte[] json, int status = 200) => new(status, json, null);
    public static NginxResponse NoContent() => new(204, null, null);
    public static NginxResponse Fail(NginxApiError error) => new(error.Status, null, error);
}

/// <summary>A parsed request body: a JSON element, or the fact that it was not JSON.</summary>
internal readonly record struct NginxBody(JsonElement Root, bool IsJson);

/// <summary>
/// The emulated nginx state. One lock guards everything: critical sections are short (a lookup and a
/// small JSON render), which keeps reads consistent with writes without any lock ordering to get wrong.
/// </summary>
internal sealed class NginxPlusState
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // nginx escapes quotes as \" and leaves other text alone; the default encoder would emit \u0022.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly object _gate = new();
    private readonly Dictionary<string, NginxUpstream> _http = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NginxUpstream> _stream = new(StringComparer.Ordinal);
    private readonly List<NginxUpstream> _httpOrder = new();
    private readonly List<NginxUpstream> _streamOrder = new();
    private volatile bool _writeEnabled;
    private volatile int _drainPerRead;
    private volatile NginxDuplicatePolicy _duplicatePolicy;

    public NginxPlusState(bool writeEnabled, NginxDuplicatePolicy duplicatePolicy)
    {
        _writeEnabled = writeEnabled;
        _duplicatePolicy = duplicatePolicy;
    }

    public bool WriteEnabled { get => _writeEnabled; set => _writeEnabled = value; }

    public NginxDuplicatePolicy DuplicatePolicy { get => _duplicatePolicy; set => _duplicatePolicy = value; }

    public int DrainConnectionsPerRead
    {
        get => _drainPerRead;
        set => _drainPerRead = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must not be negative.");
    }

    // ---- seeding and inspection (throw on misuse: these are test-author errors, not API errors) ----

    public void AddUpstream(string name, bool zone, bool stream)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        lock (_gate)
        {
            var map = stream ? _stream : _http;
            if (map.ContainsKey(name))
                throw new InvalidOperationException($"{(stream ? "Stream" : "HTTP")} upstream '{name}' already exists.");
            var upstream = new NginxUpstream(name, zone, stream);
            map.Add(name, upstream);
            (stream ? _streamOrder : _httpOrder).Add(upstream);
        }
    }

    public int AddServer(string upstream, string server, int weight, bool down, bool drain, bool backup, bool stream)
    {
        if (weight is < 1 or > 1000) throw new ArgumentOutOfRangeException(nameof(weight), weight, "nginx weights are 1..1000.");
        var address = NginxAddress.TryNormalize(server, stream, forService: false, out var error)
                      ?? throw new ArgumentException($"Invalid server address '{server}': {error}.", nameof(server));
        lock (_gate)
        {
            var u = Require(upstream, stream);
            var s = new NginxServer { Id = u.NextId++, Server = address, Weight = weight, Down = down, Drain = drain, Backup = backup };
            u.Servers.Add(s);
            return s.Id;
        }
    }

    /// <summary>A server created by DNS resolution of <paramref name="host"/> under the configured server <paramref name="parentId"/>.</summary>
    public int AddResolvedServer(string upstream, int parentId, string host, string address)
    {
        lock (_gate)
        {
            var u = Require(upstream, false);
            var s = new NginxServer { Id = u.NextId++, Server = address, Parent = parentId, Host = host };
            u.Servers.Add(s);
            return s.Id;
        }
    }

    public IReadOnlyList<NginxPlusServerSnapshot> GetServers(string upstream, bool stream)
    {
        lock (_gate)
        {
            var u = Require(upstream, stream);
            var result = new NginxPlusServerSnapshot[u.Servers.Count];
            for (var i = 0; i < result.Length; i++) result[i] = u.Servers[i].Snapshot();
            return result;
        }
    }

    /// <summary>Applies <paramref name="change"/> to every server the selector matches; throws if none does.</summary>
    public void Update(string upstream, bool stream, Func<NginxServer, bool> select, Action<NginxServer> change, string what)
    {
        lock (_gate)
        {
            var u = Require(upstream, stream);
            var found = false;
            foreach (var s in u.Servers)
            {
                if (!select(s)) continue;
                change(s);
                found = true;
            }
            if (!found) throw new KeyNotFoundException($"No server {what} in upstream '{upstream}'.");
        }
    }

    public static Func<NginxServer, bool> ByAddress(string server, bool stream)
    {
        // Match on the normalised form so "10.0.0.1" finds "10.0.0.1:80".
        var normalized = NginxAddress.TryNormalize(server, stream, forService: false, out _) ?? server;
        return s => string.Equals(s.Server, normalized, StringComparison.OrdinalIgnoreCase);
    }

    private NginxUpstream Require(string name, bool stream)
    {
        var map = stream ? _stream : _http;
        return map.TryGetValue(name, out var u)
            ? u
            : throw new KeyNotFoundException($"No {(stream ? "stream" : "HTTP")} upstream '{name}'; call AddUpstream first.");
    }

    // ---- API operations ----

    public NginxResponse ListUpstreams(bool stream, IReadOnlySet<string>? fields)
    {
        lock (_gate)
        {
            var w = Begin(out var buffer);
            w.WriteStartObject();
            foreach (var u in stream ? _streamOrder : _httpOrder)
            {
                // Only upstreams with a shared-memory zone are visible to the API.
                if (!u.Zone) continue;
                w.WritePropertyName(u.Name);
                WriteUpstream(w, u, fields);
            }
            w.WriteEndObject();
            return NginxResponse.Ok(End(w, buffer));
        }
    }

    public NginxResponse GetUpstream(bool stream, string name, IReadOnlySet<string>? fields)
    {
        lock (_gate)
        {
            if (Lookup(stream, name, out var u) is { } error) return NginxResponse.Fail(error);
            var w = Begin(out var buffer);
            WriteUpstream(w, u!, fields);
            return NginxResponse.Ok(End(w, buffer));
        }
    }

    public NginxResponse ResetUpstream(bool stream, string name)
    {
        lock (_gate)
        {
            if (Lookup(stream, name, out var u) is { } error) return NginxResponse.Fail(error);
            foreach (var s in u!.Servers)
            {
                s.Fails = 0;
                s.Unavail = 0;
                s.Checks = 0;
                s.CheckFails = 0;
                s.Unhealthy = 0;
            }
            return NginxResponse.NoContent();
        }
    }

    public NginxResponse ListServers(bool stream, string name)
    {
        lock (_gate)
        {
            if (Lookup(stream, name, out var u) is { } error) return NginxResponse.Fail(error);
            return NginxResponse.Ok(RenderServerArray(u!));
        }
    }

    public NginxResponse GetServer(bool stream, string name, string idText)
    {
        lock (_gate)
        {
            if (LookupServer(stream, name, idText, out _, out var s) is { } error) return NginxResponse.Fail(error);
            return NginxResponse.Ok(RenderServer(s!, stream));
        }
    }

    public NginxResponse AddServer(bool stream, string name, NginxBody body)
    {
        lock (_gate)
        {
            if (Lookup(stream, name, out var u) is { } error) return NginxResponse.Fail(error);
            if (!body.IsJson) return NginxResponse.Fail(NginxApiError.JsonError());
            var fields = NginxServerBody.Parse(body.Root, isPost: true, stream, out var bodyError);
            if (fields is null) return NginxResponse.Fail(bodyError!.Value);

            var isService = fields.Service is not null;
            var address = NginxAddress.TryNormalize(fields.Server, stream, isService, out var addressError);
            if (address is null) return NginxResponse.Fail(new NginxApiError(400, addressError, "UpstreamBadAddress"));
            if (_duplicatePolicy == NginxDuplicatePolicy.Reject && HasAddress(u!, address, exceptId: null))
                return NginxResponse.Fail(NginxApiError.EntryExists());

            var s = new NginxServer { Id = u!.NextId++, Server = address, Service = fields.Service };
            Apply(s, fields);
            u.Servers.Add(s);
            return NginxResponse.Ok(RenderServer(s, stream), 201);
        }
    }

    public NginxResponse PatchServer(bool stream, string name, string idText, NginxBody body)
    {
        lock (_gate)
        {
            if (LookupServer(stream, name, idText, out var u, out var s) is { } error) return NginxResponse.Fail(error);
            if (s!.Parent is not null) return NginxResponse.Fail(Immutable(s));
            if (!body.IsJson) return NginxResponse.Fail(NginxApiError.JsonError());
            var fields = NginxServerBody.Parse(body.Root, isPost: false, stream, out var bodyError);
            if (fields is null) return NginxResponse.Fail(bodyError!.Value);

            if (fields.Server is not null)
            {
                if (s!.Service is not null)
                    return NginxResponse.Fail(new NginxApiError(400, $"server {s.Id.ToString(CultureInfo.InvariantCulture)} address is immutable", "UpstreamServerImmutable"));
                var address = NginxAddress.TryNormalize(fields.Server, stream, forService: false, out var addressError);
                if (address is null) return NginxResponse.Fail(new NginxApiError(400, addressError, "UpstreamBadAddress"));
                if (_duplicatePolicy == NginxDuplicatePolicy.Reject && HasAddress(u!, address, exceptId: s.Id))
                    return NginxResponse.Fail(NginxApiError.EntryExists());
                s.Server = address;
            }
            Apply(s!, fields);
            return NginxResponse.Ok(RenderServer(s!, stream));
        }
    }

    public NginxResponse DeleteServer(bool stream, string name, string idText)
    {
        lock (_gate)
        {
            if (LookupServer(stream, name, idText, out var u, out var s) is { } error) return NginxResponse.Fail(error);
            if (s!.Parent is not null) return NginxResponse.Fail(Immutable(s));
            u!.Servers.Remove(s!);
            return NginxResponse.Ok(RenderServerArray(u));
        }
    }

    private static NginxApiError Immutable(NginxServer s) =>
        new(400, $"server {s.Id.ToString(CultureInfo.InvariantCulture)} is created by resolving \"{s.Host}\" and cannot be changed", "UpstreamServerImmutable");

    private static void Apply(NginxServer s, NginxServerBody f)
    {
        if (f.Weight is { } weight) s.Weight = weight;
        if (f.MaxConns is { } maxConns) s.MaxConns = maxConns;
        if (f.MaxFails is { } maxFails) s.MaxFails = maxFails;
        if (f.FailTimeoutSeconds is { } failTimeout) s.FailTimeoutSeconds = failTimeout;
        if (f.SlowStartSeconds is { } slowStart) s.SlowStartSeconds = slowStart;
        if (f.Route is { } route) s.Route = route;
        if (f.Backup is { } backup) s.Backup = backup;
        if (f.Down is { } down)
        {
            s.Down = down;
            s.DownStart = down ? DateTimeOffset.UtcNow : null;
        }
        if (f.Drain is { } drain) s.Drain = drain;
    }

    private static bool HasAddress(NginxUpstream u, string address, int? exceptId)
    {
        foreach (var other in u.Servers)
            if (other.Id != exceptId && string.Equals(other.Server, address, StringComparison.OrdinalIgnoreCase))
                return true;
        return false;
    }

    private NginxApiError? Lookup(bool stream, string name, out NginxUpstream? upstream)
    {
        (stream ? _stream : _http).TryGetValue(name, out upstream);
        if (upstream is null) return NginxApiError.UpstreamNotFound(name);
        if (!upstream.Zone) return NginxApiError.UpstreamStatic(name);
        return null;
    }

    private NginxApiError? LookupServer(bool stream, string name, string idText, out NginxUpstream? upstream, out NginxServer? server)
    {
        server = null;
        if (Lookup(stream, name, out upstream) is { } error) return error;
        if (!int.TryParse(idText, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            return NginxApiError.BadServerId(idText);
        server = upstream!.Find(id);
        return server is null ? NginxApiError.ServerNotFound(id) : null;
    }

    // ---- JSON rendering (under the lock) ----

    private static Utf8JsonWriter Begin(out ArrayBufferWriter<byte> buffer)
    {
        buffer = new ArrayBufferWriter<byte>(512);
        return new Utf8JsonWriter(buffer, WriterOptions);
    }

    private static byte[] End(Utf8JsonWriter w, ArrayBufferWriter<byte> buffer)
    {
        w.Flush();
        w.Dispose();
        return buffer.WrittenSpan.ToArray();
    }

    private void WriteUpstream(Utf8JsonWriter w, NginxUpstream u, IReadOnlySet<string>? fields)
    {
        w.WriteStartObject();
        if (Want(fields, "peers"))
        {
            w.WriteStartArray("peers");
            foreach (var s in u.Servers) WritePeer(w, s, u.Stream);
            w.WriteEndArray();
            DrainProgress(u);
        }
        if (!u.Stream && Want(fields, "keepalive")) w.WriteNumber("keepalive", 0);
        if (Want(fields, "zombies")) w.WriteNumber("zombies", 0);
        if (Want(fields, "zone")) w.WriteString("zone", u.Name);
        w.WriteEndObject();
    }

    private void DrainProgress(NginxUpstream u)
    {
        // Each read of a draining peer retires some of its connections, so drain-waits progress by
        // polling (a condition), never by wall-clock time. The value shown is the one before this read.
        var step = _drainPerRead;
        if (step == 0) return;
        foreach (var s in u.Servers)
            if (s.Drain && s.Active > 0)
                s.Active = Math.Max(0, s.Active - step);
    }

    private static bool Want(IReadOnlySet<string>? fields, string name) => fields is null || fields.Contains(name);

    private static void WritePeer(Utf8JsonWriter w, NginxServer s, bool stream)
    {
        w.WriteStartObject();
        w.WriteNumber("id", s.Id);
        // No resolver here: the peer's address and configured name are the same text.
        w.WriteString("server", s.Server);
        w.WriteString("name", s.Host is null ? s.Server : s.Host + ":" + s.Server.Substring(s.Server.LastIndexOf(':') + 1));
        if (s.Service is not null) w.WriteString("service", s.Service);
        if (s.Parent is not null) { w.WriteNumber("parent", s.Parent.Value); w.WriteString("host", s.Host); }
        w.WriteBoolean("backup", s.Backup);
        w.WriteNumber("weight", s.Weight);
        w.WriteString("state", s.PeerState);
        w.WriteNumber("active", s.Active);
        if (s.MaxConns > 0) w.WriteNumber("max_conns", s.MaxConns);
        if (stream)
        {
            w.WriteNumber("connections", 0);
        }
        else
        {
            w.WriteNumber("requests", 0);
            w.WriteStartObject("responses");
            w.WriteNumber("1xx", 0);
            w.WriteNumber("2xx", 0);
            w.WriteNumber("3xx", 0);
            w.WriteNumber("4xx", 0);
            w.WriteNumber("5xx", 0);
            w.WriteStartObject("codes");
            w.WriteEndObject();
            w.WriteNumber("total", 0);
            w.WriteEndObject();
        }
        w.WriteNumber("sent", 0);
        w.WriteNumber("received", 0);
        w.WriteNumber("fails", s.Fails);
        w.WriteNumber("unavail", s.Unavail);
        w.WriteStartObject("health_checks");
        w.WriteNumber("checks", s.Checks);
        w.WriteNumber("fails", s.CheckFails);
        w.WriteNumber("unhealthy", s.Unhealthy);
        // nginx reports last_passed only once a check has run.
        if (s.LastPassed is { } passed) w.WriteBoolean("last_passed", passed);
        w.WriteEndObject();
        w.WriteNumber("downtime", 0);
        if (s.DownStart is { } since && s.PeerState is not ("up" or "draining"))
            w.WriteString("downstart", since.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        w.WriteEndObject();
    }

    private static byte[] RenderServerArray(NginxUpstream u)
    {
        var w = Begin(out var buffer);
        w.WriteStartArray();
        foreach (var s in u.Servers) WriteServerConfig(w, s, u.Stream);
        w.WriteEndArray();
        return End(w, buffer);
    }

    private static byte[] RenderServer(NginxServer s, bool stream)
    {
        var w = Begin(out var buffer);
        WriteServerConfig(w, s, stream);
        return End(w, buffer);
    }

    private static void WriteServerConfig(Utf8JsonWriter w, NginxServer s, bool stream)
    {
        w.WriteStartObject();
        w.WriteNumber("id", s.Id);
        w.WriteString("server", s.Server);
        if (s.Service is not null) w.WriteString("service", s.Service);
        if (s.Parent is not null) { w.WriteNumber("parent", s.Parent.Value); w.WriteString("host", s.Host); }
        w.WriteNumber("weight", s.Weight);
        w.WriteNumber("max_conns", s.MaxConns);
        w.WriteNumber("max_fails", s.MaxFails);
        w.WriteString("fail_timeout", NginxServer.Seconds(s.FailTimeoutSeconds));
        w.WriteString("slow_start", NginxServer.Seconds(s.SlowStartSeconds));
        if (!stream) w.WriteString("route", s.Route);
        w.WriteBoolean("backup", s.Backup);
        w.WriteBoolean("down", s.Down);
        // Like nginx, "drain" appears only while the server is draining.
        if (s.Drain) w.WriteBoolean("drain", true);
        w.WriteEndObject();
    }

    public static byte[] RenderStrings(IEnumerable<string> values)
    {
        var w = Begin(out var buffer);
        w.WriteStartArray();
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
        return End(w, buffer);
    }

    public static byte[] RenderNumbers(IEnumerable<int> values)
    {
        var w = Begin(out var buffer);
        w.WriteStartArray();
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
        return End(w, buffer);
    }

    public static byte[] RenderNginx(string version, string build, DateTimeOffset loaded, IReadOnlySet<string>? fields)
    {
        var w = Begin(out var buffer);
        w.WriteStartObject();
        if (Want(fields, "version")) w.WriteString("version", version);
        if (Want(fields, "build")) w.WriteString("build", build);
        if (Want(fields, "address")) w.WriteString("address", "127.0.0.1");
        if (Want(fields, "generation")) w.WriteNumber("generation", 1);
        if (Want(fields, "load_timestamp")) w.WriteString("load_timestamp", loaded.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        if (Want(fields, "timestamp")) w.WriteString("timestamp", DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        if (Want(fields, "pid")) w.WriteNumber("pid", Environment.ProcessId);
        if (Want(fields, "ppid")) w.WriteNumber("ppid", Environment.ProcessId);
        w.WriteEndObject();
        return End(w, buffer);
    }

    public static byte[] RenderError(NginxApiError error)
    {
        var w = Begin(out var buffer);
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteNumber("status", error.Status);
        w.WriteString("text", error.Text);
        w.WriteString("code", error.Code);
        w.WriteEndObject();
        w.WriteString("request_id", Guid.NewGuid().ToString("N"));
        w.WriteString("href", "https://nginx.org/en/docs/http/ngx_http_api_module.html");
        w.WriteEndObject();
        return End(w, buffer);
    }
}
