using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services.Remediation;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.Remediation
{
    /// <summary>The decision logic alone, round by round, on a fake clock.</summary>
    public class RemediationEngineTests
    {
        private readonly FakeTimeProvider _time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 3, 0, 0, TimeSpan.Zero));
        private readonly RemediationPolicy _policy = new RemediationPolicy { FailureThreshold = 3, RecoveryThreshold = 2, MaxEjectPercent = 50, MinHealthyMembers = 1 };
        private RemediationState _state = new RemediationState { Pool = "web", Endpoint = "tcp://lb" };
        private readonly List<LbPoolMember> _members = Enumerable.Range(1, 4)
            .Select(i => new LbPoolMember { Pool = "web", Address = "10.0.0." + i, Port = 80, Name = "s" + i, State = LbMemberState.Enabled, Health = LbMemberHealth.Healthy, Weight = 1 })
            .ToList();

        /// <summary>One round where the listed members fail their probe; applies every decision as the runner would.</summary>
        private RoundDecisions Round(params int[] failing)
        {
            var probes = _members.Select((m, i) => new LbProbeResult
            {
                Pool = "web", Address = m.Address, Port = m.Port, Name = m.Name, Target = "http://" + m.Endpoint + "/",
                Success = !failing.Contains(i + 1), Error = failing.Contains(i + 1) ? "connection refused" : null,
            }).ToList();
            var visible = _members.Where(m => !Removed.Contains(m.Address)).ToList();
            var d = RemediationEngine.Decide(_state, _policy, visible, probes, _time.GetUtcNow());
            foreach (var a in d.Actions)
            {
                RemediationEngine.Applied(a, _policy.Action, _time.GetUtcNow());
                var m = _members.Single(x => x.Address == a.Record.Address);
                if (_policy.Action == RemediationAction.Remove)
                {
                    if (a.Kind == DecisionKind.Eject) Removed.Add(m.Address); else Removed.Remove(m.Address);
                }
                else
                {
                    m.State = a.Kind == DecisionKind.Eject ? LbMemberState.Disabled : LbMemberState.Enabled;
                }
            }
            _time.Advance(TimeSpan.FromSeconds(10));
            return d;
        }

        private readonly HashSet<string> Removed = new HashSet<string>();

        private static IEnumerable<string> Ejected(RoundDecisions d) => d.Actions.Where(a => a.Kind == DecisionKind.Eject).Select(a => a.Record.Name);
        private static IEnumerable<string> Restored(RoundDecisions d) => d.Actions.Where(a => a.Kind == DecisionKind.Restore).Select(a => a.Record.Name);

        [Fact]
        public void A_member_is_ejected_on_exactly_the_failure_threshold()
        {
            var first = Round(2);
            Assert.Empty(first.Actions);
            var detected = Assert.Single(first.Events, e => e.Type == LbRemediationEventType.Detected);
            Assert.Equal("s2", detected.Member);
            Assert.Contains("failure 1 of 3", detected.Reason);
            Assert.Empty(Round(2).Actions);
            var third = Round(2);
            Assert.Equal(new[] { "s2" }, Ejected(third));
            Assert.Contains("3 consecutive failures", third.Actions[0].Reason);
        }

        [Fact]
        public void An_ejected_member_is_restored_after_the_recovery_threshold_and_not_before()
        {
            Round(2); Round(2); Round(2);
            Assert.Equal(LbMemberState.Disabled, _members[1].State);
            Assert.Empty(Restored(Round()));
            var d = Round();
            Assert.Equal(new[] { "s2" }, Restored(d));
            Assert.Equal(LbMemberState.Enabled, _members[1].State);
            Assert.False(_state.Members.Values.Single(r => r.Name == "s2").Ejected);
        }

        [Fact]
        public void Never_more_than_MaxEjectPercent_and_the_skip_says_why_and_alerts_once()
        {
            Round(1, 2, 3); Round(1, 2, 3);
            var d = Round(1, 2, 3);
            Assert.Equal(2, Ejected(d).Count());
            var skipped = Assert.Single(d.Events, e => e.Type == LbRemediationEventType.Skipped);
            Assert.Contains("-MaxEjectPercent 50 allows at most 2 of 4", skipped.Reason);
            Assert.Contains(skipped, d.Alerts);

            var next = Round(1, 2, 3);
            Assert.Empty(next.Actions);
            Assert.Single(next.Events, e => e.Type == LbRemediationEventType.Skipped);
            Assert.Empty(next.Alerts); // the operator heard it the first time
        }

        [Fact]
        public void Never_fewer_than_MinHealthyMembers_in_rotation()
        {
            _policy.MaxEjectPercent = 100;
            _policy.MinHealthyMembers = 3;
            Round(1, 2); Round(1, 2);
            var d = Round(1, 2);
            Assert.Single(Ejected(d));
            Assert.Contains(d.Events, e => e.Type == LbRemediationEventType.Skipped && e.Reason.Contains("below -MinHealthyMembers 3"));
        }

        [Fact]
        public void When_every_member_fails_at_once_it_suspects_its_own_network_and_ejects_nothing()
        {
            for (int i = 0; i < 5; i++)
            {
                var d = Round(1, 2, 3, 4);
                Assert.Empty(d.Actions);
                var e = Assert.Single(d.Events);
                Assert.Equal(LbRemediationEventType.Skipped, e.Type);
                Assert.Contains("suspected network partition", e.Reason);
                Assert.Equal(i == 0 ? 1 : 0, d.Alerts.Count);
            }
            // Nothing was counted while partitioned: one real failure afterwards starts from one,
            // and the partition's incident is closed by a pool-wide Restored that is alerted.
            var after = Round(2);
            Assert.Contains("failure 1 of 3", after.Events.Single(e => e.Type == LbRemediationEventType.Detected).Reason);
            var over = Assert.Single(after.Events, e => e.Type == LbRemediationEventType.Restored);
            Assert.Null(over.Member);
            Assert.Contains(over, after.Alerts);
        }

        [Fact]
        public void A_flapping_member_is_never_ejected_and_a_flapping_recovery_is_never_restored()
        {
            for (int i = 0; i < 6; i++) Assert.Empty(Round(i % 2 == 0 ? new[] { 3 } : Array.Empty<int>()).Actions);
            Round(3); Round(3); Assert.Single(Ejected(Round(3)));
            for (int i = 0; i < 6; i++) Assert.Empty(Restored(Round(i % 2 == 0 ? Array.Empty<int>() : new[] { 3 })));
        }

        [Fact]
        public void The_load_balancers_own_unhealthy_verdict_counts_as_a_failure()
        {
            _members[3].Health = LbMemberHealth.Unhealthy;
            _members[3].HealthReason = "DOWN L4CON";
            Round(); Round();
            var d = Round();
            Assert.Equal(new[] { "s4" }, Ejected(d));
            Assert.Contains("load balancer reports it unhealthy (DOWN L4CON)", d.Actions[0].Reason);
        }

        [Fact]
        public void State_carries_failure_counts_across_runs_through_the_state_file()
        {
            string path = Path.Combine(Path.GetTempPath(), $"lbtools-state-{Guid.NewGuid():N}.json");
            try
            {
                for (int run = 1; run <= 3; run++)
                {
                    _state = RemediationState.Load(path, "web", "tcp://lb");
                    var d = Round(2);
                    _state.Save(path);
                    Assert.Equal(run == 3 ? 1 : 0, Ejected(d).Count());
                }
                var reloaded = RemediationState.Load(path, "web", "tcp://lb");
                Assert.Equal("Disable", reloaded.Members.Values.Single(r => r.Name == "s2").EjectedWith);
                Assert.Throws<LoadBalancerTools.Errors.LbException>(() => RemediationState.Load(path, "api", "tcp://lb"));
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Fact]
        public void Removed_members_are_probed_where_they_were_and_added_back_on_recovery()
        {
            _policy.Action = RemediationAction.Remove;
            Round(4); Round(4); Assert.Equal(new[] { "s4" }, Ejected(Round(4)));
            Assert.Contains("10.0.0.4", Removed);
            Round(); var d = Round();
            var restore = Assert.Single(d.Actions);
            Assert.Equal(DecisionKind.Restore, restore.Kind);
            Assert.Null(restore.Member); // not in the pool: the runner adds it back with its name and weight
            Assert.Equal(1, restore.Record.Weight);
        }

        [Fact]
        public void A_removed_member_the_load_balancer_still_lists_as_draining_stays_ours_and_comes_back()
        {
            // ELBv2 keeps a deregistered target, Draining, until its deregistration delay ends.
            _policy.Action = RemediationAction.Remove;
            Round(4); Round(4); Assert.Equal(new[] { "s4" }, Ejected(Round(4)));
            Removed.Remove("10.0.0.4");
            _members[3].State = LbMemberState.Draining;
            Round(4);
            Assert.True(_state.Members.Values.Single(r => r.Name == "s4").Ejected);
            Removed.Add("10.0.0.4"); // the drain ended; the target is gone
            Round();
            var d = Round();
            var restore = Assert.Single(d.Actions);
            Assert.Equal(DecisionKind.Restore, restore.Kind);
            Assert.Null(restore.Member); // added back
        }

        [Fact]
        public void Members_an_operator_took_out_count_toward_MaxEjectPercent()
        {
            _members[0].State = LbMemberState.Disabled; // maintenance by hand
            Round(2, 3); Round(2, 3);
            var d = Round(2, 3);
            Assert.Single(Ejected(d)); // 50% of 4 is 2 out of rotation: the operator's one and one more
            Assert.Contains(d.Events, e => e.Type == LbRemediationEventType.Skipped && e.Reason.Contains("allows at most 2 of 4") && e.Reason.Contains("2 already are"));
        }

        [Fact]
        public void What_an_operator_undid_is_forgotten()
        {
            Round(2); Round(2); Round(2);
            _members[1].State = LbMemberState.Enabled; // re-enabled by hand, still failing
            var d = Round(2);
            Assert.Empty(d.Actions);
            var rec = _state.Members.Values.Single(r => r.Name == "s2");
            Assert.False(rec.Ejected);
            Assert.Equal(1, rec.ConsecutiveFailures); // counted afresh: the operator's call is not overturned on the next blip
        }
    }
}
