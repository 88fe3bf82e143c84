using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace LoadBalancerTools.TestKit;

/// <summary>
/// The LTM part of iControl REST (/mgmt/tm/ltm/pool…, /mgmt/tm/ltm/node) over one <see cref="F5Config"/>.
/// Stateless apart from the config it is given, so a transaction can replay its queued commands on a clone.
/// </summary>
internal static partial class F5Ltm
{
    private static readonly HashSet<string> MemberProperties = new(StringComparer.Ordinal)
    {
        "name", "partition", "fullPath", "kind", "address", "ratio", "state", "session", "description", "connectionLimit", "priorityGroup", "monitor",
    };

    [GeneratedRegex(@"^partition eq (\S+)$", RegexOptions.CultureInvariant)]
    private static partial Regex PartitionFilter();

    public static F5Result Dispatch(F5Config config, F5EmulatorOptions options, string method, IReadOnlyList<string> path, IReadOnlyDictionary<string, string> query, JsonNode? body)
    {
        var ver = "?ver=" + options.Version;
        if (path.Count == 1 && path[0] == "node")
            return method == "GET" ? ListNodes(config, query, ver) : MethodNotAllowed(method, path);
        if (path.Count == 2 && path[0] == "node")
            return method == "DELETE" ? DeleteNode(config, F5NameRules.FromSegment(path[1])) : MethodNotAllowed(method, path);
        if (path.Count == 0 || path[0] != "pool") return NotRegistered(path);

        if (path.Count == 1)
            return method == "GET" ? ListPools(config, options, query, ver) : MethodNotAllowed(method, path);

        var poolPath = F5NameRules.FromSegment(path[1]);
        if (!config.Pools.TryGetValue(poolPath, out var pool))
            return F5Result.Error(404, $"01020036:3: The requested Pool ({poolPath}) was not found.");

        if (path.Count == 2)
            return method == "GET" ? F5Result.Ok(PoolJson(pool, expand: false, ver)) : MethodNotAllowed(method, path);
        if (path[2] != "members") return NotRegistered(path);

        if (path.Count == 3)
        {
            return method switch
            {
                "GET" => F5Result.Ok(Collection("tm:ltm:pool:members:memberscollectionstate", Link(pool.FullPath) + "/members" + ver, pool.Members.Select(m => MemberJson(pool, m, ver)))),
                "POST" => AddMember(config, pool, body, ver),
                _ => MethodNotAllowed(method, path),
            };
        }
        if (path.Count == 4 && path[3] == "stats")
            return method == "GET" ? F5Result.Ok(PoolMemberStats(pool, options, ver)) : MethodNotAllowed(method, path);

        var memberPath = F5NameRules.FromSegment(path[3]);
        var member = pool.Members.FirstOrDefault(m => m.FullPath == memberPath);
        if (member is null)
        {
            var (p, n) = F5NameRules.Split(memberPath);
            return F5NameRules.TrySplitMember(n, out var node, out var port)
                ? F5Result.Error(404, $"01020036:3: The requested Pool Member ({pool.FullPath} /{p}/{node} {port}) was not found.")
                : F5Result.Error(404, $"Object not found - {memberPath}", 1);
        }
        if (path.Count == 5 && path[4] == "stats")
        {
            return method == "GET"
                ? F5Result.Ok(new JsonObject
                {
                    ["kind"] = "tm:ltm:pool:members:membersstats",
                    ["selfLink"] = MemberLink(pool, member) + "/stats" + ver,
                    ["entries"] = new JsonObject { [MemberLink(pool, member) + "/stats"] = Nested(StatsLeaves(pool, member)) },
                })
                : MethodNotAllowed(method, path);
        }
        if (path.Count != 4) return NotRegistered(path);

        switch (method)
        {
            case "GET":
                return F5Result.Ok(MemberJson(pool, member, ver));
            case "PATCH":
            case "PUT":
                if (member.Ephemeral) return EphemeralRefusal(member);
                var error = ApplyProperties(member, body as JsonObject, creating: false);
                return error ?? F5Result.Ok(MemberJson(pool, member, ver));
            case "DELETE":
                if (member.Ephemeral) return EphemeralRefusal(member);
                pool.Members.Remove(member);
                return F5Result.Ok(null);
            default:
                return MethodNotAllowed(method, path);
        }
    }

    private static F5Result EphemeralRefusal(F5Member m) =>
        F5Result.Error(400, $"01070734:3: Configuration error: Cannot modify the ephemeral pool member ({m.FullPath}); it is managed by its FQDN node.");

    private static F5Result AddMember(F5Config config, F5Pool pool, JsonNode? body, string ver)
    {
        if (body is not JsonObject o || Str(o, "name") is not { Length: > 0 } rawName)
            return F5Result.Error(400, "One or more configuration identifiers must be provided.", 1);

        // A member name may carry its node's partition (/Common/web1:80); otherwise "partition" says it.
        string partition;
        string name;
        if (rawName.StartsWith('/'))
            (partition, name) = F5NameRules.Split(rawName);
        else
        {
            partition = Str(o, "partition") ?? pool.Partition;
            name = rawName;
        }
        if (!config.Partitions.Contains(partition))
            return F5Result.Error(400, $"01020036:3: The requested folder (/{partition}) was not found.");
        if (!F5NameRules.TrySplitMember(name, out var nodeName, out var port))
            return F5Result.Error(400, $"01070587:3: The requested pool member name ({name}) is invalid: use address:port, or address.port for IPv6.");

        var fullPath = "/" + partition + "/" + name;
        if (pool.Members.Any(m => m.FullPath == fullPath))
            return F5Result.Error(409, $"01020066:3: The requested Pool Member ({pool.FullPath} /{partition}/{nodeName} {port}) already exists in partition {pool.Partition}.");

        // Nodes are created with the member and reused when one of that name exists; BIG-IP keeps one node per address.
        var nodePath = "/" + partition + "/" + nodeName;
        var createdNode = false;
        if (!config.Nodes.TryGetValue(nodePath, out var node))
        {
            var ip = F5NameRules.CanonicalIp(nodeName);
            if (ip is null)
                return F5Result.Error(400, $"01070734:3: Configuration error: invalid IP address ({nodeName}) for a new node; create the node first or use an address.");
            var clash = config.Nodes.Values.FirstOrDefault(n => n.Partition == partition && F5NameRules.CanonicalIp(n.Address) == ip);
            if (clash is not null)
                return F5Result.Error(409, $"01020066:3: The requested Node ({nodePath} {nodeName}) already exists in partition {partition}.");
            node = new F5Node { Partition = partition, Name = nodeName, Address = nodeName };
            config.Nodes[nodePath] = node;
            createdNode = true;
        }

        var member = new F5Member
        {
            Partition = partition,
            Name = name,
            NodeName = nodeName,
            Address = node.Address,
            Port = port,
            // Until its first monitor pass a new member's health is not known.
            Availability = "unknown",
            MonitorStatus = pool.Monitor is null ? "unchecked" : "checking",
            StatusReason = pool.Monitor is null ? "Pool member does not have service checking enabled" : "Pool member is being checked",
        };
        var error = ApplyProperties(member, o, creating: true);
        if (error is not null)
        {
            // Nothing half-made: a node created for this member goes again.
            if (createdNode) config.Nodes.Remove(nodePath);
            return error;
        }
        pool.Members.Add(member);
        return F5Result.Ok(MemberJson(pool, member, ver));
    }

    /// <summary>Writes the documented member properties; 400 for an unknown property or a value BIG-IP would refuse.</summary>
    private static F5Result? ApplyProperties(F5Member member, JsonObject? body, bool creating)
    {
        if (body is null) return F5Result.Error(400, "Unable to parse the request body: a JSON object is expected.", 1);
        foreach (var (key, value) in body)
        {
            if (!MemberProperties.Contains(key))
                return F5Result.Error(400, $"Found unexpected json pair at configuration item /ltm/pool/members/: \"{key}\": {value?.ToJsonString()}.", 1);
        }
        if (!creating && (body.ContainsKey("name") || body.ContainsKey("address")) && Str(body, "name") is { } n && n != member.Name)
            return F5Result.Error(400, "01070734:3: Configuration error: a pool member's name cannot be changed.");

        string? state = null, session = null;
        int? ratio = null;
        if (body["state"] is JsonNode s)
        {
            state = Str(body, "state");
            if (state is not ("user-up" or "user-down"))
                return F5Result.Error(400, $"invalid property value \"state\":{s.ToJsonString()}; use user-up or user-down.", 1);
        }
        if (body["session"] is JsonNode se)
        {
            session = Str(body, "session");
            if (session is not ("user-enabled" or "user-disabled"))
                return F5Result.Error(400, $"invalid property value \"session\":{se.ToJsonString()}; use user-enabled or user-disabled.", 1);
        }
        if (body["ratio"] is JsonNode r)
        {
            // Pool member ratios run from 1 to 100 (BIG-IP's documented range; beyond is refused).
            if (r is not JsonValue rv || !rv.TryGetValue(out int parsed) || parsed < 1 || parsed > 100)
                return F5Result.Error(400, $"01070734:3: Configuration error: invalid ratio {r.ToJsonString()} for pool member {member.FullPath}; the ratio must be 1 to 100.");
            ratio = parsed;
        }
        if (state is not null) member.AdminState = state;
        if (session is not null) member.Session = session;
        if (ratio is not null) member.Ratio = ratio.Value;
        if (body["description"] is JsonValue d && d.TryGetValue(out string? description)) member.Description = description;
        if (body["connectionLimit"] is JsonValue cl && cl.TryGetValue(out int limit)) member.ConnectionLimit = limit;
        if (body["priorityGroup"] is JsonValue pg && pg.TryGetValue(out int group)) member.PriorityGroup = group;
        if (body["monitor"] is JsonValue mv && mv.TryGetValue(out string? monitor)) member.MonitorRule = monitor.Trim();
        return null;
    }

    private static F5Result ListPools(F5Config config, F5EmulatorOptions options, IReadOnlyDictionary<string, string> query, string ver)
    {
        IEnumerable<F5Pool> pools = config.Pools.Values.OrderBy(p => p.FullPath, StringComparer.Ordinal);
        if (query.TryGetValue("$filter", out var filter))
        {
            var m = PartitionFilter().Match(filter);
            if (!m.Success) return F5Result.Error(400, $"Query parameter $filter '{filter}' is not supported by this emulator (only 'partition eq NAME').", 1);
            pools = pools.Where(p => p.Partition == m.Groups[1].Value);
        }
        var expand = query.TryGetValue("expandSubcollections", out var e) && e == "true";
        var all = pools.ToList();
        var collection = Collection("tm:ltm:pool:poolcollectionstate", "https://localhost/mgmt/tm/ltm/pool" + ver, Array.Empty<JsonNode>());
        var items = all;
        if (query.TryGetValue("$top", out var topText) && int.TryParse(topText, out var top) && top > 0)
        {
            var skip = query.TryGetValue("$skip", out var skipText) && int.TryParse(skipText, out var s) ? Math.Max(0, s) : 0;
            items = all.Skip(skip).Take(top).ToList();
            collection["currentItemCount"] = items.Count;
            collection["itemsPerPage"] = top;
            collection["pageIndex"] = skip / top + 1;
            collection["startIndex"] = skip + 1;
            collection["totalItems"] = all.Count;
            collection["totalPages"] = (all.Count + top - 1) / top;
            if (skip + items.Count < all.Count)
            {
                var rest = query.Where(kv => kv.Key != "$skip").Select(kv => kv.Key + "=" + Uri.EscapeDataString(kv.Value).Replace("%20", "+"));
                collection["nextLink"] = "https://localhost/mgmt/tm/ltm/pool?" + string.Join("&", rest.Append("$skip=" + (skip + items.Count).ToString(CultureInfo.InvariantCulture))) + "&ver=" + options.Version;
            }
        }
        collection["items"] = new JsonArray(items.Select(p => (JsonNode)PoolJson(p, expand, ver)).ToArray());
        return F5Result.Ok(collection);
    }

    /// <summary>
    /// Deletes a node; BIG-IP refuses while a pool member still uses it (removing a member leaves its node
    /// behind, which is why f5-ansible's bigip_pool_member deletes it unless preserve_node is set).
    /// </summary>
    private static F5Result DeleteNode(F5Config config, string nodePath)
    {
        if (!config.Nodes.TryGetValue(nodePath, out var node)) return F5Result.Error(404, $"01020036:3: The requested Node ({nodePath}) was not found.");
        var user = config.Pools.Values.FirstOrDefault(p => p.Members.Any(m => m.Partition == node.Partition && m.NodeName == node.Name));
        if (user is not null) return F5Result.Error(400, $"01070110:3: Node address '{nodePath}' is referenced by a member of pool '{user.FullPath}'.");
        config.Nodes.Remove(nodePath);
        return F5Result.Ok(null);
    }

    private static F5Result ListNodes(F5Config config, IReadOnlyDictionary<string, string> query, string ver)
    {
        IEnumerable<F5Node> nodes = config.Nodes.Values.OrderBy(n => n.FullPath, StringComparer.Ordinal);
        if (query.TryGetValue("$filter", out var filter))
        {
            var m = PartitionFilter().Match(filter);
            if (!m.Success) return F5Result.Error(400, $"Query parameter $filter '{filter}' is not supported by this emulator (only 'partition eq NAME').", 1);
            nodes = nodes.Where(n => n.Partition == m.Groups[1].Value);
        }
        return F5Result.Ok(Collection("tm:ltm:node:nodecollectionstate", "https://localhost/mgmt/tm/ltm/node" + ver, nodes.Select(n => (JsonNode)new JsonObject
        {
            ["kind"] = "tm:ltm:node:nodestate",
            ["name"] = n.Name,
            ["partition"] = n.Partition,
            ["fullPath"] = n.FullPath,
            ["generation"] = 1,
            ["selfLink"] = "https://localhost/mgmt/tm/ltm/node/" + Segment(n.FullPath) + ver,
            ["address"] = n.Address,
            ["connectionLimit"] = 0,
            ["monitor"] = "default",
            ["ratio"] = 1,
            ["session"] = n.Session,
            ["state"] = "unchecked",
        })));
    }

    private static JsonObject PoolJson(F5Pool pool, bool expand, string ver)
    {
        var members = new JsonObject
        {
            ["link"] = Link(pool.FullPath) + "/members" + ver,
            ["isSubcollection"] = true,
        };
        if (expand && pool.Members.Count > 0)
            members["items"] = new JsonArray(pool.Members.Select(m => (JsonNode)MemberJson(pool, m, ver)).ToArray());
        var json = new JsonObject
        {
            ["kind"] = "tm:ltm:pool:poolstate",
            ["name"] = pool.Name,
            ["partition"] = pool.Partition,
            ["fullPath"] = pool.FullPath,
            ["generation"] = 1,
            ["selfLink"] = Link(pool.FullPath) + ver,
            ["allowNat"] = "yes",
            ["allowSnat"] = "yes",
            ["loadBalancingMode"] = pool.LoadBalancingMode,
            ["minActiveMembers"] = 0,
            ["queueOnConnectionLimit"] = "disabled",
            ["membersReference"] = members,
        };
        if (pool.SubPath is not null) json["subPath"] = pool.SubPath;
        if (pool.Monitor is not null) json["monitor"] = pool.Monitor + " ";
        return json;
    }

    private static JsonObject MemberJson(F5Pool pool, F5Member m, string ver) => new()
    {
        ["kind"] = "tm:ltm:pool:members:membersstate",
        ["name"] = m.Name,
        ["partition"] = m.Partition,
        ["fullPath"] = m.FullPath,
        ["generation"] = 1,
        ["selfLink"] = MemberLink(pool, m) + ver,
        ["address"] = m.Address,
        ["connectionLimit"] = m.ConnectionLimit,
        ["dynamicRatio"] = 1,
        ["ephemeral"] = m.Ephemeral ? "true" : "false",
        ["fqdn"] = new JsonObject { ["autopopulate"] = "disabled" },
        ["inheritProfile"] = "enabled",
        ["logging"] = "disabled",
        ["monitor"] = m.MonitorRule,
        ["priorityGroup"] = m.PriorityGroup,
        ["rateLimit"] = "disabled",
        ["ratio"] = m.Ratio,
        ["session"] = ReadSession(pool, m),
        ["state"] = ReadState(m),
    };

    /// <summary>What GET shows in "state": the admin's user-down wins, else the monitor's view.</summary>
    private static string ReadState(F5Member m) =>
        m.AdminState == "user-down" ? "user-down"
        : m.Availability switch
        {
            "available" => "up",
            "offline" => "down",
            _ => m.MonitorStatus == "checking" ? "checking" : "unchecked",
        };

    /// <summary>What GET shows in "session": an enabled member of a monitored pool reads monitor-enabled.</summary>
    private static string ReadSession(F5Pool pool, F5Member m) =>
        m.Session == "user-disabled" ? "user-disabled" : pool.Monitor is null ? "user-enabled" : "monitor-enabled";

    private static JsonObject PoolMemberStats(F5Pool pool, F5EmulatorOptions options, string ver)
    {
        var entries = new JsonObject();
        foreach (var m in pool.Members)
        {
            var url = MemberLink(pool, m) + "/stats";
            // Newer versions wrap each member's leaves one level deeper; clients walk the nesting recursively.
            entries[url] = options.DeepStats
                ? new JsonObject
                {
                    ["nestedStats"] = new JsonObject
                    {
                        ["kind"] = "tm:ltm:pool:members:membersstats",
                        ["selfLink"] = url + ver,
                        ["entries"] = new JsonObject { [MemberLink(pool, m) + "/" + Segment(m.FullPath) + "/stats"] = Nested(StatsLeaves(pool, m)) },
                    },
                }
                : Nested(StatsLeaves(pool, m));
        }
        return new JsonObject
        {
            ["kind"] = "tm:ltm:pool:members:memberscollectionstats",
            ["selfLink"] = Link(pool.FullPath) + "/members/stats" + ver,
            ["entries"] = entries,
        };
    }

    private static JsonObject StatsLeaves(F5Pool pool, F5Member m)
    {
        var enabled = m.Session != "user-disabled" && m.AdminState != "user-down";
        return new JsonObject
        {
            ["addr"] = Description(m.Address),
            ["connq.depth"] = Value(0),
            ["curSessions"] = Value(m.CurrentConnections),
            ["monitorRule"] = Description(pool.Monitor is null ? "none" : pool.Monitor + " (pool monitor)"),
            ["monitorStatus"] = Description(m.AdminState == "user-down" ? "forced down" : m.MonitorStatus),
            ["nodeName"] = Description("/" + m.Partition + "/" + m.NodeName),
            ["poolName"] = Description(pool.FullPath),
            ["port"] = Value(m.Port),
            ["serverside.bitsIn"] = Value(0),
            ["serverside.curConns"] = Value(m.CurrentConnections),
            ["serverside.maxConns"] = Value(m.CurrentConnections),
            ["serverside.totConns"] = Value(m.CurrentConnections),
            ["sessionStatus"] = Description(m.Session == "user-disabled" ? "user-disabled" : "enabled"),
            ["status.availabilityState"] = Description(m.Availability),
            ["status.enabledState"] = Description(enabled ? "enabled" : "disabled"),
            ["status.statusReason"] = Description(m.StatusReason ?? ""),
            ["totRequests"] = Value(0),
        };
    }

    private static JsonObject Nested(JsonObject leaves) => new() { ["nestedStats"] = new JsonObject { ["entries"] = leaves } };
    private static JsonObject Description(string text) => new() { ["description"] = text };
    private static JsonObject Value(long value) => new() { ["value"] = value };

    internal static JsonObject Collection(string kind, string selfLink, IEnumerable<JsonNode> items)
    {
        var json = new JsonObject { ["kind"] = kind, ["selfLink"] = selfLink };
        var list = items.ToArray();
        // BIG-IP leaves "items" out of an empty collection.
        if (list.Length > 0) json["items"] = new JsonArray(list);
        return json;
    }

    private static string Link(string poolFullPath) => "https://localhost/mgmt/tm/ltm/pool/" + Segment(poolFullPath);
    private static string MemberLink(F5Pool pool, F5Member m) => Link(pool.FullPath) + "/members/" + Segment(m.FullPath);

    /// <summary>A full path as a URI segment: / → ~, % → %25.</summary>
    internal static string Segment(string fullPath)
    {
        var sb = new StringBuilder();
        foreach (var c in fullPath)
        {
            if (c == '/') sb.Append('~');
            else if (c == '%') sb.Append("%25");
            else if (c == ' ') sb.Append("%20");
            else sb.Append(c);
        }
        return sb.ToString();
    }

    internal static string? Str(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    internal static F5Result NotRegistered(IReadOnlyList<string> path) =>
        F5Result.Error(404, $"URI path /mgmt/tm/ltm/{string.Join('/', path)} not registered.  Please verify URI is supported and wait for /available suffix to be responsive.", 1);

    private static F5Result MethodNotAllowed(string method, IReadOnlyList<string> path) =>
        F5Result.Error(405, $"Method {method} is not supported on /mgmt/tm/ltm/{string.Join('/', path)}.", 1);
}
