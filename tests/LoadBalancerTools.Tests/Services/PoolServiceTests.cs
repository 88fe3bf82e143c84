using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;
using LoadBalancerTools.Tests.Http;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.Services
{
    public class PoolServiceTests
    {
        private readonly FakeTimeProvider _time = new FakeTimeProvider();
        private readonly InMemoryProvider _provider = new InMemoryProvider();
        private readonly RecordingLog _log = new RecordingLog();
        private LbConnection _connection;
        private readonly PoolService _service;

        public PoolServiceTests()
        {
            _connection = InMemoryProvider.Connect(_provider);
            _service = new PoolService(_time);
        }

        [Fact]
        public async Task Adding_an_existing_member_sends_nothing_and_says_so()
        {
            _provider.Seed("10.0.0.1", 80);
            var (_, outcome) = await _service.AddMemberAsync(_connection, "web", new LbMemberSpec("10.0.0.1", 80), _log, CancellationToken.None);
            Assert.Equal(ChangeOutcome.Unchanged, outcome);
            Assert.Equal(0, _provider.AddCalls);
            Assert.Contains(_log.Verbose, v => v.Contains("already a member"));
        }

        [Fact]
        public async Task An_add_whose_response_was_lost_is_checked_not_resent()
        {
            _provider.LoseNextAddResponse = true;
            var (member, outcome) = await _service.AddMemberAsync(_connection, "web", new LbMemberSpec("10.0.0.2", 80), _log, CancellationToken.None);
            Assert.Equal(ChangeOutcome.Changed, outcome);
            Assert.Equal(1, _provider.AddCalls);
            Assert.Single(_provider.Snapshot());
            Assert.Equal("10.0.0.2", member.Address);
        }

        [Fact]
        public async Task An_add_that_failed_before_applying_is_sent_again_after_checking()
        {
            _provider.FailNextAddBeforeApplying = true;
            var (_, outcome) = await _time.Drive(_service.AddMemberAsync(_connection, "web", new LbMemberSpec("10.0.0.3", 80), _log, CancellationToken.None), TimeSpan.FromMilliseconds(250));
            Assert.Equal(ChangeOutcome.Changed, outcome);
            Assert.Equal(2, _provider.AddCalls);
            Assert.Single(_provider.Snapshot());
            Assert.Equal(3, _provider.ReadCalls); // the first check, and two looks (before and after a settle) before resending
        }

        [Fact]
        public async Task An_add_that_lands_late_after_a_timeout_is_found_by_the_second_look_and_not_resent()
        {
            _provider.FailNextAddBeforeApplying = true;
            bool landed = false;
            // The in-memory provider answers at once, so the add is now waiting out the settle after its
            // first look; the timed-out request reaches the pool only then.
            var task = _service.AddMemberAsync(_connection, "web", new LbMemberSpec("10.0.0.4", 80), _log, CancellationToken.None);
            if (!task.IsCompleted) { _provider.Seed("10.0.0.4", 80); landed = true; }
            var (_, outcome) = await _time.Drive(task, TimeSpan.FromMilliseconds(250));
            Assert.True(landed);
            Assert.Equal(ChangeOutcome.Changed, outcome);
            Assert.Equal(1, _provider.AddCalls);
            Assert.Single(_provider.Snapshot());
            Assert.Contains(_log.Verbose, v => v.Contains("applied late"));
        }

        [Fact]
        public async Task Writes_that_fail_together_are_settled_by_shared_reads_that_start_after_them()
        {
            var slowRead = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _provider.ReadsWaitFor = slowRead.Task;
            _provider.AnswerAddsWith503AfterApplying = true;

            // Ten adds, each applied and answered 503: each must read the pool to learn that it landed.
            var adds = Enumerable.Range(1, 10)
                .Select(i => _service.AddAbsentMemberAsync(_connection, "web", new LbMemberSpec($"10.0.1.{i}", 80), null, _log, CancellationToken.None))
                .ToList();
            // The first failure's read is on the wire; the nine after it join one read queued behind it.
            Assert.Equal(1, _provider.ReadCalls);
            slowRead.SetResult(true);
            var results = await Task.WhenAll(adds);

            Assert.All(results, r => Assert.Equal(ChangeOutcome.Changed, r.Outcome));
            Assert.Equal(10, _provider.AddCalls);
            Assert.Equal(2, _provider.ReadCalls);
            Assert.Equal(10, _provider.Snapshot().Count);
        }

        [Fact]
        public async Task Removing_a_missing_member_is_not_an_error()
        {
            var outcome = await _service.RemoveMemberAsync(_connection, "web", "10.9.9.9", 80, drain: false, TimeSpan.Zero, _log, CancellationToken.None);
            Assert.Equal(ChangeOutcome.Unchanged, outcome);
            Assert.Equal(0, _provider.RemoveCalls);
        }

        [Fact]
        public async Task Drain_then_remove_waits_for_connections_to_reach_zero()
        {
            _provider.Seed("10.0.0.1", 80, active: 5);
            _provider.DrainPerRead = 2;
            var task = _service.RemoveMemberAsync(_connection, "web", "10.0.0.1", 80, drain: true, TimeSpan.FromMinutes(5), _log, CancellationToken.None);
            var outcome = await _time.Drive(task, TimeSpan.FromMilliseconds(100));
            Assert.Equal(ChangeOutcome.Changed, outcome);
            Assert.Empty(_provider.Snapshot());
            Assert.Equal(1, _provider.UpdateCalls); // set to Draining once
            Assert.True(_provider.ReadCalls >= 4, "it removed before the connections had drained");
            Assert.Contains(_log.ProgressLog, p => p.Completed);
        }

        [Fact]
        public async Task A_drain_that_times_out_leaves_the_member_draining_and_not_removed()
        {
            _provider.Seed("10.0.0.1", 80, active: 5);
            _provider.DrainPerRead = 0;
            var task = _service.RemoveMemberAsync(_connection, "web", "10.0.0.1", 80, drain: true, TimeSpan.FromSeconds(30), _log, CancellationToken.None);
            var ex = await Assert.ThrowsAsync<LbException>(() => _time.Drive(task, TimeSpan.FromMilliseconds(500)));
            Assert.Equal(ErrorIds.DrainTimeout, ex.ErrorId);
            Assert.Contains("5 active connection(s)", ex.Message);
            var left = Assert.Single(_provider.Snapshot());
            Assert.Equal(LbMemberState.Draining, left.State);
            Assert.Equal(0, _provider.RemoveCalls);
        }

        [Fact]
        public async Task Without_connection_counts_a_drain_waits_until_the_vendor_stops_reporting_draining()
        {
            _provider.Capabilities = LbCapabilities.Drain | LbCapabilities.Disable;
            _connection = InMemoryProvider.Connect(_provider); // a connection takes its capabilities when it connects
            _provider.Seed("10.0.0.1", 80);
            int reads = 0;
            _provider.OnRead = m => { if (m.State == LbMemberState.Draining && ++reads >= 3) m.State = LbMemberState.Disabled; };
            var task = _service.RemoveMemberAsync(_connection, "web", "10.0.0.1", 80, drain: true, TimeSpan.FromMinutes(5), _log, CancellationToken.None);
            var outcome = await _time.Drive(task, TimeSpan.FromMilliseconds(100));
            Assert.Equal(ChangeOutcome.Changed, outcome);
            Assert.True(reads >= 3, "it removed while the member was still draining");
            Assert.Contains(_log.Verbose, v => v.Contains("finished draining"));
            Assert.Empty(_provider.Snapshot());
        }

        [Fact]
        public async Task Setting_what_is_already_set_sends_nothing()
        {
            var m = _provider.Seed("10.0.0.1", 80);
            var (_, outcome) = await _service.SetMemberAsync(_connection, m, new LbMemberUpdate { State = LbMemberState.Enabled, Weight = 1 }, _log, CancellationToken.None);
            Assert.Equal(ChangeOutcome.Unchanged, outcome);
            Assert.Equal(0, _provider.UpdateCalls);
        }

        [Fact]
        public async Task Unsupported_changes_fail_before_anything_is_sent()
        {
            var m = _provider.Seed("10.0.0.1", 80);
            _provider.Capabilities = LbCapabilities.None;
            _connection = InMemoryProvider.Connect(_provider); // a connection takes its capabilities when it connects
            var ex = await Assert.ThrowsAsync<LbException>(() => _service.SetMemberAsync(_connection, m, new LbMemberUpdate { State = LbMemberState.Disabled }, _log, CancellationToken.None));
            Assert.Equal(LbErrorKind.NotSupported, ex.Kind);
            Assert.StartsWith("Disabled is not supported by InMemory.", ex.Message);
            Assert.Equal(0, _provider.UpdateCalls);
        }
    }
}
