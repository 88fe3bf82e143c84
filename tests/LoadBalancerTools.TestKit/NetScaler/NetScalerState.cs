using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoadBalancerTools.TestKit;

/// <summary>What one NITRO call produced: a status and a NITRO body.</summary>
internal readonly record struct NsResult(int Status, JsonObject Body)
{
    public static NsResult Done(int status = 200) => new(status, Envelope(0, "Done", "NONE"));

    public static NsResult Data(string key, JsonArray items)
    {
        var body = Envelope(0, "Done", "NONE");
        // NITRO leaves the key out when there is nothing to list.
        if (items.Count > 0) body[key] = items;
        return new NsResult(200, body);
    }

    public static NsResult Error(int status, int code, string message) => new(status, Envelope(code, message, "ERROR"));

    public static JsonObject Envelope(int code, string message, string severity) =>
        new() { ["errorcode"] = code, ["message"] = message, ["severity"] = severity };

    public int Code => Body["errorcode"]?.GetValue<int>() ?? 0;
}

/// <summary>
/// The emulated configuration: service groups, servers and their member bindings. One lock guards it all;
/// each operation is a short lookup and change, so there is no lock ordering to get wrong.
/// </summary>
internal sealed class NetScalerState(TimeProvider time)
{
    // Error codes and texts as NITRO gives them (shared/VENDOR-APIS.md and the NITRO error listing).
    public const int NoSuchResource = 258;
    public const int ResourceExists = 273;
    public const int InvalidArgument = 278;
    public const int RequiredArgumentMissing = 1095;
    public const int InvalidArgumentValue = 1097;
    public const int BulkOperationFailed = 1243;
    // 599 is NITRO's "NetScaler specific error" status.
    public const int SpecificError = 599;

    private readonly object _gate = new();
    private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);
    private readonly List<Group> _order = new();
    private readonly Dictionary<string, Server> _servers = new(StringComparer.Ordinal);

    private sealed class Group(string name, string type)
    {
        public string Name { get; } = name;
        public string Type { get; } = type;
        public string State { get; set; } = "ENABLED";
        public List<Member> Members { get; } = new();
    }

    private sealed class Server(string name, string ip, string? domain)
    {
        public string Name { get; } = name;
        public string Ip { get; } = ip;
        public string? Domain { get; } = domain;
    }

    private sealed class Member(Server server, int port)
    {
        public Server Server { get; } = server;
        public int Port { get; } = port;
        public int Weight { get; set; } = 1;
        public string State { get; set; } = "ENABLED";
        /// <summary>The monitor's verdict while the member is enabled: UP, DOWN, BUSY, UNKNOWN.</summary>
        public string Health { get; set; } = "UP";
        public string Graceful { get; set; } = "NO";
        public int Delay { get; set; }
        public int DisableCount { get; set; }
        /// <summary>While set, a graceful disable is under way: GOING OUT OF SERVICE until this time.</summary>
        public DateTimeOffset? GoingOutUntil { get; set; }
        /// <summary>Client connections open to the member (NITRO stat/servicegroupmember, cursrvrconnections).</summary>
        public int Connections { get; set; }
        public DateTimeOffset StateChanged { get; set; }
    }

    // ---- seeding and inspection ----

    public void AddGroup(string name, string type)
    {
        lock (_gate)
        {
            if (_groups.ContainsKey(name)) throw new InvalidOperationException($"Service group '{name}' exists already.");
            var group = new Group(name, type);
            _groups.Add(name, group);
            _order.Add(group);
        }
    }

    public void AddServer(string name, string ipOrDomain)
    {
        lock (_gate)
        {
            bool isIp = IPAddress.TryParse(ipOrDomain, out _);
            _servers[name] = new Server(name, isIp ? ipOrDomain : "0.0.0.0", isIp ? null : ipOrDomain);
        }
    }

    public void SeedMember(string group, string ipOrServer, int port, int weight, bool disabled)
    {
        var body = new JsonObject { ["servicegroupname"] = group, ["port"] = port, ["weight"] = weight };
        body[IPAddress.TryParse(ipOrServer, out _) ? "ip" : "servername"] = ipOrServer;
        if (disabled) body["state"] = "DISABLED";
        var result = Bind(body);
        if (result.Code != 0) throw new InvalidOperationException($"Cannot seed {ipOrServer}:{port} into '{group}': {result.Body["message"]}");
    }

    public void SetHealth(string group, string address, int port, string health)
    {
        var allowed = new[] { "UP", "DOWN", "BUSY", "UNKNOWN" };
        if (!allowed.Contains(health)) throw new ArgumentException($"Use one of {string.Join(", ", allowed)}.", nameof(health));
        lock (_gate) Find(group, address, port).Health = health;
    }

    public void SetConnections(string group, string address, int port, int connections)
    {
        lock (_gate) Find(group, address, port).Connections = connections;
    }

    /// <summary>
    /// GET …/stat/servicegroupmember?args=servicegroupname:G,servername:S,port:P (NITRO statistics; the
    /// member's open client connections are "cursrvrconnections", a number sent as a string).
    /// </summary>
    public NsResult MemberStats(IReadOnlyDictionary<string, string> args)
    {
        if (!args.TryGetValue("servicegroupname", out var groupName) || !args.TryGetValue("servername", out var serverName)
            || !args.TryGetValue("port", out var portText) || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port))
            return NsResult.Error(400, RequiredArgumentMissing, "Required argument missing [servicegroupname, servername, port]");
        lock (_gate)
        {
            if (!_groups.TryGetValue(groupName, out var group)) return MissingGroup(groupName);
            var member = group.Members.FirstOrDefault(m => m.Port == port && m.Server.Name == serverName);
            if (member == null) return NsResult.Error(404, NoSuchResource, "No such resource");
            var item = new JsonObject
            {
                ["servicegroupname"] = group.Name,
                ["servername"] = member.Server.Name,
                ["port"] = member.Port,
                ["cursrvrconnections"] = member.Connections.ToString(CultureInfo.InvariantCulture),
            };
            return NsResult.Data("servicegroupmember", new JsonArray(item));
        }
    }

    public IReadOnlyList<NetScalerMemberSnapshot> Snapshot(string group)
    {
        lock (_gate)
        {
            if (!_groups.TryGetValue(group, out var g)) throw new ArgumentException($"No service group '{group}'.", nameof(group));
            return g.Members.Select(m => new NetScalerMemberSnapshot(g.Name, m.Server.Name, m.Server.Ip, m.Port, m.Weight, m.State, SvrState(m),
                m.Graceful, m.Delay, m.DisableCount)).ToList();
        }
    }

    /// <summary>Ends every graceful disable under way, as if all delays had passed and all connections closed.</summary>
    public int CompleteGracefulDisables()
    {
        lock (_gate)
        {
            int count = 0;
            foreach (var m in _order.SelectMany(g => g.Members).Where(m => m.GoingOutUntil != null))
            {
                m.GoingOutUntil = null;
                m.StateChanged = time.GetUtcNow();
                count++;
            }
            return count;
        }
    }

    private Member Find(string group, string address, int port)
    {
        if (!_groups.TryGetValue(group, out var g)) throw new ArgumentException($"No service group '{group}'.", nameof(group));
        return g.Members.FirstOrDefault(m => m.Port == port && (m.Server.Name == address || m.Server.Ip == address))
            ?? throw new ArgumentException($"No member {address}:{port} in '{group}'.", nameof(address));
    }

    // ---- API ----

    public NsResult ListGroups(string? name)
    {
        lock (_gate)
        {
            IEnumerable<Group> groups = _order;
            if (name != null)
            {
                if (!_groups.TryGetValue(name, out var one)) return MissingGroup(name);
                groups = new[] { one };
            }
            var items = new JsonArray();
            foreach (var g in groups)
            {
                var states = g.Members.Select(SvrState).ToList();
                string effective = states.Count > 0 && states.All(s => s == "UP") ? "UP"
                    : states.Any(s => s == "UP") ? "PARTIAL-UP" : "DOWN";
                items.Add(new JsonObject
                {
                    ["servicegroupname"] = g.Name,
                    ["servicetype"] = g.Type,
                    ["state"] = g.State,
                    ["servicegroupeffectivestate"] = effective,
                    ["maxclient"] = "0",
                    ["td"] = "0",
                });
            }
            return NsResult.Data("servicegroup", items);
        }
    }

    public NsResult ListBindings(string? group, IReadOnlyDictionary<string, string>? filter)
    {
        lock (_gate)
        {
            IEnumerable<Group> groups = _order;
            if (group != null)
            {
                if (!_groups.TryGetValue(group, out var one)) return MissingGroup(group);
                groups = new[] { one };
            }
            var items = new JsonArray();
            foreach (var g in groups)
            {
                foreach (var m in g.Members)
                {
                    var record = Render(g, m);
                    if (filter == null || filter.All(f => string.Equals(Text(record[f.Key]), f.Value, StringComparison.OrdinalIgnoreCase)))
                        items.Add(record);
                }
            }
            return NsResult.Data("servicegroup_servicegroupmember_binding", items);
        }
    }

    /// <summary>Binds one member: {"servicegroupname","ip"|"servername","port","weight","state"}.</summary>
    public NsResult Bind(JsonObject b)
    {
        string? groupName = Str(b, "servicegroupname");
        string? ip = Str(b, "ip");
        string? serverName = Str(b, "servername");
        int? port = Int(b, "port");
        if (groupName == null || port == null || (ip == null && serverName == null))
            return NsResult.Error(400, RequiredArgumentMissing, "Required argument missing [servicegroupname, servername or ip, port]");
        if (port < 1 || port > 65535) return NsResult.Error(SpecificError, InvalidArgumentValue, $"Invalid argument value [port, value {port}]");
        int weight = Int(b, "weight") ?? 1;
        if (weight < 1 || weight > 100) return NsResult.Error(SpecificError, InvalidArgumentValue, $"Invalid argument value [weight, value {weight}]");
        if (ip != null && !IPAddress.TryParse(ip, out _)) return NsResult.Error(SpecificError, InvalidArgumentValue, $"Invalid argument value [ip, value {ip}]");
        string state = (Str(b, "state") ?? "ENABLED").ToUpperInvariant();

        lock (_gate)
        {
            if (!_groups.TryGetValue(groupName, out var group)) return MissingGroup(groupName);
            Server server;
            if (serverName != null)
            {
                if (!_servers.TryGetValue(serverName, out server!)) return NsResult.Error(404, NoSuchResource, $"No such resource [serverName, {serverName}]");
            }
            else
            {
                // Bound by IP: reuse the server that has this IP, else create one named after it.
                string canonical = IPAddress.Parse(ip!).ToString();
                server = _servers.Values.FirstOrDefault(s => s.Ip == canonical) ?? new Server(canonical, canonical, null);
                _servers[server.Name] = server;
            }
            if (group.Members.Any(m => m.Server.Name == server.Name && m.Port == port))
                return NsResult.Error(409, ResourceExists, "Resource already exists");
            group.Members.Add(new Member(server, port.Value) { Weight = weight, State = state == "DISABLED" ? "DISABLED" : "ENABLED", StateChanged = time.GetUtcNow() });
            return NsResult.Done(201);
        }
    }

    /// <summary>DELETE …/servicegroup_servicegroupmember_binding/&lt;group&gt;?args=ip:…|servername:…,port:…</summary>
    public NsResult Unbind(string groupName, IReadOnlyDictionary<string, string> args)
    {
        args.TryGetValue("ip", out var ip);
        args.TryGetValue("servername", out var serverName);
        if (!args.TryGetValue("port", out var portText) || (ip == null && serverName == null)
            || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port))
            return NsResult.Error(400, RequiredArgumentMissing, "Required argument missing [servername or ip, port]");
        lock (_gate)
        {
            if (!_groups.TryGetValue(groupName, out var group)) return MissingGroup(groupName);
            string? canonical = ip != null && IPAddress.TryParse(ip, out var parsed) ? parsed.ToString() : ip;
            // By IP, NITRO finds the server named after that IP (the one a bind by IP creates); a member bound
            // through a named server ("web1" at 10.0.0.1) is unbound only by servername (citrix-adc-ansible
            // servicegroup: it unbinds by servername whenever the binding has one).
            var member = group.Members.FirstOrDefault(m => m.Port == port && (serverName != null ? m.Server.Name == serverName : m.Server.Name == canonical));
            if (member == null) return NsResult.Error(404, NoSuchResource, "No such resource");
            group.Members.Remove(member);
            return NsResult.Done();
        }
    }

    /// <summary>POST servicegroup?action=enable|disable, for one member (servername and port) or the whole group.</summary>
    public NsResult EnableDisable(JsonObject b, bool enable)
    {
        string? groupName = Str(b, "servicegroupname");
        if (groupName == null) return NsResult.Error(400, RequiredArgumentMissing, "Required argument missing [servicegroupname]");
        string? serverName = Str(b, "servername");
        int? port = Int(b, "port");
        int delay = Int(b, "delay") ?? 0;
        string graceful = (Str(b, "graceful") ?? "NO").ToUpperInvariant();
        if (graceful != "YES" && graceful != "NO") return NsResult.Error(SpecificError, InvalidArgumentValue, $"Invalid argument value [graceful, value {graceful}]");
        if (delay < 0) return NsResult.Error(SpecificError, InvalidArgumentValue, $"Invalid argument value [delay, value {delay}]");
        lock (_gate)
        {
            if (!_groups.TryGetValue(groupName, out var group)) return MissingGroup(groupName);
            if (serverName == null)
            {
                group.State = enable ? "ENABLED" : "DISABLED";
                return NsResult.Done();
            }
            if (port == null) return NsResult.Error(400, RequiredArgumentMissing, "Required argument missing [port]");
            var member = group.Members.FirstOrDefault(m => m.Server.Name == serverName && m.Port == port);
            if (member == null) return NsResult.Error(404, NoSuchResource, $"No such resource [serverName, {serverName}]");
            var now = time.GetUtcNow();
            member.StateChanged = now;
            if (enable)
            {
                member.State = "ENABLED";
                member.GoingOutUntil = null;
                return NsResult.Done();
            }
            member.State = "DISABLED";
            member.Graceful = graceful;
            member.Delay = delay;
            member.DisableCount++;
            // A delay keeps the member going out of service until it passes; with none (graceful or not) the
            // emulator has no open connections to wait for, so the member is out of service at once.
            member.GoingOutUntil = delay > 0 ? now.AddSeconds(delay) : null;
            return NsResult.Done();
        }
    }

    /// <summary>PUT servicegroup: a member's weight when servername and port are given.</summary>
    public NsResult Update(JsonObject b)
    {
        string? groupName = Str(b, "servicegroupname");
        if (groupName == null) return NsResult.Error(400, RequiredArgumentMissing, "Required argument missing [servicegroupname]");
        string? serverName = Str(b, "servername");
        int? port = Int(b, "port");
        int? weight = Int(b, "weight");
        if (weight is < 1 or > 100) return NsResult.Error(SpecificError, InvalidArgumentValue, $"Invalid argument value [weight, value {weight}]");
        lock (_gate)
        {
            if (!_groups.TryGetValue(groupName, out var group)) return MissingGroup(groupName);
            if (serverName == null) return NsResult.Done(); // group-level settings are not emulated
            var member = group.Members.FirstOrDefault(m => m.Server.Name == serverName && m.Port == port);
            if (member == null) return NsResult.Error(404, NoSuchResource, $"No such resource [serverName, {serverName}]");
            if (weight.HasValue) member.Weight = weight.Value;
            return NsResult.Done();
        }
    }

    // ---- rendering ----

    private string SvrState(Member m)
    {
        if (m.State == "DISABLED")
        {
            if (m.GoingOutUntil is { } until && time.GetUtcNow() < until)
                return m.Health == "DOWN" ? "DOWN WHEN GOING OUT OF SERVICE" : "GOING OUT OF SERVICE";
            return "OUT OF SERVICE";
        }
        return m.Health;
    }

    private JsonObject Render(Group g, Member m)
    {
        var now = time.GetUtcNow();
        return new JsonObject
        {
            ["servicegroupname"] = g.Name,
            ["ip"] = m.Server.Ip,
            ["port"] = m.Port,
            ["svrstate"] = SvrState(m),
            ["statechangetimesec"] = m.StateChanged.ToString("ddd MMM d HH:mm:ss yyyy", CultureInfo.InvariantCulture),
            ["tickssincelaststatechange"] = ((long)((now - m.StateChanged).TotalMilliseconds / 10)).ToString(CultureInfo.InvariantCulture),
            // Unsigned numbers arrive as strings in NITRO JSON; clients must take both forms.
            ["weight"] = m.Weight.ToString(CultureInfo.InvariantCulture),
            ["servername"] = m.Server.Name,
            ["customserverid"] = "None",
            ["serverid"] = 0,
            ["state"] = m.State,
            ["hashid"] = "0",
            ["graceful"] = m.Graceful,
            ["delay"] = m.Delay,
            ["nameserver"] = "0.0.0.0",
            ["dbsttl"] = 0,
            ["orderstr"] = "Default",
            ["trafficdomain"] = "0",
        };
    }

    private static NsResult MissingGroup(string name) => NsResult.Error(404, NoSuchResource, $"No such resource [servicegroupName, {name}]");

    private static string? Text(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => node.ToJsonString(),
    };

    internal static string? Str(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    internal static int? Int(JsonObject o, string name)
    {
        if (o[name] is not JsonValue v) return null;
        if (v.TryGetValue(out int i)) return i;
        if (v.TryGetValue(out double d)) return (int)d;
        if (v.TryGetValue(out string? s) && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out i)) return i;
        return null;
    }
}
