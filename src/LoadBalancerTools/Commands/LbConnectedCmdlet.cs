using System;
using System.Management.Automation;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;
using LoadBalancerTools.Session;

namespace LoadBalancerTools.Commands
{
    /// <summary>A cmdlet that talks to a load balancer: -Connection, or the session's default.</summary>
    public abstract class LbConnectedCmdlet : LbCmdlet
    {
        /// <summary>The connection to use; defaults to the last Connect-LbController of this session. Binds from piped pools and members.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public LbConnection? Connection { get; set; }

        internal PoolService Pools { get; } = new PoolService();

        private readonly System.Collections.Generic.List<LbConnection> _changed = new System.Collections.Generic.List<LbConnection>();

        /// <summary>Notes that this invocation changed something through the connection, so it is made permanent at the end.</summary>
        protected void MarkChanged(LbConnection connection)
        {
            if (!_changed.Contains(connection)) _changed.Add(connection);
        }

        /// <summary>
        /// Once per invocation, not per member: saves or syncs the configuration of every connection this
        /// invocation changed, where the vendor needs it (NetScaler save, F5 config-sync).
        /// </summary>
        protected void PersistChanges()
        {
            foreach (var connection in _changed)
            {
                try
                {
                    string? done = Run(ct => Pools.PersistAsync(connection, Log, ct));
                    if (done != null) WriteVerbose($"Made the changes on {connection} permanent: {done}.");
                }
                catch (LbException ex)
                {
                    WriteLbError(ex, connection);
                }
            }
            _changed.Clear();
        }

        protected override void EndProcessing() => PersistChanges();

        /// <summary>Queues a record already confirmed; a full batch is sent now. Outcomes that came back are written, each by <paramref name="write"/>.</summary>
        protected void QueueForBatch<T>(PipelineBatcher<T> batch, string pool, T item, Action<BatchOutcome> write)
        {
            try
            {
                // Queued without leaving the pipeline thread; only a full batch is sent now.
                var full = batch.Add(pool, item);
                if (full != null) Run(ct => batch.SendAsync(pool, full, Log, ct));
            }
            finally
            {
                WriteBatchOutcomes(batch, write);
            }
        }

        /// <summary>At the end of the pipeline: sends what is still queued and writes every outcome.</summary>
        protected void CompleteBatch<T>(PipelineBatcher<T>? batch, Action<BatchOutcome> write)
        {
            if (batch == null) return;
            Run(ct => batch.CompleteAsync(Log, ct));
            WriteBatchOutcomes(batch, write);
            batch.Dispose();
        }

        /// <summary>One error record per failed record of the batches that came back; for the others their verbose line and what <paramref name="write"/> adds.</summary>
        protected void WriteBatchOutcomes<T>(PipelineBatcher<T>? batch, Action<BatchOutcome> write)
        {
            if (batch == null) return;
            foreach (var outcome in batch.TakeCompleted(Log))
            {
                if (outcome.Error != null)
                {
                    WriteLbError(outcome.Error, outcome.Tag);
                    continue;
                }
                if (outcome.Verbose != null) WriteVerbose(outcome.Verbose);
                write(outcome);
            }
        }

        /// <summary>The connection for the current record; terminating when there is none, since nothing can go on.</summary>
        protected LbConnection ResolveConnection()
        {
            var connection = Connection ?? ConnectionStore.Default;
            if (connection == null)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new PSInvalidOperationException("No load balancer connection: run Connect-LbController first, or pass -Connection."),
                    ErrorIds.NoConnection, ErrorCategory.ConnectionError, null));
            }
            if (!connection!.IsConnected)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new PSInvalidOperationException($"The connection to {connection} was closed by Disconnect-LbController; connect again."),
                    ErrorIds.NoConnection, ErrorCategory.ConnectionError, connection));
            }
            return connection;
        }

        /// <summary>Validates user input with the shared rules; on failure writes the error and returns false.</summary>
        protected bool TryValidateEndpoint(string address, int port, object target, out string normalized)
        {
            normalized = address;
            try
            {
                normalized = Util.MemberAddress.Normalize(address, port);
                Util.MemberAddress.ValidatePort(port);
                return true;
            }
            catch (LbException ex)
            {
                WriteLbError(ex, target);
                return false;
            }
        }
    }
}
