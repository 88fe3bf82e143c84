using System;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.F5
{
    /// <summary>What a user types, through the real PowerShell engine, against the BIG-IP emulator.</summary>
    public sealed class F5PipelineTests : IAsyncLifetime
    {
        private F5Emulator _f5 = null!;
        private PsSession _ps = null!;

        public async Task InitializeAsync()
        {
            _f5 = await F5Emulator.StartAsync();
            _f5.AddPool("web");
            _ps = new PsSession();
        }

        public async Task DisposeAsync()
        {
            _ps.Dispose();
            await _f5.DisposeAsync();
        }

        private void Connect(string? partition = null)
        {
            var r = _ps.Run(F5Support.ConnectScript(_f5, partition: partition) + " | Out-Null");
            Assert.False(r.HadErrors, r.ToString());
        }

        [Fact]
        public void Two_hundred_piped_adds_survive_a_token_expiry_halfway_with_one_relogin()
        {
            Connect();
            // Piped adds go 100 to a transaction (a POST to open it, one POST per member into it, a PATCH to
            // commit); after 150 requests the token dies just before the next POST, inside the second transaction.
            _f5.ExpireTokensAfter(150, atMethod: "POST");

            var r = _ps.Run(
                "$members = 1..200 | ForEach-Object { [pscustomobject]@{ Address = \"10.1.0.$_\"; Port = 80 } }\n" +
                "$members | Add-LbPoolMember -Pool web -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(200, r.Output.Count);
            var members = _f5.GetMembers("web");
            Assert.Equal(200, members.Count);
            Assert.Equal(200, members.Select(m => m.Address).Distinct().Count());
            Assert.Equal(2, _f5.LoginCount);                                  // connect + exactly one re-login
            Assert.Equal(1, _f5.CountRequests("POST", "/members", 401));      // the create that met the expiry...
            Assert.Equal(200, _f5.CountRequests("POST", "/members", 200));    // ...was replayed once: nothing lost
            Assert.Equal(0, _f5.CountRequests("POST", "/members", 409));      // nothing sent twice
            Assert.Equal(1, _f5.LiveTokenCount());
        }

        [Fact]
        public void A_route_domain_member_can_be_typed_added_found_and_removed()
        {
            Connect();
            var r = _ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.1%2 -Port 80 -PassThru; Get-LbPoolMember -Pool web -Address 10.0.0.1%2 | Remove-LbPoolMember -Confirm:$false");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal("10.0.0.1%2", r.Prop<string>(0, "Address"));
            Assert.Empty(_f5.GetMembers("web"));
            Assert.Contains(_f5.Requests, q => q.Method == "DELETE" && q.Path.Contains("10.0.0.1%252:80"));
        }

        [Fact]
        public void Disconnect_deletes_the_token()
        {
            Connect();
            Assert.Equal(1, _f5.LiveTokenCount());
            var r = _ps.Run("Disconnect-LbController -Verbose -Debug");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(0, _f5.LiveTokenCount());
            Assert.Equal(1, _f5.LogoutCount);
            Assert.Contains(r.Verbose, v => v.Contains("token deleted"));
            Assert.DoesNotContain(r.Verbose.Concat(r.Debug), l => l.Contains(_f5.Requests.First(x => x.Method == "DELETE").Path));
        }

        [Fact]
        public void A_wrong_password_is_LbAuthenticationFailed_and_the_password_appears_nowhere()
        {
            const string password = "Wr0ng-P4ssw0rd!";
            var r = _ps.Run(F5Support.ConnectScript(_f5, password: password) + " -Verbose -Debug");

            var error = Assert.Single(r.AllErrors);
            Assert.StartsWith("LbAuthenticationFailed", error.FullyQualifiedErrorId);
            Assert.Contains("rejected the user name or password", error.Exception.Message);
            Assert.DoesNotContain(password, r.AllText());
            Assert.Equal(1, _f5.FailedLoginCount);
            Assert.Equal(0, _f5.BasicAuthCount);
            Assert.Empty(_ps.Run("Get-LbConnection").Output);
        }

        [Fact]
        public void No_token_value_reaches_any_stream_or_object()
        {
            _f5.AddMember("web", "10.0.0.1", 80);
            var results = new[]
            {
                _ps.Run(F5Support.ConnectScript(_f5, extra: "-Verbose -Debug")),
                _ps.Run("Get-LbPoolMember -Pool web -Verbose -Debug | ForEach-Object { $_; $_.Raw }"),
            }.ToList();
            _f5.ExpireAllTokens();
            results.Add(_ps.Run("Get-LbPoolMember -Pool web -Verbose -Debug; Get-LbConnection | ForEach-Object { $_.PSObject.Properties | ForEach-Object { \"$($_.Name)=$($_.Value)\" } }"));
            results.Add(_ps.Run("Disconnect-LbController -Verbose -Debug"));

            Assert.All(results, r => Assert.False(r.HadErrors, r.ToString()));
            Assert.Equal(2, _f5.LoginCount);
            var tokens = _f5.IssuedTokens;
            Assert.Equal(2, tokens.Count);
            Assert.All(results, r => Assert.All(tokens, t => Assert.DoesNotContain(t, r.AllText())));
            Assert.Contains(results.SelectMany(r => r.Debug), d => d.Contains("/mgmt/shared/authz/tokens/***"));
        }

        [Fact]
        public void Partition_and_IPv6_names_reach_the_API_as_BIG_IP_spells_them()
        {
            _f5.AddPool("web", partition: "App1");
            _f5.AddMember("/App1/web", "10.0.0.1", 80, partition: "App1");
            _f5.AddPool("other", partition: "App1");
            Connect(partition: "App1");

            var pools = _ps.Run("Get-LbPool");
            Assert.Equal(new[] { "other", "web" }, pools.Output.Select(o => (string)o.Properties["Pool"].Value).OrderBy(n => n));

            var added = _ps.Run("Add-LbPoolMember -Pool web -Address 2001:DB8::1 -Port 80 -PassThru");
            Assert.False(added.HadErrors, added.ToString());
            Assert.Equal("2001:db8::1.80", added.Prop<string>(0, "Name"));
            Assert.Equal("2001:db8::1", added.Prop<string>(0, "Address"));
            Assert.Equal(1, _f5.CountRequests("POST", "/mgmt/tm/ltm/pool/~App1~web/members", 200));
            Assert.Contains(_f5.GetMembers("/App1/web"), m => m.FullPath == "/App1/2001:db8::1.80");
            Assert.DoesNotContain(_f5.GetMembers("web"), m => m.Address == "2001:db8::1"); // Common/web untouched

            var set = _ps.Run("Set-LbPoolMember -Pool web -Address 2001:db8::1 -Port 80 -State Disabled -PassThru");
            Assert.False(set.HadErrors, set.ToString());
            Assert.Equal(1, _f5.CountRequests("PATCH", "/mgmt/tm/ltm/pool/~App1~web/members/~App1~2001:db8::1.80", 200));

            var removed = _ps.Run("Remove-LbPoolMember -Pool web -Address 2001:db8::1 -Port 80 -Confirm:$false");
            Assert.False(removed.HadErrors, removed.ToString());
            Assert.Equal(1, _f5.CountRequests("DELETE", "/mgmt/tm/ltm/pool/~App1~web/members/~App1~2001:db8::1.80", 200));
            Assert.Single(_f5.GetMembers("/App1/web"));
        }

        [Theory]
        [InlineData("Disabled", LbMemberState.Disabled, "user-up", "user-disabled")]
        [InlineData("ForcedOffline", LbMemberState.ForcedOffline, "user-down", "user-disabled")]
        [InlineData("Enabled", LbMemberState.Enabled, "user-up", "user-enabled")]
        public void Each_state_is_written_as_its_documented_pair_and_read_back(string state, LbMemberState expected, string adminState, string session)
        {
            // Start from a different state so each case really changes something.
            _f5.AddMember("web", "10.0.0.1", 80,
                state: expected == LbMemberState.Enabled ? "user-down" : "user-up",
                session: expected == LbMemberState.Enabled ? "user-disabled" : "user-enabled");
            Connect();

            var set = _ps.Run($"Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -State {state} -Confirm:$false -PassThru");
            Assert.False(set.HadErrors, set.ToString());
            var written = Assert.Single(_f5.GetMembers("web"));
            Assert.Equal((adminState, session), (written.AdminState, written.Session));

            var read = _ps.Run("Get-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80");
            Assert.Equal(expected, read.Prop<LbMemberState>(0, "State"));
        }

        [Fact]
        public void Drain_is_refused_and_Remove_Drain_disables_then_waits_for_connections()
        {
            _f5.AddMember("web", "10.0.0.1", 80, connections: 0);
            Connect();

            var drain = _ps.Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -State Drain");
            Assert.StartsWith("LbNotSupported,", Assert.Single(drain.Errors).FullyQualifiedErrorId);

            // No connections left: the drain finishes at once and the member goes.
            var removed = _ps.Run("Remove-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -Drain -DrainTimeoutSec 5 -Confirm:$false -Verbose");
            Assert.False(removed.HadErrors, removed.ToString());
            Assert.Contains(removed.Verbose, v => v.Contains("set to Disabled"));
            Assert.Equal(1, _f5.CountRequests("PATCH", "/members/~Common~10.0.0.1:80", 200));
            Assert.Empty(_f5.GetMembers("web"));
        }

        [Fact]
        public void Health_state_and_connections_read_back_from_one_stats_call()
        {
            _f5.AddMember("web", "10.0.0.1", 80, connections: 12);
            _f5.AddMember("web", "10.0.0.2", 80, state: "user-down", session: "user-disabled", availability: "offline");
            _f5.AddMember("web", "10.0.0.3", 80, session: "user-disabled");
            Connect();
            _f5.ClearRequests();

            var r = _ps.Run("Get-LbPoolMember -Pool web");

            Assert.False(r.HadErrors, r.ToString());
            var byAddress = r.Output.ToDictionary(o => (string)o.Properties["Address"].Value);
            Assert.Equal(nameof(LbMemberState.Enabled), byAddress["10.0.0.1"].Properties["State"].Value);
            Assert.Equal(nameof(LbMemberHealth.Healthy), byAddress["10.0.0.1"].Properties["Health"].Value);
            Assert.Equal(12L, byAddress["10.0.0.1"].Properties["ActiveConnections"].Value);
            Assert.Equal(nameof(LbMemberState.ForcedOffline), byAddress["10.0.0.2"].Properties["State"].Value);
            Assert.Equal(nameof(LbMemberHealth.Unhealthy), byAddress["10.0.0.2"].Properties["Health"].Value);
            Assert.Equal(nameof(LbMemberState.Disabled), byAddress["10.0.0.3"].Properties["State"].Value);
            Assert.Equal(1, _f5.CountRequests("GET", "/members/stats"));
            Assert.Equal(3, _f5.Requests.Count); // the list, one stats call, one read of node states
        }

        [Fact]
        public void An_add_that_races_another_client_is_not_an_error()
        {
            Connect();
            // Between the cmdlet's check and its create, someone else adds the same member.
            int raced = 0;
            _f5.Faults.Enqueue(FaultKind.Slow, 1, request =>
            {
                if (request.Method == "POST" && request.Path.Value!.EndsWith("/members") && System.Threading.Interlocked.Exchange(ref raced, 1) == 0)
                    _f5.AddMember("web", "10.0.0.9", 80);
                return false;
            });

            var r = _ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.9 -Port 80 -PassThru -Verbose");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(1, _f5.CountRequests("POST", "/members", 409));
            Assert.Contains(r.Verbose, v => v.Contains("already exists"));
            Assert.Single(_f5.GetMembers("web"));
            Assert.Equal("10.0.0.9", r.Prop<string>(0, "Address"));
        }

        [Fact]
        public void An_existing_node_is_reused_whatever_its_name()
        {
            _f5.AddNode("10.0.0.5", "10.0.0.5");
            _f5.AddNode("app-6", "10.0.0.6");
            Connect();
            int nodes = _f5.GetNodes().Count;

            var r = _ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.5 -Port 80 -PassThru; Add-LbPoolMember -Pool web -Address 10.0.0.6 -Port 80 -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(new[] { "10.0.0.5:80", "app-6:80" }, r.Output.Select(o => (string)o.Properties["Name"].Value));
            Assert.Equal(nodes, _f5.GetNodes().Count);

            var again = _ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.6 -Port 80 -Verbose");
            Assert.False(again.HadErrors, again.ToString());
            Assert.Contains(again.Verbose, v => v.Contains("already a member"));
        }

        [Fact]
        public void The_token_cap_is_a_clear_connect_error()
        {
            _f5.IssueTokens("admin", 100);
            var r = _ps.Run(F5Support.ConnectScript(_f5));
            var error = Assert.Single(r.AllErrors);
            Assert.StartsWith("LbConnectFailed", error.FullyQualifiedErrorId);
            Assert.Contains("maximum number of live tokens", error.Exception.Message);
        }

        // Piped adds and removes go in transactions (all or nothing); a transaction the device refuses is retried
        // member by member, so the one record it refused carries the error.

        [Fact]
        public void Thirty_piped_adds_are_one_transaction_and_thirty_output_objects()
        {
            Connect();
            var r = _ps.Run("1..30 | ForEach-Object { [pscustomobject]@{ Address = \"10.6.0.$_\"; Port = 80 } } | Add-LbPoolMember -Pool web -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(30, r.Output.Count);
            Assert.Equal(30, _f5.GetMembers("web").Count);
            Assert.Equal(1, _f5.CommittedTransactions);
        }

        [Fact]
        public void A_refused_transaction_is_retried_member_by_member_and_only_the_bad_record_fails()
        {
            Connect();
            // BIG-IP refuses a member whose node would be a host name ("invalid IP address ... for a new node"),
            // which fails the whole transaction at commit.
            var r = _ps.Run("@('10.6.0.1', '10.6.0.2', 'app-z.example', '10.6.0.4') | ForEach-Object { [pscustomobject]@{ Address = $_; Port = 80 } } | " +
                            "Add-LbPoolMember -Pool web -PassThru");

            var error = Assert.Single(r.Errors);
            Assert.Equal("app-z.example:80", Assert.IsType<LbMemberSpec>(error.TargetObject).Endpoint);
            Assert.Equal(3, r.Output.Count);
            Assert.Equal(new[] { "10.6.0.1", "10.6.0.2", "10.6.0.4" }, _f5.GetMembers("web").Select(m => m.Address).OrderBy(a => a, StringComparer.Ordinal));
            Assert.Equal(0, _f5.CommittedTransactions);
        }

        [Fact]
        public void Piped_removes_are_one_transaction()
        {
            Connect();
            Assert.False(_ps.Run("1..20 | ForEach-Object { [pscustomobject]@{ Address = \"10.6.0.$_\"; Port = 80 } } | Add-LbPoolMember -Pool web").HadErrors);
            int before = _f5.CommittedTransactions;

            var r = _ps.Run("Get-LbPoolMember -Pool web | Remove-LbPoolMember -Confirm:$false");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Empty(_f5.GetMembers("web"));
            Assert.Equal(before + 1, _f5.CommittedTransactions);
        }
    }
}
