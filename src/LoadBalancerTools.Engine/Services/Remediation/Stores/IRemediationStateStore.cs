using System;
using System.Threading;
using System.Threading.Tasks;

namespace LoadBalancerTools.Services.Remediation.Stores
{
    /// <summary>
    /// Where remediation keeps failure counts, ejections and write-ahead intents between rounds and runs, and who
    /// may change a pool. The file store holds one lock per pool file for the whole run; the Redis store shares
    /// state between runners and grants each pool to one runner at a time through an expiring lease.
    /// A store that cannot be reached throws LbException with ErrorIds.StateStoreUnavailable.
    /// </summary>
    public interface IRemediationStateStore : IDisposable
    {
        /// <summary>Where the state lives, safe to show (never a password).</summary>
        string Description { get; }

        /// <summary>Takes the pool's lease, or renews it when this runner holds it; otherwise reports who does.</summary>
        Task<PoolLease> AcquireAsync(PoolKey pool, CancellationToken ct);

        /// <summary>True while the lease still carries this runner's token: checked before every change.</summary>
        Task<bool> IsCurrentAsync(PoolLease lease, CancellationToken ct);

        /// <summary>Gives the lease back (only if it is still ours), so another runner need not wait for it to expire.</summary>
        Task ReleaseAsync(PoolLease lease, CancellationToken ct);

        /// <summary>The pool's state; a fresh one when none was kept. Invalid state is LbStateFileInvalid, left as it is.</summary>
        Task<RemediationState> LoadAsync(PoolKey pool, CancellationToken ct);

        /// <summary>Writes the state only while the lease is current; false (nothing written) when it is not.</summary>
        Task<bool> SaveAsync(PoolLease lease, RemediationState state, CancellationToken ct);
    }

    /// <summary>A pool as runners share it: the load balancer's endpoint and the pool's name.</summary>
    public sealed class PoolKey : IEquatable<PoolKey>
    {
        public PoolKey(string endpoint, string pool)
        {
            Endpoint = endpoint;
            Pool = pool;
        }

        public string Endpoint { get; }
        public string Pool { get; }

        public bool Equals(PoolKey? other) => other != null && string.Equals(Endpoint, other.Endpoint, StringComparison.OrdinalIgnoreCase) && string.Equals(Pool, other.Pool, StringComparison.Ordinal);
        public override bool Equals(object? obj) => Equals(obj as PoolKey);
        public override int GetHashCode() => StringComparer.OrdinalIgnoreCase.GetHashCode(Endpoint) ^ StringComparer.Ordinal.GetHashCode(Pool);
        public override string ToString() => $"'{Pool}' at {Endpoint}";
    }

    /// <summary>The outcome of AcquireAsync: held by us (with our fencing token), or by another runner until a time.</summary>
    public sealed class PoolLease
    {
        public PoolLease(PoolKey pool, bool held, long token, string holder, DateTimeOffset? until)
        {
            Pool = pool;
            Held = held;
            Token = token;
            Holder = holder;
            Until = until;
        }

        public PoolKey Pool { get; }
        public bool Held { get; }
        /// <summary>The fencing token: grows with every new grant of the pool, so a stale holder is told apart from the current one.</summary>
        public long Token { get; }
        public string Holder { get; }
        /// <summary>When the lease ends unless renewed; null when it does not expire (the file store's lock).</summary>
        public DateTimeOffset? Until { get; }
    }
}
