using System;
using System.Globalization;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using StackExchange.Redis;

namespace LoadBalancerTools.Services.Remediation.Stores
{
    /// <summary>
    /// State shared by several runners in Redis: one key per load balancer and pool holding the state as JSON, and
    /// per pool a lease (SET NX PX with the runner's id) carrying a fencing token from INCR. Renewal, release and
    /// every write check the lease in one Lua script, so a runner whose lease expired (paused, partitioned) can
    /// neither extend it nor overwrite the state of the runner that took over.
    /// </summary>
    public sealed class RedisStateStore : IRemediationStateStore
    {
        // Lease value: "<token>|<runner>". Acquire or renew in one step; the reply is {held, token, holder, ttl ms}.
        private const string AcquireScript = @"
local v = redis.call('GET', KEYS[1])
if not v then
  local t = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], t .. '|' .. ARGV[1], 'NX', 'PX', ARGV[2])
  return {1, t, ARGV[1], tonumber(ARGV[2])}
end
local sep = string.find(v, '|', 1, true)
local holder = string.sub(v, sep + 1)
local token = tonumber(string.sub(v, 1, sep - 1))
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, token, holder, tonumber(ARGV[2])}
end
return {0, token, holder, redis.call('PTTL', KEYS[1])}";

        private const string SaveScript = @"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2])
  return 1
end
return 0";

        private const string ReleaseScript = @"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

        private readonly ConnectionMultiplexer _redis;
        private readonly RedisStoreAddress _address;
        private readonly string _runner;
        private readonly TimeSpan _ttl;
        private readonly TimeProvider _time;
        private readonly string? _password;

        private RedisStateStore(ConnectionMultiplexer redis, RedisStoreAddress address, string runner, TimeSpan ttl, TimeProvider time, string? password)
        {
            _redis = redis;
            _address = address;
            _runner = runner;
            _ttl = ttl;
            _time = time;
            _password = password;
        }

        /// <summary>
        /// Connects without failing when Redis is down: a round then finds the store unreachable and changes nothing,
        /// and a later round connects again.
        /// </summary>
        public static Task<RedisStateStore> ConnectAsync(RedisStoreAddress address, NetworkCredential? credential, string runner, TimeSpan leaseTtl) =>
            ConnectAsync(address, credential, runner, leaseTtl, TimeProvider.System);

        public static async Task<RedisStateStore> ConnectAsync(RedisStoreAddress address, NetworkCredential? credential, string runner, TimeSpan leaseTtl, TimeProvider time)
        {
            if (runner.IndexOf('|') >= 0) throw new LbException(LbErrorKind.InvalidInput, $"-RunnerId '{runner}' must not contain '|'.") { ErrorId = ErrorIds.InvalidStateStore };
            var options = new ConfigurationOptions
            {
                AbortOnConnectFail = false,
                // A command on a lost connection fails at once instead of queueing: the round reports it and the next one tries again.
                BacklogPolicy = BacklogPolicy.FailFast,
                ConnectTimeout = 3000,
                SyncTimeout = 3000,
                AsyncTimeout = 3000,
                ConnectRetry = 1,
                ClientName = "LoadBalancerTools",
                DefaultDatabase = address.Database,
                Ssl = address.Tls,
                SslHost = address.Tls ? address.Host : null,
            };
            options.EndPoints.Add(address.Host, address.Port);
            string? password = null;
            if (credential != null)
            {
                password = credential.Password;
                options.Password = password;
                // Redis 6 ACL users; the built-in "default" user is the same as a password alone.
                if (!string.IsNullOrEmpty(credential.UserName) && credential.UserName != "default") options.User = credential.UserName;
            }
            var redis = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
            return new RedisStateStore(redis, address, runner, leaseTtl, time, password);
        }

        public string Description => _address.ToString();

        private static RedisKey Key(PoolKey pool, string kind) =>
            // One hash tag per pool keeps its keys on one Redis Cluster slot, as the scripts need.
            "lbtools:{" + pool.Endpoint.ToLowerInvariant() + "|" + pool.Pool + "}:" + kind;

        public async Task<PoolLease> AcquireAsync(PoolKey pool, CancellationToken ct)
        {
            var reply = (RedisResult[])(await Call(() => _redis.GetDatabase().ScriptEvaluateAsync(AcquireScript,
                new[] { Key(pool, "lease"), Key(pool, "fence") },
                new RedisValue[] { _runner, (long)_ttl.TotalMilliseconds })).ConfigureAwait(false))!;
            bool held = (long)reply[0] == 1;
            long ttl = (long)reply[3];
            return new PoolLease(pool, held, (long)reply[1], (string)reply[2]!, _time.GetUtcNow().AddMilliseconds(Math.Max(0, ttl)));
        }

        private string Value(PoolLease lease) => lease.Token.ToString(CultureInfo.InvariantCulture) + "|" + _runner;

        public async Task<bool> IsCurrentAsync(PoolLease lease, CancellationToken ct)
        {
            var value = await Call(() => _redis.GetDatabase().StringGetAsync(Key(lease.Pool, "lease"))).ConfigureAwait(false);
            return lease.Held && value == Value(lease);
        }

        public async Task ReleaseAsync(PoolLease lease, CancellationToken ct)
        {
            if (!lease.Held) return;
            await Call(() => _redis.GetDatabase().ScriptEvaluateAsync(ReleaseScript, new[] { Key(lease.Pool, "lease") }, new RedisValue[] { Value(lease) })).ConfigureAwait(false);
        }

        public async Task<RemediationState> LoadAsync(PoolKey pool, CancellationToken ct)
        {
            var key = Key(pool, "state");
            var text = await Call(() => _redis.GetDatabase().StringGetAsync(key)).ConfigureAwait(false);
            if (text.IsNull) return new RemediationState { Pool = pool.Pool, Endpoint = pool.Endpoint };
            return RemediationState.Parse(text!, $"state in Redis key '{key}' on {Description}", pool.Pool, pool.Endpoint);
        }

        public async Task<bool> SaveAsync(PoolLease lease, RemediationState state, CancellationToken ct)
        {
            if (!lease.Held) return false;
            var done = await Call(() => _redis.GetDatabase().ScriptEvaluateAsync(SaveScript,
                new[] { Key(lease.Pool, "lease"), Key(lease.Pool, "state") }, new RedisValue[] { Value(lease), state.ToJson() })).ConfigureAwait(false);
            return (long)done == 1;
        }

        /// <summary>
        /// Any Redis failure is one error id with one short sentence (unreachable, or the credentials refused); the
        /// client's own text (connection states, IOCP/worker counts) goes to -Debug only, cleaned of the password.
        /// </summary>
        private async Task<T> Call<T>(Func<Task<T>> command)
        {
            try
            {
                return await command().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException || ex is TimeoutException || ex is System.IO.IOException || ex is System.Net.Sockets.SocketException)
            {
                string detail = ex.ToString();
                if (!string.IsNullOrEmpty(_password)) detail = detail.Replace(_password, "***");
                bool refused = IsAuthenticationFailure(ex);
                var error = new LbException(refused ? LbErrorKind.AuthenticationFailed : LbErrorKind.Unreachable,
                    refused ? $"state store refused the credentials (authentication failed): {Description}" : $"state store {Description} unreachable")
                { ErrorId = ErrorIds.StateStoreUnavailable };
                error.Data[DetailKey] = detail;
                throw error;
            }
        }

        /// <summary>The key under which a store failure carries the client's cleaned text, for -Debug.</summary>
        public const string DetailKey = "LbStateStoreDetail";

        // A wrong password shows as the client's AuthenticationFailure (while connecting) or the server's NOAUTH/WRONGPASS reply.
        private static bool IsAuthenticationFailure(Exception ex)
        {
            if (ex is RedisConnectionException rce && rce.FailureType == ConnectionFailureType.AuthenticationFailure) return true;
            for (var e = ex; e != null; e = e.InnerException)
            {
                if (e.Message.IndexOf("NOAUTH", StringComparison.Ordinal) >= 0 || e.Message.IndexOf("WRONGPASS", StringComparison.Ordinal) >= 0
                    || e.Message.IndexOf("AuthenticationFailure", StringComparison.Ordinal) >= 0) return true;
            }
            return false;
        }

        public void Dispose() => _redis.Dispose();
    }
}
