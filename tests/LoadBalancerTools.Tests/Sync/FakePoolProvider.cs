using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;
using LoadBalancerTools.Providers;
using LoadBalancerTools.Services;

namespace LoadBalancerTools.Tests.Sync
{
    /// <summary>An in-memory pool "web" whose health, connections and failures a test scripts; for the sync and wait services on a fake clock.</summary>
    internal sealed class FakePoolProvider : ILbProvider
    {
        private readonly List<LbPoolMember> _members = new List<LbPoolMember>();
        private int _nextId;

        public LbCapabilities Capabilities { get; set; } = LbCapabilities.Disable | LbCapabilities.Drain | LbCapabilities.Weight | LbCapabilities.ActiveConnections;
        public string ProviderName => "Fake";
        public string? ApiVersion => "1";
        public int Reads, Adds, Removes, Updates;
        /// <summary>Each read lowers the connections of every member out of rotation by this much.</summary>
        public int DrainPerRead;
        /// <summary>Called before each read, to change the pool "from outside" as time passes.</summary>
        public Action<int>? BeforeRead;
        /// <summary>Reads that fail with this error before answering (counted down).</summary>
        public int FailingReads;
        public Func<LbMemberSpec, LbException?>? FailAdd;
        /// <summary>Awaited inside each add, before it is applied: lets a test hold adds in flight.</summary>
        public Func<LbMemberSpec, Task>? DuringAdd;

        public static LbConnection Connect(FakePoolProvider provider) => ConnectionService.Register(provider, new Uri("http://fake/"));

        public LbPoolMember Seed(string address, int port, LbMemberState state = LbMemberState.Enabled, int weight = 1, long active = 0,
            LbMemberHealth health = LbMemberHealth.Healthy)
        {
            var m = new LbPoolMember
            {
                Provider = ProviderName, Pool = "web", Address = address, Port = port, Name = $"{address}:{port}", State = state, Weight = weight,
                ActiveConnections = active, Health = health, VendorId = Interlocked.Increment(ref _nextId).ToString(),
            };
            m.MemberId = m.VendorId!;
            lock (_members) _members.Add(m);
            return m;
        }

        public void Change(string address, int port, Action<LbPoolMember> change)
        {
            lock (_members) change(_members.Single(m => m.Matches(address, port)));
        }

        public void Drop(string address, int port)
        {
            lock (_members) _members.RemoveAll(m => m.Matches(address, port));
        }

        public IReadOnlyList<LbPoolMember> Snapshot() { lock (_members) return _members.Select(Copy).ToList(); }

        public Task ConnectAsync(ILbLog log, CancellationToken ct) => Task.CompletedTask;
        public Task DisconnectAsync(ILbLog log, CancellationToken ct) => Task.CompletedTask;

        public Task<IReadOnlyList<LbPool>> GetPoolsAsync(ILbLog log, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<LbPool>>(new[] { new LbPool { Pool = "web", MemberCount = Snapshot().Count } });

        public Task<IReadOnlyList<LbPoolMember>> GetMembersAsync(string pool, ILbLog log, CancellationToken ct)
        {
            if (pool != "web") throw new LbException(LbErrorKind.NotFound, $"Pool '{pool}' does not exist.") { ErrorId = ErrorIds.PoolNotFound };
            int n = Interlocked.Increment(ref Reads);
            BeforeRead?.Invoke(n);
            if (FailingReads > 0)
            {
                FailingReads--;
                throw new LbException(LbErrorKind.Transient, "read failed (scripted)");
            }
            lock (_members)
            {
                foreach (var m in _members.Where(m => m.State != LbMemberState.Enabled))
                {
                    m.ActiveConnections = Math.Max(0, (m.ActiveConnections ?? 0) - DrainPerRead);
                }
                return Task.FromResult<IReadOnlyList<LbPoolMember>>(_members.Select(Copy).ToList());
            }
        }

        public async Task<LbPoolMember> AddMemberAsync(string pool, LbMemberSpec spec, ILbLog log, CancellationToken ct)
        {
            Interlocked.Increment(ref Adds);
            if (DuringAdd != null) await DuringAdd(spec);
            if (FailAdd?.Invoke(spec) is { } error) throw error;
            var added = Seed(spec.Address, spec.Port, spec.State ?? LbMemberState.Enabled, spec.Weight ?? 1, health: LbMemberHealth.Checking);
            return Copy(added);
        }

        public Task RemoveMemberAsync(LbPoolMember member, ILbLog log, CancellationToken ct)
        {
            Interlocked.Increment(ref Removes);
            lock (_members)
            {
                if (_members.RemoveAll(m => m.VendorId == member.VendorId) == 0)
                {
                    throw new LbException(LbErrorKind.NotFound, $"{member} is gone.") { ErrorId = ErrorIds.MemberNotFound };
                }
            }
            return Task.CompletedTask;
        }

        public Task<LbPoolMember> UpdateMemberAsync(LbPoolMember member, LbMemberUpdate update, ILbLog log, CancellationToken ct)
        {
            Interlocked.Increment(ref Updates);
            lock (_members)
            {
                var m = _members.SingleOrDefault(x => x.VendorId == member.VendorId)
                        ?? throw new LbException(LbErrorKind.NotFound, $"{member} is gone.") { ErrorId = ErrorIds.MemberNotFound };
                if (update.State.HasValue) m.State = update.State.Value;
                if (update.Weight.HasValue) m.Weight = update.Weight;
                return Task.FromResult(Copy(m));
            }
        }

        public void Dispose() { }

        private static LbPoolMember Copy(LbPoolMember m) => new LbPoolMember
        {
            Provider = m.Provider, Pool = m.Pool, Address = m.Address, Port = m.Port, Name = m.Name, State = m.State,
            Health = m.Health, Weight = m.Weight, ActiveConnections = m.ActiveConnections, VendorId = m.VendorId, MemberId = m.MemberId,
        };
    }
}
