using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.Tests.Examples
{
    /// <summary>
    /// The runbooks in examples/, run as a user runs them (<c>&amp; 'script.ps1' -Param ...</c>) on the
    /// full engine (Microsoft.PowerShell.SDK, every built-in module), against the NGINX Plus emulator whose members are real
    /// local backends. What they change is read back from the emulator, not from their own output.
    /// </summary>
    public sealed class ExampleTests : IAsyncLifetime
    {
        private NginxPlusEmulator _nginx = null!;
        private WebhookReceiver _hooks = null!;
        private readonly List<BackendServer> _backends = new List<BackendServer>();
        private PsSession _ps = null!;
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lbtools-examples-" + Guid.NewGuid().ToString("N"));

        public async Task InitializeAsync()
        {
            Directory.CreateDirectory(_dir);
            _nginx = await NginxPlusEmulator.StartAsync();
            _nginx.AddUpstream("web");
            _hooks = await WebhookReceiver.StartAsync();
            _ps = new PsSession();
            var r = _ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{_nginx.ApiBase}' | Out-Null");
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

        private static string Script(string name) => Path.Combine(RepoPaths.Root, "examples", name).Replace("'", "''");

        private async Task<List<BackendServer>> Backends(int count)
        {
            for (int i = 1; i <= count; i++)
            {
                var b = await BackendServer.StartAsync("b" + i);
                _backends.Add(b);
                _nginx.AddServer("web", b.Address);
            }
            return _backends;
        }

        private string Csv(string text)
        {
            string path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".csv");
            File.WriteAllText(path, text);
            return path;
        }

        /// <summary>Runs a script and returns its result and the exit code it set (0 when it did not exit).</summary>
        private (PsResult Result, int ExitCode) RunScript(string command, IDictionary<string, object?>? variables = null)
        {
            _ps.Run("$global:LASTEXITCODE = 0");
            var result = _ps.Run(command, variables);
            int exit = (int)_ps.Run("$global:LASTEXITCODE").Output[0].BaseObject;
            return (result, exit);
        }

        private NginxPlusServerSnapshot Server(string address) => _nginx.GetServers("web").Single(s => s.Server == address);

        private static object? P(PSObject o, string name) => o.Properties[name].Value is PSObject p ? p.BaseObject : o.Properties[name].Value;

        // ---------------- Add-MembersFromCsv.ps1 ----------------

        [Fact]
        public void Add_MembersFromCsv_adds_every_row_with_its_weight_and_state_and_a_second_run_changes_nothing()
        {
            string csv = Csv("# new web servers\r\nAddress,Port,Weight,Name,State\r\n10.0.0.31,8080,5,web31,Enabled\r\n\r\n\"10.0.0.32\",8080,,,\r\n10.0.0.33,8081,2,\"web, 33\",Disabled\r\n");
            var (r, exit) = RunScript($"& '{Script("Add-MembersFromCsv.ps1")}' -Path '{csv}' -Pool web");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(0, exit);
            Assert.Equal(new[] { "10.0.0.31", "10.0.0.32", "10.0.0.33" }, r.Output.Select(o => ((LbPoolMember)o.BaseObject).Address));
            Assert.Equal(5, Server("10.0.0.31:8080").Weight);
            Assert.False(Server("10.0.0.31:8080").Down);
            Assert.Equal(1, Server("10.0.0.32:8080").Weight);
            Assert.Equal(2, Server("10.0.0.33:8081").Weight);
            Assert.True(Server("10.0.0.33:8081").Down);

            int posts = _nginx.CountRequests("POST", "/upstreams/web/servers");
            var (again, againExit) = RunScript($"& '{Script("Add-MembersFromCsv.ps1")}' -Path '{csv}' -Pool web");
            Assert.False(again.HadErrors, again.ToString());
            Assert.Equal(0, againExit);
            Assert.Equal(3, again.Output.Count);
            Assert.Equal(posts, _nginx.CountRequests("POST", "/upstreams/web/servers"));
            Assert.Equal(3, _nginx.GetServers("web").Count);
        }

        [Fact]
        public void Add_MembersFromCsv_WhatIf_shows_each_add_and_adds_nothing()
        {
            string csv = Csv("address;port\n10.0.0.41;80\n10.0.0.42;80\n");
            var (r, exit) = RunScript($"& '{Script("Add-MembersFromCsv.ps1")}' -Path '{csv}' -Pool web -Delimiter ';' -WhatIf");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(0, exit);
            Assert.Empty(r.Output);
            Assert.Equal(2, r.HostLines.Count(l => l.StartsWith("What if:") && l.Contains("Add member 10.0.0.4")));
            Assert.Empty(_nginx.GetServers("web"));
        }

        [Fact]
        public void Add_MembersFromCsv_reports_a_bad_row_by_line_adds_the_others_and_exits_1()
        {
            string csv = Csv("Host,Port\n10.0.0.51,80\n10.0.0.52,http\n10.0.0.53,80\n");
            var (r, exit) = RunScript($"& '{Script("Add-MembersFromCsv.ps1")}' -Path '{csv}' -Pool web -Connection (Get-LbConnection -Default)");
            var error = Assert.Single(r.Errors);
            Assert.StartsWith("CsvRowInvalid", error.FullyQualifiedErrorId);
            Assert.Contains(":3: a row needs an Address and a numeric Port", error.ToString());
            Assert.Equal(1, exit);
            Assert.Equal(new[] { "10.0.0.51:80", "10.0.0.53:80" }, _nginx.GetServers("web").Select(s => s.Server));
        }

        // ---------------- Get-PoolDriftReport.ps1 ----------------

        [Fact]
        public void Get_PoolDriftReport_reports_missing_unexpected_different_and_in_sync_members()
        {
            _nginx.AddServer("web", "10.0.0.1:80", weight: 1);             // in sync
            _nginx.AddServer("web", "10.0.0.2:80", weight: 1);             // weight drifted
            _nginx.AddServer("web", "10.0.0.3:80", weight: 1);             // should be disabled
            _nginx.AddServer("web", "10.0.0.9:80", weight: 1);             // nobody asked for it
            string csv = Csv("ADDRESS,port,weight,state\n10.0.0.1,80,1,Enabled\n10.0.0.2,80,5,\n10.0.0.3,80,,Disabled\n10.0.0.4,80,2,\n");
            string report = Path.Combine(_dir, "reports", "web-drift.csv");

            var (r, exit) = RunScript($"& '{Script("Get-PoolDriftReport.ps1")}' -Path '{csv}' -Pool web -ReportPath '{report}' -FailOnDrift");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(1, exit);
            var rows = r.Output.ToDictionary(o => (string)P(o, "Address")!);
            Assert.Equal(5, rows.Count);
            Assert.Equal("InSync", P(rows["10.0.0.1"], "Status"));

            Assert.Equal("Different", P(rows["10.0.0.2"], "Status"));
            Assert.Equal(5, P(rows["10.0.0.2"], "DesiredWeight"));
            Assert.Equal(1, P(rows["10.0.0.2"], "ActualWeight"));
            Assert.Contains("Weight 5 expected, is 1", (string)P(rows["10.0.0.2"], "Detail")!);

            Assert.Equal("Different", P(rows["10.0.0.3"], "Status"));
            Assert.Equal("Disabled", P(rows["10.0.0.3"], "DesiredState"));
            Assert.Equal("Enabled", P(rows["10.0.0.3"], "ActualState"));

            Assert.Equal("Missing", P(rows["10.0.0.4"], "Status"));
            Assert.Equal(2, P(rows["10.0.0.4"], "DesiredWeight"));
            Assert.Null(P(rows["10.0.0.4"], "ActualState"));

            Assert.Equal("Unexpected", P(rows["10.0.0.9"], "Status"));
            Assert.Equal("Enabled", P(rows["10.0.0.9"], "ActualState"));

            var lines = File.ReadAllLines(report);
            Assert.Equal(6, lines.Length);
            Assert.StartsWith("\"Pool\",\"Address\",\"Port\",\"Name\",\"Status\"", lines[0]);
            Assert.Contains(lines, l => l.StartsWith("\"web\",\"10.0.0.4\",\"80\",\"\",\"Missing\""));
            Assert.Equal(4, _nginx.GetServers("web").Count); // a report changes nothing
        }

        [Fact]
        public void Get_PoolDriftReport_in_sync_pool_exits_0_and_compares_addresses_as_the_module_does()
        {
            _nginx.AddServer("web", "10.0.0.1:80", weight: 3);
            _nginx.AddServer("web", "10.0.0.2:80", weight: 1);
            string csv = Csv("Address,Port,Weight\n 10.0.0.1 ,80,3\n[10.0.0.2],80,\n");
            var (r, exit) = RunScript($"& '{Script("Get-PoolDriftReport.ps1")}' -Path '{csv}' -Pool web -FailOnDrift");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(0, exit);
            Assert.Equal(new[] { "InSync", "InSync" }, r.Output.Select(o => (string)P(o, "Status")!));
        }

        // ---------------- Invoke-RollingDeployment.ps1 ----------------

        private const string Rolling = "-Pool web -HealthPath /healthz -ProbeTimeoutSec 1 -PollIntervalSec 0.05 -DrainTimeoutSec 10";

        /// <summary>The deploy block restarts the real backend (the new version) and records what the pool looked like at that moment.</summary>
        private const string DeployBlock = @"{
    param($m)
    $self = Get-LbPoolMember -Pool web -Address $m.Address -Port $m.Port
    $others = @(Get-LbPoolMember -Pool web | Where-Object { $_.Port -ne $m.Port -and $_.State -ne 'Enabled' })
    $log.Add(('{0} {1} active={2} othersOut={3}' -f $m.Port, $self.State, $self.ActiveConnections, $others.Count))
    $backend = $backends[$m.Port]
    $backend.RestartAsync().GetAwaiter().GetResult()
    if ($broken -contains $m.Port) { $backend.Healthy = $false }
}";

        private Dictionary<string, object?> DeployVariables(IEnumerable<int>? broken = null) => new Dictionary<string, object?>
        {
            ["log"] = new List<string>(),
            ["backends"] = _backends.ToDictionary(b => b.Port, b => (object)b),
            ["broken"] = (broken ?? Array.Empty<int>()).ToArray(),
        };

        [Fact]
        public async Task Invoke_RollingDeployment_drains_deploys_probes_and_re_enables_each_member_in_order_one_at_a_time()
        {
            var backends = await Backends(3);
            foreach (var b in backends) _nginx.SetActiveConnections("web", b.Address, 3);
            _nginx.DrainConnectionsPerRead = 1; // connections finish as the script polls
            var vars = DeployVariables();

            var (r, exit) = RunScript($"& '{Script("Invoke-RollingDeployment.ps1")}' {Rolling} -HealthTimeoutSec 5 -Deploy {DeployBlock}", vars);
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(0, exit);
            var log = (List<string>)vars["log"]!;
            // Each member was deployed while draining with no connections left, and while every other member was in rotation.
            Assert.Equal(backends.Select(b => $"{b.Port} Draining active=0 othersOut=0"), log);
            Assert.Equal(backends.Select(b => b.Port), r.Output.Select(o => (int)P(o, "Port")!));
            Assert.All(r.Output, o => Assert.Equal("Deployed", P(o, "Status")));
            Assert.All(_nginx.GetServers("web"), s => Assert.False(s.Down || s.Drain, s.Server));
            Assert.All(backends, b => Assert.True(b.HealthCheckCount >= 2, $"{b} was probed {b.HealthCheckCount} time(s)"));
        }

        [Fact]
        public async Task Invoke_RollingDeployment_stops_at_a_member_that_does_not_come_back_healthy_and_leaves_the_rest_untouched()
        {
            var backends = await Backends(3);
            var vars = DeployVariables(broken: new[] { backends[1].Port });

            var (r, exit) = RunScript($"& '{Script("Invoke-RollingDeployment.ps1")}' {Rolling} -HealthTimeoutSec 1 -Deploy {DeployBlock}", vars);
            Assert.True(exit == 1, $"exit {exit}: {r} {string.Join(" | ", r.Output.Select(o => P(o, "Status") + " " + P(o, "Message")))}");
            var error = Assert.Single(r.Errors);
            Assert.StartsWith("RollingDeploymentHealthFailed", error.FullyQualifiedErrorId);
            Assert.Equal(new[] { "Deployed", "Failed" }, r.Output.Select(o => (string)P(o, "Status")!));
            Assert.Equal("Health", P(r.Output[1], "Stage"));
            Assert.Contains("HTTP 503", (string)P(r.Output[1], "Message")!);

            Assert.Equal(2, ((List<string>)vars["log"]!).Count);   // the third member was never deployed
            Assert.False(Server(backends[0].Address).Drain);          // done: back in rotation
            Assert.True(Server(backends[1].Address).Drain);           // failed: left out of rotation
            var untouched = Server(backends[2].Address);
            Assert.False(untouched.Drain || untouched.Down);
            Assert.Equal(0, _nginx.Requests.Count(q => q.Method == "PATCH" && q.Path.EndsWith("/servers/" + untouched.Id)));
        }

        [Fact]
        public async Task Invoke_RollingDeployment_WhatIf_lists_the_plan_and_changes_nothing()
        {
            var backends = await Backends(2);
            var vars = DeployVariables();
            var (r, exit) = RunScript($"& '{Script("Invoke-RollingDeployment.ps1")}' {Rolling} -Deploy {DeployBlock} -WhatIf", vars);
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(0, exit);
            Assert.Equal(new[] { "WhatIf", "WhatIf" }, r.Output.Select(o => (string)P(o, "Status")!));
            Assert.Equal(2, r.HostLines.Count(l => l.StartsWith("What if:") && l.Contains("Take out of rotation (Draining), deploy")));
            Assert.Empty((List<string>)vars["log"]!);
            Assert.Equal(0, _nginx.CountRequests("PATCH", "/upstreams/web/servers"));
        }

        // ---------------- Invoke-SelfHealing.ps1 ----------------

        private string Heal(string extra = "") =>
            $"& '{Script("Invoke-SelfHealing.ps1")}' -Provider NginxPlus -Endpoint '{_nginx.ApiBase}' -Pool web -HealthPath /healthz -ProbeTimeoutSec 1 -FailureThreshold 3 -RecoveryThreshold 2 -StateDirectory '{_dir}' -AlertChannel $slack {extra}";

        private static List<LbRemediationEvent> Events(PsResult r) => r.Output.Select(o => (LbRemediationEvent)o.BaseObject).ToList();

        private void Slack() => Assert.False(_ps.Run($"$slack = New-LbAlertChannel Slack -Uri '{_hooks.Url("slack")}'").HadErrors);

        [Fact]
        public async Task Invoke_SelfHealing_ejects_on_the_third_scheduled_run_through_its_state_file_and_restores_after_two_good_runs()
        {
            var backends = await Backends(4);
            Slack();
            await backends[2].StopAsync();
            for (int run = 1; run <= 2; run++)
            {
                var (r, exit) = RunScript(Heal());
                Assert.False(r.HadErrors, r.ToString());
                Assert.Equal(0, exit);
                var detected = Assert.Single(Events(r));
                Assert.Equal(LbRemediationEventType.Detected, detected.Type);
                Assert.Equal(run, detected.ConsecutiveFailures);
                Assert.False(Server(backends[2].Address).Down);
            }
            var (third, thirdExit) = RunScript(Heal());
            Assert.Equal(0, thirdExit);
            Assert.Contains(Events(third), e => e.Type == LbRemediationEventType.Ejected && e.Applied && e.Port == backends[2].Port);
            Assert.True(Server(backends[2].Address).Down);
            Assert.Single(_hooks.Json("/slack"), j => j.GetProperty("text").GetString()!.Contains("ejected"));

            string state = Assert.Single(Directory.GetFiles(_dir, "web.*.state.json"));
            string journal = Assert.Single(Directory.GetFiles(_dir, "web.*.journal.jsonl"));
            Assert.Contains("127.0.0.1_" + _nginx.ApiBase.Port, Path.GetFileName(state));
            Assert.Equal(3, File.ReadAllLines(journal).Count(l => l.Contains("\"Detected\"")));

            await backends[2].RestartAsync();
            RunScript(Heal());
            Assert.True(Server(backends[2].Address).Down);
            var (restored, _) = RunScript(Heal());
            Assert.Contains(Events(restored), e => e.Type == LbRemediationEventType.Restored && e.Applied);
            Assert.False(Server(backends[2].Address).Down);
        }

        [Fact]
        public async Task Invoke_SelfHealing_WhatIf_starts_from_the_real_counts_but_never_adds_to_them()
        {
            var backends = await Backends(4);
            Slack();
            await backends[0].StopAsync();
            RunScript(Heal());
            RunScript(Heal());
            string state = Directory.GetFiles(_dir, "web.*.state.json").Single();
            string journal = Directory.GetFiles(_dir, "web.*.journal.jsonl").Single();
            string stateBefore = File.ReadAllText(state), journalBefore = File.ReadAllText(journal);

            var (trial, _) = RunScript(Heal("-WhatIf"));
            var ejected = Assert.Single(Events(trial), e => e.Type == LbRemediationEventType.Ejected);
            Assert.False(ejected.Applied);
            Assert.Contains(trial.HostLines, l => l.StartsWith("What if:") && l.Contains("Eject (Disable)"));
            Assert.False(Server(backends[0].Address).Down);
            Assert.Equal(stateBefore, File.ReadAllText(state));
            Assert.Equal(journalBefore, File.ReadAllText(journal));
            Assert.Empty(_hooks.Received);

            var (real, _) = RunScript(Heal());   // the trial did not count: this is the third real run
            Assert.Contains(Events(real), e => e.Type == LbRemediationEventType.Ejected && e.Applied);
            Assert.True(Server(backends[0].Address).Down);
        }

        [Fact]
        public async Task Invoke_SelfHealing_exits_1_when_an_alert_cannot_be_delivered_and_skips_a_run_while_another_holds_the_lock()
        {
            var backends = await Backends(4);
            Slack();
            _hooks.Respond("/slack", 500);
            await backends[3].StopAsync();
            RunScript(Heal());
            RunScript(Heal());
            var (failedAlert, exit) = RunScript(Heal());
            Assert.Contains(Events(failedAlert), e => e.Type == LbRemediationEventType.Ejected && e.Applied);
            Assert.Contains(Events(failedAlert), e => e.Type == LbRemediationEventType.AlertSent && !e.Success);
            Assert.Equal(1, exit);
            Assert.DoesNotContain(_hooks.BaseUrl.ToString(), failedAlert.AllText());

            string state = Directory.GetFiles(_dir, "web.*.state.json").Single();
            int reads = _nginx.CountRequests("GET", "/upstreams");
            using (new FileStream(state + ".run.lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
            {
                var (skipped, skippedExit) = RunScript(Heal());
                Assert.Equal(0, skippedExit);
                Assert.Empty(skipped.Output);
                Assert.Contains(skipped.Warnings, w => w.Contains("Another run for pool 'web'"));
            }
            Assert.Equal(reads, _nginx.CountRequests("GET", "/upstreams"));
        }
    }
}

namespace LoadBalancerTools.Tests.Examples
{
    /// <summary>Each runbook documents itself: Get-Help shows a synopsis, examples and every parameter.</summary>
    public sealed class ExampleHelpTests : IDisposable
    {
        private readonly PsSession _ps = new PsSession();

        public void Dispose() => _ps.Dispose();

        [Theory]
        [InlineData("Invoke-SelfHealing.ps1")]
        [InlineData("Add-MembersFromCsv.ps1")]
        [InlineData("Get-PoolDriftReport.ps1")]
        [InlineData("Invoke-RollingDeployment.ps1")]
        public void Get_Help_shows_a_synopsis_examples_and_a_description_of_every_parameter(string script)
        {
            string path = Path.Combine(RepoPaths.Root, "examples", script);
            var r = _ps.Run(@"
$help = Get-Help -Name $path -Full
$declared = (Get-Command -Name $path).Parameters.Keys | Where-Object { [System.Management.Automation.PSCmdlet]::CommonParameters -notcontains $_ -and [System.Management.Automation.PSCmdlet]::OptionalCommonParameters -notcontains $_ }
$described = @($help.parameters.parameter | Where-Object { ($_.description | ForEach-Object Text) -join '' } | ForEach-Object name)
[pscustomobject]@{
    Synopsis = $help.Synopsis
    Examples = @($help.examples.example).Count
    Undescribed = @($declared | Where-Object { $described -notcontains $_ }) -join ','
}", new Dictionary<string, object?> { ["path"] = path });
            Assert.False(r.HadErrors, r.ToString());
            var o = Assert.Single(r.Output);
            string synopsis = ((string)o.Properties["Synopsis"].Value).Trim();
            Assert.False(synopsis.Length == 0 || synopsis.StartsWith(script, StringComparison.OrdinalIgnoreCase), $"no written synopsis: '{synopsis}'");
            Assert.True((int)o.Properties["Examples"].Value >= 2, "fewer than two examples");
            Assert.Equal("", (string)o.Properties["Undescribed"].Value);
        }
    }
}
