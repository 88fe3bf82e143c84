using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text;
using LoadBalancerTools.Completers;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Providers.HAProxy;

namespace LoadBalancerTools.Commands
{
    /// <summary>
    /// Writes the "server" lines that recreate an HAProxy backend's servers as they run now, so runtime changes
    /// survive a reload once the lines are in the configuration.
    /// </summary>
    [Cmdlet(VerbsData.Export, "LbHaproxyServerLine")]
    [OutputType(typeof(string))]
    public sealed class ExportLbHaproxyServerLineCommand : LbConnectedCmdlet
    {
        /// <summary>The backend to export.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(PoolNameCompleter))]
        public string Pool { get; set; } = "";

        /// <summary>A file to write the lines to (replaced); without it the lines are output as strings.</summary>
        [Parameter(Position = 1)]
        public string? Path { get; set; }

        protected override void ProcessRecord()
        {
            var connection = ResolveConnection();
            if (connection.Provider != "HAProxy")
            {
                WriteLbError(new LbException(LbErrorKind.NotSupported,
                    $"Export-LbHaproxyServerLine is for HAProxy backends; {connection.Provider} keeps its changes itself or has its own save step (see Connect-LbController -SaveConfig and -SyncGroup).")
                    { ErrorId = ErrorIds.NotSupported }, Pool);
                return;
            }
            try
            {
                var members = Run(ct => Pools.GetMembersAsync(connection, Pool, Log, ct));
                var lines = HaproxyServerLines.For(members).ToList();
                if (Path == null)
                {
                    WriteObject(lines, enumerateCollection: true);
                    return;
                }
                string file = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
                File.WriteAllText(file, string.Join("\n", lines) + "\n", new UTF8Encoding(false));
                WriteVerbose($"Wrote {lines.Count} server line(s) of backend '{Pool}' to {file}.");
            }
            catch (LbException ex)
            {
                WriteLbError(ex, Pool);
            }
        }
    }
}
