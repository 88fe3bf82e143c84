using System;
using System.Diagnostics;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Services.Remediation;
using LoadBalancerTools.Services.Remediation.Stores;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.Tests.Remediation
{
    /// <summary>
    /// The Redis store against a real redis-server: the lease (SET NX PX with a fencing token from INCR) is held by one
    /// runner at a time, renewed only by its holder, taken over after it expires, and a stale holder can neither
    /// renew it nor write state. State round-trips and is validated like the file.
    /// </summary>
    [Trait("Category", "RealRedis")]
    public sealed class RedisStateStoreTests : IAsyncLifetime
    {
        private static readonly PoolKey Web = new PoolKey("tcp://127.0.0.1:9999/", "web");
        private RedisProcess _redis = null!;

        public async Task InitializeAsync() => _redis = await RedisProcess.StartAsync();

        public async Task DisposeAsync() => await _redis.DisposeAsync();

        private Task<RedisStateStore> Connect(string runner, TimeSpan ttl, NetworkCredential? credential = null) =>
            RedisStateStore.ConnectAsync(RedisStoreAddress.Parse(_redis.Url), credential, runner, ttl);

        [Fact]
        public async Task One_runner_holds_a_pool_the_other_is_told_who_and_until_when_and_the_holder_renews()
        {
            using var a = await Connect("host-a:1", TimeSpan.FromSeconds(30));
            using var b = await Connect("host-b:2", TimeSpan.FromSeconds(30));

            var first = await a.AcquireAsync(Web, CancellationToken.None);
            var other = await b.AcquireAsync(Web, CancellationToken.None);
            var renewed = await a.AcquireAsync(Web, CancellationToken.None);

            Assert.True(first.Held);
            Assert.False(other.Held);
            Assert.Equal("host-a:1", other.Holder);
            Assert.InRange(other.Until!.Value, DateTimeOffset.UtcNow.AddSeconds(25), DateTimeOffset.UtcNow.AddSeconds(31));
            Assert.True(renewed.Held);
            Assert.Equal(first.Token, renewed.Token);
            Assert.True(await a.IsCurrentAsync(renewed, CancellationToken.None));
            Assert.False(await b.IsCurrentAsync(other, CancellationToken.None));
        }

        [Fact]
        public async Task After_the_lease_expires_another_runner_takes_it_with_a_newer_token_and_the_stale_holder_changes_nothing()
        {
            using var a = await Connect("host-a:1", TimeSpan.FromMilliseconds(300));
            using var b = await Connect("host-b:2", TimeSpan.FromSeconds(30));
            var stale = await a.AcquireAsync(Web, CancellationToken.None);
            var state = new RemediationState { Pool = Web.Pool, Endpoint = Web.Endpoint, Round = 7 };
            Assert.True(await a.SaveAsync(stale, state, CancellationToken.None));

            // A pauses past its TTL; B's attempts fail until the lease has expired in Redis.
            PoolLease taken = await b.AcquireAsync(Web, CancellationToken.None);
            var clock = Stopwatch.StartNew();
            while (!taken.Held && clock.Elapsed < TimeSpan.FromSeconds(10)) taken = await b.AcquireAsync(Web, CancellationToken.None);

            Assert.True(taken.Held, "B never got the lease");
            Assert.True(taken.Token > stale.Token);
            Assert.Equal(7, (await b.LoadAsync(Web, CancellationToken.None)).Round); // B continues where A stopped
            Assert.False(await a.IsCurrentAsync(stale, CancellationToken.None));
            Assert.False(await a.SaveAsync(stale, new RemediationState { Pool = Web.Pool, Endpoint = Web.Endpoint, Round = 99 }, CancellationToken.None));
            await a.ReleaseAsync(stale, CancellationToken.None); // releasing a lease that is not ours any more must not free B's
            Assert.True(await b.IsCurrentAsync(taken, CancellationToken.None));
            Assert.Equal(7, (await b.LoadAsync(Web, CancellationToken.None)).Round);
            Assert.False((await a.AcquireAsync(Web, CancellationToken.None)).Held); // nor renew it
        }

        [Fact]
        public async Task A_released_lease_is_free_at_once()
        {
            using var a = await Connect("host-a:1", TimeSpan.FromSeconds(30));
            using var b = await Connect("host-b:2", TimeSpan.FromSeconds(30));
            var lease = await a.AcquireAsync(Web, CancellationToken.None);

            await a.ReleaseAsync(lease, CancellationToken.None);

            Assert.True((await b.AcquireAsync(Web, CancellationToken.None)).Held);
        }

        [Fact]
        public async Task Invalid_state_in_Redis_is_refused_naming_the_key_and_left_as_it_is()
        {
            using var a = await Connect("host-a:1", TimeSpan.FromSeconds(30));
            string key = "lbtools:{" + Web.Endpoint + "|web}:state";
            Assert.Equal("+OK", await _redis.CommandAsync($"SET {key} '{{\"Version\":99,\"Pool\":\"web\",\"Endpoint\":\"{Web.Endpoint}\",\"Members\":{{}}}}'"));

            var ex = await Assert.ThrowsAsync<LbException>(() => a.LoadAsync(Web, CancellationToken.None));

            Assert.Equal(ErrorIds.StateFileInvalid, ex.ErrorId);
            Assert.Contains("schema version 99", ex.Message);
            Assert.Contains(key, ex.Message);
            Assert.Contains("\"Version\":99", await _redis.CommandAsync($"GET {key}"));
        }

        [Fact]
        public async Task An_unreachable_server_is_LbStateStoreUnavailable_and_answers_again_after_a_restart()
        {
            using var a = await Connect("host-a:1", TimeSpan.FromSeconds(30));
            Assert.True((await a.AcquireAsync(Web, CancellationToken.None)).Held);
            _redis.Stop();

            var ex = await Assert.ThrowsAsync<LbException>(() => a.AcquireAsync(Web, CancellationToken.None));

            Assert.Equal(ErrorIds.StateStoreUnavailable, ex.ErrorId);
            Assert.Contains(_redis.Url, ex.Message);
            await _redis.RestartAsync();
            PoolLease? again = null;
            await _redis.Process.WaitUntilAsync(async () =>
            {
                try { again = await a.AcquireAsync(Web, CancellationToken.None); return again.Held; }
                catch (LbException) { return false; }
            }, TimeSpan.FromSeconds(20), "the store to answer again");
        }
    }

    /// <summary>A Redis with a password: the credential is used, and the password never shows in an error.</summary>
    [Trait("Category", "RealRedis")]
    public sealed class RedisStateStoreCredentialTests : IAsyncLifetime
    {
        private const string Password = "s3cr3t-PASS-word";
        private RedisProcess _redis = null!;

        public async Task InitializeAsync() => _redis = await RedisProcess.StartAsync(Password);

        public async Task DisposeAsync() => await _redis.DisposeAsync();

        [Fact]
        public async Task The_password_authenticates_and_a_wrong_one_fails_without_showing_either()
        {
            var address = RedisStoreAddress.Parse(_redis.Url);
            using (var good = await RedisStateStore.ConnectAsync(address, new NetworkCredential("default", Password), "a", TimeSpan.FromSeconds(30)))
            {
                Assert.True((await good.AcquireAsync(new PoolKey("http://lb/", "web"), CancellationToken.None)).Held);
            }
            const string wrong = "wrong-PASS-word";
            using var bad = await RedisStateStore.ConnectAsync(address, new NetworkCredential("default", wrong), "b", TimeSpan.FromSeconds(30));

            var ex = await Assert.ThrowsAsync<LbException>(() => bad.AcquireAsync(new PoolKey("http://lb/", "web"), CancellationToken.None));

            Assert.Equal(ErrorIds.StateStoreUnavailable, ex.ErrorId);
            Assert.DoesNotContain(wrong, ex.ToString());
            Assert.DoesNotContain(Password, ex.ToString());
        }

        [Theory]
        [InlineData("redis://user:" + Password + "@127.0.0.1:6379/0")]
        [InlineData("rediss://:" + Password + "@127.0.0.1")]
        [InlineData("redis:/" + Password + "@x")]
        public void An_address_with_a_password_is_refused_without_echoing_it(string value)
        {
            var ex = Assert.Throws<LbException>(() => RedisStoreAddress.Parse(value));
            Assert.Equal(ErrorIds.InvalidStateStore, ex.ErrorId);
            Assert.DoesNotContain(Password, ex.Message);
        }

        [Theory]
        [InlineData("redis://cache.example:6380/3", "redis://cache.example:6380/3", false)]
        [InlineData("rediss://cache.example", "rediss://cache.example:6379/0", true)]
        [InlineData("redis://[::1]:7000", "redis://[::1]:7000/0", false)]
        public void Addresses_parse_to_host_port_database_and_TLS(string value, string shown, bool tls)
        {
            var address = RedisStoreAddress.Parse(value);
            Assert.Equal(shown, address.ToString());
            Assert.Equal(tls, address.Tls);
        }

        [Theory]
        [InlineData("redis://host/16", "0 to 15")]
        [InlineData("redis://host:6379/0?ssl=true", "options")]
        public void Bad_addresses_are_refused_naming_the_value(string value, string why)
        {
            var ex = Assert.Throws<LbException>(() => RedisStoreAddress.Parse(value));
            Assert.Contains(value, ex.Message);
            Assert.Contains(why, ex.Message);
        }
    }
}
