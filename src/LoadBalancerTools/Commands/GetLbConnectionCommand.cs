using System.Management.Automation;
using LoadBalancerTools.Model;
using LoadBalancerTools.Session;

namespace LoadBalancerTools.Commands
{
    /// <summary>Lists this session's connections; -Default returns only the one cmdlets use when -Connection is omitted.</summary>
    [Cmdlet(VerbsCommon.Get, "LbConnection")]
    [OutputType(typeof(LbConnection))]
    public sealed class GetLbConnectionCommand : LbCmdlet
    {
        [Parameter]
        public SwitchParameter Default { get; set; }

        protected override void ProcessRecord()
        {
            if (Default)
            {
                var connection = ConnectionStore.Default;
                if (connection != null) WriteObject(connection);
                return;
            }
            WriteObject(ConnectionStore.All, enumerateCollection: true);
        }
    }
}
