using System.Linq;
using System.Management.Automation;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;

namespace LoadBalancerTools.Tests.NginxPlus
{
    /// <summary>What a user types against NGINX Plus, including while the API throttles and fails.</summary>
    public sealed class NginxPlusPipelineTests : NginxPlusTestBase
    {
        private static string Rows(int from, int count) =>
            "@(" + string.Join(",", Enumerable.Range(from, count).Select(i => $"[pscustomobject]@{{ Address = '10.1.0.{i}'; Port = '8080'; Weight = '3' }}")) + ")";

        [Fact]
        public void Csv_like_rows_bind_by_property_name_and_are_added()
        {
            var r = Ps.Run($"{Rows(1, 5)} | Add-LbPoolMember -Pool web -PassThru");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(5, r.Output.Count);
            var servers = Nginx.GetServers("web");
            Assert.Equal(7, servers.Count);
            Assert.All(servers.Where(s => s.Server.StartsWith("10.1.0.")), s => Assert.Equal(3, s.Weight));
        }

        [Fact]
        public void Adds_survive_429_and_503_bursts_with_nothing_lost_and_nothing_duplicated()
        {
            Nginx.Faults.RetryAfterSeconds = 1;
            Nginx.Faults.Enqueue(FaultKind.TooManyRequests, 2);
            Nginx.Faults.Enqueue(FaultKind.ServiceUnavailable, 3);
            Nginx.Faults.Enqueue(FaultKind.TooManyRequests, 2, req => req.Method == "POST");

            var r = Ps.Run($"{Rows(1, 20)} | Add-LbPoolMember -Pool web -Verbose");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(7, Nginx.Faults.InjectedCount);
            Assert.Contains(r.Verbose, v => v.StartsWith("Retrying") && v.Contains("429"));
            Assert.Contains(r.Verbose, v => v.StartsWith("Retrying") && v.Contains("503"));
            var servers = Nginx.GetServers("web").Select(s => s.Server).ToList();
            Assert.Equal(22, servers.Count);
            Assert.Equal(servers.Count, servers.Distinct().Count());
        }

        [Fact]
        public void A_create_whose_response_is_lost_is_not_duplicated()
        {
            Nginx.Faults.Enqueue(FaultKind.DropAfterProcessing, 1, req => req.Method == "POST");

            var r = Ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.3 -Port 80 -PassThru -Verbose");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Contains(r.Verbose, v => v.Contains("may or may not have been applied"));
            Assert.Single(Nginx.GetServers("web"), s => s.Server == "10.0.0.3:80");
            Assert.Equal(1, Nginx.CountRequests("POST", "/servers", 201));
            Assert.Equal("10.0.0.3", r.Prop<string>(0, "Address"));
        }

        [Fact]
        public void Unhealthy_members_are_drained_through_the_pipeline()
        {
            Nginx.SetPeerState("web", "10.0.0.2:80", "unhealthy");
            var r = Ps.Run("Get-LbPoolMember -Pool web | Where-Object Health -eq Unhealthy | Set-LbPoolMember -State Drain -PassThru");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(LbMemberState.Draining, r.Prop<LbMemberState>(0, "State"));
            var servers = Nginx.GetServers("web");
            Assert.True(servers.Single(s => s.Server == "10.0.0.2:80").Drain);
            Assert.False(servers.Single(s => s.Server == "10.0.0.1:80").Drain);
        }

        [Fact]
        public void Disable_then_enable_and_weight_are_read_back()
        {
            var r = Ps.Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -State Disabled -Weight 9 -PassThru");
            Assert.False(r.HadErrors, r.ToString());
            var s = Nginx.GetServers("web").Single(x => x.Server == "10.0.0.1:80");
            Assert.True(s.Down);
            Assert.Equal(9, s.Weight);
            Assert.Equal(LbMemberState.Disabled, Ps.Run("Get-LbPoolMember web -Address 10.0.0.1").Prop<LbMemberState>(0, "State"));
        }

        [Fact]
        public void Remove_with_drain_waits_for_connections_shows_progress_then_removes()
        {
            Nginx.SetActiveConnections("web", "10.0.0.1:80", 6);
            Nginx.DrainConnectionsPerRead = 2;

            var r = Ps.Run("Get-LbPoolMember -Pool web -Address 10.0.0.1 | Remove-LbPoolMember -Drain -DrainTimeoutSec 60 -Confirm:$false -Verbose");

            Assert.False(r.HadErrors, r.ToString());
            Assert.DoesNotContain(Nginx.GetServers("web"), s => s.Server == "10.0.0.1:80");
            Assert.Contains(r.Progress, p => p.Activity.Contains("Draining") && p.StatusDescription.Contains("active connection"));
            Assert.Contains(r.Progress, p => p.RecordType == ProgressRecordType.Completed);
            Assert.Contains(r.Verbose, v => v.Contains("no active connections"));
            Assert.True(Nginx.CountRequests("PATCH", "/servers/") == 1, "drain must be set once");
        }

        [Fact]
        public void A_drain_that_times_out_leaves_the_member_draining_with_a_clear_error()
        {
            Nginx.SetActiveConnections("web", "10.0.0.1:80", 6);
            var r = Ps.Run("Remove-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -Drain -DrainTimeoutSec 1 -Confirm:$false");
            var e = Assert.Single(r.Errors);
            Assert.StartsWith("LbDrainTimeout,", e.FullyQualifiedErrorId);
            Assert.Contains("left Draining and not removed", e.Exception.Message);
            Assert.True(Nginx.GetServers("web").Single(s => s.Server == "10.0.0.1:80").Drain);
        }

        [Fact]
        public void ForcedOffline_is_not_supported_by_nginx_and_says_what_is()
        {
            var r = Ps.Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -State ForcedOffline -Force");
            var e = Assert.Single(r.Errors);
            Assert.StartsWith("LbNotSupported,", e.FullyQualifiedErrorId);
            Assert.Contains("Supported: Disable, Drain", e.Exception.Message);
        }

        [Fact]
        public void Remove_asks_for_confirmation_by_default_and_a_no_keeps_the_member()
        {
            Ps.Host.ChoiceAnswers.Enqueue(2); // [Y] Yes  [A] Yes to All  [N] No
            var r = Ps.Run("Remove-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Contains(r.HostLines, l => l.StartsWith("PROMPT:") && l.Contains("10.0.0.1:80"));
            Assert.Equal(2, Nginx.GetServers("web").Count);
        }

        [Fact]
        public void WhatIf_on_an_add_the_provider_cannot_make_refuses_it_as_the_real_run_does()
        {
            // NGINX Plus creates servers up or down, never draining: -WhatIf must not approve it.
            var dry = Ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.9 -Port 80 -State Draining -WhatIf");
            Assert.DoesNotContain(dry.HostLines, l => l.StartsWith("What if:"));
            var dryError = Assert.Single(dry.Errors);
            var real = Ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.9 -Port 80 -State Draining -Confirm:$false");
            var realError = Assert.Single(real.Errors);
            Assert.StartsWith("LbNotSupported,", dryError.FullyQualifiedErrorId);
            Assert.Equal(realError.FullyQualifiedErrorId, dryError.FullyQualifiedErrorId);
            Assert.Equal(realError.Exception.Message, dryError.Exception.Message);
            Assert.Contains("cannot add a member in state Draining", dryError.Exception.Message);
            Assert.Equal("10.0.0.9", Assert.IsType<LbMemberSpec>(dryError.TargetObject).Address);
            // A weight out of the vendor's range: the same.
            var weight = Ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.9 -Port 80 -Weight 0 -WhatIf");
            Assert.DoesNotContain(weight.HostLines, l => l.StartsWith("What if:"));
            Assert.StartsWith("LbInvalidWeight,", Assert.Single(weight.Errors).FullyQualifiedErrorId);
            Assert.Equal(0, Nginx.CountRequests("POST", "/servers"));
        }

        [Fact]
        public void WhatIf_on_set_names_the_exact_change()
        {
            var r = Ps.Run("Set-LbPoolMember -Pool web -Address 10.0.0.2 -Port 80 -State Drain -Weight 4 -WhatIf");
            Assert.Contains(r.HostLines, l => l.StartsWith("What if:") && l.Contains("Change state Enabled -> Draining") && l.Contains("Change weight 1 -> 4"));
            Assert.Equal(0, Nginx.CountRequests("PATCH", "/servers/"));
        }

        [Fact]
        public void Tab_completion_offers_pool_names_and_member_addresses()
        {
            Nginx.AddUpstream("api");
            string poolLine = "Get-LbPoolMember -Pool w";
            var pools = Ps.Run($"(TabExpansion2 -inputScript '{poolLine}' -cursorColumn {poolLine.Length}).CompletionMatches | ForEach-Object CompletionText");
            Assert.Equal(new[] { "web" }, pools.Output.Select(o => o.ToString()).ToArray());
            string line = "Set-LbPoolMember -Pool web -Address 10.0.0.";
            var addresses = Ps.Run($"(TabExpansion2 -inputScript '{line}' -cursorColumn {line.Length}).CompletionMatches | ForEach-Object CompletionText");
            Assert.Equal(new[] { "10.0.0.1", "10.0.0.2" }, addresses.Output.Select(o => o.ToString()).OrderBy(x => x).ToArray());
        }

        [Fact]
        public void Tab_completion_offers_member_names_of_the_pool_typed()
        {
            // NGINX Plus names a server by its address:port.
            foreach (string command in new[] { "Get-LbPoolMember", "Set-LbPoolMember", "Remove-LbPoolMember", "Wait-LbPoolMember" })
            {
                string line = $"{command} -Pool web -Name 10.0.0.";
                var names = Ps.Run($"(TabExpansion2 -inputScript '{line}' -cursorColumn {line.Length}).CompletionMatches | ForEach-Object CompletionText");
                Assert.Equal(new[] { "10.0.0.1:80", "10.0.0.2:80" }, names.Output.Select(o => o.ToString()).OrderBy(x => x).ToArray());
            }
            string narrowed = "Set-LbPoolMember -Pool web -Address 10.0.0.2 -Port 80 -Name 1";
            var one = Ps.Run($"(TabExpansion2 -inputScript '{narrowed}' -cursorColumn {narrowed.Length}).CompletionMatches | ForEach-Object CompletionText");
            Assert.Equal(new[] { "10.0.0.2:80" }, one.Output.Select(o => o.ToString()).ToArray());
        }

        [Fact]
        public void Get_member_by_a_literal_name_that_is_not_there_is_an_error_and_a_wildcard_is_not()
        {
            var missing = Ps.Run("Get-LbPoolMember -Pool web -Name extra1");
            Assert.Empty(missing.Output);
            var e = Assert.Single(missing.Errors);
            Assert.StartsWith("LbMemberNotFound,", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ObjectNotFound, e.CategoryInfo.Category);
            Assert.Contains("'extra1'", e.Exception.Message);
            Assert.Contains("pool 'web'", e.Exception.Message);
            Assert.Equal("extra1", Assert.IsType<LbMemberSpec>(e.TargetObject).Name);

            var wildcard = Ps.Run("Get-LbPoolMember -Pool web -Name 'extra*'");
            Assert.False(wildcard.HadErrors, wildcard.ToString());
            Assert.Empty(wildcard.Output);

            var found = Ps.Run("Get-LbPoolMember -Pool web -Name 10.0.0.1:80");
            Assert.False(found.HadErrors, found.ToString());
            Assert.Single(found.Output);

            // Over every pool: one error only when no pool has it.
            Nginx.AddUpstream("api");
            Nginx.AddServer("api", "10.0.0.7:80");
            var inOne = Ps.Run("Get-LbPoolMember -Name 10.0.0.7:80");
            Assert.False(inOne.HadErrors, inOne.ToString());
            Assert.Single(inOne.Output);
            Assert.Contains("any of 2 pools", Assert.Single(Ps.Run("Get-LbPoolMember -Name extra1").Errors).Exception.Message);
        }

        [Fact]
        public void Disconnected_connections_are_refused_and_forgotten()
        {
            var r = Ps.Run("$c = Get-LbConnection -Default; Disconnect-LbController; Get-LbPool -Connection $c");
            var e = Assert.Single(r.Errors);
            Assert.StartsWith("LbNoConnection,", e.FullyQualifiedErrorId);
            Assert.Empty(Ps.Run("Get-LbConnection").Output);
        }

        [Fact]
        public void Set_takes_Draining_as_the_objects_say_it_and_Drain_as_older_scripts_do()
        {
            var draining = Ps.Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -State Draining -PassThru");
            var drain = Ps.Run("Set-LbPoolMember -Pool web -Address 10.0.0.2 -Port 80 -State Drain -PassThru");

            Assert.False(draining.HadErrors, draining.ToString());
            Assert.False(drain.HadErrors, drain.ToString());
            Assert.All(Nginx.GetServers("web"), s => Assert.True(s.Drain));
        }
    }
}
