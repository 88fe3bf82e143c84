using System;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.Sync
{
    /// <summary>
    /// Sync-LbPool as a user runs it: through the real engine and the built module, against the NGINX Plus
    /// emulator, whose request log shows exactly what was sent.
    /// </summary>
    public sealed class SyncLbPoolTests : IAsyncLifetime
    {
        private NginxPlusEmulator _nginx = null!;
        private PsSession _ps = null!;

        public async Task InitializeAsync()
        {
            _nginx = await NginxPlusEmulator.StartAsync();
            _nginx.AddUpstream("web");
            _nginx.AddServer("web", "10.0.0.1:80");
            _nginx.AddServer("web", "10.0.0.2:80");
            _nginx.AddUpstream("empty");
            _ps = new PsSession();
            Connect();
        }

        public async Task DisposeAsync()
        {
            _ps?.Dispose();
            if (_nginx != null) await _nginx.DisposeAsync();
        }

        private void Connect(string extra = "")
        {
            var r = _ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{_nginx.ApiBase}' {extra} | Out-Null");
            Assert.False(r.HadErrors, r.ToString());
        }

        private int Writes() => _nginx.Requests.Count(r => r.Method is "POST" or "PATCH" or "DELETE");

        private static LbChange Change(PSObject o) => Assert.IsType<LbChange>(o.BaseObject);

        private static string Desired(int count, string prefix = "10.1.0.", string extra = "") =>
            $"$desired = foreach ($i in 1..{count}) {{ [pscustomobject]@{{ Address = \"{prefix}$i\"; Port = 80{extra} }} }}";

        private string[] Servers(string pool) => _nginx.GetServers(pool).Select(s => s.Server).OrderBy(s => s, StringComparer.Ordinal).ToArray();

        [Fact]
        public void WhatIf_prints_one_line_per_change_and_changes_nothing()
        {
            _nginx.ClearRequests();
            var r = _ps.Run("$desired = @(@{ Address = '10.0.0.1'; Port = 80; Weight = 5 }, '10.0.0.3:80', @{ Address = '10.0.0.4'; Port = 8080 }); " +
                            "Sync-LbPool -Pool web -Member $desired -Prune -WhatIf -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            var whatIf = r.HostLines.Where(l => l.StartsWith("What if:", StringComparison.Ordinal)).ToList();
            Assert.Equal(4, whatIf.Count);
            Assert.Contains(whatIf, l => l.Contains("Change member 10.0.0.1:80") && l.Contains("weight 1 -> 5"));
            Assert.Contains(whatIf, l => l.Contains("Add member 10.0.0.3:80"));
            Assert.Contains(whatIf, l => l.Contains("Add member 10.0.0.4:8080"));
            Assert.Contains(whatIf, l => l.Contains("Drain (up to 300 s) and remove member 10.0.0.2:80"));
            Assert.Equal(4, r.Output.Count);
            Assert.All(r.Output, o => Assert.Equal(LbChangeStatus.Planned, Change(o).Status));
            // A planned add says the state it will have: Enabled, as its What if line does, unless the row asks otherwise.
            Assert.All(r.Output.Select(Change).Where(c => c.Action == LbChangeAction.Add), c => Assert.Equal(LbMemberState.Enabled, c.StateAfter));
            Assert.Equal(0, Writes());
            Assert.Equal(new[] { "10.0.0.1:80", "10.0.0.2:80" }, Servers("web"));
        }

        [Fact]
        public void WhatIf_refuses_a_planned_add_the_provider_cannot_make_as_the_real_run_does()
        {
            // 10.0.0.1 exists (draining it is a change NGINX Plus can make); 10.0.0.7 would be added draining, which it cannot.
            const string desired = "$desired = @(@{ Address = '10.0.0.1'; Port = 80; State = 'Draining' }, @{ Address = '10.0.0.7'; Port = 80; State = 'Draining' }); ";
            _nginx.ClearRequests();
            var dry = _ps.Run(desired + "Sync-LbPool -Pool web -Member $desired -WhatIf");
            Assert.DoesNotContain(dry.HostLines, l => l.StartsWith("What if:", StringComparison.Ordinal));
            static bool Stop(ErrorRecord e) => e.FullyQualifiedErrorId.StartsWith("LbSyncInvalidDesiredState,", StringComparison.Ordinal);
            Assert.Single(dry.AllErrors, Stop);
            var refused = Assert.Single(dry.AllErrors, e => !Stop(e));
            Assert.StartsWith("LbNotSupported,", refused.FullyQualifiedErrorId);
            Assert.Contains("10.0.0.7:80", refused.Exception.Message);
            Assert.Contains("cannot add a member in state Draining", refused.Exception.Message);

            var real = _ps.Run(desired + "Sync-LbPool -Pool web -Member $desired -Confirm:$false");
            Assert.Single(real.AllErrors, Stop);
            Assert.Equal(refused.Exception.Message, Assert.Single(real.AllErrors, e => !Stop(e)).Exception.Message);
            Assert.Equal(0, Writes());
        }

        [Fact]
        public void Converges_an_empty_pool_and_a_second_run_changes_nothing()
        {
            var r = _ps.Run(Desired(30, extra: "; Weight = [int]$i % 7 + 1") + "; Sync-LbPool -Pool empty -Member $desired -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(30, r.Output.Count);
            Assert.All(r.Output.Select(Change), c => Assert.Equal((LbChangeAction.Add, LbChangeStatus.Applied), (c.Action, c.Status)));
            var servers = _nginx.GetServers("empty");
            Assert.Equal(30, servers.Count);
            Assert.All(servers, s => Assert.Equal(int.Parse(s.Server.Split('.', ':')[3]) % 7 + 1, s.Weight));
            Assert.Equal(30, _nginx.CountRequests("POST", "/upstreams/empty/servers"));
            Assert.Contains(r.Progress, p => p.Activity.Contains("Syncing pool 'empty'") && p.RecordType == ProgressRecordType.Completed);

            _nginx.ClearRequests();
            var again = _ps.Run("Sync-LbPool -Pool empty -Member $desired -Prune -PassThru -Verbose");

            Assert.False(again.HadErrors, again.ToString());
            Assert.Empty(again.Output);
            Assert.Equal(0, Writes());
            Assert.Contains(again.Verbose, v => v.Contains("already matches"));
        }

        [Fact]
        public void Prune_drains_then_removes_members_that_are_not_desired_and_without_it_they_stay()
        {
            var kept = _ps.Run("Sync-LbPool -Pool web -Member @{ Address = '10.0.0.1'; Port = 80 } -Verbose");
            Assert.False(kept.HadErrors, kept.ToString());
            Assert.Contains(kept.Verbose, v => v.Contains("not in the desired list") && v.Contains("-Prune"));
            Assert.Equal(2, Servers("web").Length);

            _nginx.ClearRequests();
            var r = _ps.Run("Sync-LbPool -Pool web -Member @{ Address = '10.0.0.1'; Port = 80 } -Prune -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            var removal = Change(Assert.Single(r.Output));
            Assert.Equal((LbChangeAction.Remove, "10.0.0.2", LbChangeStatus.Applied), (removal.Action, removal.Address, removal.Status));
            Assert.Equal(new[] { "10.0.0.1:80" }, Servers("web"));
            // Drained first: the server was set to drain before it was deleted.
            var log = _nginx.Requests.Select(q => q.Method + " " + q.Path).ToList();
            int drain = log.FindIndex(l => l == "PATCH /api/9/http/upstreams/web/servers/1");
            int delete = log.FindIndex(l => l == "DELETE /api/9/http/upstreams/web/servers/1");
            Assert.True(drain >= 0 && delete > drain, string.Join("\n", log));
        }

        [Fact]
        public void Updates_weight_and_state_where_the_desired_rows_give_them()
        {
            var r = _ps.Run("Sync-LbPool -Pool web -PassThru -Member @(@{ Address = '10.0.0.1'; Port = 80; Weight = 5; State = 'Disabled' }, " +
                            "[pscustomobject]@{ Address = '10.0.0.2'; Port = '80'; State = 'Drain' })");

            Assert.False(r.HadErrors, r.ToString());
            var changes = r.Output.Select(Change).ToList();
            Assert.Equal(2, changes.Count);
            Assert.Equal((LbMemberState?)LbMemberState.Enabled, changes[0].StateBefore);
            Assert.Equal((LbMemberState?)LbMemberState.Disabled, changes[0].StateAfter);
            Assert.Equal((1, 5), (changes[0].WeightBefore!.Value, changes[0].WeightAfter!.Value));
            Assert.Equal((LbMemberState?)LbMemberState.Draining, changes[1].StateAfter);
            Assert.Null(changes[1].WeightAfter);
            var servers = _nginx.GetServers("web");
            Assert.Equal((5, true), (servers[0].Weight, servers[0].Down));
            Assert.Equal((1, true), (servers[1].Weight, servers[1].Drain));
        }

        [Fact]
        public void Takes_csv_rows_hashtables_and_endpoint_strings_from_a_parameter_or_the_pipeline()
        {
            // Import-Csv gives objects whose values are all strings, empty where a cell is empty.
            var r = _ps.Run(
                "$csv = @([pscustomobject]@{ Address = '10.0.0.5'; Port = '8080'; Weight = '3'; State = '' }, " +
                "         [pscustomobject]@{ Address = '10.0.0.6'; Port = '80'; Weight = ''; State = 'Disabled' }); " +
                "$csv + @(@{ Address = '10.0.0.7'; Port = 80; Weight = 2 }, '10.0.0.8:9000') | Sync-LbPool -Pool empty -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(4, r.Output.Count);
            var servers = _nginx.GetServers("empty").ToDictionary(s => s.Server);
            Assert.Equal(new[] { "10.0.0.5:8080", "10.0.0.6:80", "10.0.0.7:80", "10.0.0.8:9000" }, servers.Keys.OrderBy(k => k, StringComparer.Ordinal));
            Assert.Equal(3, servers["10.0.0.5:8080"].Weight);
            Assert.True(servers["10.0.0.6:80"].Down);
            Assert.Equal(2, servers["10.0.0.7:80"].Weight);
        }

        [Fact]
        public void Bad_rows_are_each_named_with_their_value_and_nothing_is_applied()
        {
            _nginx.ClearRequests();
            var r = _ps.Run("Sync-LbPool -Pool web -Prune -Member @(" +
                            "@{ Address = '10.0.0.1'; Port = 80 }, " +
                            "[pscustomobject]@{ Address = '10.0.0.3'; Port = 'abc' }, " +
                            "@{ Address = '999.1.1.1'; Port = 80 }, " +
                            "@{ Address = '10.0.0.4'; Port = 80; Weight = 'heavy' }, " +
                            "'10.0.0.1:80', " +
                            "@{ Port = 80 })");

            var rows = r.AllErrors.Where(e => !e.FullyQualifiedErrorId.StartsWith("LbSyncInvalidDesiredState,", StringComparison.Ordinal)).ToList();
            Assert.Equal(5, rows.Count);
            Assert.StartsWith("LbInvalidPort,", rows[0].FullyQualifiedErrorId);
            Assert.Contains("row 2", rows[0].Exception.Message);
            Assert.Contains("'abc'", rows[0].Exception.Message);
            Assert.StartsWith("LbInvalidAddress,", rows[1].FullyQualifiedErrorId);
            Assert.Contains("999.1.1.1", rows[1].Exception.Message);
            Assert.StartsWith("LbInvalidWeight,", rows[2].FullyQualifiedErrorId);
            Assert.Contains("'heavy'", rows[2].Exception.Message);
            Assert.StartsWith("LbSyncDuplicateMember,", rows[3].FullyQualifiedErrorId);
            Assert.Contains("rows 1 and 5", rows[3].Exception.Message);
            Assert.StartsWith("LbSyncInvalidMember,", rows[4].FullyQualifiedErrorId);
            Assert.Contains("row 6 has no Address", rows[4].Exception.Message);
            Assert.All(rows, e => Assert.Equal(ErrorCategory.InvalidData, e.CategoryInfo.Category));
            Assert.IsType<System.Collections.Hashtable>((rows[1].TargetObject as PSObject)?.BaseObject ?? rows[1].TargetObject);
            // Then one error that stops the command: nothing was sent.
            var stop = Assert.Single(r.AllErrors, e => e.FullyQualifiedErrorId.StartsWith("LbSyncInvalidDesiredState,", StringComparison.Ordinal));
            Assert.Contains("nothing was changed", stop.Exception.Message);
            Assert.Equal(0, Writes());
            Assert.Equal(new[] { "10.0.0.1:80", "10.0.0.2:80" }, Servers("web"));
        }

        [Fact]
        public void An_empty_desired_list_with_Prune_needs_Force()
        {
            var refused = _ps.Run("Sync-LbPool -Pool web -Member @() -Prune");
            Assert.StartsWith("LbSyncEmptyDesiredState,", Assert.Single(refused.AllErrors).FullyQualifiedErrorId);
            Assert.Equal(2, Servers("web").Length);

            var forced = _ps.Run("Sync-LbPool -Pool web -Member @() -Prune -Force -DrainTimeoutSec 0");
            Assert.False(forced.HadErrors, forced.ToString());
            Assert.Empty(Servers("web"));
        }

        [Fact]
        public void A_partial_failure_reports_each_failed_change_and_a_rerun_converges_without_applying_anything_twice()
        {
            // No retries, so the injected 503s surface instead of being absorbed by the transport.
            Connect("-MaxRetries 0");
            _nginx.ClearRequests();
            // Refused creates: a 503 does not prove "not applied", so the service reads the pool, finds them
            // missing and sends them again; the refused update (idempotent, but no retries left) fails.
            _nginx.Faults.Enqueue(FaultKind.ServiceUnavailable, 2, req => req.Method == "POST");
            _nginx.Faults.Enqueue(FaultKind.ServiceUnavailable, 1, req => req.Method == "PATCH");
            var script = Desired(10) + "; $desired += @{ Address = '10.0.0.1'; Port = 80; Weight = 4 }; Sync-LbPool -Pool web -Member $desired -PassThru -Verbose";

            var first = _ps.Run(script);

            var e = Assert.Single(first.AllErrors);
            Assert.StartsWith("LbSyncUpdateFailed,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            var failed = Assert.IsType<LbChange>(e.TargetObject);
            Assert.Equal(LbChangeStatus.Failed, failed.Status);
            Assert.Contains(failed.Endpoint, e.Exception.Message);
            Assert.Equal("LbTransient", failed.ErrorId);
            Assert.Equal(ErrorCategory.ConnectionError, e.CategoryInfo.Category);
            Assert.Equal(2, first.Verbose.Count(v => v.Contains("may or may not have been applied")));
            var changes = first.Output.Select(Change).ToList();
            Assert.Equal((10, 1), (changes.Count(c => c.Status == LbChangeStatus.Applied), changes.Count(c => c.Status == LbChangeStatus.Failed)));

            var second = _ps.Run(script);

            Assert.False(second.HadErrors, second.ToString());
            Assert.Single(second.Output);
            Assert.All(second.Output.Select(Change), c => Assert.Equal(LbChangeStatus.Applied, c.Status));
            var servers = _nginx.GetServers("web");
            Assert.Equal(12, servers.Count);
            Assert.Equal(12, servers.Select(s => s.Server).Distinct().Count());
            Assert.Equal(4, servers.Single(s => s.Server == "10.0.0.1:80").Weight);
            // Each member was created exactly once: ten successful POSTs, two refused ones, none doubled.
            Assert.Equal(10, _nginx.CountRequests("POST", "/servers", 201));
            Assert.Equal(12, _nginx.CountRequests("POST", "/servers"));
        }

        [Fact]
        public void Converges_when_a_tenth_of_the_requests_are_answered_429_or_503()
        {
            _nginx.Faults.RandomFaultRate = 0.1;
            var r = _ps.Run(Desired(100) + "; Sync-LbPool -Pool empty -Member $desired");
            _nginx.Faults.RandomFaultRate = 0;

            Assert.False(r.HadErrors, r.ToString());
            Assert.True(_nginx.Faults.InjectedCount > 0);
            var servers = _nginx.GetServers("empty");
            Assert.Equal(100, servers.Count);
            Assert.Equal(100, servers.Select(s => s.Server).Distinct().Count());
            Assert.Equal(100, _nginx.CountRequests("POST", "/upstreams/empty/servers", 201));
        }

        [Fact]
        public void A_difference_left_after_applying_is_an_error_naming_it()
        {
            // The emulator cannot ignore a change, so another writer is simulated: once the adds are in, it
            // disables 10.0.0.3 just before the sync reads the pool again to verify.
            bool posted = false, struck = false;
            _nginx.Faults.Enqueue(FaultKind.ServiceUnavailable, 1, req =>
            {
                if (req.Method == "POST") posted = true;
                if (req.Method == "GET" && req.Path.Value!.EndsWith("/web/servers", StringComparison.Ordinal) && posted && !struck)
                {
                    struck = true;
                    _nginx.SetPeerState("web", "10.0.0.3:80", "down");
                }
                return false;
            });

            var r = _ps.Run("Sync-LbPool -Pool web -PassThru -Member @(@{ Address = '10.0.0.1'; Port = 80 }, @{ Address = '10.0.0.2'; Port = 80 }, @{ Address = '10.0.0.3'; Port = 80; State = 'Enabled' })");

            Assert.True(struck);
            var error = Assert.Single(r.Errors);
            Assert.StartsWith("LbSyncVerifyMismatch,", error.FullyQualifiedErrorId);
            Assert.Contains("10.0.0.3:80", error.Exception.Message);
            Assert.Contains("has state Disabled where Enabled was desired", error.Exception.Message);
            Assert.Equal(ErrorCategory.InvalidResult, error.CategoryInfo.Category);
            var add = Change(Assert.Single(r.Output));
            Assert.Equal((LbChangeStatus.Failed, "LbSyncVerifyMismatch"), (add.Status, add.ErrorId));
        }

        [Fact]
        public void Confirm_asks_per_change_and_a_declined_removal_is_skipped()
        {
            _ps.Host.ChoiceAnswers.Enqueue(0); // Yes: add 10.0.0.3
            _ps.Host.ChoiceAnswers.Enqueue(2); // No: remove 10.0.0.2
            var r = _ps.Run("Sync-LbPool -Pool web -Member @('10.0.0.1:80', '10.0.0.3:80') -Prune -Confirm -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(2, r.HostLines.Count(l => l.StartsWith("PROMPT:", StringComparison.Ordinal)));
            var changes = r.Output.Select(Change).ToList();
            Assert.Equal(LbChangeStatus.Applied, changes.Single(c => c.Action == LbChangeAction.Add).Status);
            var declined = changes.Single(c => c.Action == LbChangeAction.Remove);
            Assert.Equal(LbChangeStatus.Skipped, declined.Status);
            Assert.Equal(new[] { "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80" }, Servers("web"));
        }
    }
}
