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
        /// <summary>Whether the server has health checks: srv_check_state bit 0x02 (CHK_ST_CONFIGURED; 0x01 is "in progress", 0x04 "enabled"; include/haproxy/check-t.h).</summary>
        private static bool HasCheck(LbPoolMember m) =>
            m.Raw is Dictionary<string, object?> raw && raw.TryGetValue("state", out var state) && state is Dictionary<string, string> row
            && int.TryParse(row.Get("srv_check_state"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int check) && (check & 0x02) != 0;

        public static IEnumerable<string> For(IReadOnlyList<LbPoolMember> members)
        {
            foreach (var m in members)
            {
                var line = "server " + m.Name + " " + LbPoolMember.FormatEndpoint(m.Address, m.Port);
                // A drain has no configuration keyword: weight 0 takes no new traffic, as drain does.
                int? weight = m.State == LbMemberState.Draining ? 0 : m.Weight;
                if (weight.HasValue && weight != 1) line += " weight " + weight.Value.ToString(CultureInfo.InvariantCulture);
                if (m.State == LbMemberState.Disabled || m.State == LbMemberState.ForcedOffline) line += " disabled";
                // The Runtime API says whether a server uses TLS, not how it verifies: "ssl" alone, with a note.
                var notes = new List<string>();
                if (m.Options?.Tls == true)
                {
                    line += " ssl";
                    notes.Add("add verify/ca-file as your configuration has them");
                }
                if (HasCheck(m))
                {
                    line += " check";
                    if (m.Options?.CheckAddress != null) line += " addr " + m.Options.CheckAddress;
                    if (m.Options?.CheckPort != null) line += " port " + m.Options.CheckPort.Value.ToString(CultureInfo.InvariantCulture);
                }
                if (m.State == LbMemberState.Draining) notes.Add("was draining");
                if (notes.Count > 0) line += "  # " + string.Join("; ", notes);
                yield return line;
            }
        }
    }
}
