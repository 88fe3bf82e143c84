using System;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.WriteSafety
{
    /// <summary>
    /// Nothing done twice, nothing lost: the NGINX Plus emulator applies writes and then answers 500, 502,
    /// 503 or drops the connection (30 % of writes, seeded), and accepts two peers at one address, as NGINX
    /// Plus does. Every scenario ends with exactly the desired members, and a second run changes nothing.
    /// </summary>
    public sealed class AmbiguousWriteTests : IAsyncLifetime
    {
        private NginxPlusEmulator _nginx = null!;
        private PsSession _ps = null!;

        public async Task InitializeAsync()
        {
            _nginx = await NginxPlusEmulator.StartAsync();
            _nginx.AddUpstream("web");
            _nginx.AddServer("web", "10.0.0.1:80");
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

        private static string Rows(int count, string prefix = "10.1.") =>
            $"$rows = foreach ($i in 0..{count - 1}) {{ [pscustomobject]@{{ Address = \"{prefix}$([int][math]::Floor($i / 250)).$($i % 250 + 1)\"; Port = 80 }} }}";

        private string[] Servers() => _nginx.GetServers("web").Select(s => s.Server).ToArray();

        [Fact]
        public void Two_hundred_piped_adds_at_30_percent_ambiguous_failures_leave_each_member_exactly_once()
        {
            _nginx.Faults.AmbiguousWriteRate = 0.3;

            var r = _ps.Run(Rows(200) + "; $rows | Add-LbPoolMember -Pool web -Verbose");

            Assert.False(r.HadErrors, r.ToString());
            Assert.True(_nginx.Faults.InjectedCount >= 30, $"only {_nginx.Faults.InjectedCount} faults were injected");
            Assert.Contains(r.Verbose, v => v.Contains("may or may not have been applied"));
            var servers = Servers();
            Assert.Equal(202, servers.Length);
            Assert.Equal(202, servers.Distinct().Count());

            _nginx.Faults.AmbiguousWriteRate = 0;
            _nginx.ClearRequests();
            var again = _ps.Run(Rows(200) + "; $rows | Add-LbPoolMember -Pool web");
            Assert.False(again.HadErrors, again.ToString());
            Assert.Equal(0, _nginx.CountRequests("POST", "/servers"));
        }

        [Fact]
        public void Two_hundred_piped_removes_at_30_percent_ambiguous_failures_remove_each_member_and_report_no_error()
        {
            var add = _ps.Run(Rows(200) + "; $rows | Add-LbPoolMember -Pool web");
            Assert.False(add.HadErrors, add.ToString());
            _nginx.Faults.AmbiguousWriteRate = 0.3;

            var r = _ps.Run(Rows(200) + "; $rows | Remove-LbPoolMember -Pool web -Confirm:$false -Verbose");

            Assert.False(r.HadErrors, r.ToString());
            Assert.True(_nginx.Faults.InjectedCount >= 30, $"only {_nginx.Faults.InjectedCount} faults were injected");
            Assert.Equal(new[] { "10.0.0.1:80", "10.0.0.2:80" }, Servers().OrderBy(s => s, StringComparer.Ordinal).ToArray());
        }

        [Fact]
        public void A_thousand_member_sync_with_prune_at_30_percent_ambiguous_failures_converges_and_a_second_run_changes_nothing()
        {
            // Extra members to prune, and one desired member twice (a duplicate left by an earlier client).
            for (int i = 1; i <= 30; i++) _nginx.AddServer("web", $"10.9.0.{i}:80");
            _nginx.AddServer("web", "10.1.0.1:80");
            _nginx.AddServer("web", "10.1.0.1:80");
            _nginx.Faults.AmbiguousWriteRate = 0.3;

            var r = _ps.Run(Rows(1000) + "; Sync-LbPool -Pool web -Member $rows -Prune -Force -DrainTimeoutSec 5 -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            Assert.True(_nginx.Faults.InjectedCount >= 300, $"only {_nginx.Faults.InjectedCount} faults were injected");
            var servers = Servers();
            Assert.Equal(1000, servers.Length);
            Assert.Equal(1000, servers.Distinct().Count());
            Assert.DoesNotContain(servers, s => s.StartsWith("10.0.", StringComparison.Ordinal) || s.StartsWith("10.9.", StringComparison.Ordinal));
            Assert.Single(r.Output, o => ((LbChange)o.BaseObject).Action == LbChangeAction.RemoveDuplicate);

            _nginx.Faults.AmbiguousWriteRate = 0;
            _nginx.ClearRequests();
            var again = _ps.Run(Rows(1000) + "; Sync-LbPool -Pool web -Member $rows -Prune -Force -PassThru");
            Assert.False(again.HadErrors, again.ToString());
            Assert.Empty(again.Output);
            Assert.Equal(0, _nginx.Requests.Count(q => q.Method != "GET"));
        }

        [Fact]
        public void Eight_runspaces_adding_one_member_through_one_connection_leave_one_copy()
        {
            _nginx.Faults.Latency = TimeSpan.FromMilliseconds(30); // widens the window between read and write
            var r = _ps.Run(
                "$c = Get-LbConnection; $module = (Get-Module LoadBalancerTools).Path; " +
                "1..8 | ForEach-Object -ThrottleLimit 8 -Parallel { Import-Module ($using:module -replace '\\.dll$', '.psd1'); " +
                "Add-LbPoolMember -Pool web -Address 10.5.5.5 -Port 80 -Connection $using:c }");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Single(Servers(), s => s == "10.5.5.5:80");
        }
    }
}
