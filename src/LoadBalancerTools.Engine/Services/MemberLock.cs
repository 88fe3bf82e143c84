using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Services
{
    /// <summary>
    /// Serializes adds and removes of one member within this process (runspaces and ForEach-Object -Parallel
    /// share the engine), so eight concurrent adds of the same member through one endpoint leave one copy.
    /// Different members still go in parallel. A caller that decided from an earlier read takes a
    /// <see cref="Snapshot"/> before that read; under the lock, <see cref="Handle.ChangedSince"/> tells whether
    /// another writer in this process changed the member since, so only then is the pool read again.
    /// </summary>
    public static class MemberLock
    {
        private static readonly ConcurrentDictionary<string, Entry> Entries = new ConcurrentDictionary<string, Entry>(StringComparer.Ordinal);
        private static long _clock;

        /// <summary>A point in this process's history of member changes, taken before reading a pool.</summary>
        public static long Snapshot() => Interlocked.Read(ref _clock);

        internal static async Task<Handle> AcquireAsync(LbConnection connection, string pool, string address, int port, CancellationToken ct)
        {
            // Keyed by endpoint, not connection: two connections to one load balancer share its pools.
            string key = connection.Provider + "|" + connection.Endpoint.AbsoluteUri + "|" + connection.Region + "|" + pool + "|" + DesiredMembers.Key(address, port);
            var entry = Entries.GetOrAdd(key, _ => new Entry());
            await entry.Gate.WaitAsync(ct).ConfigureAwait(false);
            return new Handle(entry);
        }

        internal sealed class Entry
        {
            public readonly SemaphoreSlim Gate = new SemaphoreSlim(1, 1);
            public long ChangedAt;
        }

        internal sealed class Handle : IDisposable
        {
            private Entry? _entry;

            public Handle(Entry entry) => _entry = entry;

            /// <summary>Whether this member was added or removed by another writer in this process after <paramref name="snapshot"/>.</summary>
            public bool ChangedSince(long? snapshot) => snapshot != null && Interlocked.Read(ref _entry!.ChangedAt) > snapshot.Value;

            public void MarkChanged() => Interlocked.Exchange(ref _entry!.ChangedAt, Interlocked.Increment(ref _clock));

            public void Dispose() => Interlocked.Exchange(ref _entry, null)?.Gate.Release();
        }
    }
}
