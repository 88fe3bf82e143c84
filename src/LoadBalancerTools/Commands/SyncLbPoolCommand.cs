using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using LoadBalancerTools.Completers;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;

namespace LoadBalancerTools.Commands
{
    /// <summary>
    /// Makes a pool's members match a desired list: reads the pool once, plans typed changes (LbChange),
    /// applies them with bounded concurrency, then reads the pool again and reports every difference
    /// that remains. Running it again changes nothing.
    /// </summary>
    /// <remarks>
    /// Output: nothing by default (errors and verbose lines say what happened); with -PassThru, one
    /// LbChange per planned change with its final Status (with -WhatIf, the plan itself, Status Planned).
    /// Weight and State are managed only where a desired row gives them. -Connection is not taken from
    /// piped objects: the pool being synced is the one on -Connection (or the default connection).
    /// </remarks>
    [Cmdlet(VerbsData.Sync, "LbPool", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(LbChange))]
    public sealed class SyncLbPoolCommand : LbConnectedCmdlet
    {
        private readonly List<object?> _rows = new List<object?>();
        private LbConnection? _connection;

        /// <summary>The pool to converge.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ArgumentCompleter(typeof(PoolNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string Pool { get; set; } = "";

        /// <summary>
        /// The desired members: objects with Address and Port (and optionally Weight, State, Name) such as
        /// Import-Csv rows or Get-LbPoolMember output, hashtables with those keys, or 'address:port' strings.
        /// </summary>
        [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true)]
        [AllowEmptyCollection]
        [AllowNull]
        public object?[]? Member { get; set; }

        /// <summary>Also remove members that are not in the desired list (drained first where the provider can).</summary>
        [Parameter]
        public SwitchParameter Prune { get; set; }

        /// <summary>How long a member being removed may take to drain; 0 removes without draining.</summary>
        [Parameter]
        [ValidateRange(0, 86400)]
        public int DrainTimeoutSec { get; set; } = 300;

        /// <summary>The most changes in flight at once; the number adapts below it to what the endpoint answers. Default per provider (NginxPlus 64, F5 and NetScaler 16, AwsElbV2 20, HAProxy 8, Caddy 1).</summary>
        [Parameter]
        [ValidateRange(1, 256)]
        public int ThrottleLimit { get; set; }

        /// <summary>
        /// Removes without the confirmation that removals ask for (they are high impact, as with
        /// Remove-LbPoolMember; -Confirm:$false skips it too), and allows -Prune with an empty desired list,
        /// which removes every member.
        /// </summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Writes the LbChange objects (planned, applied, failed or skipped).</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        internal SyncService Sync { get; } = new SyncService();

        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            // Piped members carry their own Connection, which binds by property name; the target is the command line's.
            _connection = Connection;
        }

        protected override void ProcessRecord()
        {
            if (Member != null) _rows.AddRange(Member);
        }

        private void RefuseDesiredState(string why) =>
            ThrowTerminatingError(new ErrorRecord(
                new LbException(LbErrorKind.InvalidInput, $"The desired state for pool '{Pool}' is not valid ({why}); nothing was changed. Fix the rows named in the errors above and run again."),
                ErrorIds.SyncInvalidDesiredState, ErrorCategory.InvalidData, Pool));

        protected override void EndProcessing()
        {
            Connection = _connection;
            var connection = ResolveConnection();

            var rows = _rows.Select(r => (r, Properties(r))).ToList();
            var (desired, invalid) = DesiredMembers.Parse(rows);
            foreach (var e in invalid) WriteError(new ErrorRecord(e.Error, e.Error.ErrorId, ErrorCategory.InvalidData, e.Source));
            var unsupported = SyncService.CheckCapabilities(connection, desired);
            foreach (var ex in unsupported) WriteLbError(ex, Pool);
            if (invalid.Count > 0 || unsupported.Count > 0)
            {
                RefuseDesiredState(invalid.Count > 0
                    ? string.Format(CultureInfo.InvariantCulture, "{0} of {1} desired row(s) are invalid", invalid.Count, rows.Count)
                    : "it asks for what the provider cannot do, or for values outside its ranges");
            }
            if (desired.Count == 0 && Prune && !Force)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new LbException(LbErrorKind.InvalidInput, $"The desired member list is empty, so -Prune would remove every member of pool '{Pool}'; nothing was changed. Add -Force if that is what you mean."),
                    ErrorIds.SyncEmptyDesiredState, ErrorCategory.InvalidArgument, Pool));
            }

            IReadOnlyList<LbPoolMember> current;
            long snapshot = MemberLock.Snapshot();
            try
            {
                current = Run(ct => Sync.ReadAsync(connection, Pool, Log, ct));
            }
            catch (LbException ex)
            {
                WriteLbError(ex, Pool);
                return;
            }

            var plan = SyncService.Plan(connection, Pool, current, desired, Prune);
            var refused = SyncService.CheckAdds(connection, plan);
            foreach (var ex in refused) WriteLbError(ex, Pool);
            if (refused.Count > 0) RefuseDesiredState("it asks to add members in a way the provider cannot");
            foreach (string note in plan.Notes) WriteVerbose(note);
            if (plan.Changes.Count == 0)
            {
                WriteVerbose($"Pool '{Pool}' already matches the desired state ({desired.Count} member(s)); nothing to change.");
                return;
            }
            WriteVerbose(Summary("Plan for", plan.Changes, null));

            bool whatIf = false;
            bool drains = DrainTimeoutSec > 0 && (connection.Supports(LbCapabilities.Drain) || connection.Supports(LbCapabilities.Disable));
            bool yesToAll = false, noToAll = false;
            // Unattended (no -WhatIf, -Confirm or -Verbose), nobody reads the per-change text: a sync of thousands skips building it.
            bool showText = ShouldProcessShowsText(ConfirmImpact.Medium);
            foreach (var change in plan.Changes.Where(c => c.Status == LbChangeStatus.Planned))
            {
                string action = showText ? Describe(change, drains) : Pool;
                if (ShouldProcess(showText ? $"{action} ({connection})." : action, showText ? $"{action}?" : action, "Confirm", out ShouldProcessReason reason))
                {
                    // Removals are high impact, as with Remove-LbPoolMember: an unattended -Prune never removes
                    // without an explicit choice (-Force, -Confirm:$false, or a yes at the prompt).
                    if (!change.IsRemoval || !RemovalNeedsConfirmation()) continue;
                    if (ShouldContinue($"{Describe(change, drains)} ({connection})?", "Confirm removal", ref yesToAll, ref noToAll)) continue;
                }
                else if (reason == ShouldProcessReason.WhatIf)
                {
                    whatIf = true;
                    continue;
                }
                change.Status = LbChangeStatus.Skipped;
                change.Error = "Declined at the confirmation prompt.";
            }
            if (whatIf)
            {
                if (PassThru) WriteObject(plan.Changes, enumerateCollection: true);
                return;
            }

            var options = new SyncOptions
            {
                Prune = Prune,
                DrainTimeout = TimeSpan.FromSeconds(DrainTimeoutSec),
                ThrottleLimit = ThrottleLimit,
                RecheckBeforeAdd = MayPrompt(ConfirmImpact.Medium),
                ReadSnapshot = snapshot,
            };
            var clock = Stopwatch.StartNew();
            if (plan.Changes.Any(c => c.Status == LbChangeStatus.Planned))
            {
                WriteVerbose(string.Format(CultureInfo.InvariantCulture, "Applying with up to {0} change(s) at a time, fewer while the endpoint pushes back.",
                    SyncService.Workers(connection, options)));
                Run(ct => Sync.ApplyAsync(connection, Pool, plan.Changes, options, Log, ct));
            }

            IReadOnlyList<SyncMismatch> mismatches = Array.Empty<SyncMismatch>();
            string verified;
            try
            {
                mismatches = Run(ct => Sync.VerifyAsync(connection, Pool, desired, Prune, plan.Changes, Log, ct));
                verified = mismatches.Count == 0 ? "verified" : string.Format(CultureInfo.InvariantCulture, "{0} difference(s) remain", mismatches.Count);
            }
            catch (LbException ex)
            {
                verified = "not verified";
                WriteError(new ErrorRecord(
                    new LbException(ex.Kind, $"Could not read pool '{Pool}' again to verify the sync: {ex.Message}", ex.VendorCode, ex.StatusCode, ex) { ErrorId = ex.ErrorId },
                    ErrorIds.SyncVerifyFailed, ToErrorRecord(ex, null).CategoryInfo.Category, Pool));
            }

            foreach (var change in plan.Changes.Where(c => c.Exception != null))
            {
                WriteError(ChangeError(change));
            }
            foreach (var mismatch in mismatches)
            {
                WriteError(new ErrorRecord(new LbException(LbErrorKind.Conflict, mismatch.Message) { ErrorId = ErrorIds.SyncVerifyMismatch },
                    ErrorIds.SyncVerifyMismatch, ErrorCategory.InvalidResult, mismatch.Endpoint));
            }
            WriteVerbose(Summary("Synced", plan.Changes, string.Format(CultureInfo.InvariantCulture, "in {0:0.0} s; {1}", clock.Elapsed.TotalSeconds, verified)));
            if (plan.Changes.Any(c => c.Status == LbChangeStatus.Applied)) MarkChanged(connection);
            PersistChanges();
            if (PassThru) WriteObject(plan.Changes, enumerateCollection: true);
        }

        private string Describe(LbChange c, bool drains)
        {
            switch (c.Action)
            {
                case LbChangeAction.Add:
                    return $"Add member {c.Endpoint} ({c.Detail}) to pool '{Pool}'";
                case LbChangeAction.Update:
                    return $"Change member {MemberText(c)} of pool '{Pool}': {c.Detail}";
                case LbChangeAction.RemoveDuplicate:
                    return $"Remove duplicate member {MemberText(c)} from pool '{Pool}' (another copy at {c.Endpoint} stays)";
                default:
                    return drains && c.DrainFirst && c.StateBefore == LbMemberState.Enabled
                        ? string.Format(CultureInfo.InvariantCulture, "Drain (up to {0} s) and remove member {1} from pool '{2}'", DrainTimeoutSec, MemberText(c), Pool)
                        : $"Remove member {MemberText(c)} from pool '{Pool}'";
            }
        }

        /// <summary>Name and address where they differ ("spare3 (10.0.0.9:80)"), else the address.</summary>
        private static string MemberText(LbChange c) => LbPoolMember.Label(c.Name, c.Address, c.Port, quote: false);

        /// <summary>Whether a removal must be confirmed on top of ShouldProcess: not with -Force, -Confirm (already asked) or -Confirm:$false.</summary>
        private bool RemovalNeedsConfirmation() =>
            !Force && !MyInvocation.BoundParameters.ContainsKey("Confirm") && MayPrompt(ConfirmImpact.High);

        /// <summary>One error record per failed change: the id names the kind of change, the message and category the cause.</summary>
        private ErrorRecord ChangeError(LbChange c)
        {
            var cause = c.Exception!;
            var causeRecord = ToErrorRecord(cause, c);
            if (c.ErrorId == null) c.ErrorId = causeRecord.FullyQualifiedErrorId;
            string id;
            string what;
            switch (c.Action)
            {
                case LbChangeAction.Add:
                    id = ErrorIds.SyncAddFailed;
                    what = $"Could not add member {c.Endpoint} to pool '{Pool}'";
                    break;
                case LbChangeAction.Update:
                    id = ErrorIds.SyncUpdateFailed;
                    what = $"Could not change member {c.Endpoint} of pool '{Pool}' ({c.Detail})";
                    break;
                default:
                    id = ErrorIds.SyncRemoveFailed;
                    what = $"Could not remove member {c.Endpoint} from pool '{Pool}'";
                    break;
            }
            var exception = new LbException(cause.Kind, $"{what}: {cause.Message} A re-run retries it; nothing applied is applied twice.", cause.VendorCode, cause.StatusCode, cause)
            {
                ErrorId = c.ErrorId,
                Ambiguous = cause.Ambiguous,
            };
            return new ErrorRecord(exception, id, causeRecord.CategoryInfo.Category, c);
        }

        private string Summary(string prefix, IReadOnlyList<LbChange> changes, string? suffix)
        {
            var parts = new List<string>();
            foreach (LbChangeAction action in Enum.GetValues(typeof(LbChangeAction)))
            {
                int n = changes.Count(c => c.Action == action);
                if (n > 0) parts.Add(string.Format(CultureInfo.InvariantCulture, "{0} {1}", n, action.ToString().ToLowerInvariant()));
            }
            string text = $"{prefix} pool '{Pool}': {string.Join(", ", parts)}";
            if (suffix != null)
            {
                text += string.Format(CultureInfo.InvariantCulture, " ({0} applied, {1} failed, {2} skipped) {3}",
                    changes.Count(c => c.Status == LbChangeStatus.Applied), changes.Count(c => c.Status == LbChangeStatus.Failed),
                    changes.Count(c => c.Status == LbChangeStatus.Skipped), suffix);
            }
            return text + ".";
        }

        /// <summary>A row's properties by name, whatever shape it came in; null when it is not a record.</summary>
        internal static IReadOnlyDictionary<string, object?>? Properties(object? row)
        {
            if (row == null) return null;
            object value = row is PSObject pso ? pso.BaseObject : row;
            var props = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
            switch (value)
            {
                case IDictionary dictionary:
                    foreach (DictionaryEntry entry in dictionary)
                    {
                        string? key = entry.Key?.ToString();
                        if (key != null) props[key] = Unwrap(entry.Value);
                    }
                    return props;
                case string text:
                    return Endpoint(text);
                case LbPoolMember member:
                    // Typed and fast: a 10,000-member pool copied from another controller stays cheap.
                    props["Address"] = member.Address;
                    props["Port"] = member.Port;
                    props["Weight"] = member.Weight;
                    props["State"] = member.State;
                    props["Name"] = member.Name;
                    return props;
            }
            if (value.GetType().IsPrimitive) return null;
            foreach (var property in PSObject.AsPSObject(row).Properties)
            {
                if (!property.IsGettable) continue;
                try { props[property.Name] = Unwrap(property.Value); }
                catch (GetValueException) { /* a property that throws is not one we need */ }
            }
            return props;
        }

        private static object? Unwrap(object? value) => value is PSObject pso ? pso.BaseObject : value;

        /// <summary>'address:port', '[v6]:port' or a bare address (reported as missing its port).</summary>
        private static Dictionary<string, object?> Endpoint(string text)
        {
            var props = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
            string s = text.Trim();
            int colon = s.LastIndexOf(':');
            bool bracketed = s.StartsWith("[", StringComparison.Ordinal);
            if (bracketed ? colon > s.IndexOf(']') : colon > 0 && s.IndexOf(':') == colon)
            {
                props["Address"] = s.Substring(0, colon);
                props["Port"] = s.Substring(colon + 1);
            }
            else
            {
                props["Address"] = s;
            }
            return props;
        }
    }
}
