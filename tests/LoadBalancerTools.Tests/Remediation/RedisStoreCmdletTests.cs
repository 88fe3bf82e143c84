using System;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.Tests.Remediation
{
    /// <summary>
    /// -StateStore redis:// through the engine, against a real redis-server that requires a password: the
    /// password comes from -StateCredential (a vault secret: tests/Pester/Secrets.Tests.ps1, with the real SecretManagement) and never shows in any stream; bad addresses are
    /// refused without echoing a password.
    /// </summary>
    [Trait("Category", "RealRedis")]
    public sealed class RedisStoreCmdletTests : IAsyncLifetime
    {
        private const string Password = "Redis-Pa55-word-9";
        private RedisProcess _redis = null!;
        private NginxPlusEmulator _nginx = null!;
        private PsSession _ps = null!;
        private WebhookReceiver _hooks = null!;

        public async Task InitializeAsync()
        {
            _redis = await RedisProcess.StartAsync(Password);
            _nginx = await NginxPlusEmulator.StartAsync();
            _nginx.AddUpstream("web");
            _nginx.AddServer("web", "127.0.0.1:" + FreePort.Next());
            _hooks = await WebhookReceiver.StartAsync();
            _ps = new PsSession();
            var r = _ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{_nginx.ApiBase}' | Out-Null; $hook = New-LbAlertChannel Webhook -Uri '{_hooks.Url("hook")}'");
            Assert.False(r.HadErrors, r.ToString());
        }

        public async Task DisposeAsync()
        {
            _ps.Dispose();
            await _nginx.DisposeAsync();
            await _hooks.DisposeAsync();
            await _redis.DisposeAsync();
        }

        private string Run(string extra) => $"Invoke-LbHealthRemediation -Pool web -Protocol Tcp -ProbeTimeoutSec 1 -Verbose -Debug {extra}";

        private Task<string> StoredState() => _redis.CommandAsync("GET lbtools:{" + _nginx.ApiBase.ToString().ToLowerInvariant() + "|web}:state");

        [Fact]
        public async Task The_password_from_StateCredential_opens_the_store_and_shows_nowhere()
        {
            var r = _ps.Run($"$cred = [pscredential]::new('default', [System.Net.NetworkCredential]::new('', '{Password}').SecurePassword); " + Run($"-StateStore '{_redis.Url}' -StateCredential $cred"));

            Assert.False(r.HadErrors, r.ToString());
            Assert.Contains("\"ConsecutiveFailures\": 1", await StoredState());
            Assert.DoesNotContain(Password, r.AllText());
        }

        [Fact]
        public async Task A_wrong_password_is_a_store_failure_that_changes_nothing_and_shows_no_password()
        {
            const string wrong = "Wrong-Pa55-word-1";
            var r = _ps.Run($"$cred = [pscredential]::new('default', [System.Net.NetworkCredential]::new('', '{wrong}').SecurePassword); " + Run($"-StateStore '{_redis.Url}' -StateCredential $cred"));

            var failure = r.Output.Select(o => (LbRemediationEvent)o.BaseObject).Single();
            Assert.Equal(LbRemediationEventType.ApiFailure, failure.Type);
            Assert.Equal("web", failure.Pool);
            Assert.Equal(1, failure.Round);
            Assert.Contains("state store refused the credentials (authentication failed)", failure.Reason);
            Assert.DoesNotContain("NOAUTH", failure.Reason);
            Assert.DoesNotContain("did not answer", failure.Reason);
            Assert.Contains(r.Warnings, w => w.Contains("cannot use the state store " + _redis.Url.TrimEnd('/'))); // the alert, without a channel
            Assert.Equal("$-1", await StoredState());
            Assert.DoesNotContain(wrong, r.AllText());
            Assert.DoesNotContain(Password, r.AllText());
        }

        [Fact]
        public void An_unreachable_store_is_reported_per_pool_and_round_and_alerted_once_as_the_store_not_the_load_balancer()
        {
            const string store = "redis://127.0.0.1:1";
            var r = _ps.Run(Run($"-StateStore '{store}' -Watch -MaxRounds 3 -IntervalSec 1 -AlertChannel $hook"));

            var events = r.Output.Select(o => (LbRemediationEvent)o.BaseObject).ToList();
            var failures = events.Where(e => e.Type == LbRemediationEventType.ApiFailure).ToList();
            Assert.Equal(new[] { 1, 2, 3 }, failures.Select(e => e.Round));
            Assert.All(failures, e =>
            {
                Assert.Equal("web", e.Pool);
                Assert.Contains("state store redis://127.0.0.1:1/0 unreachable", e.Reason);
                // One short sentence: none of the client's internals.
                Assert.DoesNotContain("IOCP", e.Reason);
                Assert.DoesNotContain("WORKER", e.Reason);
                Assert.DoesNotContain("UnableToConnect", e.Reason);
            });
            // The outage is alerted once, titled and sourced by the store.
            var hook = _hooks.Json("/hook");
            var alert = Assert.Single(hook);
            Assert.Equal("redis://127.0.0.1:1/0", alert.GetProperty("source").GetString());
            string title = alert.GetProperty("title").GetString()!;
            Assert.Contains("state store redis://127.0.0.1:1/0", title);
            Assert.Contains("web", title);
            Assert.DoesNotContain("load balancer", title);
            // The client's detail is kept for -Debug.
            Assert.Contains(r.Debug, d => d.Contains("state store redis://127.0.0.1:1/0 unreachable: ") && d.Contains("UnableToConnect"));
        }

        [Fact]
        public async Task A_pool_another_runner_holds_is_a_Skipped_event_of_each_round_that_names_its_load_balancer_in_every_output()
        {
            string lease = "lbtools:{" + _nginx.ApiBase.ToString().ToLowerInvariant() + "|web}:lease";
            Assert.Equal("+OK", await _redis.CommandAsync($"SET {lease} 7|other-runner PX 60000"));
            string journal = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lbtools-held-" + Guid.NewGuid().ToString("N") + ".jsonl");
            try
            {
                var r = _ps.Run($"$cred = [pscredential]::new('default', [System.Net.NetworkCredential]::new('', '{Password}').SecurePassword); " +
                                "$ev = " + Run($"-StateStore '{_redis.Url}' -StateCredential $cred -Watch -MaxRounds 2 -IntervalSec 1 -JournalPath '{journal}'") + "; $ev");

                Assert.False(r.HadErrors, r.ToString());
                var events = r.Output.Select(o => (LbRemediationEvent)o.BaseObject).ToList();
                Assert.Equal(new[] { 1, 2 }, events.Select(e => e.Round));
                Assert.All(events, e =>
                {
                    Assert.Equal(LbRemediationEventType.Skipped, e.Type);
                    Assert.StartsWith("pool web held by other-runner until", e.Reason, StringComparison.Ordinal);
                    Assert.Equal("NginxPlus", e.Provider);
                    Assert.Equal(_nginx.ApiBase.ToString(), e.Endpoint);
                });
                // The verbose count is what reached the pipeline.
                Assert.Equal(2, r.Verbose.Count(v => v.StartsWith("Round done: 0 pool(s) acted on, 1 left alone, 1 event(s).", StringComparison.Ordinal)));
                var lines = System.IO.File.ReadAllLines(journal).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
                Assert.Equal(new[] { 1, 2 }, lines.Select(l => l.GetProperty("round").GetInt32()));
                Assert.All(lines, l => Assert.Equal(_nginx.ApiBase.ToString(), l.GetProperty("endpoint").GetString()));
                Assert.All(lines, l => Assert.Equal("NginxPlus", l.GetProperty("provider").GetString()));

                // As a script sees them: Format-List, ConvertTo-Json and Export-Csv show both.
                var shown = _ps.Run("($ev[0] | Format-List | Out-String); ($ev[0] | ConvertTo-Json); (($ev | ConvertTo-Csv -NoTypeInformation) -join \"`n\")");
                Assert.False(shown.HadErrors, shown.ToString());
                string list = (string)shown.Output[0].BaseObject, json = (string)shown.Output[1].BaseObject, csv = (string)shown.Output[2].BaseObject;
                Assert.Matches(@"(?m)^Endpoint\s+: " + System.Text.RegularExpressions.Regex.Escape(_nginx.ApiBase.ToString()), list);
                Assert.Matches(@"(?m)^Provider\s+: NginxPlus", list);
                Assert.Contains("\"Endpoint\": \"" + _nginx.ApiBase, json);
                Assert.Contains("\"Provider\": \"NginxPlus\"", json);
                Assert.Contains("\"Provider\",\"Endpoint\"", csv.Split('\n')[0]);
            }
            finally
            {
                System.IO.File.Delete(journal);
            }
        }

        [Theory]
        [InlineData("redis://default:" + Password + "@127.0.0.1:6379/0", "must not carry a user name or password")]
        [InlineData("redis://127.0.0.1:6379/99", "is not a number from 0 to 15")]
        public void A_bad_address_is_LbInvalidStateStore_and_a_password_in_it_is_never_echoed(string store, string why)
        {
            var r = _ps.Run(Run($"-StateStore '{store}'"));

            var e = r.AllErrors.Single();
            Assert.StartsWith("LbInvalidStateStore,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains(why, e.Exception.Message);
            Assert.DoesNotContain(Password, r.AllText());
            Assert.Empty(r.Output);
        }

        [Fact]
        public void StatePath_and_StateStore_together_are_refused()
        {
            var r = _ps.Run(Run($"-StateStore '{_redis.Url}' -StatePath ./x.json"));

            Assert.StartsWith("LbInvalidStateStore,", r.AllErrors.Single().FullyQualifiedErrorId, StringComparison.Ordinal);
        }
    
        [Fact]
        public async Task WhatIf_reads_the_shared_state_but_takes_no_lease_and_stores_nothing()
        {
            var r = _ps.Run($"$cred = [pscredential]::new('default', [System.Net.NetworkCredential]::new('', '{Password}').SecurePassword); " +
                            Run($"-StateStore '{_redis.Url}' -StateCredential $cred -FailureThreshold 1 -MaxEjectPercent 100 -MinHealthyMembers 0 -WhatIf"));

            Assert.False(r.HadErrors, r.ToString());
            Assert.Contains(r.Output.Select(o => (LbRemediationEvent)o.BaseObject), e => e.Type == LbRemediationEventType.Ejected && !e.Applied && e.Reason.StartsWith("WhatIf:", StringComparison.Ordinal));
            Assert.Equal("$-1", await StoredState());
            Assert.Equal(":0", await _redis.CommandAsync("EXISTS lbtools:{" + _nginx.ApiBase.ToString().ToLowerInvariant() + "|web}:lease"));
            Assert.False(_nginx.GetServers("web").Single().Down);
        }
    }
}
