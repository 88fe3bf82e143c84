namespace LoadBalancerTools.Services.Remediation
{
    public enum RemediationAction
    {
        /// <summary>Stop new sessions; existing ones finish.</summary>
        Drain,
        /// <summary>Take out of rotation (HAProxy maint, NGINX down, F5/NetScaler disable).</summary>
        Disable,
        /// <summary>Remove from the pool; restored by adding it back with its name and weight.</summary>
        Remove,
    }

    /// <summary>
    /// The safety rules, after Envoy's outlier detection (maximum ejection percent, panic threshold),
    /// HAProxy's rise/fall counts and AWS's fail-open when every target is unhealthy.
    /// </summary>
    public sealed class RemediationPolicy
    {
        /// <summary>Consecutive failed rounds before a member is ejected (HAProxy's "fall").</summary>
        public int FailureThreshold { get; set; } = 3;
        /// <summary>Consecutive good rounds before an ejected member is restored (HAProxy's "rise").</summary>
        public int RecoveryThreshold { get; set; } = 2;
        public RemediationAction Action { get; set; } = RemediationAction.Disable;
        /// <summary>At most this share of the pool is ever ejected at once (Envoy's max_ejection_percent).</summary>
        public int MaxEjectPercent { get; set; } = 50;
        /// <summary>Never leave fewer members than this in rotation.</summary>
        public int MinHealthyMembers { get; set; } = 1;
    }
}
