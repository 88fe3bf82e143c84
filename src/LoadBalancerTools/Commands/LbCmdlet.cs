using System;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Logging;

namespace LoadBalancerTools.Commands
{
    /// <summary>
    /// Base of every cmdlet: owns the cancellation token (cancelled by Ctrl+C / StopProcessing), runs
    /// async engine work off the pipeline thread, and writes whatever that work reports back on the
    /// pipeline thread, the only thread PowerShell lets write.
    /// </summary>
    public abstract class LbCmdlet : PSCmdlet, ILbLog, IDisposable
    {
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private BlockingCollection<Action>? _pending;
        private int _pipelineThread;

        protected CancellationToken CancellationToken => _stop.Token;

        protected override void BeginProcessing()
        {
            _pipelineThread = Environment.CurrentManagedThreadId;
        }

        protected override void StopProcessing() => Cancel();

        /// <summary>
        /// Runs async work and pumps its messages until it finishes; rethrows its exception. When writing a
        /// message throws (-WarningAction Stop, an Inquire answered Halt, Ctrl+C while writing), the work is
        /// cancelled and awaited before the exception goes on: nothing changes the load balancer after the
        /// prompt is back.
        /// </summary>
        protected T Run<T>(Func<CancellationToken, Task<T>> work)
        {
            _pipelineThread = Environment.CurrentManagedThreadId;
            using var pending = new BlockingCollection<Action>();
            _pending = pending;
            var task = Task.Run(async () =>
            {
                try { return await work(_stop.Token).ConfigureAwait(false); }
                finally { pending.CompleteAdding(); }
            });
            try
            {
                foreach (var write in pending.GetConsumingEnumerable()) write();
            }
            catch
            {
                Cancel();
                try { task.Wait(); }
                catch (AggregateException) { /* the stop is what the caller hears about, not the work's reaction to it */ }
                throw;
            }
            finally
            {
                _pending = null;
            }
            try
            {
                return task.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException ex) when (_stop.IsCancellationRequested)
            {
                // A stop that interrupted a change says what it left behind (a drain names the member's state).
                throw ex.Message.StartsWith("Stopped", StringComparison.Ordinal) ? new PipelineStoppedException(ex.Message) : new PipelineStoppedException();
            }
        }

        private void Cancel()
        {
            try { _stop.Cancel(); }
            catch (ObjectDisposedException) { /* the cmdlet is finished already */ }
        }

        /// <summary>PowerShell disposes a cmdlet after its pipeline ends.</summary>
        public void Dispose() => _stop.Dispose();

        protected void Run(Func<CancellationToken, Task> work) =>
            Run<bool>(async ct => { await work(ct).ConfigureAwait(false); return true; });

        private void Post(Action write)
        {
            if (Environment.CurrentManagedThreadId == _pipelineThread)
            {
                write();
                return;
            }
            var pending = _pending;
            if (pending == null) return;
            try { pending.Add(write); }
            catch (InvalidOperationException) { /* the work finished while this message was on its way */ }
        }

        void ILbLog.Verbose(string message) => Post(() => WriteVerbose(message));
        void ILbLog.Warning(string message) => Post(() => WriteWarning(message));
        void ILbLog.Debug(string message) => Post(() => WriteDebug(message));
        void ILbLog.Progress(int activityId, string activity, string status, int percent, bool completed) => Post(() =>
            WriteProgress(new ProgressRecord(activityId, activity, status)
            {
                PercentComplete = percent,
                RecordType = completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
            }));

        protected ILbLog Log => this;

        /// <summary>
        /// Whether ShouldProcess may ask the user (-Confirm, or $ConfirmPreference at or below the
        /// cmdlet's impact): a prompt can take minutes, so what was read before it may be stale after.
        /// </summary>
        protected bool MayPrompt(ConfirmImpact impact)
        {
            if (MyInvocation.BoundParameters.TryGetValue("Confirm", out object? confirm) && confirm is SwitchParameter s) return s.IsPresent;
            object? preference = GetVariableValue("ConfirmPreference");
            if (preference is PSObject pso) preference = pso.BaseObject;
            var level = preference is ConfirmImpact c ? c
                : Enum.TryParse(Convert.ToString(preference, System.Globalization.CultureInfo.InvariantCulture), true, out ConfirmImpact parsed) ? parsed
                : ConfirmImpact.High;
            return level != ConfirmImpact.None && level <= impact;
        }

        /// <summary>
        /// Whether ShouldProcess will show its text anywhere: -WhatIf, a possible prompt, or -Verbose (which
        /// echoes "Performing the operation"). When it will not, a loop over thousands of changes need not build
        /// one message per change.
        /// </summary>
        protected bool ShouldProcessShowsText(ConfirmImpact impact) =>
            Switch("WhatIf", "WhatIfPreference", p => LanguagePrimitives.IsTrue(p))
            || MayPrompt(impact)
            || Switch("Verbose", "VerbosePreference", p => !(p is ActionPreference a) || (a != ActionPreference.SilentlyContinue && a != ActionPreference.Ignore));

        /// <summary>A common switch as given, else what its preference variable says.</summary>
        private bool Switch(string parameter, string preferenceVariable, Func<object?, bool> fromPreference)
        {
            if (MyInvocation.BoundParameters.TryGetValue(parameter, out object? given) && given is SwitchParameter s) return s.IsPresent;
            object? preference = GetVariableValue(preferenceVariable);
            return fromPreference(preference is PSObject pso ? pso.BaseObject : preference);
        }

        /// <summary>A per-item error: the pipeline goes on.</summary>
        protected void WriteLbError(LbException ex, object? target) => WriteError(ToErrorRecord(ex, target));

        protected void ThrowLbError(LbException ex, object? target) => ThrowTerminatingError(ToErrorRecord(ex, target));

        internal static ErrorRecord ToErrorRecord(LbException ex, object? target)
        {
            var (id, category) = Classify(ex);
            return new ErrorRecord(ex, ex.ErrorId ?? id, category, target);
        }

        private static (string Id, ErrorCategory Category) Classify(LbException ex)
        {
            switch (ex.Kind)
            {
                case LbErrorKind.NotFound: return (ErrorIds.MemberNotFound, ErrorCategory.ObjectNotFound);
                case LbErrorKind.AlreadyExists: return (ErrorIds.AlreadyExists, ErrorCategory.ResourceExists);
                case LbErrorKind.Conflict: return (ErrorIds.Conflict, ErrorCategory.ResourceBusy);
                case LbErrorKind.AuthenticationFailed: return (ErrorIds.AuthenticationFailed, ErrorCategory.AuthenticationError);
                case LbErrorKind.Throttled: return (ErrorIds.Throttled, ErrorCategory.LimitsExceeded);
                case LbErrorKind.Transient: return (ErrorIds.Transient, ErrorCategory.ConnectionError);
                case LbErrorKind.Unreachable: return (ErrorIds.Unreachable, ErrorCategory.ConnectionError);
                case LbErrorKind.NotSupported: return (ErrorIds.NotSupported, ErrorCategory.NotImplemented);
                case LbErrorKind.InvalidInput: return (ErrorIds.InvalidAddress, ErrorCategory.InvalidArgument);
                case LbErrorKind.MalformedResponse: return (ErrorIds.MalformedResponse, ErrorCategory.InvalidResult);
                case LbErrorKind.ReadOnly: return (ErrorIds.ApiReadOnly, ErrorCategory.PermissionDenied);
                default: return (ErrorIds.Rejected, ErrorCategory.InvalidOperation);
            }
        }
    }
}
