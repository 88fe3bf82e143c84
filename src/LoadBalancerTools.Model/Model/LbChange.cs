using System.Collections.Generic;
using System.Globalization;
using LoadBalancerTools.Errors;

namespace LoadBalancerTools.Model
{
    /// <summary>What a change does to one member.</summary>
    public enum LbChangeAction
    {
        Add,
        Remove,
        Update,
        /// <summary>An extra copy of a desired member (same address and port); the copy that serves stays.</summary>
        RemoveDuplicate,
    }

    /// <summary>Where a change stands.</summary>
    public enum LbChangeStatus
    {
        /// <summary>Planned and not (yet) applied: what -WhatIf reports.</summary>
        Planned,
        /// <summary>Applied and, unless verification says otherwise, in effect.</summary>
        Applied,
        /// <summary>Not applied, or not in effect after applying; Error says why.</summary>
        Failed,
        /// <summary>Declined at a confirmation prompt, or not started because the run was stopped.</summary>
        Skipped,
    }

    /// <summary>
    /// One planned or applied change to a pool member, as Sync-LbPool plans, applies and reports it.
    /// Pool, Address and Port match the member cmdlets' parameters, so changes pipe into them.
    /// </summary>
    public sealed class LbChange
    {
        internal LbChange(LbChangeAction action, string pool, string address, int port)
        {
            Action = action;
            Pool = pool;
            Address = address;
            Port = port;
        }

        // Internal: PowerShell shows it through the type data (LbTypeData), so ConvertTo-Json writes the name, not a number.
        internal LbChangeAction Action { get; }
        public string Provider { get; set; } = "";
        public string Pool { get; }
        public string Address { get; }
        public int Port { get; }
        /// <summary>The member's name: as given for an add, as the load balancer reports it otherwise.</summary>
        public string? Name { get; set; }
        /// <summary>State before the change; null for an add.</summary>
        internal LbMemberState? StateBefore { get; set; }
        /// <summary>State the change sets; null when the change leaves it alone (and for a remove).</summary>
        internal LbMemberState? StateAfter { get; set; }
        public int? WeightBefore { get; set; }
        public int? WeightAfter { get; set; }
        /// <summary>Vendor options to set (add and update); null for none.</summary>
        public LbMemberOptions? Options { get; set; }
        /// <summary>How the options differ now ("MaxConnections 5 (now 0)"), for an update.</summary>
        public string? OptionsBefore { get; set; }
        internal LbChangeStatus Status { get; set; } = LbChangeStatus.Planned;
        /// <summary>Why the change failed or was skipped; null otherwise.</summary>
        public string? Error { get; set; }
        /// <summary>The stable id of the failure's cause (see the module's error ids), for scripts to match on.</summary>
        public string? ErrorId { get; set; }
        // Internal: a hidden property in the type data, so Export-Csv and ConvertTo-Json leave it out; $x.Connection still reads it.
        internal LbConnection? Connection { get; set; }
        /// <summary>The vendor's identity of the member changed (update and remove): the change reaches exactly this member.</summary>
        public string? MemberId { get; set; }

        /// <summary>The address:port form used in messages, with brackets for IPv6.</summary>
        public string Endpoint => LbPoolMember.FormatEndpoint(Address, Port);

        /// <summary>What changes, in words: "weight 1 -> 5, state Enabled -> Disabled".</summary>
        public string Detail
        {
            get
            {
                var parts = new List<string>();
                switch (Action)
                {
                    case LbChangeAction.Add:
                        if (Name != null && Name != Endpoint) parts.Add("name " + Name);
                        if (WeightAfter.HasValue) parts.Add("weight " + WeightAfter.Value.ToString(CultureInfo.InvariantCulture));
                        parts.Add("state " + (StateAfter ?? LbMemberState.Enabled));
                        if (Options != null && !Options.IsEmpty) parts.Add(Options.ToString());
                        break;
                    case LbChangeAction.Update:
                        if (StateAfter.HasValue) parts.Add($"state {Text(StateBefore)} -> {StateAfter}");
                        if (WeightAfter.HasValue) parts.Add($"weight {Text(WeightBefore)} -> {WeightAfter.Value.ToString(CultureInfo.InvariantCulture)}");
                        if (OptionsBefore != null) parts.Add(OptionsBefore);
                        break;
                    case LbChangeAction.Remove:
                    case LbChangeAction.RemoveDuplicate:
                        if (MemberId != null && Name != null && Name != Endpoint) parts.Add("name " + Name);
                        parts.Add("was " + Text(StateBefore) + (WeightBefore.HasValue ? ", weight " + WeightBefore.Value.ToString(CultureInfo.InvariantCulture) : ""));
                        break;
                }
                return string.Join(", ", parts);
            }
        }

        /// <summary>The underlying failure, for the cmdlet's error record.</summary>
        internal LbException? Exception { get; set; }
        /// <summary>The member as read when planning (update and remove).</summary>
        internal LbPoolMember? Current { get; set; }
        /// <summary>What to create (add).</summary>
        internal LbMemberSpec? Spec { get; set; }
        /// <summary>Drain before removing (false for an extra copy of a member that stays).</summary>
        internal bool DrainFirst { get; set; }

        internal void Fail(LbException ex)
        {
            Status = LbChangeStatus.Failed;
            Exception = ex;
            Error = ex.Message;
            ErrorId = ex.ErrorId; // the cmdlet fills in the kind's id when the cause has no specific one
        }

        /// <summary>Removal or duplicate removal: both take a member out for good.</summary>
        public bool IsRemoval => Action == LbChangeAction.Remove || Action == LbChangeAction.RemoveDuplicate;

        public override string ToString() => $"{Action} {Pool}/{Endpoint}" + (Detail.Length > 0 ? $" ({Detail})" : "");

        private static string Text(object? value) => value == null ? "(none)" : System.Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
    }
}
