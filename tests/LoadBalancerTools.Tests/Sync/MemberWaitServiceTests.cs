using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;
using LoadBalancerTools.Tests.Http;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.Sync
{
    /// <summary>Wait-LbPoolMember's poll loop on a fake clock: each condition, the timeout, and one read per pool per tick.</summary>
    public class MemberWaitServiceTests
    {
        private static readonly TimeSpan Poll = TimeSpan.FromSeconds(2);
        private readonly FakeTimeProvider _time = new FakeTimeProvider();
        private readonly FakePoolProvider _provider = new FakePoolProvider();
        private readonly RecordingLog _log = new RecordingLog();
        private readonly LbConnection _connection;
        private readonly MemberWaitService _service;

        public MemberWaitServiceTests()
        {
            _connection = FakePoolProvider.Connect(_provider);
            _service = new MemberWaitService(_time);
        }

        private Task<System.Collections.Generic.IReadOnlyList<WaitResult>> Wait(LbWaitCondition condition, TimeSpan timeout, params (string Address, int Port)[] members) =>
            _time.Drive(_service.WaitAsync(_connection, members.Select(m => new WaitTarget("web", m.Address, m.Port)).ToList(), condition, timeout, Poll, _log, CancellationToken.None),
                TimeSpan.FromMilliseconds(250));

        [Fact]
        public async Task Healthy_is_reached_when_the_load_balancer_says_so()
        {
            _provider.Seed("10.0.0.1", 80, health: LbMemberHealth.Checking);
            // The health check passes on the fourth read, i.e. after three poll intervals.
            _provider.BeforeRead = n => { if (n == 4) _provider.Change("10.0.0.1", 80, m => m.Health = LbMemberHealth.Healthy); };

            var result = Assert.Single(await Wait(LbWaitCondition.Healthy, TimeSpan.FromMinutes(1), ("10.0.0.1", 80)));

            Assert.True(result.Met);
            Assert.Equal(LbMemberHealth.Healthy, result.Member!.Health);
            Assert.Equal(4, _provider.Reads);
            Assert.InRange(result.Elapsed.TotalSeconds, 6, 6.5);
            Assert.Contains(_log.ProgressLog, p => p.Completed);
        }

        [Fact]
        public async Task Drained_needs_the_member_out_of_rotation_and_without_connections()
        {
            _provider.Seed("10.0.0.1", 80, LbMemberState.Draining, active: 5);
            _provider.Seed("10.0.0.2", 80, LbMemberState.Enabled, active: 0);
            _provider.DrainPerRead = 2; // 5 -> 3 -> 1 -> 0: drained on the third read

            var results = await Wait(LbWaitCondition.Draining, TimeSpan.FromSeconds(30), ("10.0.0.1", 80), ("10.0.0.2", 80));

            Assert.True(results[0].Met);
            Assert.Equal(0, results[0].Member!.ActiveConnections);
            Assert.InRange(results[0].Elapsed.TotalSeconds, 4, 4.5);
            // An enabled member with no connections is not drained: it still takes new ones.
            Assert.False(results[1].Met);
            Assert.Equal(ErrorIds.WaitTimeout, results[1].Error!.ErrorId);
            // One read per tick served both members.
            Assert.InRange(_provider.Reads, 15, 17);
        }

        [Fact]
        public async Task Absent_is_reached_when_the_member_leaves_the_pool()
        {
            _provider.Seed("10.0.0.1", 80);
            _provider.BeforeRead = n => { if (n == 3) _provider.Drop("10.0.0.1", 80); };

            var result = Assert.Single(await Wait(LbWaitCondition.Absent, TimeSpan.FromMinutes(1), ("10.0.0.1", 80)));

            Assert.True(result.Met);
            Assert.Null(result.Member);
            Assert.InRange(result.Elapsed.TotalSeconds, 4, 4.5);
        }

        [Fact]
        public async Task A_timeout_names_the_member_what_was_awaited_and_what_was_last_seen()
        {
            _provider.Seed("10.0.0.1", 80, LbMemberState.Draining, active: 3);

            var result = Assert.Single(await Wait(LbWaitCondition.Draining, TimeSpan.FromSeconds(10), ("10.0.0.1", 80)));

            Assert.False(result.Met);
            Assert.Equal(ErrorIds.WaitTimeout, result.Error!.ErrorId);
            Assert.Contains("10.0.0.1:80", result.Error.Message);
            Assert.Contains("'web'", result.Error.Message);
            Assert.Contains("to be Draining (drained: out of rotation with no active connections)", result.Error.Message);
            Assert.DoesNotContain("Drained", result.Error.Message);
            Assert.Contains("3 active connection(s)", result.Error.Message);
            // It gave up at the timeout, not before and not long after.
            Assert.InRange(result.Elapsed.TotalSeconds, 10, 10.5);
            Assert.InRange(_provider.Reads, 6, 7);
            Assert.Contains(_log.ProgressLog, p => p.Completed && p.Status == "timed out");
        }

        [Fact]
        public async Task A_member_that_is_not_there_never_becomes_healthy()
        {
            var result = Assert.Single(await Wait(LbWaitCondition.Healthy, TimeSpan.FromSeconds(4), ("10.0.0.9", 80)));
            Assert.Equal(ErrorIds.WaitTimeout, result.Error!.ErrorId);
            Assert.Contains("not in the pool", result.Error.Message);
        }

        [Fact]
        public async Task A_failed_read_is_tried_again_within_the_timeout()
        {
            _provider.Seed("10.0.0.1", 80);
            _provider.FailingReads = 2;

            var result = Assert.Single(await Wait(LbWaitCondition.Healthy, TimeSpan.FromMinutes(1), ("10.0.0.1", 80)));

            Assert.True(result.Met);
            Assert.Equal(3, _provider.Reads);
            Assert.Equal(2, _log.Warnings.Count);
        }

        [Fact]
        public async Task A_pool_that_does_not_exist_fails_at_once()
        {
            var results = await _time.Drive(_service.WaitAsync(_connection, new[] { new WaitTarget("nope", "10.0.0.1", 80) }, LbWaitCondition.Healthy,
                TimeSpan.FromMinutes(5), Poll, _log, CancellationToken.None), TimeSpan.FromMilliseconds(250));
            var result = Assert.Single(results);
            Assert.Equal(ErrorIds.PoolNotFound, result.Error!.ErrorId);
            Assert.True(result.Elapsed < Poll, "it kept polling a pool that does not exist");
        }
    }
}
