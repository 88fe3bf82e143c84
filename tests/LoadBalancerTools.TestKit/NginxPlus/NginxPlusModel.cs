using System;
using System.Collections.Generic;
using System.Globalization;

namespace LoadBalancerTools.TestKit;

/// <summary>An API error as nginx reports it: HTTP status, human text, stable code.</summary>
internal readonly record struct NginxApiError(int Status, string Text, string Code)
{
    public static NginxApiError UnknownVersion() => new(404, "unknown version", "UnknownVersion");
    public static NginxApiError PathNotFound() => new(404, "path not found", "PathNotFound");
    public static NginxApiError MethodNotSupported() => new(405, "method not supported", "MethodNotSupported");
    public static NginxApiError MethodDisabled() => new(405, "method disabled", "MethodDisabled");
    public static NginxApiError UpstreamNotFound(string name) => new(404, $"upstream \"{name}\" not found", "UpstreamNotFound");
    public static NginxApiError UpstreamStatic(string name) => new(400, $"upstream \"{name}\" is static", "UpstreamStatic");
    public static NginxApiError BadServerId(string id) => new(400, $"invalid server id \"{id}\"", "UpstreamBadServerId");
    public static NginxApiError ServerNotFound(int id) => new(404, $"server with id \"{id.ToString(CultureInfo.InvariantCulture)}\" does not exist", "UpstreamServerNotFound");
    public static NginxApiError ConfFormat(string text) => new(400, text, "UpstreamConfFormatError");
    public static NginxApiError JsonError() => new(415, "json error", "JsonError");
    public static NginxApiError EntryExists() => new(409, "entry exists", "EntryExists");
}

/// <summary>One upstream group. Guarded by the emulator's state lock.</summary>
internal sealed class NginxUpstream(string name, bool zone, bool stream)
{
    public string Name { get; } = name;
    public bool Zone { get; } = zone;
    public bool Stream { get; } = stream;
    public List<NginxServer> Servers { get; } = new();

    // Ids only grow, so a stale id held by a client fails loudly instead of hitting another server.
    public int NextId { get; set; }

    public NginxServer? Find(int id)
    {
        foreach (var s in Servers)
            if (s.Id == id) return s;
        return null;
    }
}

/// <summary>One server (configuration plus the peer statistics the emulator simulates). Guarded by the state lock.</summary>
internal sealed class NginxServer
{
    public int Id { get; init; }
    public string Server { get; set; } = "";
    public string? Service { get; set; }
    /// <summary>
    /// For a server nginx created by resolving a configured name ("server app.example resolve"): the id of the
    /// configured server and the name it resolved. The API lists such servers with "parent" and "host" and
    /// refuses PATCH and DELETE on them with UpstreamServerImmutable (NGINX Plus API reference, http/upstreams).
    /// </summary>
    public int? Parent { get; set; }
    public string? Host { get; set; }
    public int Weight { get; set; } = 1;
    public int MaxConns { get; set; }
    public int MaxFails { get; set; } = 1;
    public int FailTimeoutSeconds { get; set; } = 10;
    public int SlowStartSeconds { get; set; }
    public string Route { get; set; } = "";
    public bool Backup { get; set; }
    public bool Down { get; set; }
    public bool Drain { get; set; }

    /// <summary>State reported when neither down nor drain is set: up, unavail, checking, unhealthy.</summary>
    public string Health { get; set; } = "up";

    public int Active { get; set; }
    public long Fails { get; set; }
    public long Unavail { get; set; }
    public long Checks { get; set; }
    public long CheckFails { get; set; }
    public long Unhealthy { get; set; }
    public bool? LastPassed { get; set; }
    public DateTimeOffset? DownStart { get; set; }

    public string PeerState => Down ? "down" : Drain ? "draining" : Health;

    public NginxPlusServerSnapshot Snapshot() => new(
        Id, Server, Service, Weight, MaxConns, MaxFails, Seconds(FailTimeoutSeconds), Seconds(SlowStartSeconds),
        Route, Backup, Down, Drain, PeerState, Active);

    public static string Seconds(int seconds) => seconds.ToString(CultureInfo.InvariantCulture) + "s";
}

/// <summary>nginx time values ("10s", "1m30s", "2h") for fail_timeout and slow_start, kept in whole seconds.</summary>
internal static class NginxTime
{
    public static bool TryParseSeconds(string text, out int seconds)
    {
        seconds = 0;
        if (string.IsNullOrEmpty(text)) return false;
        long total = 0;
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            long value = 0;
            while (i < text.Length && text[i] is >= '0' and <= '9')
            {
                value = value * 10 + (text[i] - '0');
                if (value > int.MaxValue) return false;
                i++;
            }
            if (i == start) return false;

            // A bare number is seconds, as in the nginx configuration.
            long unit = 1;
            if (i < text.Length)
            {
                unit = text[i] switch
                {
                    's' => 1,
                    'm' => 60,
                    'h' => 3600,
                    'd' => 86400,
                    'w' => 604800,
                    'M' => 2592000,
                    'y' => 31536000,
                    _ => 0,
                };
                if (unit == 0) return false;
                i++;
            }
            else if (start != 0)
            {
                return false; // "1m30" has no unit on its last part
            }
            total += value * unit;
            if (total > int.MaxValue) return false;
        }
        seconds = (int)total;
        return true;
    }
}
