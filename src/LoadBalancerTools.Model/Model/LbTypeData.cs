namespace LoadBalancerTools.Model
{
    /// <summary>
    /// The getters behind the module's type data (LoadBalancerTools.types.ps1xml). ConvertTo-Json serializes every
    /// public .NET property of an object, an enum as a number and the vendor's Raw record in full; so enum values
    /// are internal properties that PowerShell shows by name through these getters, and Raw and Connection are
    /// hidden properties (left out of Export-Csv, ConvertTo-Json and Select-Object *, read by name: $member.Raw).
    /// Scripts read the properties, not these methods.
    /// </summary>
    public static class LbTypeData
    {
        public static string MemberState(LbPoolMember member) => member.State.ToString();
        public static string MemberHealth(LbPoolMember member) => member.Health.ToString();
        public static object? MemberRaw(LbPoolMember member) => member.Raw;
        public static LbConnection? MemberConnection(LbPoolMember member) => member.Connection;

        public static object? PoolRaw(LbPool pool) => pool.Raw;
        public static LbConnection? PoolConnection(LbPool pool) => pool.Connection;

        public static string ChangeAction(LbChange change) => change.Action.ToString();
        public static string ChangeStatus(LbChange change) => change.Status.ToString();
        public static string? ChangeStateBefore(LbChange change) => change.StateBefore?.ToString();
        public static string? ChangeStateAfter(LbChange change) => change.StateAfter?.ToString();
        public static LbConnection? ChangeConnection(LbChange change) => change.Connection;

        public static string ProbeStatus(LbProbeResult result) => result.Status.ToString();
        public static LbConnection? ProbeConnection(LbProbeResult result) => result.Connection;

        public static string EventType(LbRemediationEvent record) => record.Type.ToString();

        public static string ConnectionCapabilities(LbConnection connection) => connection.Capabilities.ToString();
    }
}
