using System;
using System.Collections.Generic;
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
    /// <summary>Plan, apply and verify at the service level, on a fake clock and a scripted provider.</summary>
    public class SyncServiceTests
    {
        private readonly FakeTimeProvider _time = new FakeTimeProvider();
        private readonly FakePoolProvider _provider = new FakePoolProvider();
        private readonly RecordingLog _log = new RecordingLog();
        private LbConnection _connection;
        private readonly SyncService _sync;

        public SyncServiceTests()
        {
            _connection = FakePoolProvider.Connect(_provider);
            _sync = new SyncService(_time);
        }

        private static DesiredMember D(int row, string address, int port = 80, int? weight = null, LbMemberState? state = null) =>
            new DesiredMember(row, address, port) { Weight = weight, State = state };

        private static List<DesiredMember> Desired(int count) =>
            Enumerable.Range(1, count).Select(i => D(i, $"10.0.1.{i}")).ToList();

        /// <summary>Reads, plans and applies, like the cmdlet does (without prompts).</summary>
        private async Task<SyncPlan> Converge(IReadOnlyList<DesiredMember> desired, bool prune = false, int limit = 4, int drainSec = 300)
        {
            var current = await _sync.ReadAsync(_connection, "web", _log, CancellationToken.None);
            var plan = SyncService.Plan(_connection, "web", current, desired, prune);
            var options = new SyncOptions { Prune = prune, ThrottleLimit = limit, DrainTimeout = TimeSpan.FromSeconds(drainSec), DrainPollInterval = TimeSpan.FromSeconds(1) };
            await _time.Drive(ApplyAsync(plan, options), TimeSpan.FromMilliseconds(100));
            return plan;
        }

        private async Task<bool> ApplyAsync(SyncPlan plan, SyncOptions options)
        {
            await _sync.ApplyAsync(_connection, "web", plan.Changes, options, _log, CancellationToken.None);
            return true;
        }

        [Fact]
        public void The_plan_adds_what_is_missing_changes_only_the_given_fields_and_removes_extras_only_with_prune()
        {
            var current = new List<LbPoolMember>
            {
                new LbPoolMember { Pool = "web", Address = "10.0.0.1", Port = 80, Weight = 1, State = LbMemberState.Enabled },
                new LbPoolMember { Pool = "web", Address = "10.0.0.2", Port = 80, Weight = 1, State = LbMemberState.Enabled },
                new LbPoolMember { Pool = "web", Address = "10.0.0.3", Port = 80, Weight = 7, State = LbMemberState.Disabled },
                new LbPoolMember { Pool = "web", Address = "10.0.0.9", Port = 80, Weight = 1, State = LbMemberState.Enabled },
            };
            var desired = new List<DesiredMember>
            {
                D(1, "10.0.0.1"),                                       // as it is (weight and state not given)
                D(2, "10.0.0.2", weight: 5),                            // weight only
                D(3, "10.0.0.3", weight: 7, state: LbMemberState.Enabled), // state only: the weight already matches
                D(4, "10.0.0.4", weight: 2),                            // new
            };

            var kept = SyncService.Plan(_connection, "web", current, desired, prune: false);
            Assert.Equal(new[] { "Update 10.0.0.2", "Update 10.0.0.3", "Add 10.0.0.4" }, kept.Changes.Select(c => $"{c.Action} {c.Address}"));
            var weight = kept.Changes[0];
            Assert.Equal((1, 5, (LbMemberState?)null), (weight.WeightBefore!.Value, weight.WeightAfter!.Value, weight.StateAfter));
            var state = kept.Changes[1];
            Assert.Equal((LbMemberState.Disabled, LbMemberState.Enabled, (int?)null), (state.StateBefore!.Value, state.StateAfter!.Value, state.WeightAfter));
            Assert.All(kept.Changes, c => Assert.Equal(LbChangeStatus.Planned, c.Status));
            Assert.Contains(kept.Notes, n => n.Contains("1 member(s)") && n.Contains("-Prune"));

            var pruned = SyncService.Plan(_connection, "web", current, desired, prune: true);
            var remove = Assert.Single(pruned.Changes, c => c.Action == LbChangeAction.Remove);
            Assert.Equal("10.0.0.9", remove.Address);
            Assert.Same(remove, pruned.Changes.Last()); // removals come last
        }

        [Fact]
        public async Task Converging_reads_once_applies_with_bounded_concurrency_and_a_second_plan_is_empty()
        {
            int inFlight = 0, maxInFlight = 0;
            _provider.DuringAdd = async _ =>
            {
                int now = Interlocked.Increment(ref inFlight);
                lock (_provider) maxInFlight = Math.Max(maxInFlight, now);
                await Task.Delay(5);
                Interlocked.Decrement(ref inFlight);
            };
            var desired = Desired(40);

            var plan = await Converge(desired, limit: 4);

            Assert.All(plan.Changes, c => Assert.Equal(LbChangeStatus.Applied, c.Status));
            Assert.Equal(40, _provider.Snapshot().Count);
            Assert.Equal(4, maxInFlight);
            // One read to plan; the adds themselves did not read the pool again.
            Assert.Equal(1, _provider.Reads);
            Assert.Contains(_log.ProgressLog, p => p.Completed);

            var again = SyncService.Plan(_connection, "web", _provider.Snapshot(), desired, prune: true);
            Assert.Empty(again.Changes);
        }

        [Fact]
        public async Task A_partial_failure_fails_only_its_changes_and_a_rerun_converges_without_applying_anything_twice()
        {
            var desired = Desired(20);
            _provider.FailAdd = spec => spec.Address == "10.0.1.3" || spec.Address == "10.0.1.17"
                ? new LbException(LbErrorKind.Transient, "503 (scripted)")
                : null;

            var first = await Converge(desired);

            var failed = first.Changes.Where(c => c.Status == LbChangeStatus.Failed).Select(c => c.Address).OrderBy(a => a).ToList();
            Assert.Equal(new[] { "10.0.1.17", "10.0.1.3" }, failed);
            Assert.All(first.Changes.Where(c => c.Status == LbChangeStatus.Failed), c => Assert.Contains("503", c.Error));
            Assert.Equal(18, _provider.Snapshot().Count);

            _provider.FailAdd = null;
            int addsBefore = _provider.Adds;
            var second = await Converge(desired);

            Assert.Equal(new[] { "10.0.1.3", "10.0.1.17" }, second.Changes.Select(c => c.Address));
            Assert.Equal(2, _provider.Adds - addsBefore);
            var members = _provider.Snapshot();
            Assert.Equal(20, members.Count);
            Assert.Equal(20, members.Select(m => m.Address).Distinct().Count());
        }

        [Fact]
        public async Task Pruned_members_are_drained_together_with_one_read_per_poll_then_removed()
        {
            for (int i = 1; i <= 5; i++) _provider.Seed($"10.0.9.{i}", 80, active: 4);
            _provider.Seed("10.0.0.1", 80);
            _provider.DrainPerRead = 1; // every member out of rotation loses a connection per read

            var plan = await Converge(new[] { D(1, "10.0.0.1") }, prune: true);

            Assert.Equal(5, plan.Changes.Count(c => c.Action == LbChangeAction.Remove && c.Status == LbChangeStatus.Applied));
            Assert.Equal(new[] { "10.0.0.1" }, _provider.Snapshot().Select(m => m.Address));
            Assert.Equal(5, _provider.Updates); // each set to Draining once
            Assert.Equal(5, _provider.Removes);
            // Four reads drained all five at once (plus the plan's read): not four per member.
            Assert.InRange(_provider.Reads, 5, 6);
        }

        [Fact]
        public async Task A_member_that_does_not_drain_in_time_is_left_draining_and_reported()
        {
            _provider.Seed("10.0.9.1", 80, active: 3);
            _provider.Seed("10.0.9.2", 80, active: 0);
            _provider.BeforeRead = _ => _provider.Change("10.0.9.1", 80, m => m.ActiveConnections = 3); // long-lived connections

            var plan = await Converge(Array.Empty<DesiredMember>(), prune: true, drainSec: 10);

            var stuck = plan.Changes.Single(c => c.Address == "10.0.9.1");
            Assert.Equal(LbChangeStatus.Failed, stuck.Status);
            Assert.Equal(ErrorIds.DrainTimeout, stuck.ErrorId);
            Assert.Contains("3 active connection(s)", stuck.Error);
            Assert.Equal(LbChangeStatus.Applied, plan.Changes.Single(c => c.Address == "10.0.9.2").Status);
            var left = Assert.Single(_provider.Snapshot());
            Assert.Equal(("10.0.9.1", LbMemberState.Draining), (left.Address, left.State));
        }

        [Fact]
        public async Task Without_a_drain_timeout_members_are_removed_directly()
        {
            _provider.Seed("10.0.9.1", 80, active: 3);
            var plan = await Converge(Array.Empty<DesiredMember>(), prune: true, drainSec: 0);
            Assert.Equal(LbChangeStatus.Applied, Assert.Single(plan.Changes).Status);
            Assert.Equal(0, _provider.Updates);
            Assert.Empty(_provider.Snapshot());
        }

        [Fact]
        public async Task Verification_reports_an_applied_change_that_is_not_in_effect_and_marks_it_failed()
        {
            _provider.Seed("10.0.0.1", 80, weight: 1);
            var desired = new[] { D(1, "10.0.0.1", weight: 5), D(2, "10.0.0.2") };
            var plan = await Converge(desired);
            Assert.All(plan.Changes, c => Assert.Equal(LbChangeStatus.Applied, c.Status));

            // Someone puts the weight back before the sync reads the pool again.
            _provider.Change("10.0.0.1", 80, m => m.Weight = 1);
            var mismatches = await _sync.VerifyAsync(_connection, "web", desired, prune: false, plan.Changes, _log, CancellationToken.None);

            var mismatch = Assert.Single(mismatches);
            Assert.Equal("10.0.0.1", mismatch.Address);
            Assert.Contains("has weight 1 where 5 was desired", mismatch.Message);
            var update = plan.Changes.Single(c => c.Action == LbChangeAction.Update);
            Assert.Equal((LbChangeStatus.Failed, ErrorIds.SyncVerifyMismatch), (update.Status, update.ErrorId));
            Assert.Equal(LbChangeStatus.Applied, plan.Changes.Single(c => c.Action == LbChangeAction.Add).Status);
        }

        [Fact]
        public void Verification_does_not_repeat_what_a_failed_change_already_reports()
        {
            var desired = new[] { D(1, "10.0.0.1"), D(2, "10.0.0.2") };
            var failedAdd = new LbChange(LbChangeAction.Add, "web", "10.0.0.2", 80) { Status = LbChangeStatus.Failed };
            var actual = new[] { new LbPoolMember { Pool = "web", Address = "10.0.0.1", Port = 80 } };

            Assert.Empty(SyncService.Compare("web", actual, desired, prune: true, new[] { failedAdd }));
            var missing = Assert.Single(SyncService.Compare("web", actual, desired, prune: true, Array.Empty<LbChange>()));
            Assert.Contains("is missing", missing.Message);
        }

        [Fact]
        public void What_the_provider_cannot_do_is_refused_before_anything_is_sent()
        {
            _provider.Capabilities = LbCapabilities.ActiveConnections; // like Caddy: no weight, no states
            _connection = FakePoolProvider.Connect(_provider); // a connection takes its capabilities when it connects
            var problems = SyncService.CheckCapabilities(_connection, new[] { D(1, "10.0.0.1", weight: 3), D(2, "10.0.0.2"), D(3, "10.0.0.3", state: LbMemberState.Disabled), D(4, "10.0.0.4", state: LbMemberState.Enabled) });

            Assert.Equal(2, problems.Count);
            Assert.Contains(problems, p => p.Message.Contains("Weight") && p.Message.Contains("row 1"));
            Assert.Contains(problems, p => p.Message.Contains("State Disabled") && p.Message.Contains("row 3"));
            Assert.All(problems, p => Assert.Equal(ErrorIds.NotSupported, p.ErrorId));
        }
    }
}
