using System.Collections.Generic;
using System.Management.Automation;
using LoadBalancerTools.Completers;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;

namespace LoadBalancerTools.Commands
{
    /// <summary>Probes members from the outside (HTTP(S) GET or TCP connect), in parallel, and reports each result.</summary>
    [Cmdlet(VerbsDiagnostic.Test, "LbPoolMember", DefaultParameterSetName = ByObject)]
    [OutputType(typeof(LbProbeResult))]
    public sealed class TestLbPoolMemberCommand : LbProbeCmdlet
    {
        private const string ByObject = "ByObject";
        private const string ByPool = "ByPool";
        private readonly List<LbPoolMember> _members = new List<LbPoolMember>();

        [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
        public LbPoolMember[] InputObject { get; set; } = System.Array.Empty<LbPoolMember>();

        /// <summary>Probe every member of this pool.</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByPool)]
        [ArgumentCompleter(typeof(PoolNameCompleter))]
        public string Pool { get; set; } = "";

        protected override void ProcessRecord()
        {
            if (ParameterSetName == ByObject)
            {
                _members.AddRange(InputObject);
                return;
            }
            var connection = ResolveConnection();
            try
            {
                _members.AddRange(Run(ct => Pools.GetMembersAsync(connection, Pool, Log, ct)));
            }
            catch (LbException ex)
            {
                WriteLbError(ex, Pool);
            }
        }

        /// <summary>Probes everything collected at once, so -ThrottleLimit bounds the whole sweep.</summary>
        protected override void EndProcessing()
        {
            if (_members.Count == 0) return;
            var options = ProbeOptions();
            var probes = new ProbeService();
            WriteProgress(new ProgressRecord(42, "Probing members", $"{_members.Count} member(s), {options.ThrottleLimit} at a time") { PercentComplete = 0 });
            var results = Run(ct => probes.ProbeAllAsync(_members, options, ct));
            WriteProgress(new ProgressRecord(42, "Probing members", "done") { RecordType = ProgressRecordType.Completed });
            foreach (var r in results)
            {
                if (!r.Success) WriteVerbose($"{r.Pool}/{LbPoolMember.FormatEndpoint(r.Address, r.Port)}: {r.Error}");
                WriteObject(r);
            }
        }
    }
}
