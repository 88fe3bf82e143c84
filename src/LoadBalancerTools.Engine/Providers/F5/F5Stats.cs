using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;
using LoadBalancerTools.Util;

namespace LoadBalancerTools.Providers.F5
{
    /// <summary>One member's statistics leaves, flattened from iControl's nested stats.</summary>
    internal sealed class F5MemberStats
    {
        public string? NodeName { get; set; }
        public string? Address { get; set; }
        public int? Port { get; set; }
        public string? Availability { get; set; }
        public string? MonitorStatus { get; set; }
        public string? StatusReason { get; set; }
        public long? CurrentConnections { get; set; }
        public JsonElement Entries { get; set; }
    }

    /// <summary>
    /// Reads iControl stats: "entries" → {url} → "nestedStats" → "entries", nested to a depth that
    /// differs between versions and between pool-level and member-level calls, so it is walked
    /// recursively until a level holds the leaves themselves.
    /// </summary>
    internal static class F5Stats
    {
        public static List<F5MemberStats> Members(JsonElement root)
        {
            var found = new List<F5MemberStats>();
            Walk(root.Prop("entries"), found, 0);
            return found;
        }

        private static void Walk(JsonElement? entries, List<F5MemberStats> found, int depth)
        {
            if (entries is not { ValueKind: JsonValueKind.Object } level || depth > 8) return;
            if (IsLeafLevel(level))
            {
                found.Add(Read(level));
                return;
            }
            foreach (var entry in level.EnumerateObject())
            {
                var nested = entry.Value.Prop("nestedStats");
                if (nested.HasValue) Walk(nested.Value.Prop("entries"), found, depth + 1);
            }
        }

        private static bool IsLeafLevel(JsonElement level) =>
            level.TryGetProperty("status.availabilityState", out _) || level.TryGetProperty("nodeName", out _) ||
            level.TryGetProperty("serverside.curConns", out _);

        private static F5MemberStats Read(JsonElement level)
        {
            long? port = Value(level, "port");
            return new F5MemberStats
            {
                NodeName = Description(level, "nodeName"),
                Address = Description(level, "addr"),
                Port = port.HasValue ? (int)port.Value : (int?)null,
                Availability = Description(level, "status.availabilityState"),
                MonitorStatus = Description(level, "monitorStatus"),
                StatusReason = Description(level, "status.statusReason"),
                CurrentConnections = Value(level, "serverside.curConns"),
                Entries = level.Clone(),
            };
        }

        private static string? Description(JsonElement level, string name) => level.Prop(name)?.Str("description");

        private static long? Value(JsonElement level, string name)
        {
            var leaf = level.Prop(name);
            if (leaf == null) return null;
            if (leaf.Value.Long("value") is long l) return l;
            // Some versions render counters as strings.
            return long.TryParse(leaf.Value.Str("value") ?? leaf.Value.Str("description"), NumberStyles.Integer, CultureInfo.InvariantCulture, out long parsed) ? parsed : (long?)null;
        }

        /// <summary>The BIG-IP version from GET /mgmt/tm/sys/version, whose leaves are nested the same way.</summary>
        public static string? Version(JsonElement root) => FindDescription(root.Prop("entries"), "Version", 0);

        private static string? FindDescription(JsonElement? entries, string key, int depth)
        {
            if (entries is not { ValueKind: JsonValueKind.Object } level || depth > 8) return null;
            if (level.Prop(key)?.Str("description") is string value) return value;
            foreach (var entry in level.EnumerateObject())
            {
                var nested = entry.Value.Prop("nestedStats");
                if (nested.HasValue && FindDescription(nested.Value.Prop("entries"), key, depth + 1) is string v) return v;
            }
            return null;
        }
    }
}
