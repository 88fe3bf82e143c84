using System;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services.Remediation;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.WriteSafety
{
    /// <summary>
    /// Two NGINX Plus peers at one address (NGINX Plus accepts them; each takes traffic): every change reaches
    /// exactly the member it names, by its server id, and targeting by address alone is refused.
    /// </summary>
    public sealed class MemberIdentityTests : IAsyncLifetime
    {
        private NginxPlusEmulator _nginx = null!;
        private PsSession _ps = null!;
        private int _first, _second;

        public async Task InitializeAsync()
        {
            _nginx = await NginxPlusEmulator.StartAsync();
            _nginx.AddUpstream("web");
            _first = _nginx.AddServer("web", "10.0.0.1:80");
            _second = _nginx.AddServer("web", "10.0.0.1:80");
            _nginx.AddServer("web", "10.0.0.2:80");
            _ps = new PsSession();
            var r = _ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{_nginx.ApiBase}' | Out-Null");
            Assert.False(r.HadErrors, r.ToString());
        }

        public async Task DisposeAsync()
        {
            _ps?.Dispose();
            if (_nginx != null) await _nginx.DisposeAsync();
        }

        [Fact]
        public void Every_member_carries_its_server_id_as_MemberId()
        {
            var r = _ps.Run("Get-LbPoolMember -Pool web -Address 10.0.0.1");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(new[] { _first.ToString(), _second.ToString() }, r.Output.Select(o => ((LbPoolMember)o.BaseObject).MemberId).ToArray());
        }

        [Fact]
        public void Targeting_by_address_when_two_members_share_it_is_refused_and_changes_nothing()
        {
            _nginx.ClearRequests();
            var set = _ps.Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -Weight 9");
            var remove = _ps.Run("Remove-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -Confirm:$false");

            foreach (var r in new[] { set, remove })
            {
                var e = Assert.Single(r.Errors);
                Assert.StartsWith("LbAmbiguousMember,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
                Assert.Contains("matches 2 members", e.Exception.Message);
                Assert.Contains($"MemberId '{_first}'", e.Exception.Message);
                Assert.Contains($"MemberId '{_second}'", e.Exception.Message);
                // On NGINX Plus a server's name is its address:port, so -Name cannot pick one: the advice says what can.
                Assert.DoesNotContain("with -Name", e.Exception.Message);
                Assert.Contains("give the one you mean with -MemberId, or pipe it from Get-LbPoolMember", e.Exception.Message);
            }
            Assert.Equal(0, _nginx.Requests.Count(q => q.Method != "GET"));
            Assert.All(_nginx.GetServers("web"), s => Assert.Equal(1, s.Weight));
        }

        [Fact]
        public void MemberId_selects_exactly_that_member_for_set_wait_and_remove()
        {
            var set = _ps.Run($"Set-LbPoolMember -Pool web -MemberId {_second} -Weight 9 -PassThru");
            Assert.False(set.HadErrors, set.ToString());
            Assert.Equal(_second.ToString(), ((LbPoolMember)Assert.Single(set.Output).BaseObject).MemberId);
            Assert.Equal(9, _nginx.GetServers("web").Single(s => s.Id == _second).Weight);
            Assert.Equal(1, _nginx.GetServers("web").Single(s => s.Id == _first).Weight);

            var wait = _ps.Run($"Wait-LbPoolMember -Pool web -MemberId {_second} -State Healthy -TimeoutSec 10");
            Assert.False(wait.HadErrors, wait.ToString());
            Assert.Equal(_second.ToString(), ((LbPoolMember)Assert.Single(wait.Output).BaseObject).MemberId);

            var whatIf = _ps.Run($"Remove-LbPoolMember -Pool web -MemberId {_second} -WhatIf");
            Assert.Contains(whatIf.HostLines, l => l.StartsWith("What if:", StringComparison.Ordinal) && l.Contains("member 10.0.0.1:80 of pool 'web'"));
            var remove = _ps.Run($"Remove-LbPoolMember -Pool web -MemberId {_second} -Confirm:$false");
            Assert.False(remove.HadErrors, remove.ToString());
            Assert.DoesNotContain(_nginx.GetServers("web"), s => s.Id == _second);
            Assert.Contains(_nginx.GetServers("web"), s => s.Id == _first);

            // An id that is not there (any more): not found, nothing changed.
            var gone = _ps.Run($"Set-LbPoolMember -Pool web -MemberId {_second} -Weight 3");
            var e = Assert.Single(gone.Errors);
            Assert.StartsWith("LbMemberNotFound,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains($"id '{_second}'", e.Exception.Message);
        }

        [Fact]
        public void A_piped_member_is_changed_and_removed_by_its_id_never_its_look_alike()
        {
            var set = _ps.Run($"Get-LbPoolMember -Pool web | Where-Object MemberId -eq '{_second}' | Set-LbPoolMember -Weight 9 -PassThru");
            Assert.False(set.HadErrors, set.ToString());
            Assert.Equal(9, _nginx.GetServers("web").Single(s => s.Id == _second).Weight);
            Assert.Equal(1, _nginx.GetServers("web").Single(s => s.Id == _first).Weight);

            var remove = _ps.Run($"Get-LbPoolMember -Pool web | Where-Object MemberId -eq '{_second}' | Remove-LbPoolMember -Confirm:$false");
            Assert.False(remove.HadErrors, remove.ToString());
            Assert.DoesNotContain(_nginx.GetServers("web"), s => s.Id == _second);
            Assert.Contains(_nginx.GetServers("web"), s => s.Id == _first);
            // The user is told the address still serves through the other copy.
            Assert.Contains(remove.Warnings, w => w.Contains("1 other member(s) at 10.0.0.1:80 remain"));
        }

        [Fact]
        public void A_member_object_whose_peer_was_replaced_is_not_found_rather_than_acting_on_the_new_peer()
        {
            var r = _ps.Run($"$m = Get-LbPoolMember -Pool web | Where-Object MemberId -eq '{_first}'");
            Assert.False(r.HadErrors, r.ToString());
            _nginx.ClearRequests();
            // Someone deletes the peer and adds one at the same address: a new server id.
            _ps.Run($"Get-LbPoolMember -Pool web | Where-Object MemberId -eq '{_first}' | Remove-LbPoolMember -Confirm:$false");
            _nginx.AddServer("web", "10.0.0.1:80");

            var stale = _ps.Run("$m | Set-LbPoolMember -State Disabled");
            var e = Assert.Single(stale.Errors);
            Assert.StartsWith("LbMemberNotFound,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.All(_nginx.GetServers("web"), s => Assert.False(s.Down));
        }

        [Fact]
        public void Sync_reports_a_duplicate_as_drift_and_with_prune_keeps_one_copy()
        {
            var plan = _ps.Run("Sync-LbPool -Pool web -Member @('10.0.0.1:80', '10.0.0.2:80') -PassThru");
            Assert.False(plan.HadErrors, plan.ToString());
            var dup = (LbChange)Assert.Single(plan.Output).BaseObject;
            Assert.Equal((LbChangeAction.RemoveDuplicate, LbChangeStatus.Skipped), (dup.Action, dup.Status));
            Assert.Equal(3, _nginx.GetServers("web").Count);

            var pruned = _ps.Run("Sync-LbPool -Pool web -Member @('10.0.0.1:80', '10.0.0.2:80') -Prune -Confirm:$false -PassThru");
            Assert.False(pruned.HadErrors, pruned.ToString());
            Assert.Equal(LbChangeStatus.Applied, ((LbChange)Assert.Single(pruned.Output).BaseObject).Status);
            Assert.Equal(new[] { "10.0.0.1:80", "10.0.0.2:80" }, _nginx.GetServers("web").Select(s => s.Server).OrderBy(s => s, StringComparer.Ordinal).ToArray());
        }

        [Fact]
        public void Sync_prune_asks_before_removing_unless_told_not_to()
        {
            _ps.Host.ChoiceAnswers.Enqueue(3); // "No to All" at the removal prompt (Yes, Yes to All, No, No to All)
            var declined = _ps.Run("Sync-LbPool -Pool web -Member @('10.0.0.2:80') -Prune -DrainTimeoutSec 0 -PassThru");
            Assert.Contains(declined.HostLines, l => l.StartsWith("PROMPT:", StringComparison.Ordinal) && l.Contains("Remove"));
            Assert.Equal(3, _nginx.GetServers("web").Count);
            Assert.All(declined.Output.Select(o => (LbChange)o.BaseObject).Where(c => c.IsRemoval), c => Assert.Equal(LbChangeStatus.Skipped, c.Status));

            var forced = _ps.Run("Sync-LbPool -Pool web -Member @('10.0.0.2:80') -Prune -Force -DrainTimeoutSec 0");
            Assert.False(forced.HadErrors, forced.ToString());
            Assert.DoesNotContain(forced.HostLines, l => l.StartsWith("PROMPT:", StringComparison.Ordinal));
            Assert.Equal(new[] { "10.0.0.2:80" }, _nginx.GetServers("web").Select(s => s.Server).ToArray());
        }

        [Fact]
        public void Remediation_decides_on_a_pool_with_one_address_twice_without_error_and_keeps_one_record_per_member()
        {
            var r = _ps.Run("Get-LbPoolMember -Pool web");
            var members = r.Output.Select(o => (LbPoolMember)o.BaseObject).ToList();
            var state = new RemediationState { Pool = "web", Endpoint = _nginx.ApiBase.ToString() };
            var probes = members.Select(m => new LbProbeResult { Pool = "web", Address = m.Address, Port = m.Port, Success = m.Address != "10.0.0.1" }).ToList();
            var policy = new RemediationPolicy { FailureThreshold = 2, MaxEjectPercent = 100, MinHealthyMembers = 1 };

            RemediationEngine.Decide(state, policy, members, probes, DateTimeOffset.UnixEpoch);
            var round = RemediationEngine.Decide(state, policy, members, probes, DateTimeOffset.UnixEpoch);

            Assert.Equal(3, state.Members.Count);
            Assert.Equal(2, round.Actions.Count(a => a.Kind == DecisionKind.Eject));
            Assert.Equal(new[] { _first.ToString(), _second.ToString() },
                round.Actions.Select(a => a.Member!.MemberId).OrderBy(id => id, StringComparer.Ordinal).ToArray());
        }
    }
}
