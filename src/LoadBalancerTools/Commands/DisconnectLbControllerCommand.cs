using System.Management.Automation;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;
using LoadBalancerTools.Session;

namespace LoadBalancerTools.Commands
{
    /// <summary>Closes a connection (releasing server-side tokens or sessions) and forgets it.</summary>
    [Cmdlet(VerbsCommunications.Disconnect, "LbController")]
    [OutputType(typeof(void))]
    public sealed class DisconnectLbControllerCommand : LbCmdlet
    {
        [Parameter(Position = 0, ValueFromPipeline = true)]
        public LbConnection? Connection { get; set; }

        protected override void ProcessRecord()
        {
            var connection = Connection ?? ConnectionStore.Default;
            if (connection == null)
            {
                WriteVerbose("No connection to close.");
                return;
            }
            if (!connection.IsConnected)
            {
                WriteVerbose($"{connection} is already closed.");
                return;
            }
            try
            {
                Run(ct => ConnectionService.DisconnectAsync(connection, Log, ct));
            }
            catch (LbException ex)
            {
                // The session is forgotten here whatever the server said; it expires there on its own.
                WriteWarning($"{connection}: the server did not confirm the logout ({ex.Message}).");
            }
            finally
            {
                // DisconnectAsync has already released the provider, whatever the server answered.
                ConnectionStore.Remove(connection);
            }
            WriteVerbose($"Disconnected from {connection}.");
        }
    }
}
