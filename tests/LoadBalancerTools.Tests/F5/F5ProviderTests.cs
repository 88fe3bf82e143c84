using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Providers;
using LoadBalancerTools.Providers.F5;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.Tests.Http;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.F5
{
    /// <summary>The provider straight on the engine, against the emulator: auth, naming, stats, errors, transactions.</summary>
    public sealed class F5ProviderTests : IAsyncLifetime
    {
        private readonly RecordingLog _log = new RecordingLog();
        private readonly FakeTimeProvider _clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        private F5Emulator _f5 = null!;
        private static CancellationToken None => CancellationToken.None;

        public async Task InitializeAsync()
        {
            _f5 = await F5Emulator.StartAsync(new F5EmulatorOptions { TimeProvider = _clock });
            _f5.AddPool("web");
            _f5.AddMember("web", "10.0.0.1", 80);
            _f5.AddMember("web", "10.0.0.2", 8080);
        }

        public async Task DisposeAsync() => await _f5.DisposeAsync();

        private async Task<F5Provider> ConnectedAsync(string? partition = null)
        {
            var provider = F5Support.Provider(_f5, partition);
            await provider.ConnectAsync(_log, None);
            return provider;
        }

        // ---- tokens ----

        [Fact]
        public async Task Logs_in_once_and_extends_the_token()
        {
            var provider = await ConnectedAsync();
            for (int i = 0; i < 5; i++) await provider.GetMembersAsync("web", _log, None);

            Assert.Equal(1, _f5.LoginCount);
            Assert.Equal(1, _f5.TokenExtensionCount);
            var token = Assert.Single(_f5.LiveTokens);
            Assert.Equal(F5Provider.TokenLifetimeSeconds, token.TimeoutSeconds);
            Assert.Equal("17.1.1", provider.ApiVersion);

            // Past BIG-IP's default 1200 s, the extended token still works: no second login.
            _clock.Advance(TimeSpan.FromSeconds(1300));
            await provider.GetMembersAsync("web", _log, None);
            Assert.Equal(1, _f5.LoginCount);
        }

        [Fact]
        public async Task An_expired_token_is_renewed_once_and_the_request_replayed()
        {
            var provider = await ConnectedAsync();
            _clock.Advance(TimeSpan.FromSeconds(F5Provider.TokenLifetimeSeconds + 1));

            var members = await provider.GetMembersAsync("web", _log, None);

            Assert.Equal(2, members.Count);
            Assert.Equal(2, _f5.LoginCount);
            Assert.Equal(1, _f5.CountRequests("GET", "/members", 401)); // met the expiry once, replayed once
            Assert.Equal(1, _f5.LiveTokenCount());
            Assert.Equal(2, provider.LoginCount);
        }

        [Fact]
        public async Task A_401_that_was_not_an_expiry_still_leaves_one_live_token()
        {
            var provider = await ConnectedAsync();
            // A stray 401 (a proxy, a failover): the old token is still live on the device.
            _f5.Faults.Enqueue(FaultKind.Unauthorized, 1, r => r.Method == "GET" && r.Path.Value!.EndsWith("/members"));

            await provider.GetMembersAsync("web", _log, None);

            Assert.Equal(2, _f5.LoginCount);
            Assert.Equal(1, _f5.LogoutCount); // the replaced token was deleted
            Assert.Equal(1, _f5.LiveTokenCount());
        }

        [Fact]
        public async Task Disconnect_deletes_the_token()
        {
            var provider = await ConnectedAsync();
            Assert.Equal(1, _f5.LiveTokenCount());
            await provider.DisconnectAsync(_log, None);
            Assert.Equal(0, _f5.LiveTokenCount());
            Assert.Equal(1, _f5.CountRequests("DELETE", "/mgmt/shared/authz/tokens/", 200));
        }

        [Fact]
        public async Task The_token_cap_is_reported_as_such_and_does_not_fall_back_to_basic()
        {
            _f5.IssueTokens("admin", 100);
            var provider = F5Support.Provider(_f5);

            var ex = await Assert.ThrowsAsync<LbException>(() => provider.ConnectAsync(_log, None));

            Assert.Equal(LbErrorKind.Throttled, ex.Kind);
            Assert.Contains("maximum number of live tokens (100)", ex.Message);
            Assert.Equal(0, _f5.BasicAuthCount);
            Assert.False(provider.UsesBasicAuth);
        }

        [Fact]
        public async Task Without_token_login_it_falls_back_to_basic_auth()
        {
            await using var old = await F5Emulator.StartAsync(new F5EmulatorOptions { TokenLoginAvailable = false });
            old.AddPool("web");
            old.AddMember("web", "10.0.0.1", 80);
            var provider = F5Support.Provider(old);

            await provider.ConnectAsync(_log, None);
            var members = await provider.GetMembersAsync("web", _log, None);

            Assert.True(provider.UsesBasicAuth);
            Assert.Single(members);
            Assert.Equal(0, old.LoginCount);
            Assert.True(old.BasicAuthCount >= 3);
            Assert.Contains(_log.Verbose, v => v.Contains("basic authentication") && v.Contains("local users only"));
            await provider.DisconnectAsync(_log, None); // nothing to delete, nothing fails
        }

        [Fact]
        public async Task A_wrong_password_fails_once_without_a_basic_auth_retry()
        {
            var provider = F5Support.Provider(_f5, password: "Wr0ng-Secret!");
            var ex = await Assert.ThrowsAsync<LbException>(() => provider.ConnectAsync(_log, None));
            Assert.Equal(LbErrorKind.AuthenticationFailed, ex.Kind);
            Assert.Equal(ErrorIds.AuthenticationFailed, ex.ErrorId);
            Assert.DoesNotContain("Wr0ng-Secret!", ex.ToString());
            Assert.Equal(1, _f5.FailedLoginCount);
            Assert.Equal(0, _f5.BasicAuthCount);
        }

        // ---- members, stats, naming ----

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public async Task Health_and_connections_come_from_one_pool_level_stats_call(bool deepStats)
        {
            await using var f5 = await F5Emulator.StartAsync(new F5EmulatorOptions { DeepStats = deepStats });
            f5.AddPool("web");
            for (int i = 1; i <= 6; i++) f5.AddMember("web", "10.0.0." + i, 80, connections: i);
            f5.SetMemberHealth("web", "10.0.0.2:80", "offline", "down");
            f5.SetMemberHealth("web", "10.0.0.3:80", "unknown", "unchecked");
            var provider = F5Support.Provider(f5);
            await provider.ConnectAsync(_log, None);
            f5.ClearRequests();

            var members = await provider.GetMembersAsync("web", _log, None);

            Assert.Equal(6, members.Count);
            Assert.Equal(LbMemberHealth.Healthy, members.Single(m => m.Address == "10.0.0.1").Health);
            var down = members.Single(m => m.Address == "10.0.0.2");
            Assert.Equal(LbMemberHealth.Unhealthy, down.Health);
            Assert.StartsWith("down", down.HealthReason);
            Assert.Equal(LbMemberHealth.Unknown, members.Single(m => m.Address == "10.0.0.3").Health);
            Assert.Equal(Enumerable.Range(1, 6).Select(i => (long?)i), members.OrderBy(m => m.Address).Select(m => m.ActiveConnections));
            // Three calls for six members: the list, one pool-level stats call and one read of node states
            // (a node disabled at node level disables its members), never one per member.
            Assert.Equal(3, f5.Requests.Count);
            Assert.Equal(1, f5.CountRequests("GET", "/members/stats"));
        }

        [Fact]
        public async Task A_route_domain_member_is_addressed_with_its_percent_encoded()
        {
            string name = _f5.AddMember("web", "10.0.0.7%12", 80);
            Assert.Equal("10.0.0.7%12:80", name);
            var provider = await ConnectedAsync();

            var member = (await provider.GetMembersAsync("web", _log, None)).Single(m => m.Name == name);
            Assert.Equal("10.0.0.7%12", member.Address);
            Assert.Equal("/Common/10.0.0.7%12:80", member.VendorId);
            Assert.Equal(LbMemberHealth.Healthy, member.Health);

            var updated = await provider.UpdateMemberAsync(member, new LbMemberUpdate { State = LbMemberState.Disabled }, _log, None);
            Assert.Equal(LbMemberState.Disabled, updated.State);
            Assert.Equal(1, _f5.CountRequests("PATCH", "/mgmt/tm/ltm/pool/~Common~web/members/~Common~10.0.0.7%2512:80", 200));
            Assert.Equal("user-disabled", _f5.GetMembers("web").Single(m => m.Name == name).Session);

            await provider.RemoveMemberAsync(member, _log, None);
            Assert.DoesNotContain(_f5.GetMembers("web"), m => m.Name == name);
        }

        [Fact]
        public async Task An_existing_member_is_AlreadyExists_with_the_vendor_code()
        {
            var provider = await ConnectedAsync();
            var ex = await Assert.ThrowsAsync<LbException>(() => provider.AddMemberAsync("web", new LbMemberSpec("10.0.0.1", 80), _log, None));
            Assert.Equal(LbErrorKind.AlreadyExists, ex.Kind);
            Assert.Equal("01020066", ex.VendorCode);
            Assert.Contains("already exists", ex.Message);
        }

        [Fact]
        public async Task A_missing_pool_and_a_missing_member_are_told_apart()
        {
            var provider = await ConnectedAsync();
            var pool = await Assert.ThrowsAsync<LbException>(() => provider.GetMembersAsync("nope", _log, None));
            Assert.Equal(ErrorIds.PoolNotFound, pool.ErrorId);
            Assert.Contains("/Common/nope", pool.Message);

            var ghost = new LbPoolMember { Pool = "web", Address = "10.0.0.99", Port = 80 };
            var member = await Assert.ThrowsAsync<LbException>(() => provider.RemoveMemberAsync(ghost, _log, None));
            Assert.Equal(LbErrorKind.NotFound, member.Kind);
            Assert.Equal(ErrorIds.MemberNotFound, member.ErrorId);
        }

        [Fact]
        public async Task Busy_refusals_are_retried_until_the_device_accepts()
        {
            var provider = await ConnectedAsync();
            _f5.BusyFor(2);
            var added = await provider.AddMemberAsync("web", new LbMemberSpec("10.0.0.9", 80), _log, None);
            Assert.Equal("10.0.0.9:80", added.Name);
            Assert.Equal(2, _f5.CountRequests("POST", "/members", 400));
            Assert.Equal(2, _log.Verbose.Count(v => v.Contains("busy with an asynchronous task")));
            Assert.Single(_f5.GetMembers("web"), m => m.Name == "10.0.0.9:80");
        }

        [Fact]
        public async Task Busy_503s_are_retried_by_the_transport()
        {
            var provider = await ConnectedAsync();
            _f5.Faults.Enqueue(FaultKind.ServiceUnavailable, 2, r => r.Method == "POST");
            await provider.AddMemberAsync("web", new LbMemberSpec("10.0.0.9", 80), _log, None);
            Assert.Equal(2, _f5.CountRequests("POST", "/members", 503));
            Assert.Single(_f5.GetMembers("web"), m => m.Name == "10.0.0.9:80");
        }

        [Fact]
        public async Task A_device_that_stays_busy_gives_a_transient_error_after_the_retry_budget()
        {
            var provider = F5Support.Provider(_f5, transport: t => t.MaxRetries = 2);
            await provider.ConnectAsync(_log, None);
            _f5.BusyFor(10);
            var ex = await Assert.ThrowsAsync<LbException>(() => provider.AddMemberAsync("web", new LbMemberSpec("10.0.0.9", 80), _log, None));
            Assert.Equal(LbErrorKind.Transient, ex.Kind);
            Assert.Equal(3, _f5.CountRequests("POST", "/members", 400));
        }

        [Fact]
        public async Task A_slow_read_is_retried_after_the_attempt_timeout()
        {
            var provider = F5Support.Provider(_f5, transport: t => t.AttemptTimeout = TimeSpan.FromMilliseconds(300));
            await provider.ConnectAsync(_log, None);
            _f5.Faults.SlowDelay = TimeSpan.FromSeconds(10);
            _f5.Faults.Enqueue(FaultKind.Slow, 1, r => r.Method == "GET" && r.Path.Value!.EndsWith("/members"));
            Assert.Equal(2, (await provider.GetMembersAsync("web", _log, None)).Count);
        }

        [Fact]
        public async Task A_malformed_body_is_a_MalformedResponse()
        {
            var provider = await ConnectedAsync();
            _f5.Faults.Enqueue(FaultKind.MalformedBody, 1, r => r.Method == "GET");
            var ex = await Assert.ThrowsAsync<LbException>(() => provider.GetMembersAsync("web", _log, None));
            Assert.Equal(LbErrorKind.MalformedResponse, ex.Kind);
        }

        [Fact]
        public async Task A_node_with_the_address_under_another_name_is_reused()
        {
            _f5.AddNode("app-server-5", "10.0.0.5");
            int nodes = _f5.GetNodes().Count;
            var provider = await ConnectedAsync();

            var added = await provider.AddMemberAsync("web", new LbMemberSpec("10.0.0.5", 80), _log, None);

            Assert.Equal("app-server-5:80", added.Name);
            Assert.Equal("10.0.0.5", added.Address);
            Assert.Equal(nodes, _f5.GetNodes().Count);
            Assert.Contains(_log.Verbose, v => v.Contains("/Common/app-server-5") && v.Contains("10.0.0.5"));
        }

        [Fact]
        public async Task Weights_below_one_are_refused_before_sending()
        {
            var provider = await ConnectedAsync();
            var member = (await provider.GetMembersAsync("web", _log, None))[0];
            _f5.ClearRequests();
            var ex = await Assert.ThrowsAsync<LbException>(() => provider.UpdateMemberAsync(member, new LbMemberUpdate { Weight = 0 }, _log, None));
            Assert.Equal(ErrorIds.InvalidWeight, ex.ErrorId);
            Assert.Empty(_f5.Requests);
        }

        [Fact]
        public async Task An_invalid_partition_is_reported_at_connect()
        {
            var provider = F5Support.Provider(_f5, partition: "bad~name");
            var ex = await Assert.ThrowsAsync<LbException>(() => provider.ConnectAsync(_log, None));
            Assert.Equal(LbErrorKind.InvalidInput, ex.Kind);
            Assert.Equal(0, _f5.LoginCount);
        }

        // ---- transactions ----

        [Fact]
        public async Task A_transaction_that_fails_midway_leaves_the_pool_unchanged()
        {
            var provider = await ConnectedAsync();
            var before = _f5.GetMembers("web");
            int nodesBefore = _f5.GetNodes().Count;
            var current = await provider.GetMembersAsync("web", _log, None);
            var first = current.Single(m => m.Address == "10.0.0.1");
            var second = current.Single(m => m.Address == "10.0.0.2");

            var changes = new[]
            {
                LbBatchChange.AddMember("web", new LbMemberSpec("10.0.0.20", 80)),
                LbBatchChange.UpdateMember(first, new LbMemberUpdate { State = LbMemberState.ForcedOffline, Weight = 5 }),
                LbBatchChange.RemoveMember(second),
                LbBatchChange.AddMember("web", new LbMemberSpec("10.0.0.1", 80)), // exists: the commit fails here
                LbBatchChange.AddMember("web", new LbMemberSpec("10.0.0.21", 80)),
            };
            var ex = await Assert.ThrowsAsync<LbException>(() => provider.ApplyAtomicallyAsync(changes, _log, None));

            Assert.Contains("none was applied", ex.Message);
            Assert.Contains("already exists", ex.Message);
            Assert.Equal(before, _f5.GetMembers("web"));
            Assert.Equal(nodesBefore, _f5.GetNodes().Count);
            Assert.Equal(1, _f5.FailedTransactions);
            Assert.Equal(0, _f5.CommittedTransactions);
        }

        [Fact]
        public async Task A_transaction_applies_every_change_together()
        {
            var provider = await ConnectedAsync();
            var current = await provider.GetMembersAsync("web", _log, None);
            var changes = new[]
            {
                LbBatchChange.AddMember("web", new LbMemberSpec("10.0.0.20", 80) { Weight = 3 }),
                LbBatchChange.UpdateMember(current.Single(m => m.Address == "10.0.0.1"), new LbMemberUpdate { State = LbMemberState.Disabled }),
                LbBatchChange.RemoveMember(current.Single(m => m.Address == "10.0.0.2")),
            };
            await provider.ApplyAtomicallyAsync(changes, _log, None);

            var after = _f5.GetMembers("web");
            Assert.Equal(new[] { "10.0.0.1:80", "10.0.0.20:80" }, after.Select(m => m.Name).OrderBy(n => n));
            Assert.Equal("user-disabled", after.Single(m => m.Name == "10.0.0.1:80").Session);
            Assert.Equal(3, after.Single(m => m.Name == "10.0.0.20:80").Ratio);
            Assert.Equal(1, _f5.CommittedTransactions);
            // Each change went out under the coordination header, then one commit.
            Assert.Equal(1, _f5.CountRequests("POST", "/mgmt/tm/transaction"));
            Assert.Equal(1, _f5.CountRequests("PATCH", "/mgmt/tm/transaction/"));
        }

        [Fact]
        public async Task A_change_that_cannot_be_queued_discards_the_transaction()
        {
            var provider = await ConnectedAsync();
            var current = await provider.GetMembersAsync("web", _log, None);
            var before = _f5.GetMembers("web");
            _f5.Faults.Enqueue(FaultKind.MalformedBody, 1, r => r.Method == "DELETE" && r.Headers.ContainsKey(F5Emulator.CoordinationHeader));

            var changes = new[]
            {
                LbBatchChange.AddMember("web", new LbMemberSpec("10.0.0.20", 80)),
                LbBatchChange.RemoveMember(current[0]),
            };
            var ex = await Assert.ThrowsAsync<LbException>(() => provider.ApplyAtomicallyAsync(changes, _log, None));

            Assert.Contains("change 2 of 2", ex.Message);
            Assert.Contains("nothing was applied", ex.Message);
            Assert.Equal(before, _f5.GetMembers("web"));
            Assert.Equal(1, _f5.CountRequests("DELETE", "/mgmt/tm/transaction/", 200));
            Assert.Equal(0, _f5.CountRequests("PATCH", "/mgmt/tm/transaction/"));
        }

        [Fact]
        public async Task A_transaction_survives_a_token_expiry_between_its_calls()
        {
            var provider = await ConnectedAsync();
            var current = await provider.GetMembersAsync("web", _log, None);
            _f5.ExpireTokensAfter(2); // transaction start, first queued call; the second meets a 401
            var changes = new[]
            {
                LbBatchChange.AddMember("web", new LbMemberSpec("10.0.0.20", 80)),
                LbBatchChange.RemoveMember(current.Single(m => m.Address == "10.0.0.2")),
            };
            await provider.ApplyAtomicallyAsync(changes, _log, None);

            Assert.Equal(new[] { "10.0.0.1:80", "10.0.0.20:80" }, _f5.GetMembers("web").Select(m => m.Name).OrderBy(n => n));
            Assert.Equal(2, _f5.LoginCount);
            Assert.Equal(1, _f5.CommittedTransactions);
        }
    }
}
