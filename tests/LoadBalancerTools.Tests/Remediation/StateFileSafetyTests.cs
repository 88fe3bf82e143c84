using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Alerts;
using LoadBalancerTools.Http;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;
using LoadBalancerTools.Services.Remediation;
using LoadBalancerTools.Tests.Http;
using LoadBalancerTools.Tests.NginxPlus;
using LoadBalancerTools.Tests.Services;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.Remediation
{
    /// <summary>
    /// The remediation state file as a runbook meets it: locked for a whole run, validated like user input,
    /// written through a unique owner-only temporary file, never through a link, and an ejection written ahead
    /// so a kill between the API call and the save leaves a record the next round reconciles.
    /// </summary>
    // Unix only: state files are checked for Unix mode 0600.
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public sealed class StateFileSafetyTests : NginxPlusTestBase, IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lbtools-state-" + Guid.NewGuid().ToString("N"));

        public StateFileSafetyTests() => Directory.CreateDirectory(_dir);

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private string State => Path.Combine(_dir, "web.state.json");
        private string Journal => Path.Combine(_dir, "web.journal.jsonl");
        private string Run(string extra = "") =>
            $"Invoke-LbHealthRemediation -Pool web -Protocol Tcp -ProbeTimeoutSec 1 -StatePath '{State}' -JournalPath '{Journal}' {extra}";

        [Fact]
        public void A_second_run_on_a_locked_state_file_stops_with_LbStateLocked_naming_the_holder()
        {
            using var held = StateFileLock.Acquire(State, TimeSpan.Zero);
            Nginx.ClearRequests();

            var r = Ps.Run(Run("-LockTimeoutSec 1"));

            var e = r.AllErrors.Single();
            Assert.StartsWith("LbStateLocked,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains($"pid {Environment.ProcessId}", e.Exception.Message);
            Assert.Empty(Nginx.Requests);
            Assert.False(File.Exists(State));
        }

        [Theory]
        [InlineData("null", "holds no state")]
        [InlineData("{\"Version\":99,\"Pool\":\"web\",\"Endpoint\":\"%E\",\"Members\":{}}", "schema version 99")]
        [InlineData("{\"Version\":1,\"Pool\":\"web\",\"Endpoint\":\"%E\",\"Members\":null}", "no Members")]
        [InlineData("{\"Version\":1,\"Pool\":\"web\",\"Endpoint\":\"%E\",\"Members\":{\"10.9.9.9|80\":{\"Address\":\"10.9.9.9\",\"Port\":80,\"EjectedWith\":\"Remove\",\"Weight\":70000}}}", "weight 70000")]
        [InlineData("{\"Version\":1,\"Pool\":\"web\",\"Endpoint\":\"%E\",\"Members\":{\"x|80\":{\"Address\":\"evil host\",\"Port\":80,\"EjectedWith\":\"Remove\"}}}", "'x|80'")]
        [InlineData("{\"Version\":1,\"Pool\":\"web\",\"Endpoint\":\"%E\",\"Members\":{\"10.9.9.9|80\":{\"Address\":\"10.9.9.9\",\"Port\":80,\"EjectedWith\":\"Nuke\"}}}", "action 'Nuke'")]
        public void An_invalid_state_file_is_refused_naming_the_problem_and_left_untouched(string content, string named)
        {
            string text = content.Replace("%E", Nginx.ApiBase.ToString(), StringComparison.Ordinal);
            File.WriteAllText(State, text);
            Nginx.ClearRequests();

            var r = Ps.Run(Run());

            var e = r.AllErrors.Single();
            Assert.StartsWith("LbStateFileInvalid,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains(named, e.Exception.Message);
            Assert.Equal(text, File.ReadAllText(State));
            Assert.Equal(0, Nginx.Requests.Count(q => q.Method != "GET"));
        }

        [Fact]
        public void The_state_file_is_owner_only_and_no_temporary_file_is_left_behind()
        {
            var r = Ps.Run(Run());

            Assert.DoesNotContain(r.AllErrors, e => e.FullyQualifiedErrorId.StartsWith("LbState", StringComparison.Ordinal));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(State));
            Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
        }

        private static LbRemediationEvent[] OneEvent => new[] { new LbRemediationEvent { Pool = "web", Reason = "test", Type = LbRemediationEventType.Detected } };

        [Fact]
        public void A_new_journal_is_owner_only()
        {
            Alerts.Journal.Append(Journal, OneEvent);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Journal));
        }

        [Fact]
        public void A_journal_that_is_a_link_is_never_written_through()
        {
            string victim = Path.Combine(_dir, "victim.txt");
            File.WriteAllText(victim, "keep");
            File.CreateSymbolicLink(Journal, victim);

            var ex = Assert.Throws<Errors.LbException>(() => Alerts.Journal.Append(Journal, OneEvent));

            Assert.Contains("symbolic link", ex.Message);
            Assert.Equal("keep", File.ReadAllText(victim));
        }

        [Fact]
        public async Task An_ejection_is_written_ahead_and_confirmed_after()
        {
            var time = new FakeTimeProvider();
            var provider = new InMemoryProvider();
            var member = provider.Seed("10.0.0.1", 80);
            var connection = InMemoryProvider.Connect(provider);
            var saved = new System.Collections.Generic.List<string>();
            var runner = new RemediationRunner(new PoolService(time), new ProbeService(time), new AlertService(new TransportOptions { TimeProvider = time }, time), time);
            var guard = new ChangeGuard
            {
                Save = (s, _) =>
                {
                    saved.Add(JsonSerializer.Serialize(s.Members.Values.Single()));
                    return Task.FromResult(true);
                },
            };
            var state = new RemediationState { Pool = "web", Endpoint = "http://in-memory/" };
            var record = state.For(member);

            await runner.ApplyAsync(connection, state, new RemediationPolicy(), new RemediationDecision(DecisionKind.Eject, record, member, "failing"), act: true, guard, new RecordingLog(), CancellationToken.None);

            Assert.Equal(2, saved.Count);
            Assert.Contains("\"PendingEject\":\"Disable\"", saved[0]);   // on disk before the call
            Assert.Contains("\"EjectedWith\":null", saved[0]);
            Assert.Contains("\"EjectedWith\":\"Disable\"", saved[1]);    // confirmed after it
            Assert.Contains("\"PendingEject\":null", saved[1]);
        }

        [Theory]
        [InlineData(LbMemberState.Disabled, true)]
        [InlineData(LbMemberState.Enabled, false)]
        public void An_ejection_left_pending_by_a_killed_run_is_reconciled_with_the_pool(LbMemberState now, bool kept)
        {
            var member = new LbPoolMember { Pool = "web", Address = "10.0.0.1", Port = 80, Name = "10.0.0.1:80", MemberId = "7", State = now };
            var state = new RemediationState { Pool = "web", Endpoint = "http://lb/" };
            var record = state.For(member);
            record.PendingEject = "Disable";
            var probes = new[] { new LbProbeResult { Pool = "web", Address = "10.0.0.1", Port = 80, Success = false } };

            var round = RemediationEngine.Decide(state, new RemediationPolicy(), new[] { member }, probes, DateTimeOffset.UnixEpoch);

            Assert.Null(record.PendingEject);
            Assert.Equal(kept, record.Ejected);
            Assert.Contains(round.Events, e => e.Type == LbRemediationEventType.Detected && e.Reason.Contains(kept ? "kept as ejected" : "never happened"));
        }
    }
}
