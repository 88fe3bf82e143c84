using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Providers
{
    public enum LbBatchAction
    {
        Add,
        Remove,
        Update,
    }

    /// <summary>One change inside an all-or-nothing batch.</summary>
    public sealed class LbBatchChange
    {
        private LbBatchChange(LbBatchAction action, string pool)
        {
            Action = action;
            Pool = pool;
        }

        public LbBatchAction Action { get; }
        public string Pool { get; }
        /// <summary>For Add.</summary>
        public LbMemberSpec? Spec { get; private set; }
        /// <summary>For Remove and Update: the member as read (its VendorId addresses it).</summary>
        public LbPoolMember? Member { get; private set; }
        /// <summary>For Update.</summary>
        public LbMemberUpdate? Update { get; private set; }

        public static LbBatchChange AddMember(string pool, LbMemberSpec spec) =>
            new LbBatchChange(LbBatchAction.Add, pool) { Spec = spec ?? throw new ArgumentNullException(nameof(spec)) };

        public static LbBatchChange RemoveMember(LbPoolMember member) =>
            new LbBatchChange(LbBatchAction.Remove, (member ?? throw new ArgumentNullException(nameof(member))).Pool) { Member = member };

        public static LbBatchChange UpdateMember(LbPoolMember member, LbMemberUpdate update) =>
            new LbBatchChange(LbBatchAction.Update, (member ?? throw new ArgumentNullException(nameof(member))).Pool)
            {
                Member = member,
                Update = update ?? throw new ArgumentNullException(nameof(update)),
            };

        public override string ToString() => Action switch
        {
            LbBatchAction.Add => $"add {Spec!.Endpoint} to {Pool}",
            LbBatchAction.Remove => $"remove {Member}",
            _ => $"update {Member} ({Update})",
        };
    }

    /// <summary>
    /// A provider that can apply several member changes atomically: all of them or none. Unlike the
    /// single-member calls, a batch is not idempotent by itself: callers plan it from a fresh read
    /// (an add of a member that exists fails the whole batch, and nothing is applied).
    /// </summary>
    public interface ITransactionalProvider
    {
        /// <summary>Applies every change or none. A failure names the change the device refused and says nothing was applied.</summary>
        Task ApplyAtomicallyAsync(IReadOnlyList<LbBatchChange> changes, ILbLog log, CancellationToken cancellationToken);
    }
}
