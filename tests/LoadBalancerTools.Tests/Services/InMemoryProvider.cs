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

namespace LoadBalancerTools.Tests.Services
{
    /// <summary>A provider over a list, with hooks to fail the way real APIs do; for service logic on a fake clock.</summary>
    internal sealed class InMemoryProvider : ILbProvider
    {
        private readonly List<LbPoolMember> _members = new List<LbPoolMember>();
        public LbCapabilities Capabilities { get; set; } = LbCapabilities.Disable | LbCapabilities.Drain | LbCapabilities.Weight | LbCapabilities.ActiveConnections;
        public string ProviderName => "InMemory";
        public string? ApiVersion => "1";
        public int AddCalls, RemoveCalls, UpdateCalls, ReadCalls;
        /// <summary>When set, the next add is applied and then reported as a lost response.</summary>
        public bool LoseNextAddResponse;
        /// <summary>When set, the next add fails ambiguously without being applied.</summary>
        public bool FailNextAddBeforeApplying;
        /// <summary>When set, the next update is applied and then reported as a lost response.</summary>
        public bool LoseNextUpdateResponse;
        /// <summary>Each read of a draining member lowers its connections by this much.</summary>
        public int DrainPerRead;
        /// <summary>When set, every add is applied and then answered with a 503, as a proxy in front of a busy API may.</summary>
        public bool AnswerAddsWith503AfterApplying;
        /// <summary>When set, reads wait for it before answering: a slow read, for tests of what overlaps it.</summary>
        public Task? ReadsWaitFor;
        /// <summary>Called for each member on every read, to let a test move its state along.</summary>
        public Action<LbPoolMember>? OnRead;

        public static LbConnection Connect(InMemoryProvider provider) => ConnectionService.Register(provider, new Uri("http://in-memory/"));

        public LbPoolMember Seed(string address, int port, long active = 0)
        {
            var m = new LbPoolMember { Provider = ProviderName, Pool = "web", Address = address, Port = port, Name = $"{address}:{port}", ActiveConnections = active, Weight = 1 };
            lock (_members) _members.Add(m);
            return m;
        }

        public IReadOnlyList<LbPoolMember> Snapshot() { lock (_members) return _members.ToList(); }

        public Task ConnectAsync(ILbLog log, CancellationToken ct) => Task.CompletedTask;
        public Task DisconnectAsync(ILbLog log, CancellationToken ct) => Task.CompletedTask;
        public Task<IReadOnlyList<LbPool>> GetPoolsAsync(ILbLog log, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<LbPool>>(new[] { new LbPool { Pool = "web", MemberCount = Snapshot().Count } });

        public async Task<IReadOnlyList<LbPoolMember>> GetMembersAsync(string pool, ILbLog log, CancellationToken ct)
        {
            if (pool != "web") throw new LbException(LbErrorKind.NotFound, "no pool " + pool) { ErrorId = ErrorIds.PoolNotFound };
            Interlocked.Increment(ref ReadCalls);
            if (ReadsWaitFor != null) await ReadsWaitFor.ConfigureAwait(false);
            lock (_members)
            {
                foreach (var m in _members.Where(m => m.State == LbMemberState.Draining))
                {
                    m.ActiveConnections = Math.Max(0, (m.ActiveConnections ?? 0) - DrainPerRead);
                }
                foreach (var m in _members) OnRead?.Invoke(m);
                return _members.Select(Copy).ToList();
            }
        }

        public Task<LbPoolMember> AddMemberAsync(string pool, LbMemberSpec spec, ILbLog log, CancellationToken ct)
        {
            Interlocked.Increment(ref AddCalls);
            if (FailNextAddBeforeApplying)
            {
                FailNextAddBeforeApplying = false;
                throw new LbException(LbErrorKind.Transient, "timed out") { Ambiguous = true };
            }
            var added = Seed(spec.Address, spec.Port);
            if (AnswerAddsWith503AfterApplying) throw new LbException(LbErrorKind.Transient, "service unavailable", statusCode: 503);
            if (LoseNextAddResponse)
            {
                LoseNextAddResponse = false;
                throw new LbException(LbErrorKind.Transient, "connection dropped") { Ambiguous = true };
            }
            return Task.FromResult(Copy(added));
        }

        public Task RemoveMemberAsync(LbPoolMember member, ILbLog log, CancellationToken ct)
        {
            Interlocked.Increment(ref RemoveCalls);
            lock (_members)
            {
                if (_members.RemoveAll(m => m.Matches(member.Address, member.Port)) == 0) throw new LbException(LbErrorKind.NotFound, "gone");
            }
            return Task.CompletedTask;
        }

        public Task<LbPoolMember> UpdateMemberAsync(LbPoolMember member, LbMemberUpdate update, ILbLog log, CancellationToken ct)
        {
            Interlocked.Increment(ref UpdateCalls);
            lock (_members)
            {
                var m = _members.Single(x => x.Matches(member.Address, member.Port));
                if (update.State.HasValue) m.State = update.State.Value;
                if (update.Weight.HasValue) m.Weight = update.Weight;
                if (LoseNextUpdateResponse)
                {
                    LoseNextUpdateResponse = false;
                    throw new LbException(LbErrorKind.Transient, "timed out") { Ambiguous = true };
                }
                return Task.FromResult(Copy(m));
            }
        }

        public void Dispose() { }

        private static LbPoolMember Copy(LbPoolMember m) => new LbPoolMember
        {
            Provider = m.Provider, Pool = m.Pool, Address = m.Address, Port = m.Port, Name = m.Name, State = m.State,
            Health = m.Health, Weight = m.Weight, ActiveConnections = m.ActiveConnections,
        };
    }
}
