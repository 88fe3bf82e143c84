using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Text.Json.Nodes;

namespace LoadBalancerTools.TestKit;

/// <summary>An iControl REST answer: status and JSON body (null for an empty body).</summary>
internal sealed record F5Result(int Status, JsonNode? Body)
{
    public bool IsSuccess => Status is >= 200 and < 300;

    public static F5Result Ok(JsonNode? body) => new(200, body);

    /// <summary>The documented error shape: {"code","message","errorStack","apiError"}.</summary>
    public static F5Result Error(int status, string message, int apiError = 3) =>
        new(status, new JsonObject
        {
            ["code"] = status,
            ["message"] = message,
            ["errorStack"] = new JsonArray(),
            ["apiError"] = apiError,
        });

    public string? Message => Body is JsonObject o && o["message"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}

internal sealed class F5Node
{
    public required string Partition { get; init; }
    public required string Name { get; init; }
    public required string Address { get; init; }
    /// <summary>
    /// user-enabled or user-disabled: a node disabled at node level disables every pool member on it
    /// (BIG-IP shows those members' enabled state as "disabled-by-parent").
    /// </summary>
    public string Session { get; set; } = "user-enabled";
    public string FullPath => "/" + Partition + "/" + Name;
}

internal sealed class F5Member
{
    public required string Partition { get; init; }
    public required string Name { get; init; }
    public required string NodeName { get; init; }
    public required string Address { get; init; }
    public required int Port { get; init; }
    /// <summary>
    /// Created by BIG-IP from an FQDN node's DNS answer ("ephemeral": "true", named _auto_ADDRESS): it cannot
    /// be changed or deleted through the API (the F5-LTM PowerShell module filters these members out).
    /// </summary>
    public bool Ephemeral { get; init; }
    /// <summary>Administrative state as written: user-up or user-down.</summary>
    public string AdminState { get; set; } = "user-up";
    /// <summary>As written: user-enabled or user-disabled.</summary>
    public string Session { get; set; } = "user-enabled";
    public int Ratio { get; set; } = 1;
    public int ConnectionLimit { get; set; }
    public int PriorityGroup { get; set; }
    /// <summary>The member's monitor rule as written ("default" means the pool's).</summary>
    public string MonitorRule { get; set; } = "default";
    public string? Description { get; set; }
    /// <summary>Monitor result: available, offline or unknown.</summary>
    public string Availability { get; set; } = "available";
    public string MonitorStatus { get; set; } = "up";
    public string? StatusReason { get; set; } = "Pool member is available";
    public long CurrentConnections { get; set; }
    public string FullPath => "/" + Partition + "/" + Name;

    public F5Member Clone() => (F5Member)MemberwiseClone();
}

internal sealed class F5Pool
{
    public required string Partition { get; init; }
    public required string Name { get; init; }
    /// <summary>
    /// The folder under the partition, for pools AS3 tenants and iApps create (/Tenant/Application/pool): the
    /// REST object carries "subPath" (Application) and "fullPath"; its URI is ~Tenant~Application~pool.
    /// </summary>
    public string? SubPath { get; init; }
    public string? Monitor { get; init; }
    public string LoadBalancingMode { get; init; } = "round-robin";
    public List<F5Member> Members { get; init; } = new();
    public string FullPath => "/" + Partition + "/" + (SubPath is null ? "" : SubPath + "/") + Name;

    public F5Pool Clone() => new()
    {
        Partition = Partition, Name = Name, SubPath = SubPath, Monitor = Monitor, LoadBalancingMode = LoadBalancingMode,
        Members = Members.Select(m => m.Clone()).ToList(),
    };
}

/// <summary>The LTM configuration the emulator serves. Cloned for transactions, so a failed commit leaves it untouched.</summary>
internal sealed class F5Config
{
    public HashSet<string> Partitions { get; init; } = new(StringComparer.Ordinal) { "Common" };
    public Dictionary<string, F5Pool> Pools { get; init; } = new(StringComparer.Ordinal);
    public Dictionary<string, F5Node> Nodes { get; init; } = new(StringComparer.Ordinal);

    public F5Config Clone() => new()
    {
        Partitions = new HashSet<string>(Partitions, StringComparer.Ordinal),
        Pools = Pools.ToDictionary(kv => kv.Key, kv => kv.Value.Clone(), StringComparer.Ordinal),
        Nodes = new Dictionary<string, F5Node>(Nodes, StringComparer.Ordinal),
    };
}

/// <summary>BIG-IP name rules, as the emulator enforces them.</summary>
internal static class F5NameRules
{
    /// <summary>"~Common~web" → "/Common/web"; a bare "web" is in Common.</summary>
    public static string FromSegment(string segment) =>
        segment.StartsWith('~') ? segment.Replace('~', '/') : "/Common/" + segment;

    public static (string Partition, string Name) Split(string fullPath)
    {
        var parts = fullPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 ? (parts[0], string.Join('/', parts.Skip(1))) : ("Common", fullPath.Trim('/'));
    }

    /// <summary>"10.0.0.1:80" → ("10.0.0.1", 80); "2001:db8::1.80" → ("2001:db8::1", 80); route domains kept on the node part.</summary>
    public static bool TrySplitMember(string name, out string node, out int port)
    {
        node = name;
        port = 0;
        var withoutDomain = StripRouteDomain(name);
        var ipv6 = withoutDomain.Count(c => c == ':') > 1;
        var split = ipv6 ? name.LastIndexOf('.') : name.LastIndexOf(':');
        if (split <= 0 || split == name.Length - 1) return false;
        if (!int.TryParse(name[(split + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 0 or > 65535) return false;
        node = name[..split];
        return true;
    }

    /// <summary>An IP address with an optional %routeDomain, in canonical form; null when it is not one.</summary>
    public static string? CanonicalIp(string value)
    {
        var percent = value.IndexOf('%');
        var ip = percent >= 0 ? value[..percent] : value;
        var domain = percent >= 0 ? value[percent..] : "";
        if (domain.Length > 0 && (domain.Length == 1 || !domain[1..].All(char.IsAsciiDigit))) return null;
        return IPAddress.TryParse(ip, out var parsed) ? parsed.ToString().ToLowerInvariant() + domain : null;
    }

    private static string StripRouteDomain(string s)
    {
        var percent = s.IndexOf('%');
        if (percent < 0) return s;
        var end = percent + 1;
        while (end < s.Length && char.IsAsciiDigit(s[end])) end++;
        return s[..percent] + s[end..];
    }
}

/// <summary>A member as the emulator holds it, for assertions.</summary>
public sealed record F5MemberSnapshot(
    string Name, string FullPath, string Address, int Port, string NodeName,
    string AdminState, string Session, int Ratio, string Availability, long CurrentConnections,
    int PriorityGroup = 0, int ConnectionLimit = 0, string MonitorRule = "default");

/// <summary>A node as the emulator holds it.</summary>
public sealed record F5NodeSnapshot(string FullPath, string Address);
