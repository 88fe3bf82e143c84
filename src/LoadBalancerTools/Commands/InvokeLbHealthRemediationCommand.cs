using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using LoadBalancerTools.Alerts;
using LoadBalancerTools.Completers;
using LoadBalancerTools.Credentials;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;
using LoadBalancerTools.Services.Remediation;
using LoadBalancerTools.Services.Remediation.Stores;

namespace LoadBalancerTools.Commands
{
    /// <summary>
    /// Self-healing for pools: probes members, ejects those that keep failing, restores them when they recover,
    /// alerts, and never ejects so many that a pool collapses. One round per run (for a scheduled task with
    /// -StatePath or -StateStore), or rounds every -IntervalSec with -Watch. Several pools (names, wildcards, or
    /// pools piped from Get-LbPool on several connections) are probed and decided together each round; with a
    /// redis:// state store several runners share the state and each pool is changed by one lease holder only.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "LbHealthRemediation", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(LbRemediationEvent))]
    public sealed class InvokeLbHealthRemediationCommand : LbProbeCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(PoolNameCompleter))]
        public string[] Pool { get; set; } = Array.Empty<string>();

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

        /// <summary>With -Watch: stop after this many rounds (a scheduled task that watches for a while, a test).</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int? MaxRounds { get; set; }

        /// <summary>A JSON file that keeps failure counts and ejections between runs (a folder with one file per pool when several pools are given).</summary>
        [Parameter]
        public string? StatePath { get; set; }

        /// <summary>Where state is kept: a file path (as -StatePath), or redis://host:port[/db] / rediss://… shared by several runners.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? StateStore { get; set; }

        /// <summary>Redis credentials (user name "default" for a password alone).</summary>
        [Parameter]
        [Credential]
        public PSCredential? StateCredential { get; set; }

        /// <summary>A SecretManagement secret that holds the Redis password or credential.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? StateSecretName { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? StateVault { get; set; }

        /// <summary>How long a pool's Redis lease lasts unless renewed; default 3 × -IntervalSec, at least 15.</summary>
        [Parameter]
        [ValidateRange(1, 86400)]
        public int? LeaseTtlSec { get; set; }

        /// <summary>This runner's name in leases and messages; default host name and process id. Must be unique among runners.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? RunnerId { get; set; }

        /// <summary>How long to wait for another run that holds the state file before stopping with LbStateLocked.</summary>
        [Parameter]
        [ValidateRange(0, 3600)]
        public int LockTimeoutSec { get; set; } = 5;

        /// <summary>A JSON-lines file that gets one line per decision.</summary>
        [Parameter]
        public string? JournalPath { get; set; }

        [Parameter]
        public LbAlertChannel[] AlertChannel { get; set; } = Array.Empty<LbAlertChannel>();

        private readonly List<(LbConnection Connection, string Pool)> _requested = new List<(LbConnection, string)>();

        // Pools named literally (typed or piped): the only ones whose existence is not yet known. Wildcard matches came from a listing.
        private readonly HashSet<PoolKey> _literal = new HashSet<PoolKey>();

        private bool DryRun =>
            MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w) ? ((SwitchParameter)w).IsPresent
                : SessionState.PSVariable.GetValue("WhatIfPreference") is SwitchParameter p ? p.IsPresent
                : LanguagePrimitives.IsTrue(SessionState.PSVariable.GetValue("WhatIfPreference"));

        /// <summary>Pools arrive by name and by pipeline (Get-LbPool, from several connections); the rounds run once all have arrived.</summary>
        protected override void ProcessRecord()
        {
            var connection = ResolveConnection();
            foreach (string name in Pool) _requested.Add((connection, name));
        }

        protected override void EndProcessing()
        {
            var policy = new RemediationPolicy
            {
                FailureThreshold = FailureThreshold,
                RecoveryThreshold = RecoveryThreshold,
                Action = Action,
                MaxEjectPercent = MaxEjectPercent,
                MinHealthyMembers = MinHealthyMembers,
            };
            var targets = ResolveTargets();
            foreach (var connection in targets.Select(t => t.Connection).Distinct()) RequireAction(connection);
            var probe = ProbeOptions();
            // Two channels of one type (two Slack webhooks) are told apart in events and messages.
            AlertChannel = LbAlertChannel.Distinct(AlertChannel);
            if (!Watch && StatePath == null && StateStore == null)
            {
                WriteWarning("This is a single round without -StatePath: failure counts and ejections are not kept for the next run, so a member " +
                             "is never ejected across runs and one ejected now is not restored by a later run. Add -StatePath for scheduled runs, or use -Watch.");
            }
            string? journalPath = JournalPath == null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(JournalPath);
            var store = OpenStore(targets.Count);
            var session = RemediationSession.OnSystemClock(RemediationRunner.OnSystemClock(Pools), store, targets, DryRun);
            try
            {
                // One run per state file: locks are taken and every pool's state checked before anything changes.
                Run(ct => session.OpenAsync(ct));
            }
            catch (LbException ex)
            {
                store.Dispose();
                ThrowLbError(ex, StatePath ?? StateStore);
                return;
            }
            if (!LeaveOutMissingPools(session))
            {
                store.Dispose();
                ThrowNoPool();
            }

            var deadline = DurationSec.HasValue ? DateTimeOffset.UtcNow.AddSeconds(DurationSec.Value) : (DateTimeOffset?)null;
            WriteVerbose($"Remediating {targets.Count} pool(s) ({string.Join(", ", targets.Select(t => $"'{t.Pool}' on {t.Connection}"))}) with state in {store.Description}: " +
                         $"eject ({Action}) after {FailureThreshold} failed rounds, restore after {RecoveryThreshold} good ones, at most {MaxEjectPercent}% ejected, at least {MinHealthyMembers} in rotation.");
            try
            {
                for (int round = 1; ; round++)
                {
                    RunRound(session, policy, probe, journalPath);
                    if (!Watch || (MaxRounds.HasValue && round >= MaxRounds.Value)) break;
                    var next = DateTimeOffset.UtcNow.AddSeconds(IntervalSec);
                    if (deadline.HasValue && next > deadline.Value) break;
                    Run(ct => System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(IntervalSec), ct));
                }
            }
            finally
            {
                // Ctrl+C between rounds or inside one: what was decided so far is kept, and the leases go back at once.
                session.SaveAllQuietly();
                session.ReleaseAsync(System.Threading.CancellationToken.None).GetAwaiter().GetResult();
                store.Dispose();
            }
        }

        /// <summary>Names as given, wildcards matched against each connection's pools, duplicates (by connection and pool) once.</summary>
        private List<RemediationTarget> ResolveTargets()
        {
            var targets = new List<RemediationTarget>();
            var seen = new HashSet<PoolKey>();
            foreach (var group in _requested.GroupBy(r => r.Connection))
            {
                var connection = group.Key;
                IReadOnlyList<LbPool>? listed = null;
                foreach (var (_, name) in group)
                {
                    var names = new List<string> { name };
                    if (WildcardPattern.ContainsWildcardCharacters(name))
                    {
                        try { listed ??= Run(ct => Pools.GetPoolsAsync(connection, Log, ct)); }
                        catch (LbException ex) { ThrowLbError(ex, connection); }
                        var pattern = WildcardPattern.Get(name, WildcardOptions.IgnoreCase);
                        names = listed!.Where(p => pattern.IsMatch(p.Pool)).Select(p => p.Pool).ToList();
                        if (names.Count == 0) WriteWarning($"-Pool '{name}' matches no pool on {connection}.");
                    }
                    bool literal = !WildcardPattern.ContainsWildcardCharacters(name);
                    foreach (var pool in names)
                    {
                        var target = new RemediationTarget(connection, pool);
                        if (literal) _literal.Add(target.Key);
                        if (seen.Add(target.Key)) targets.Add(target);
                    }
                }
            }
            if (targets.Count == 0) ThrowNoPool();
            return targets;
        }

        private void ThrowNoPool() =>
            ThrowTerminatingError(new ErrorRecord(new PSArgumentException("No pool to remediate: -Pool matched nothing."), ErrorIds.PoolNotFound, ErrorCategory.ObjectNotFound, Pool));

        /// <summary>
        /// Literal names checked once the state is locked (a run that cannot lock calls no API) and before any round:
        /// a misspelled pool is one LbPoolNotFound error and is left out, the other pools go on (like Get-Item with
        /// several paths), instead of an ApiFailure and an alert every round. None left stops the run.
        /// </summary>
        private bool LeaveOutMissingPools(RemediationSession session)
        {
            var answering = new HashSet<LbConnection>(session.Targets.Select(t => t.Connection).Distinct());
            foreach (var t in session.Targets.Where(t => _literal.Contains(t.Key)).ToList())
            {
                // One failed check per load balancer: an outage is the rounds' to report (and each extra read would feed its circuit breaker).
                if (!answering.Contains(t.Connection)) continue;
                try
                {
                    Run(ct => Pools.GetMembersAsync(t.Connection, t.Pool, Log, ct));
                }
                catch (LbException ex) when (ex.ErrorId == ErrorIds.PoolNotFound)
                {
                    WriteLbError(ex, t.Pool);
                    Run(ct => session.LeaveOutAsync(t, ct));
                }
                catch (LbException ex)
                {
                    WriteVerbose($"Could not check that pool '{t.Pool}' exists on {t.Connection} ({ex.Message}); the rounds will report it.");
                    answering.Remove(t.Connection);
                }
            }
            return session.Targets.Count > 0;
        }

        /// <summary>-StateStore (a file or redis://) or -StatePath; memory for this run only when neither is given.</summary>
        private IRemediationStateStore OpenStore(int pools)
        {
            if (StatePath != null && StateStore != null)
            {
                ThrowTerminatingError(new ErrorRecord(new PSArgumentException("Give -StatePath or -StateStore, not both: -StatePath is the file form of -StateStore."),
                    ErrorIds.InvalidStateStore, ErrorCategory.InvalidArgument, null));
            }
            string? spec = StateStore ?? StatePath;
            if (spec == null) return new RunOnlyStateStore();
            if (StateStore != null && (RedisStoreAddress.IsRedis(spec) || spec.Contains("://")))
            {
                try
                {
                    var address = RedisStoreAddress.Parse(spec);
                    var credential = StateCredential != null ? StateCredential.GetNetworkCredential()
                        : StateSecretName != null ? SecretManagementResolver.Resolve(this, StateSecretName, StateVault, "default")
                        : null;
                    string runner = RunnerId ?? $"{Environment.MachineName}:{System.Diagnostics.Process.GetCurrentProcess().Id}";
                    var ttl = TimeSpan.FromSeconds(LeaseTtlSec ?? Math.Max(15, 3 * IntervalSec));
                    return Run(ct => RedisStateStore.ConnectAsync(address, credential, runner, ttl));
                }
                catch (LbException ex)
                {
                    // Never the value itself: it may hold a password.
                    ThrowLbError(ex, null);
                }
            }
            string path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(spec);
            // Several pools keep one file each in a folder: a file path there would become a folder named like a file.
            if (pools > 1 && (System.IO.File.Exists(path) || string.Equals(System.IO.Path.GetExtension(path), ".json", StringComparison.OrdinalIgnoreCase)))
            {
                ThrowLbError(new LbException(LbErrorKind.InvalidInput,
                    $"-StatePath '{spec}' names a file, but {pools} pools are healed: give a folder, which keeps one state file per pool and load balancer.")
                    { ErrorId = ErrorIds.InvalidStateStore }, spec);
            }
            return new FileStateStore(path, pools > 1 || System.IO.Directory.Exists(path), TimeSpan.FromSeconds(LockTimeoutSec));
        }

        private void RunRound(RemediationSession session, RemediationPolicy policy, ProbeOptions probe, string? journalPath)
        {
            var (pools, storeHealth) = Run(ct => session.PlanAsync(policy, probe, Log, ct));
            var events = new List<LbRemediationEvent>(storeHealth.Events);
            foreach (var e in storeHealth.Events) WriteObject(e);
            // The store's own outage is sourced by the store (its address never holds a password), not by a load balancer.
            var alerts = storeHealth.Alerts.Select(a => (a.StateStore ?? Source(session.Targets[0].Connection), a)).ToList();
            try
            {
                foreach (var round in pools)
                {
                    if (round.LeftAlone != null)
                    {
                        WriteVerbose(round.LeftAlone);
                        // A pool another runner holds is a Skipped event of this round, so a user sees why it was not healed
                        // (a store outage has its own events, above).
                        if (!round.StoreFailed)
                        {
                            var held = round.Target.Stamp(new LbRemediationEvent
                            {
                                Timestamp = DateTimeOffset.UtcNow, Type = LbRemediationEventType.Skipped, Pool = round.Target.Pool, Round = session.Round, Reason = round.LeftAlone,
                            });
                            events.Add(held);
                            WriteObject(held);
                        }
                        continue;
                    }
                    RunDecisions(session, round, policy, events, alerts);
                    string? notSaved = DryRun ? null : Run(ct => session.SaveAsync(round, ct));
                    if (notSaved != null) WriteWarning(notSaved);
                }
            }
            finally { PersistChanges(); } // once per round, so a -Watch run's ejections last too
            SendAlerts(session.Runner, alerts, events);

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
            WriteVerbose(string.Format(CultureInfo.InvariantCulture, "Round done: {0} pool(s) acted on, {1} left alone, {2} event(s).",
                pools.Count(p => p.LeftAlone == null), pools.Count(p => p.LeftAlone != null), events.Count));
        }

        private static string Source(LbConnection connection) => connection.Endpoint.GetLeftPart(UriPartial.Authority);

        private void RunDecisions(RemediationSession session, PoolRound round, RemediationPolicy policy, List<LbRemediationEvent> events, List<(string, LbRemediationEvent)> alerts)
        {
            var connection = round.Target.Connection;
            string source = Source(connection);
            var decisions = round.Decisions;
            events.AddRange(decisions.Events);
            alerts.AddRange(decisions.Alerts.Select(a => (source, a)));
            foreach (var e in decisions.Events) WriteObject(e);

            foreach (var decision in decisions.Actions)
            {
                string what = $"member {LbPoolMember.FormatEndpoint(decision.Record.Address, decision.Record.Port)} ({decision.Record.Name}) of pool '{round.Target.Pool}' ({connection})";
                string action = decision.Kind == DecisionKind.Eject ? $"Eject ({Action}): {decision.Reason}" : $"Restore: {decision.Reason}";
                bool act = ShouldProcess(what, action);
                var ev = Run(ct => session.ApplyAsync(round, policy, decision, act, Log, ct));
                if (ev.Applied) MarkChanged(connection);
                events.Add(ev);
                if (act) alerts.Add((source, ev));
                if (!ev.Success) WriteError(new ErrorRecord(new LbException(LbErrorKind.Rejected, ev.Reason), ErrorIds.RemediationFailed, ErrorCategory.InvalidResult, what));
                WriteObject(ev);
            }
        }

        private void SendAlerts(RemediationRunner runner, List<(string Source, LbRemediationEvent Event)> alerts, List<LbRemediationEvent> events)
        {
            if (DryRun && alerts.Count > 0)
            {
                // A trial pages nobody: what would have been alerted is shown instead.
                foreach (var a in alerts) WriteWarning($"What if: alert {AlertService.Title(a.Event)}: {a.Event.Reason}");
            }
            else if (alerts.Count > 0 && AlertChannel.Length > 0)
            {
                foreach (var bySource in alerts.GroupBy(a => a.Source))
                {
                    var sent = Run(ct => runner.AlertAsync(AlertChannel, bySource.Select(a => a.Event), bySource.Key, Log, ct));
                    foreach (var s in sent) WriteObject(s);
                    events.AddRange(sent);
                }
            }
            else if (alerts.Count > 0)
            {
                foreach (var a in alerts) WriteWarning($"{AlertService.Title(a.Event)}: {a.Event.Reason}");
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
