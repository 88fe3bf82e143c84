using System;

namespace LoadBalancerTools.Model
{
    /// <summary>One outside-in probe of a member: did it answer as a healthy backend should, and how fast.</summary>
    public sealed class LbProbeResult
    {
        public string Pool { get; set; } = "";
        public string Address { get; set; } = "";
        public int Port { get; set; }
        public string Name { get; set; } = "";
        /// <summary>http://…/path or tcp://address:port.</summary>
        public string Target { get; set; } = "";
        public bool Success { get; set; }
        // Internal: PowerShell shows it through the type data (LbTypeData), so ConvertTo-Json writes the name, not a number.
        internal LbMemberHealth Status => Success ? LbMemberHealth.Healthy : LbMemberHealth.Unhealthy;
        public int? StatusCode { get; set; }
        public double LatencyMs { get; set; }
        public string? Error { get; set; }
        public DateTimeOffset Timestamp { get; set; }
        // Internal: a hidden property in the type data, so Export-Csv and ConvertTo-Json leave it out; $x.Connection still reads it.
        internal LbConnection? Connection { get; set; }

        public override string ToString() => $"{Target} {(Success ? "ok" : "failed")}{(Error != null ? ": " + Error : "")}";
    }
}
