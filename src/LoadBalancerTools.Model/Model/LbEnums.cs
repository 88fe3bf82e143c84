using System;

namespace LoadBalancerTools.Model
{
    /// <summary>The administrative state of a pool member, vendor-neutral.</summary>
    public enum LbMemberState
    {
        /// <summary>Takes new and existing traffic.</summary>
        Enabled,
        /// <summary>Takes no new connections; existing ones may finish (F5 "disabled", NGINX "down").</summary>
        Disabled,
        /// <summary>Being drained: existing sessions finish, no new ones.</summary>
        Draining,
        /// <summary>Out of rotation immediately, existing connections included.</summary>
        ForcedOffline,
    }

    /// <summary>What the load balancer (or a probe) says about a member's health.</summary>
    public enum LbMemberHealth
    {
        Healthy,
        Unhealthy,
        Checking,
        Unknown,
    }

    /// <summary>What a provider can do; declared on every connection.</summary>
    [Flags]
    public enum LbCapabilities
    {
        None = 0,
        Disable = 1,
        Drain = 2,
        ForcedOffline = 4,
        Weight = 8,
        /// <summary>Reports active connections, so a drain can wait for them to reach zero.</summary>
        ActiveConnections = 16,
        /// <summary>Applies several changes all-or-nothing.</summary>
        Transactions = 32,
        /// <summary>Adds or removes several members in one API call.</summary>
        BatchChanges = 64,
        /// <summary>Names members explicitly (otherwise the name is derived from address and port).</summary>
        MemberNames = 128,
        /// <summary>
        /// Removing a member drains it on the load balancer itself (ELBv2 deregistration delay), and there
        /// is no drain without removal: a drain removes first, then waits until the member is gone.
        /// </summary>
        DrainOnRemove = 256,
    }

    /// <summary>What Wait-LbPoolMember waits for. "Drained", the word of earlier versions, is still accepted for Draining.</summary>
    public enum LbWaitCondition
    {
        /// <summary>The load balancer reports the member Healthy.</summary>
        Healthy,
        /// <summary>Drained: out of rotation (Draining, Disabled or ForcedOffline) with no active connections.</summary>
        Draining,
        /// <summary>Not in the pool.</summary>
        Absent,
    }
}
