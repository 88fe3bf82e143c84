using System;
using System.Collections.Generic;
using System.Globalization;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Providers.HAProxy
{
    /// <summary>
    /// The configuration lines that recreate a backend's servers as the Runtime API shows them now: runtime
    /// changes vanish on reload unless they are written to the configuration (management guide, "add server").
    /// </summary>
    public static class HaproxyServerLines
    {
        /// <summary>Whether the server has health checks: srv_check_state bit 0x01 (CHK_ST_CONFIGURED, include/haproxy/check-t.h).</summary>
        private static bool HasCheck(LbPoolMember m) =>
            m.Raw is Dictionary<string, object?> raw && raw.TryGetValue("state", out var state) && state is Dictionary<string, string> row
            && int.TryParse(row.Get("srv_check_state"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int check) && (check & 0x01) != 0;

        public static IEnumerable<string> For(IReadOnlyList<LbPoolMember> members)
        {
            foreach (var m in members)
            {
                var line = "server " + m.Name + " " + LbPoolMember.FormatEndpoint(m.Address, m.Port);
                // A drain has no configuration keyword: weight 0 takes no new traffic, as drain does.
                int? weight = m.State == LbMemberState.Draining ? 0 : m.Weight;
                if (weight.HasValue && weight != 1) line += " weight " + weight.Value.ToString(CultureInfo.InvariantCulture);
                if (m.State == LbMemberState.Disabled || m.State == LbMemberState.ForcedOffline) line += " disabled";
                if (HasCheck(m)) line += " check";
                if (m.State == LbMemberState.Draining) line += "  # was draining";
                yield return line;
            }
        }
    }
}
