using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace LoadBalancerTools.Services.Remediation.Stores
{
    /// <summary>
    /// State in local JSON files, one per pool: the path itself for a single pool, or one file per pool inside a
    /// folder. Each file's exclusive lock (StateFileLock) is this store's lease and is held until the run ends, so
    /// the lease never expires and another run on the same file stops with LbStateLocked.
    /// </summary>
    public sealed class FileStateStore : IRemediationStateStore
    {
        private readonly string _path;
        private readonly bool _folder;
        private readonly TimeSpan _lockTimeout;
        private readonly Dictionary<PoolKey, StateFileLock> _locks = new Dictionary<PoolKey, StateFileLock>();

        /// <param name="path">The state file, or with <paramref name="folder"/> the folder that holds one file per pool.</param>
        public FileStateStore(string path, bool folder, TimeSpan lockTimeout)
        {
            _path = path;
            _folder = folder;
            _lockTimeout = lockTimeout;
        }

        public string Description => _folder ? $"state folder '{_path}'" : $"state file '{_path}'";

        /// <summary>The file that keeps one pool's state.</summary>
        public string PathOf(PoolKey pool)
        {
            if (!_folder) return _path;
            var uri = Uri.TryCreate(pool.Endpoint, UriKind.Absolute, out var u) ? u.Authority : pool.Endpoint;
            return Path.Combine(_path, Safe(pool.Pool) + "@" + Safe(uri) + ".state.json");
        }

        /// <summary>Pool names may hold slashes and colons (F5 paths, ARNs): only letters, digits and . _ - survive in a file name.</summary>
        private static string Safe(string name)
        {
            var text = new StringBuilder(name.Length);
            foreach (char c in name) text.Append(char.IsLetterOrDigit(c) || c == '.' || c == '_' || c == '-' ? c : '_');
            // Two names that differ only in replaced characters still get two files.
            if (text.ToString() != name) text.Append('~').Append((Fnv1a(name) % 100000).ToString("00000", CultureInfo.InvariantCulture));
            return text.ToString();
        }

        /// <summary>A hash that is the same in every process (string.GetHashCode is randomized per process).</summary>
        private static uint Fnv1a(string text)
        {
            uint hash = 2166136261;
            foreach (char c in text) hash = (hash ^ c) * 16777619;
            return hash;
        }

        public Task<PoolLease> AcquireAsync(PoolKey pool, CancellationToken ct)
        {
            lock (_locks)
            {
                if (!_locks.ContainsKey(pool)) _locks[pool] = StateFileLock.Acquire(PathOf(pool), _lockTimeout);
            }
            return Task.FromResult(new PoolLease(pool, true, 0, "this run", null));
        }

        public Task<bool> IsCurrentAsync(PoolLease lease, CancellationToken ct)
        {
            lock (_locks) return Task.FromResult(_locks.ContainsKey(lease.Pool));
        }

        public Task ReleaseAsync(PoolLease lease, CancellationToken ct)
        {
            lock (_locks)
            {
                if (_locks.TryGetValue(lease.Pool, out var held)) held.Dispose();
                _locks.Remove(lease.Pool);
            }
            return Task.CompletedTask;
        }

        public Task<RemediationState> LoadAsync(PoolKey pool, CancellationToken ct) =>
            Task.FromResult(RemediationState.Load(PathOf(pool), pool.Pool, pool.Endpoint));

        public Task<bool> SaveAsync(PoolLease lease, RemediationState state, CancellationToken ct)
        {
            state.Save(PathOf(lease.Pool));
            return Task.FromResult(true);
        }

        public void Dispose()
        {
            lock (_locks)
            {
                foreach (var held in _locks.Values) held.Dispose();
                _locks.Clear();
            }
        }
    }
}
