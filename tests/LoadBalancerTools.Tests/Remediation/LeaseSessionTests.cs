using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Alerts;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;
using LoadBalancerTools.Services.Remediation;
using LoadBalancerTools.Services.Remediation.Stores;
using LoadBalancerTools.Tests.Http;
using LoadBalancerTools.Tests.Services;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.Remediation
{
    /// <summary>
    /// The lease rules of a remediation session on fake time: a pool held by another runner is left alone, the
    /// holder renews every round, a runner whose lease expired between deciding and acting changes nothing, a
    /// takeover continues from the stored state, and a store outage alerts once. The store is a shared in-memory
    /// table with Redis's lease semantics (those are checked against a real Redis in RedisStateStoreTests).
    /// </summary>
    public sealed class LeaseSessionTests : IDisposable
    {
        private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(15);
        private readonly FakeTimeProvider _time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 3, 0, 0, TimeSpan.Zero));
        private readonly SharedLeases _shared = new SharedLeases();
        private readonly InMemoryProvider _provider = new InMemoryProvider();
        private readonly TcpListener _alive = new TcpListener(IPAddress.Loopback, 0);
        private readonly LbConnection _connection;
        private readonly RemediationPolicy _policy = new RemediationPolicy { FailureThreshold = 1, RecoveryThreshold = 1, MaxEjectPercent = 50 };
        private readonly ProbeOptions _probe = new ProbeOptions { Protocol = ProbeProtocol.Tcp, Timeout = TimeSpan.FromSeconds(2) };
        private readonly int _deadPort;

        public LeaseSessionTests()
        {
            _alive.Start();
            var dead = new TcpListener(IPAddress.Loopback, 0);
            dead.Start();
            _deadPort = ((IPEndPoint)dead.LocalEndpoint).Port;
            dead.Stop(); // refused at once: a failing member
            _provider.Seed("127.0.0.1", ((IPEndPoint)_alive.LocalEndpoint).Port);
            _provider.Seed("127.0.0.1", _deadPort);
            _connection = InMemoryProvider.Connect(_provider);
        }

        public void Dispose() => _alive.Stop();

        private RemediationSession Session(string runner, bool dryRun = false) =>
            new RemediationSession(
                new RemediationRunner(new PoolService(_time), new ProbeService(TimeProvider.System), new AlertService(new TransportOptions { TimeProvider = _time }, _time), _time),
                new FakeLeaseStore(_shared, runner, Ttl, _time), new[] { new RemediationTarget(_connection, "web") }, dryRun, _time);

        private static async Task<PoolRound> Plan(RemediationSession s, RemediationPolicy p, ProbeOptions o) => (await s.PlanAsync(p, o, new RecordingLog(), CancellationToken.None)).Pools.Single();

        private LbMemberState DeadState => _provider.Snapshot().Single(m => m.Port == _deadPort).State;

        [Fact]
        public async Task A_pool_held_by_another_runner_is_left_alone_naming_the_holder_and_until_when()
        {
            var a = Session("host-a:1");
            var b = Session("host-b:2");
            await Plan(a, _policy, _probe);
            int reads = _provider.ReadCalls;

            var round = await Plan(b, _policy, _probe);

            Assert.Equal("pool web held by host-a:1 until " + _time.GetUtcNow().Add(Ttl).ToString("u", CultureInfo.InvariantCulture), round.LeftAlone);
            Assert.Empty(round.Decisions.Actions);
            Assert.Equal(reads, _provider.ReadCalls); // not even read: the holder does the work
        }

        [Fact]
        public async Task The_holder_renews_every_round_so_it_keeps_the_pool_past_one_TTL()
        {
            var a = Session("host-a:1");
            var b = Session("host-b:2");
            await Plan(a, _policy, _probe);
            _time.Advance(Ttl * 0.6);
            await Plan(a, _policy, _probe);
            _time.Advance(Ttl * 0.6); // 1.2 TTL after the first grant

            Assert.NotNull((await Plan(b, _policy, _probe)).LeftAlone);
            _time.Advance(Ttl);
            Assert.Null((await Plan(b, _policy, _probe)).LeftAlone); // A stopped renewing: B takes over
        }

        [Fact]
        public async Task A_runner_whose_lease_expired_between_deciding_and_acting_changes_nothing()
        {
            var a = Session("host-a:1");
            var round = await Plan(a, _policy, _probe);
            var eject = round.Decisions.Actions.Single(d => d.Kind == DecisionKind.Eject);
            _time.Advance(Ttl + TimeSpan.FromSeconds(1)); // A paused (GC, a VM freeze) past its TTL
            Assert.Null((await Plan(Session("host-b:2"), new RemediationPolicy { FailureThreshold = 5 }, _probe)).LeftAlone);

            var ev = await a.ApplyAsync(round, _policy, eject, act: true, new RecordingLog(), CancellationToken.None);

            Assert.Equal(LbRemediationEventType.Skipped, ev.Type);
            Assert.False(ev.Applied);
            Assert.Contains("no longer holds the pool's lease", ev.Reason);
            Assert.Equal(LbMemberState.Enabled, DeadState);
            Assert.Equal(0, _provider.UpdateCalls);
        }

        [Fact]
        public async Task A_runner_that_takes_over_continues_from_the_stored_ejections_and_restores_the_member()
        {
            var a = Session("host-a:1");
            var round = await Plan(a, _policy, _probe);
            var ev = await a.ApplyAsync(round, _policy, round.Decisions.Actions.Single(), act: true, new RecordingLog(), CancellationToken.None);
            Assert.True(ev.Applied);
            Assert.Null(await a.SaveAsync(round, CancellationToken.None));
            Assert.Equal(LbMemberState.Disabled, DeadState);
            _time.Advance(Ttl * 2); // A died without releasing

            // The member's backend comes back: B knows it was ejected by A, so it restores it.
            var revived = new TcpListener(IPAddress.Loopback, _deadPort);
            revived.Start();
            try
            {
                var b = Session("host-b:2");
                var taken = await Plan(b, _policy, _probe);
                var restore = Assert.Single(taken.Decisions.Actions);
                Assert.Equal(DecisionKind.Restore, restore.Kind);
                Assert.True((await b.ApplyAsync(taken, _policy, restore, act: true, new RecordingLog(), CancellationToken.None)).Applied);
            }
            finally
            {
                revived.Stop();
            }
            Assert.Equal(LbMemberState.Enabled, DeadState);
        }

        [Fact]
        public async Task A_store_outage_is_one_alert_however_many_rounds_and_one_when_it_is_over()
        {
            var a = Session("host-a:1");
            _shared.Down = true;
            var alerts = new List<LbRemediationEvent>();
            var events = new List<LbRemediationEvent>();
            for (int i = 0; i < 3; i++)
            {
                var (pools, store) = await a.PlanAsync(_policy, _probe, new RecordingLog(), CancellationToken.None);
                Assert.Empty(pools.Single().Decisions.Actions);
                events.AddRange(store.Events);
                alerts.AddRange(store.Alerts);
            }
            _shared.Down = false;
            var (_, back) = await a.PlanAsync(_policy, _probe, new RecordingLog(), CancellationToken.None);

            Assert.Equal(3, events.Count(e => e.Type == LbRemediationEventType.ApiFailure));
            Assert.Single(alerts);
            Assert.Equal(LbRemediationEventType.Restored, back.Alerts.Single().Type);
            Assert.Equal(0, _provider.UpdateCalls);
        }

        /// <summary>Redis's lease semantics in memory, on the test's clock: SET NX PX, INCR token, compare-and-renew, fenced writes.</summary>
        private sealed class SharedLeases
        {
            public readonly Dictionary<PoolKey, (string Runner, long Token, DateTimeOffset Expires)> Leases = new();
            public readonly Dictionary<PoolKey, string> States = new();
            public long Fence;
            public bool Down;
        }

        private sealed class FakeLeaseStore : IRemediationStateStore
        {
            private readonly SharedLeases _shared;
            private readonly string _runner;
            private readonly TimeSpan _ttl;
            private readonly TimeProvider _time;

            public FakeLeaseStore(SharedLeases shared, string runner, TimeSpan ttl, TimeProvider time)
            {
                _shared = shared;
                _runner = runner;
                _ttl = ttl;
                _time = time;
            }

            public string Description => "fake";

            private void Reachable()
            {
                if (_shared.Down) throw new LbException(LbErrorKind.Unreachable, "The state store fake did not answer") { ErrorId = ErrorIds.StateStoreUnavailable };
            }

            private bool Current(PoolLease lease) =>
                _shared.Leases.TryGetValue(lease.Pool, out var l) && l.Runner == _runner && l.Token == lease.Token && l.Expires > _time.GetUtcNow();

            public Task<PoolLease> AcquireAsync(PoolKey pool, CancellationToken ct)
            {
                Reachable();
                var now = _time.GetUtcNow();
                if (_shared.Leases.TryGetValue(pool, out var l) && l.Expires > now && l.Runner != _runner)
                    return Task.FromResult(new PoolLease(pool, false, l.Token, l.Runner, l.Expires));
                long token = l.Runner == _runner && l.Expires > now ? l.Token : ++_shared.Fence;
                _shared.Leases[pool] = (_runner, token, now + _ttl);
                return Task.FromResult(new PoolLease(pool, true, token, _runner, now + _ttl));
            }

            public Task<bool> IsCurrentAsync(PoolLease lease, CancellationToken ct)
            {
                Reachable();
                return Task.FromResult(Current(lease));
            }

            public Task ReleaseAsync(PoolLease lease, CancellationToken ct)
            {
                if (Current(lease)) _shared.Leases.Remove(lease.Pool);
                return Task.CompletedTask;
            }

            public Task<RemediationState> LoadAsync(PoolKey pool, CancellationToken ct)
            {
                Reachable();
                return Task.FromResult(_shared.States.TryGetValue(pool, out var json)
                    ? RemediationState.Parse(json, "fake state", pool.Pool, pool.Endpoint)
                    : new RemediationState { Pool = pool.Pool, Endpoint = pool.Endpoint });
            }

            public Task<bool> SaveAsync(PoolLease lease, RemediationState state, CancellationToken ct)
            {
                Reachable();
                if (!Current(lease)) return Task.FromResult(false);
                _shared.States[lease.Pool] = state.ToJson();
                return Task.FromResult(true);
            }

            public void Dispose() { }
        }
    }
}
