namespace LoadBalancerTools.Errors
{
    /// <summary>Stable error ids, one per code path; scripts match on them, so never rename one.</summary>
    public static class ErrorIds
    {
        public const string NoConnection = "LbNoConnection";
        public const string ConnectFailed = "LbConnectFailed";
        public const string UnknownProvider = "LbUnknownProvider";
        public const string InvalidEndpoint = "LbInvalidEndpoint";
        public const string RegionRequired = "LbRegionRequired";
        public const string AuthenticationFailed = "LbAuthenticationFailed";
        public const string SecretManagementMissing = "LbSecretManagementMissing";
        public const string SecretNotFound = "LbSecretNotFound";
        public const string SecretUnusable = "LbSecretUnusable";
        public const string InvalidAddress = "LbInvalidAddress";
        public const string InvalidPort = "LbInvalidPort";
        public const string InvalidWeight = "LbInvalidWeight";
        public const string InvalidState = "LbInvalidState";
        public const string PoolNotFound = "LbPoolNotFound";
        public const string MemberNotFound = "LbMemberNotFound";
        public const string NotSupported = "LbNotSupported";
        public const string ApiReadOnly = "LbApiReadOnly";
        public const string Rejected = "LbRejected";
        public const string Conflict = "LbConflict";
        public const string Throttled = "LbThrottled";
        public const string Unreachable = "LbUnreachable";
        public const string Transient = "LbTransient";
        public const string MalformedResponse = "LbMalformedResponse";
        public const string DrainTimeout = "LbDrainTimeout";
        public const string AlreadyExists = "LbAlreadyExists";
        public const string InvalidName = "LbInvalidName";
        public const string StateFileInvalid = "LbStateFileInvalid";
        /// <summary>Another run holds the state file's lock past -LockTimeoutSec.</summary>
        public const string StateLocked = "LbStateLocked";
        /// <summary>-StateStore is neither a file path nor a usable redis:// or rediss:// address.</summary>
        public const string InvalidStateStore = "LbInvalidStateStore";
        /// <summary>The remediation state store (Redis) did not answer; that round changed nothing.</summary>
        public const string StateStoreUnavailable = "LbStateStoreUnavailable";
        public const string RemediationFailed = "LbRemediationFailed";
        public const string ProbeFailed = "LbProbeFailed";
        public const string SyncInvalidMember = "LbSyncInvalidMember";
        public const string SyncDuplicateMember = "LbSyncDuplicateMember";
        public const string SyncInvalidDesiredState = "LbSyncInvalidDesiredState";
        public const string SyncEmptyDesiredState = "LbSyncEmptyDesiredState";
        public const string SyncAddFailed = "LbSyncAddFailed";
        public const string SyncUpdateFailed = "LbSyncUpdateFailed";
        public const string SyncRemoveFailed = "LbSyncRemoveFailed";
        public const string SyncVerifyMismatch = "LbSyncVerifyMismatch";
        public const string SyncVerifyFailed = "LbSyncVerifyFailed";
        public const string WaitTimeout = "LbWaitTimeout";
        /// <summary>-Address/-Port (or -Name) match several members; nothing was changed.</summary>
        public const string AmbiguousMember = "LbAmbiguousMember";
        /// <summary>A write failed in a way that does not prove it was not applied, and the pool could not be read to find out.</summary>
        public const string OutcomeUnknown = "LbOutcomeUnknown";
        /// <summary>A credential would go over plain http:// to a remote load balancer without -AllowUnencryptedAuthentication.</summary>
        public const string UnencryptedAuthentication = "LbUnencryptedAuthentication";
        /// <summary>Changes were applied but the save or config-sync that makes them last failed.</summary>
        public const string PersistFailed = "LbPersistFailed";
        /// <summary>A member option's value is not valid (negative count, a name where an address belongs...).</summary>
        public const string InvalidInput = "LbInvalidOption";
    }
}
