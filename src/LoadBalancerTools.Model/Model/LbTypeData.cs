using System.Management.Automation;

namespace LoadBalancerTools.Model
{
    /// <summary>
    /// The getters behind the module's type data (LoadBalancerTools.types.ps1xml). ConvertTo-Json serializes every
    /// public .NET property of an object, an enum as a number and the vendor's Raw record in full; so enum values
    /// are internal properties that PowerShell shows by name through these getters, and Raw and Connection are
    /// hidden properties (left out of Export-Csv, ConvertTo-Json and Select-Object *, read by name: $member.Raw).
    /// They are code properties (no script, so no runspace is needed to read them, from any thread or host).
    /// Scripts read the properties, not these methods. The only reference this adds is the host's own
    /// System.Management.Automation (compile-time PowerShellStandard.Library), never a third-party assembly.
    /// </summary>
    public static class LbTypeData
    {
        public static string MemberState(PSObject member) => ((LbPoolMember)member.BaseObject).State.ToString();
        public static string MemberHealth(PSObject member) => ((LbPoolMember)member.BaseObject).Health.ToString();
        public static object? MemberRaw(PSObject member) => ((LbPoolMember)member.BaseObject).Raw;
        public static LbConnection? MemberConnection(PSObject member) => ((LbPoolMember)member.BaseObject).Connection;

        public static object? PoolRaw(PSObject pool) => ((LbPool)pool.BaseObject).Raw;
        public static LbConnection? PoolConnection(PSObject pool) => ((LbPool)pool.BaseObject).Connection;

        public static string ChangeAction(PSObject change) => ((LbChange)change.BaseObject).Action.ToString();
        public static string ChangeStatus(PSObject change) => ((LbChange)change.BaseObject).Status.ToString();
        public static string? ChangeStateBefore(PSObject change) => ((LbChange)change.BaseObject).StateBefore?.ToString();
        public static string? ChangeStateAfter(PSObject change) => ((LbChange)change.BaseObject).StateAfter?.ToString();
        public static LbConnection? ChangeConnection(PSObject change) => ((LbChange)change.BaseObject).Connection;

        public static string ProbeStatus(PSObject result) => ((LbProbeResult)result.BaseObject).Status.ToString();
        public static LbConnection? ProbeConnection(PSObject result) => ((LbProbeResult)result.BaseObject).Connection;

        public static string EventType(PSObject record) => ((LbRemediationEvent)record.BaseObject).Type.ToString();

        public static string AlertChannelType(PSObject channel) => ((Alerts.LbAlertChannel)channel.BaseObject).Type.ToString();

        public static string ConnectionCapabilities(PSObject connection) => ((LbConnection)connection.BaseObject).Capabilities.ToString();
    }
}
