using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using LoadBalancerTools.Alerts;
using LoadBalancerTools.Completers;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;
using LoadBalancerTools.Services.Remediation;

namespace LoadBalancerTools.Commands
{
    /// <summary>
    /// Self-healing for one pool: probes members, ejects those that keep failing, restores them when they
    /// recover, alerts, and never ejects so many that the pool collapses. One round per run (for a
    /// scheduled task with -StatePath), or rounds every -IntervalSec with -Watch.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "LbHealthRemediation", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(LbRemediationEvent))]
    public sealed class InvokeLbHealthRemediationCommand : LbProbeCmdlet
    {
        [Parameter(Mandatory = true, Position = 0)]
        [ArgumentCompleter(typeof(PoolNameCompleter))]
        public string Pool { get; set; } = "";

        /// <summary>Consecutive failed rounds before a member is ejected.</summary>
        [Parameter]
        [ValidateRange(1, 1000)]
        public int FailureThreshold { get; set; } = 3;

        /// <summary>Consecutive good rounds before an ejected member is restored.</summary>
        [Parameter]
        [ValidateRange(1, 1000)]
        public int RecoveryThreshold { get; set; } = 2;

        [Parameter]
        public RemediationAction Action { get; set; } = RemediationAction.Disable;

        [Parameter]
        [ValidateRange(0, 100)]
        public int MaxEjectPercent { get; set; } = 50;

        [Parameter]
        [ValidateRange(0, 100000)]
        public int MinHealthyMembers { get; set; } = 1;

        [Parameter]
        [ValidateRange(1, 86400)]
        public int IntervalSec { get; set; } = 10;

        /// <summary>Keep running rounds until stopped (Ctrl+C) or until -DurationSec has passed.</summary>
        [Parameter]
        public SwitchParameter Watch { get; set; }

        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int? DurationSec { get; set; }

        /// <summary>A JSON file that keeps failure counts and ejections between runs.</summary>
        [Parameter]
        public string? StatePath { get; set; }

        /// <summary>How long to wait for another run that holds the state file before stopping with LbStateLocked.</summary>
        [Parameter]
        [ValidateRange(0, 3600)]
        public int LockTimeoutSec { get; set; } = 5;

        /// <summary>A JSON-lines file that gets one line per decision.</summary>
        [Parameter]
        public string? JournalPath { get; set; }

        [Parameter]
        public LbAlertChannel[] AlertChannel { get; set; } = Array.Empty<LbAlertChannel>();

        private bool DryRun =>
            MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w) ? ((SwitchParameter)w).IsPresent
                : SessionState.PSVariable.GetValue("WhatIfPreference") is SwitchParameter p ? p.IsPresent
                : LanguagePrimitives.IsTrue(SessionState.PSVariable.GetValue("WhatIfPreference"));

        protected override void EndProcessing()
        {
            var connection = ResolveConnection();
            var policy = new RemediationPolicy
            {
                FailureThreshold = FailureThreshold,
                RecoveryThreshold = RecoveryThreshold,
                Action = Action,
                MaxEjectPercent = MaxEjectPercent,
                MinHealthyMembers = MinHealthyMembers,
            };
            RequireAction(connection);
            var probe = ProbeOptions();
            // Two channels of one type (two Slack webhooks) are told apart in events and messages.
            AlertChannel = LbAlertChannel.Distinct(AlertChannel);
            if (!Watch && StatePath == null)
            {
                WriteWarning("This is a single round without -StatePath: failure counts and ejections are not kept for the next run, so a member " +
                             "is never ejected across runs and one ejected now is not restored by a later run. Add -StatePath for scheduled runs, or use -Watch.");
            }
            string? statePath = StatePath == null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(StatePath);
            string? journalPath = JournalPath == null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(JournalPath);
            RemediationState state;
            StateFileLock? held = null;
            try
            {
                // One run per state file: the lock is held for the whole run, so overlapping runs never both decide.
                if (statePath != null && !DryRun) held = StateFileLock.Acquire(statePath, TimeSpan.FromSeconds(LockTimeoutSec));
                state = RemediationState.Load(statePath, Pool, connection.Endpoint.ToString());
            }
            catch (LbException ex)
            {
                held?.Dispose();
                ThrowLbError(ex, StatePath);
                return;
            }

            using var stateLock = held;
            var runner = RemediationRunner.OnSystemClock(Pools);
            if (!DryRun && statePath != null)
            {
                runner.Persist = s =>
                {
                    try { s.Save(statePath); }
                    catch (Exception ex) when (ex is System.IO.IOException || ex is UnauthorizedAccessException || ex is LbException)
                    {
                        Log.Warning($"Could not write the state file: {ex.Message}");
                    }
                };
            }
            var deadline = DurationSec.HasValue ? DateTimeOffset.UtcNow.AddSeconds(DurationSec.Value) : (DateTimeOffset?)null;
            string source = connection.Endpoint.GetLeftPart(UriPartial.Authority);
            WriteVerbose($"Remediating pool '{Pool}' on {connection}: eject ({Action}) after {FailureThreshold} failed rounds, restore after {RecoveryThreshold} good ones, at most {MaxEjectPercent}% ejected, at least {MinHealthyMembers} in rotation.");
            try
            {
                while (true)
                {
                    RunRound(connection, state, policy, probe, runner, source, statePath, journalPath);
                    if (!Watch) break;
                    var next = DateTimeOffset.UtcNow.AddSeconds(IntervalSec);
                    if (deadline.HasValue && next > deadline.Value) break;
                    Run(ct => System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(IntervalSec), ct));
                }
            }
            finally
            {
                // Ctrl+C between rounds or inside one: what was decided so far is kept.
                if (!DryRun) SaveQuietly(state, statePath);
            }
        }

        private void RunRound(LbConnection connection, RemediationState state, RemediationPolicy policy, ProbeOptions probe, RemediationRunner runner,
            string source, string? statePath, string? journalPath)
        {
            var decisions = Run(ct => runner.PlanAsync(connection, state, policy, probe, Log, ct));
            try { RunDecisions(connection, state, policy, runner, source, statePath, journalPath, decisions); }
            finally { PersistChanges(); } // once per round, so a -Watch run's ejections last too
        }

        private void RunDecisions(LbConnection connection, RemediationState state, RemediationPolicy policy, RemediationRunner runner,
            string source, string? statePath, string? journalPath, RoundDecisions decisions)
        {
            var events = new List<LbRemediationEvent>(decisions.Events);
            var alerts = new List<LbRemediationEvent>(decisions.Alerts);
            foreach (var e in decisions.Events) WriteObject(e);

            foreach (var decision in decisions.Actions)
            {
                string what = $"member {LbPoolMember.FormatEndpoint(decision.Record.Address, decision.Record.Port)} ({decision.Record.Name}) of pool '{Pool}' ({connection})";
                string action = decision.Kind == DecisionKind.Eject ? $"Eject ({Action}): {decision.Reason}" : $"Restore: {decision.Reason}";
                bool act = ShouldProcess(what, action);
                var ev = Run(ct => runner.ApplyAsync(connection, state, policy, decision, act, Log, ct));
                if (ev.Applied) MarkChanged(connection);
                events.Add(ev);
                if (act) alerts.Add(ev);
                if (!ev.Success) WriteError(new ErrorRecord(new LbException(LbErrorKind.Rejected, ev.Reason), ErrorIds.RemediationFailed, ErrorCategory.InvalidResult, what));
                WriteObject(ev);
            }

            if (DryRun && alerts.Count > 0)
            {
                // A trial pages nobody: what would have been alerted is shown instead.
                foreach (var a in alerts) WriteWarning($"What if: alert {AlertService.Title(a)}: {a.Reason}");
            }
            else if (alerts.Count > 0 && AlertChannel.Length > 0)
            {
                var sent = Run(ct => runner.AlertAsync(AlertChannel, alerts, source, Log, ct));
                foreach (var s in sent) WriteObject(s);
                events.AddRange(sent);
            }
            else if (alerts.Count > 0)
            {
                foreach (var a in alerts) WriteWarning($"{AlertService.Title(a)}: {a.Reason}");
            }

            // -WhatIf decides without acting: no counts carried into the next real run, no journal of things not done.
            if (DryRun) return;
            try
            {
                Journal.Append(journalPath, events);
            }
            catch (Exception ex) when (ex is System.IO.IOException || ex is UnauthorizedAccessException || ex is LbException)
            {
                // The decisions were made and are on the pipeline; a full disk must not stop the healing.
                WriteWarning($"Could not write the journal: {ex.Message}");
            }
            SaveQuietly(state, statePath);
            WriteVerbose(string.Format(CultureInfo.InvariantCulture, "Round {0}: {1} event(s), {2} action(s).", state.Round, events.Count, decisions.Actions.Count));
        }

        private void SaveQuietly(RemediationState state, string? statePath)
        {
            try
            {
                state.Save(statePath);
            }
            catch (Exception ex) when (ex is System.IO.IOException || ex is UnauthorizedAccessException || ex is LbException)
            {
                if (!Stopping) WriteWarning($"Could not write the state file: {ex.Message}");
            }
        }

        /// <summary>The action must be one this provider can do, or nothing will ever heal: say so before the first round.</summary>
        private void RequireAction(LbConnection connection)
        {
            var needed = Action == RemediationAction.Drain ? LbCapabilities.Drain : Action == RemediationAction.Disable ? LbCapabilities.Disable : LbCapabilities.None;
            if (needed != LbCapabilities.None && !connection.Supports(needed))
            {
                ThrowTerminatingError(new ErrorRecord(
                    new LbException(LbErrorKind.NotSupported, $"-Action {Action} is not supported by this provider ({connection.Provider}); use -Action Remove."),
                    ErrorIds.NotSupported, ErrorCategory.NotImplemented, Action));
            }
        }
    }
}
