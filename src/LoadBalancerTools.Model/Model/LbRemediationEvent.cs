using System;

namespace LoadBalancerTools.Model
{
    public enum LbRemediationEventType
    {
        /// <summary>A member failed a round (probe or load balancer health).</summary>
        Detected,
        /// <summary>A member was taken out of rotation after the failure threshold.</summary>
        Ejected,
        /// <summary>A member that was ejected came back after the recovery threshold.</summary>
        Restored,
        /// <summary>An ejection or restore was decided against; Reason says why.</summary>
        Skipped,
        /// <summary>An alert was delivered (or failed to be: Success false).</summary>
        AlertSent,
        /// <summary>The load balancer's API kept failing after retries; nothing was done this round.</summary>
        ApiFailure,
    }

    /// <summary>One remediation decision, as written to the pipeline and the journal.</summary>
    public sealed class LbRemediationEvent
    {
        public DateTimeOffset Timestamp { get; set; }
        // Internal: PowerShell shows it through the type data (LbTypeData), so ConvertTo-Json writes the name, not a number.
        internal LbRemediationEventType Type { get; set; }
        public string Pool { get; set; } = "";
        public string? Address { get; set; }
        public int? Port { get; set; }
        public string? Member { get; set; }
        /// <summary>Drain, Disable or Remove for ejections; Enable or Add for restores.</summary>
        public string? Action { get; set; }
        public string Reason { get; set; } = "";
        public int? ConsecutiveFailures { get; set; }
        public int? ConsecutiveSuccesses { get; set; }
        /// <summary>False under -WhatIf, or when the change failed.</summary>
        public bool Applied { get; set; }
        /// <summary>For AlertSent: the channel; for failures: whether the delivery or action succeeded.</summary>
        public string? Channel { get; set; }
        public bool Success { get; set; } = true;
        public string? Error { get; set; }
        public int Round { get; set; }
        /// <summary>The provider of the load balancer the event is about; last, so CSV columns of earlier versions keep their places (NginxPlus, F5, …).</summary>
        public string? Provider { get; set; }
        /// <summary>The load balancer's endpoint, without user info or query.</summary>
        public string? Endpoint { get; set; }
        /// <summary>Set on events about the state store itself (its outage, its return): alerts are titled and sourced by it, not by a load balancer.</summary>
        internal string? StateStore { get; set; }

        public override string ToString() => $"{Timestamp:u} {Type} {Pool}{(Member != null ? "/" + Member : "")}: {Reason}";
    }
}
