using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.Tests.Remediation
{
    /// <summary>
    /// The 3 AM scenario end to end: a real HAProxy with four real backends and steady client traffic,
    /// Invoke-LbHealthRemediation -Watch running in the engine, backends killed and revived, alerts landing
    /// in a local webhook receiver. HAProxy's own health checks are off, so only the module heals the pool.
    /// </summary>
    [Trait("Category", "RealLoadBalancer")]
    public sealed class HaproxyRemediationTests : IAsyncLifetime
    {
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
        private const int Threshold = 2;
        private const int IntervalSec = 1;
        private readonly List<BackendServer> _backends = new List<BackendServer>();
        private HaproxyProcess _haproxy = null!;
        private WebhookReceiver _hooks = null!;
        private PsSession _ps = null!;
        private string _journal = null!;

        public async Task InitializeAsync()
        {
            for (int i = 1; i <= 4; i++) _backends.Add(await BackendServer.StartAsync("b" + i));
            var options = new HaproxyOptions();
            var web = options.AddBackend("web");
            foreach (var b in _backends) web.AddServer(b);
            foreach (var s in web.Servers) s.Check = false;
            web.ExtraLines.Add("retries 0");
            _haproxy = await HaproxyProcess.StartAsync(options);
            _hooks = await WebhookReceiver.StartAsync();
            _journal = Path.Combine(Path.GetTempPath(), $"lbtools-journal-{Guid.NewGuid():N}.jsonl");
            _ps = new PsSession();
            var r = _ps.Run(
                $"Connect-LbController -Provider HAProxy -Endpoint '{_haproxy.AdminEndpoint}' | Out-Null; " +
                $"$alerts = @(New-LbAlertChannel Slack -Uri '{_hooks.Url("slack")}'; New-LbAlertChannel Teams -Uri '{_hooks.Url("teams")}'; " +
                $"New-LbAlertChannel PagerDuty -RoutingKey 'R0UTING-KEY' -Uri '{_hooks.Url("pagerduty")}'; New-LbAlertChannel Webhook -Uri '{_hooks.Url("hook")}')");
            Assert.False(r.HadErrors, r.ToString());
        }

        public async Task DisposeAsync()
        {
            _ps?.Dispose();
            await _haproxy.DisposeAsync();
            foreach (var b in _backends) await b.DisposeAsync();
            await _hooks.DisposeAsync();
            File.Delete(_journal);
        }

        private RunningScript StartRemediation(string extra = "") => _ps.Start(
            $"Invoke-LbHealthRemediation -Pool web -Path /healthz -ProbeTimeoutSec 1 -FailureThreshold {Threshold} -RecoveryThreshold 2 " +
            $"-IntervalSec {IntervalSec} -Watch -DurationSec 120 -JournalPath '{_journal}' -AlertChannel $alerts {extra}");

        private static IEnumerable<LbRemediationEvent> Events(RunningScript run) => run.Output.ReadAll().Select(o => (LbRemediationEvent)o.BaseObject);

        private async Task<List<LbRemediationEvent>> WaitForEvents(RunningScript run, Func<List<LbRemediationEvent>, bool> condition, string what)
        {
            var seen = new List<LbRemediationEvent>();
            await _haproxy.WaitUntilAsync(() =>
            {
                seen.AddRange(Events(run));
                Assert.False(run.IsCompleted && !condition(seen), "remediation stopped early: " + string.Join("; ", run.Errors));
                return Task.FromResult(condition(seen));
            }, Patience, what);
            return seen;
        }

        private async Task<int> AdminState(string server)
        {
            string state = await _haproxy.RuntimeCommandAsync("show servers state web");
            var line = state.Split('\n').Single(l => l.Split(' ').Length > 6 && l.Split(' ')[3] == server);
            return int.Parse(line.Split(' ')[6]);
        }

        [Fact]
        public async Task A_dead_backend_is_ejected_within_the_threshold_clients_see_no_errors_and_it_is_restored_when_back()
        {
            await using var traffic = TrafficGenerator.Start(_haproxy.FrontendUrl, requestsPerSecond: 60, concurrency: 3);
            using var run = StartRemediation();
            var victim = _backends[1];

            var clock = Stopwatch.StartNew();
            await victim.StopAsync();
            var events = await WaitForEvents(run, e => e.Any(x => x.Type == LbRemediationEventType.Ejected && x.Member == "b2"), "b2 to be ejected");
            clock.Stop();
            var ejected = events.Single(x => x.Type == LbRemediationEventType.Ejected);
            Assert.True(ejected.Applied && ejected.Success, ejected.Reason);
            Assert.Equal("Disable", ejected.Action);
            // Threshold rounds of IntervalSec each, plus the round that was under way and the probes' own time.
            Assert.True(clock.Elapsed <= TimeSpan.FromSeconds((Threshold + 1) * IntervalSec + 2), $"ejection took {clock.Elapsed}");
            Assert.Equal(1, await AdminState("b2") & 1); // forced maintenance

            traffic.ResetCounters();
            long total = traffic.Snapshot().Total;
            await _haproxy.WaitUntilAsync(() => Task.FromResult(traffic.Snapshot().Total >= total + 120), Patience, "120 requests after the ejection");
            Assert.True(traffic.Snapshot().Failures == 0, traffic.Snapshot().ToString());

            await victim.RestartAsync();
            // Every event read so far is kept: a round's AlertSent may arrive with its Ejected, before this wait starts.
            var seenBefore = events;
            events = await WaitForEvents(run, e => e.Any(x => x.Type == LbRemediationEventType.Restored && x.Member == "b2"), "b2 to be restored");
            Assert.True(events.Single(x => x.Type == LbRemediationEventType.Restored).Applied);
            events.InsertRange(0, seenBefore);
            Assert.Equal(0, await AdminState("b2"));
            long before = victim.RequestCount;
            await _haproxy.WaitUntilAsync(() => Task.FromResult(victim.RequestCount > before + 5), Patience, "the restored member to serve again");

            run.Stop();
            Assert.Empty(run.Errors);
            var stats = await traffic.StopAsync();

            // Alerts: Slack and Teams told, PagerDuty triggered then resolved the same incident, the webhook got the event.
            Assert.Contains(_hooks.Json("/slack"), j => j.GetProperty("text").GetString()!.Contains("ejected web/b2"));
            Assert.Contains(_hooks.Json("/teams"), j => j.GetProperty("@type").GetString() == "MessageCard" && j.GetProperty("title").GetString()!.Contains("restored web/b2"));
            var pd = _hooks.Json("/pagerduty");
            var trigger = pd.First(j => j.GetProperty("event_action").GetString() == "trigger");
            var resolve = pd.First(j => j.GetProperty("event_action").GetString() == "resolve");
            Assert.Equal("R0UTING-KEY", trigger.GetProperty("routing_key").GetString());
            Assert.Equal(trigger.GetProperty("dedup_key").GetString(), resolve.GetProperty("dedup_key").GetString());
            Assert.Contains(_hooks.Json("/hook"), j => j.GetProperty("event").GetProperty("type").GetString() == "Ejected");
            Assert.Contains(Events(run).Concat(events), e => e.Type == LbRemediationEventType.AlertSent);

            // The journal explains every decision, one JSON object per line.
            var lines = File.ReadAllLines(_journal).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
            Assert.Contains(lines, l => l.GetProperty("type").GetString() == "Ejected" && l.GetProperty("reason").GetString()!.Contains("consecutive failures"));
            Assert.Contains(lines, l => l.GetProperty("type").GetString() == "Restored");
        }

        [Fact]
        public async Task With_three_of_four_dead_and_MaxEjectPercent_50_only_two_are_ejected_and_the_alert_says_why()
        {
            using var run = StartRemediation("-MaxEjectPercent 50");
            foreach (var b in _backends.Skip(1)) await b.StopAsync();

            var events = await WaitForEvents(run, e => e.Count(x => x.Type == LbRemediationEventType.Ejected) >= 2
                                                  && e.Any(x => x.Type == LbRemediationEventType.Skipped && x.Reason.Contains("MaxEjectPercent")), "two ejections and a capped third");
            int round = events.Max(e => e.Round);
            events.AddRange(await WaitForEvents(run, e => e.Any(x => x.Round >= round + 2), "two more rounds"));
            run.Stop();

            Assert.Equal(2, events.Count(x => x.Type == LbRemediationEventType.Ejected));
            var skipped = events.First(x => x.Type == LbRemediationEventType.Skipped && x.Reason.Contains("MaxEjectPercent"));
            Assert.Contains("-MaxEjectPercent 50 allows at most 2 of 4", skipped.Reason);
            var inMaint = new List<string>();
            foreach (var s in new[] { "b1", "b2", "b3", "b4" }) if ((await AdminState(s) & 1) == 1) inMaint.Add(s);
            Assert.Equal(2, inMaint.Count);
            Assert.DoesNotContain("b1", inMaint);
            Assert.Contains(_hooks.Json("/slack"), j => j.GetProperty("text").GetString()!.Contains("-MaxEjectPercent 50"));
        }
    }
}
