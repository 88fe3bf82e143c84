using System;
using System.Collections.Generic;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Providers.NetScaler
{
    /// <summary>
    /// How a service-group member's NITRO fields read as the model's state and health, and how a
    /// requested state is written. The rule users can rely on: State says where the member is now.
    /// </summary>
    /// <remarks>
    /// Read:
    ///   svrstate GOING OUT OF SERVICE (or DOWN WHEN GOING OUT OF SERVICE) → Draining, whatever
    ///   <c>state</c> says (a graceful disable of the member or of its server is under way);
    ///   state DISABLED otherwise → Disabled; state ENABLED → Enabled.
    ///   ForcedOffline is never read back: once out of service, NetScaler shows no difference between a
    ///   graceful and an immediate disable that a script could rely on, so both read Disabled.
    /// Write (POST servicegroup?action=disable|enable):
    ///   Enabled → enable.
    ///   Disabled → disable, graceful YES: no new connections, existing ones finish; -DrainTimeoutSec,
    ///     when given, becomes the delay (it reads Draining until the delay ends, then Disabled).
    ///   Draining → disable, graceful YES, delay = -DrainTimeoutSec or <see cref="DefaultDrainDelaySec"/>.
    ///   ForcedOffline → disable, graceful NO, no delay: out of service at once.
    /// Health comes from svrstate only, and an administrative svrstate is no verdict on health:
    ///   UP, BUSY (at its client limit, but alive), GOING OUT OF SERVICE → Healthy;
    ///   DOWN, DOWN WHEN GOING OUT OF SERVICE → Unhealthy;
    ///   OUT OF SERVICE → Unknown when we disabled it (monitoring says nothing then), Unhealthy when
    ///   the member is ENABLED yet out of service (its server is disabled, say): it takes no traffic;
    ///   UNKNOWN, DISABLED, NS_EMPTY_STR and anything new → Unknown.
    /// </remarks>
    internal static class NetScalerStates
    {
        /// <summary>Delay for -State Drain without -DrainTimeoutSec; the same as Remove-LbPoolMember's default drain timeout.</summary>
        public const int DefaultDrainDelaySec = 300;

        public static LbMemberState State(string? state, string? svrstate)
        {
            if (IsGoingOut(svrstate)) return LbMemberState.Draining;
            return Is(state, "DISABLED") ? LbMemberState.Disabled : LbMemberState.Enabled;
        }

        public static LbMemberHealth Health(string? state, string? svrstate)
        {
            switch ((svrstate ?? "").Trim().ToUpperInvariant())
            {
                case "UP":
                case "BUSY":
                case "GOING OUT OF SERVICE":
                    return LbMemberHealth.Healthy;
                case "DOWN":
                case "DOWN WHEN GOING OUT OF SERVICE":
                    return LbMemberHealth.Unhealthy;
                case "OUT OF SERVICE":
                    return Is(state, "DISABLED") ? LbMemberHealth.Unknown : LbMemberHealth.Unhealthy;
                default:
                    return LbMemberHealth.Unknown;
            }
        }

        /// <summary>The action (enable or disable) and the servicegroup body that puts a member in <paramref name="target"/>.</summary>
        public static (string Action, Dictionary<string, object> Body) StateChange(string pool, string serverName, int port, LbMemberState target, int? drainTimeoutSec)
        {
            var body = new Dictionary<string, object>
            {
                ["servicegroupname"] = pool,
                ["servername"] = serverName,
                ["port"] = port,
            };
            switch (target)
            {
                case LbMemberState.Enabled:
                    return ("enable", body);
                case LbMemberState.Disabled:
                    body["graceful"] = "YES";
                    if (drainTimeoutSec > 0) body["delay"] = drainTimeoutSec.Value;
                    return ("disable", body);
                case LbMemberState.Draining:
                    body["graceful"] = "YES";
                    int delay = drainTimeoutSec ?? DefaultDrainDelaySec;
                    if (delay > 0) body["delay"] = delay;
                    return ("disable", body);
                case LbMemberState.ForcedOffline:
                    body["graceful"] = "NO";
                    return ("disable", body);
                default:
                    throw new ArgumentOutOfRangeException(nameof(target), target, "Unknown member state.");
            }
        }

        private static bool IsGoingOut(string? svrstate)
        {
            string s = (svrstate ?? "").Trim().ToUpperInvariant();
            return s == "GOING OUT OF SERVICE" || s == "DOWN WHEN GOING OUT OF SERVICE";
        }

        private static bool Is(string? value, string expected) => string.Equals((value ?? "").Trim(), expected, StringComparison.OrdinalIgnoreCase);
    }
}
