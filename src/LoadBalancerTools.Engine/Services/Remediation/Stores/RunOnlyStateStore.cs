using System.Threading;
using System.Threading.Tasks;

namespace LoadBalancerTools.Services.Remediation.Stores
{
    /// <summary>No -StatePath or -StateStore: state lives in memory for this run only, and the run holds every pool.</summary>
    public sealed class RunOnlyStateStore : IRemediationStateStore
    {
        public string Description => "memory (this run only)";

        public Task<PoolLease> AcquireAsync(PoolKey pool, CancellationToken ct) => Task.FromResult(new PoolLease(pool, true, 0, "this run", null));

        public Task<bool> IsCurrentAsync(PoolLease lease, CancellationToken ct) => Task.FromResult(true);

        public Task ReleaseAsync(PoolLease lease, CancellationToken ct) => Task.CompletedTask;

        public Task<RemediationState> LoadAsync(PoolKey pool, CancellationToken ct) =>
            Task.FromResult(new RemediationState { Pool = pool.Pool, Endpoint = pool.Endpoint });

        public Task<bool> SaveAsync(PoolLease lease, RemediationState state, CancellationToken ct) => Task.FromResult(true);

        public void Dispose() { }
    }
}
