using System;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.Tests.HAProxy
{
    /// <summary>
    /// A real HAProxy whose servers share addresses: server-template slots (all at one placeholder address)
    /// and two named servers at one backend. Every change reaches exactly the server it names.
    /// </summary>
    [Trait("Category", "RealLoadBalancer")]
    public sealed class HaproxyMemberIdentityTests : IAsyncLifetime
    {
        private BackendServer _backend = null!;
        private HaproxyProcess _haproxy = null!;
        private PsSession _ps = null!;

        public async Task InitializeAsync()
        {
            _backend = await BackendServer.StartAsync("b1");
            var options = new HaproxyOptions();
            // server-template: spare1..spare3, all at one placeholder address (the HAProxy scaling pattern).
            options.AddBackend("tpl").ExtraLines.Add($"server-template spare 3 {_backend.Address}");
            // Two servers at one address under different names; a use-server rule names one of them.
            var twins = options.AddBackend("twins");
            twins.AddServer("x1", _backend.Address).AddServer("x2", _backend.Address);
            twins.ExtraLines.Add("use-server x1 if { path_beg /pinned }");
            // A static algorithm takes no runtime servers: members go into free server-template slots at a
            // placeholder address, put in maintenance at start. (Slots declared "disabled" stay in configuration
            // maintenance on HAProxy 2.6: "set server ... state ready" does not clear it, measured here.)
            options.AddBackend("slots", HaproxyBalance.StaticRoundRobin).ExtraLines.Add("server-template spare 3 127.0.0.2:1");
            _haproxy = await HaproxyProcess.StartAsync(options);
            foreach (var slot in new[] { "spare1", "spare2", "spare3" }) await _haproxy.RuntimeCommandAsync($"set server slots/{slot} state maint");
            _ps = new PsSession();
            var r = _ps.Run($"Connect-LbController -Provider HAProxy -Endpoint '{_haproxy.AdminEndpoint}' | Out-Null");
            Assert.False(r.HadErrors, r.ToString());
        }

        public async Task DisposeAsync()
        {
            _ps?.Dispose();
            if (_haproxy != null) await _haproxy.DisposeAsync();
            if (_backend != null) await _backend.DisposeAsync();
        }

        private LbPoolMember[] Members(string pool) => _ps.Run($"Get-LbPoolMember -Pool {pool}").Output.Select(o => (LbPoolMember)o.BaseObject).ToArray();

        [Fact]
        public void A_piped_template_slot_is_changed_exactly_and_no_other_slot_moves()
        {
            var r = _ps.Run("Get-LbPoolMember -Pool tpl | Where-Object Name -eq spare3 | Set-LbPoolMember -Weight 9 -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            var members = Members("tpl");
            Assert.Equal(9, members.Single(m => m.Name == "spare3").Weight);
            Assert.All(members.Where(m => m.Name != "spare3"), m => Assert.Equal(1, m.Weight));
            Assert.All(members, m => Assert.Equal(m.Name, m.MemberId));
        }

        [Fact]
        public void Address_alone_is_ambiguous_and_changes_nothing_while_a_name_picks_one()
        {
            var port = _backend.Port;
            var ambiguous = _ps.Run($"Set-LbPoolMember -Pool tpl -Address 127.0.0.1 -Port {port} -State Disabled");
            var e = Assert.Single(ambiguous.Errors);
            Assert.StartsWith("LbAmbiguousMember,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains("'spare1'", e.Exception.Message);
            Assert.Contains("'spare3'", e.Exception.Message);
            // HAProxy names tell the servers apart: -Name is the advice there.
            Assert.Contains("name the one you mean with -Name or -MemberId", e.Exception.Message);
            Assert.All(Members("tpl"), m => Assert.Equal(LbMemberState.Enabled, m.State));

            var named = _ps.Run($"Set-LbPoolMember -Pool tpl -Address 127.0.0.1 -Port {port} -Name spare2 -State Disabled");
            Assert.False(named.HadErrors, named.ToString());
            Assert.Equal(new[] { "spare2" }, Members("tpl").Where(m => m.State == LbMemberState.Disabled).Select(m => m.Name).ToArray());

            var byName = _ps.Run("Set-LbPoolMember -Pool tpl -Name spare2 -State Enabled");
            Assert.False(byName.HadErrors, byName.ToString());
            Assert.All(Members("tpl"), m => Assert.Equal(LbMemberState.Enabled, m.State));
        }

        [Fact]
        public void A_piped_remove_deletes_the_named_server_only()
        {
            var r = _ps.Run("Get-LbPoolMember -Pool twins | Where-Object Name -eq x2 | Remove-LbPoolMember -Confirm:$false");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(new[] { "x1" }, Members("twins").Select(m => m.Name).ToArray());
        }

        [Fact]
        public void A_refused_delete_puts_the_server_back_in_rotation_and_says_so()
        {
            // HAProxy refuses to delete a server that a use-server rule names.
            var r = _ps.Run("Remove-LbPoolMember -Pool twins -Name x1 -Confirm:$false");

            var e = Assert.Single(r.Errors);
            Assert.Contains("put back to Enabled", e.Exception.Message);
            var x1 = Members("twins").Single(m => m.Name == "x1");
            Assert.Equal(LbMemberState.Enabled, x1.State);
        }

        [Fact]
        public void A_host_name_for_a_runtime_server_is_refused_because_dynamic_servers_do_not_resolve_names()
        {
            var r = _ps.Run($"Add-LbPoolMember -Pool twins -Address localhost -Port {_backend.Port} -Name x3");
            var e = Assert.Single(r.Errors);
            Assert.StartsWith("LbInvalidAddress,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains("do not resolve names", e.Exception.Message);
            Assert.DoesNotContain(Members("twins"), m => m.Name == "x3");
        }

        [Fact]
        public void Exported_server_lines_recreate_the_runtime_state_and_HAProxy_accepts_them()
        {
            var change = _ps.Run($"Set-LbPoolMember -Pool twins -Name x2 -Weight 7; Set-LbPoolMember -Pool twins -Name x1 -State Disabled; " +
                                 $"Add-LbPoolMember -Pool tpl -Address 127.0.0.1 -Port {_backend.Port} -Name added1");
            Assert.False(change.HadErrors, change.ToString());

            var r = _ps.Run("Export-LbHaproxyServerLine -Pool twins");

            Assert.False(r.HadErrors, r.ToString());
            var lines = r.Output.Select(o => (string)o.BaseObject).ToList();
            Assert.Contains($"server x1 127.0.0.1:{_backend.Port} disabled", lines);
            Assert.Contains($"server x2 127.0.0.1:{_backend.Port} weight 7", lines);

            // The lines are valid configuration: HAProxy's own check accepts a backend made of them.
            string dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lbtools-export-" + Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(dir);
            try
            {
                var file = _ps.Run($"Export-LbHaproxyServerLine -Pool tpl -Path '{dir}/tpl.cfg'");
                Assert.False(file.HadErrors, file.ToString());
                string cfg = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend fe\n    bind 127.0.0.1:1\n    default_backend tpl\nbackend tpl\n    balance roundrobin\n"
                             + string.Concat(System.IO.File.ReadAllLines($"{dir}/tpl.cfg").Select(l => "    " + l + "\n"));
                // Added by the module with health checks: the line keeps them.
                Assert.Contains($"server added1 127.0.0.1:{_backend.Port} check", cfg);
                System.IO.File.WriteAllText($"{dir}/check.cfg", cfg);
                using var check = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("haproxy", $"-c -f {dir}/check.cfg") { RedirectStandardOutput = true, RedirectStandardError = true })!;
                string output = check.StandardOutput.ReadToEnd() + check.StandardError.ReadToEnd();
                check.WaitForExit();
                Assert.True(check.ExitCode == 0, output);
            }
            finally
            {
                System.IO.Directory.Delete(dir, true);
            }
        }

        [Fact]
        public void A_runtime_server_takes_its_check_port_and_reads_it_back()
        {
            var r = _ps.Run($"Add-LbPoolMember -Pool twins -Address 127.0.0.1 -Port {_backend.Port} -Name x9 -CheckPort {_backend.Port} -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            var x9 = Members("twins").Single(m => m.Name == "x9");
            Assert.Equal(_backend.Port, x9.Options!.CheckPort);
            Assert.False(x9.Options.Tls);
            // A second server at an address another member has: allowed on HAProxy, and said.
            Assert.Contains(r.Warnings, w => w.Contains("makes a second server at that address"));
            var lines = _ps.Run("Export-LbHaproxyServerLine -Pool twins").Output.Select(o => (string)o.BaseObject).ToList();
            Assert.Contains($"server x9 127.0.0.1:{_backend.Port} check port {_backend.Port}", lines);
        }

        [Fact]
        public void On_a_static_backend_an_add_fills_a_free_template_slot_and_a_remove_gives_it_back()
        {
            var slots = Members("slots");
            Assert.All(slots, m => Assert.Contains("server-template slot of 'spare'", m.HealthReason));

            var add = _ps.Run($"Add-LbPoolMember -Pool slots -Address 127.0.0.1 -Port {_backend.Port} -PassThru -Verbose");

            Assert.False(add.HadErrors, add.ToString());
            Assert.Contains(add.Verbose, v => v.Contains("filling a free server-template slot"));
            var spare1 = Members("slots").Single(m => m.Name == "spare1");
            Assert.Equal((_backend.Port, LbMemberState.Enabled), (spare1.Port, spare1.State));
            Assert.Equal(2, Members("slots").Count(m => m.State == LbMemberState.Disabled));

            var remove = _ps.Run($"Remove-LbPoolMember -Pool slots -Address 127.0.0.1 -Port {_backend.Port} -UseTemplateSlot -Confirm:$false");

            Assert.False(remove.HadErrors, remove.ToString());
            var back = Members("slots").Single(m => m.Name == "spare1");
            Assert.Equal(("127.0.0.2", 1, LbMemberState.Disabled), (back.Address, back.Port, back.State));
            Assert.Equal(3, Members("slots").Length);
        }

        [Fact]
        public void UseTemplateSlot_on_a_backend_without_a_free_slot_is_a_conflict_and_changes_nothing()
        {
            var before = Members("twins").Select(m => m.Name + m.Endpoint + m.State).ToArray();

            var r = _ps.Run("Add-LbPoolMember -Pool twins -Address 127.0.0.9 -Port 80 -UseTemplateSlot");

            var e = Assert.Single(r.Errors);
            Assert.StartsWith("LbConflict,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains("no free server-template slot", e.Exception.Message);
            Assert.Equal(before, Members("twins").Select(m => m.Name + m.Endpoint + m.State).ToArray());
        }
    }
}
