using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.Tests.Remediation
{
    /// <summary>
    /// Invoke-LbHealthRemediation and Test-LbPoolMember through the engine against the NGINX Plus
    /// emulator, whose members point at real local backends (alive or not).
    /// </summary>
    public sealed class RemediationCmdletTests : IAsyncLifetime
    {
        private NginxPlusEmulator _nginx = null!;
        private WebhookReceiver _hooks = null!;
        private readonly List<BackendServer> _backends = new List<BackendServer>();
        private PsSession _ps = null!;
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lbtools-rem-" + Guid.NewGuid().ToString("N"));

        public async Task InitializeAsync()
        {
            Directory.CreateDirectory(_dir);
            _nginx = await NginxPlusEmulator.StartAsync();
            _nginx.AddUpstream("web");
            for (int i = 1; i <= 4; i++)
            {
                var b = await BackendServer.StartAsync("b" + i);
                _backends.Add(b);
                _nginx.AddServer("web", b.Address);
            }
            _hooks = await WebhookReceiver.StartAsync();
            _ps = new PsSession();
            var r = _ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{_nginx.ApiBase}' | Out-Null; $slack = New-LbAlertChannel Slack -Uri '{_hooks.Url("slack")}'");
            Assert.False(r.HadErrors, r.ToString());
        }

        public async Task DisposeAsync()
        {
            _ps.Dispose();
            await _nginx.DisposeAsync();
            await _hooks.DisposeAsync();
            foreach (var b in _backends) await b.DisposeAsync();
            Directory.Delete(_dir, true);
        }

        private string Once(string extra = "") =>
            $"Invoke-LbHealthRemediation -Pool web -Path /healthz -ProbeTimeoutSec 1 -FailureThreshold 3 -StatePath '{_dir}/state.json' -JournalPath '{_dir}/journal.jsonl' -AlertChannel $slack {extra}";

        private static List<LbRemediationEvent> Events(PsResult r) => r.Output.Select(o => (LbRemediationEvent)o.BaseObject).ToList();

        private bool Down(string address) => _nginx.GetServers("web").Single(s => s.Server == address).Down;

        [Fact]
        public async Task A_failing_member_someone_else_disabled_is_counted_to_the_threshold_and_explained_once()
        {
            var target = _backends[1];
            var r = _ps.Run($"Get-LbPoolMember -Pool web | Where-Object Port -eq {target.Port} | Set-LbPoolMember -State Disabled -Confirm:$false | Out-Null");
            Assert.False(r.HadErrors, r.ToString());
            await target.StopAsync();

            var events = new List<LbRemediationEvent>();
            for (int run = 1; run <= 6; run++)
            {
                var once = _ps.Run(Once());
                Assert.False(once.HadErrors, once.ToString());
                events.AddRange(Events(once).Where(e => e.Port == target.Port));
            }

            // Failures 1 and 2 are Detected; the third reaches the threshold and is explained once, then nothing more.
            Assert.Equal(new[] { 1, 2 }, events.Where(e => e.Type == LbRemediationEventType.Detected).Select(e => e.ConsecutiveFailures ?? 0));
            var skipped = Assert.Single(events, e => e.Type == LbRemediationEventType.Skipped);
            Assert.Contains("already Disabled, left alone (not ejected by LoadBalancerTools)", skipped.Reason);
            Assert.Equal(3, skipped.ConsecutiveFailures);
            Assert.DoesNotContain(events, e => e.Reason.Contains("of 3)") && e.ConsecutiveFailures > 3);
            Assert.Contains("\"ConsecutiveFailures\": 3", File.ReadAllText($"{_dir}/state.json"));
            Assert.True(Down(target.Address)); // still the operator's: neither ejected nor restored by us
            Assert.Empty(_hooks.Received);
        }

        [Fact]
        public async Task A_scheduled_task_counts_failures_across_runs_through_the_state_file()
        {
            await _backends[2].StopAsync();
            for (int run = 1; run <= 2; run++)
            {
                var r = _ps.Run(Once());
                Assert.False(r.HadErrors, r.ToString());
                var detected = Assert.Single(Events(r));
                Assert.Equal(LbRemediationEventType.Detected, detected.Type);
                Assert.Equal(run, detected.ConsecutiveFailures);
                Assert.False(Down(_backends[2].Address));
            }
            var third = _ps.Run(Once());
            Assert.Contains(Events(third), e => e.Type == LbRemediationEventType.Ejected && e.Applied && e.Address == "127.0.0.1" && e.Port == _backends[2].Port);
            Assert.True(Down(_backends[2].Address));
            Assert.Contains(Events(third), e => e.Type == LbRemediationEventType.AlertSent && e.Success);
            var journal = File.ReadAllLines($"{_dir}/journal.jsonl");
            Assert.Equal(3, journal.Count(l => l.Contains("\"Detected\"")));
            // Timestamps read as written ("+00:00"), not as JSON's HTML-safe "\u002B00:00", so grep finds them.
            Assert.All(journal, l => Assert.Matches("\"timestamp\":\"[^\"]+[+-]\\d\\d:\\d\\d\"", l));
        }

        [Fact]
        public async Task WhatIf_decides_without_acting()
        {
            await _backends[0].StopAsync();
            _ps.Run(Once()); _ps.Run(Once());
            var r = _ps.Run(Once("-WhatIf"));
            var ejected = Assert.Single(Events(r), e => e.Type == LbRemediationEventType.Ejected);
            Assert.False(ejected.Applied);
            Assert.StartsWith("WhatIf:", ejected.Reason);
            Assert.Contains(r.HostLines, l => l.StartsWith("What if:") && l.Contains("Eject (Disable)") && l.Contains(_backends[0].Address));
            Assert.False(Down(_backends[0].Address));
            Assert.Empty(_hooks.Received);
            // Nothing written: a trial does not count toward the scheduled task's thresholds.
            var journalBefore = File.ReadAllLines($"{_dir}/journal.jsonl").Length;
            string stateBefore = File.ReadAllText($"{_dir}/state.json");
            _ps.Run(Once("-WhatIf"));
            Assert.Equal(journalBefore, File.ReadAllLines($"{_dir}/journal.jsonl").Length);
            Assert.Equal(stateBefore, File.ReadAllText($"{_dir}/state.json"));
        }

        [Fact]
        public void An_api_that_keeps_failing_is_an_ApiFailure_that_alerts_once_changes_nothing_and_is_closed_when_it_answers()
        {
            // No retries: each run reads the pool twice (the up-front check that it exists, then the round), and three
            // quick runs in one process must stay under the circuit breaker's minimum throughput, so the last run sees the API back.
            Assert.False(_ps.Run("$c = Connect-LbController -Provider NginxPlus -Endpoint '" + _nginx.ApiBase + "' -MaxRetries 0").HadErrors);
            _nginx.Faults.Enqueue(FaultKind.ServiceUnavailable, 50);
            for (int run = 0; run < 3; run++)
            {
                var r = _ps.Run(Once("-Connection $c"));
                Assert.Contains(Events(r), e => e.Type == LbRemediationEventType.ApiFailure && e.Reason.Contains("nothing was probed or changed"));
            }
            Assert.Single(_hooks.Json("/slack"), j => j.GetProperty("text").GetString()!.Contains("cannot reach the load balancer"));

            _nginx.Faults.Reset();
            var back = _ps.Run(Once("-Connection $c"));
            Assert.Contains(Events(back), e => e.Type == LbRemediationEventType.Restored && e.Member == null && e.Reason.Contains("answers again"));
            Assert.Equal(2, _hooks.Json("/slack").Count);
        }

        [Fact]
        public async Task Two_channels_of_one_type_are_told_apart_in_events()
        {
            await _backends[1].StopAsync();
            string twice = Once().Replace("-AlertChannel $slack", $"-AlertChannel $slack, (New-LbAlertChannel Slack -Uri '{_hooks.Url("slack")}')", StringComparison.Ordinal);
            _ps.Run(twice); _ps.Run(twice);
            var r = _ps.Run(twice);

            var sent = Events(r).Where(e => e.Type == LbRemediationEventType.AlertSent).Select(e => e.Channel).ToList();
            Assert.Contains("Slack (Uri) #1", sent);
            Assert.Contains("Slack (Uri) #2", sent);
        }

        [Fact]
        public void A_single_round_without_a_state_store_warns_that_nothing_carries_over()
        {
            var r = _ps.Run("Invoke-LbHealthRemediation -Pool web -Path /healthz -ProbeTimeoutSec 1");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Single(r.Warnings, w => w.Contains("not kept for the next run"));

            var kept = _ps.Run(Once());
            Assert.DoesNotContain(kept.Warnings, w => w.Contains("not kept for the next run"));
        }

        [Fact]
        public async Task A_token_in_the_probe_query_never_reaches_an_event_the_journal_or_an_alert()
        {
            await _backends[1].StopAsync();
            string once = Once().Replace("-Path /healthz", "-Path '/healthz?token=s3cr3t-probe-token'", StringComparison.Ordinal);
            _ps.Run(once); _ps.Run(once);
            var r = _ps.Run(once);

            Assert.Contains(Events(r), e => e.Type == LbRemediationEventType.Ejected && e.Applied);
            Assert.Contains(Events(r), e => e.Reason.Contains("/healthz?***", StringComparison.Ordinal));
            Assert.DoesNotContain("s3cr3t-probe-token", r.AllText() + string.Join("\n", Events(r).Select(e => e.Reason + e.Error)));
            Assert.DoesNotContain("s3cr3t-probe-token", File.ReadAllText(Path.Combine(_dir, "journal.jsonl")));
            Assert.NotEmpty(_hooks.Received);
            Assert.All(_hooks.Received, h => Assert.DoesNotContain("s3cr3t-probe-token", h.Body));
        }

        [Fact]
        public async Task A_failed_alert_is_reported_but_never_stops_remediation()
        {
            _hooks.Respond("/slack", 503); // retried first, so the retry lines are told too
            await _backends[1].StopAsync();
            _ps.Run(Once()); _ps.Run(Once());
            var r = _ps.Run(Once("-Verbose -Debug"));
            Assert.Contains(Events(r), e => e.Type == LbRemediationEventType.Ejected && e.Applied);
            var failed = Assert.Single(Events(r), e => e.Type == LbRemediationEventType.AlertSent);
            Assert.False(failed.Success);
            Assert.Contains("HTTP 503", failed.Error);
            Assert.Contains(r.Verbose, v => v.StartsWith("Retrying") && v.Contains("Slack (Uri)"));
            Assert.DoesNotContain(_hooks.BaseUrl.ToString(), r.AllText()); // a webhook URL is a secret
            Assert.True(Down(_backends[1].Address));
        }

        [Fact]
        public async Task WhatIf_pages_nobody_and_shows_what_would_have_been_alerted()
        {
            foreach (var b in _backends) await b.StopAsync();
            var r = _ps.Run(Once("-WhatIf"));
            Assert.Contains(Events(r), e => e.Type == LbRemediationEventType.Skipped && e.Reason.Contains("partition"));
            Assert.Contains(r.Warnings, w => w.StartsWith("What if: alert") && w.Contains("partition"));
            Assert.Empty(_hooks.Received);
        }

        [Fact]
        public async Task When_every_member_fails_at_once_nothing_is_ejected_and_the_alert_says_partition()
        {
            foreach (var b in _backends) await b.StopAsync();
            for (int i = 0; i < 4; i++)
            {
                var r = _ps.Run(Once());
                Assert.DoesNotContain(Events(r), e => e.Type == LbRemediationEventType.Ejected);
                Assert.Contains(Events(r), e => e.Type == LbRemediationEventType.Skipped && e.Reason.Contains("suspected network partition"));
            }
            Assert.Single(_hooks.Json("/slack"), j => j.GetProperty("text").GetString()!.Contains("partition"));
            Assert.DoesNotContain(_nginx.GetServers("web"), s => s.Down);
        }

        [Fact]
        public async Task Test_LbPoolMember_probes_every_member_in_parallel_and_reports_each()
        {
            await _backends[3].StopAsync();
            _backends[2].Healthy = false;
            var r = _ps.Run("Get-LbPoolMember -Pool web | Test-LbPoolMember -Path /healthz -ProbeTimeoutSec 2 -ThrottleLimit 2");
            Assert.False(r.HadErrors, r.ToString());
            var results = r.Output.Select(o => (LbProbeResult)o.BaseObject).ToDictionary(p => p.Port);
            Assert.True(results[_backends[0].Port].Success);
            Assert.Equal(200, results[_backends[0].Port].StatusCode);
            Assert.False(results[_backends[2].Port].Success);
            Assert.Contains("HTTP 503", results[_backends[2].Port].Error);
            Assert.False(results[_backends[3].Port].Success);
            Assert.Null(results[_backends[3].Port].StatusCode);

            var body = _ps.Run($"Test-LbPoolMember -Pool web -Path / -BodyMatch 'backend b1$'");
            Assert.Single(body.Output, o => (bool)o.Properties["Success"].Value);

            var tcp = _ps.Run("Test-LbPoolMember -Pool web -Protocol Tcp");
            Assert.Equal(3, tcp.Output.Count(o => (bool)o.Properties["Success"].Value));
        }
    }
}
