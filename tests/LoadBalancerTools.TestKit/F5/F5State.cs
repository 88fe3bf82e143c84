using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace LoadBalancerTools.TestKit;

/// <summary>One request as the emulator's handler sees it, after the URI has been decoded.</summary>
internal sealed record F5Request(
    string Method, IReadOnlyList<string> Path, IReadOnlyDictionary<string, string> Query, JsonNode? Body,
    string? Token, string? BasicAuthorization, string? CoordinationId, string RawPath);

internal sealed class F5User(string name, string password, bool remote)
{
    public string Name { get; } = name;
    public string Password { get; } = password;
    public bool Remote { get; } = remote;
    /// <summary>BIG-IP names users by a UUID in its token-cap message.</summary>
    public string Id { get; } = new Guid(MD5.HashData(Encoding.UTF8.GetBytes(name))).ToString();
}

internal sealed class F5Token
{
    public required string Value { get; init; }
    public required F5User User { get; init; }
    public required DateTimeOffset Start { get; init; }
    public int TimeoutSeconds { get; set; }
    public bool Deleted { get; set; }
    public bool ForcedExpired { get; set; }
    public bool IsLive(DateTimeOffset now) => !Deleted && !ForcedExpired && now < Start.AddSeconds(TimeoutSeconds);
}

internal sealed class F5Transaction
{
    public required long Id { get; init; }
    public required F5User Owner { get; init; }
    public string State { get; set; } = "STARTED";
    public string FailureReason { get; set; } = "";
    public List<(string Method, string[] Path, JsonNode? Body)> Commands { get; } = new();
}

/// <summary>
/// Everything behind the emulator's HTTP surface, under one lock: users and tokens, the LTM
/// configuration, transactions, and the faults that are part of the device's own behaviour
/// (token expiry, the token cap, "active asynchronous task" refusals).
/// </summary>
internal sealed class F5State(F5EmulatorOptions options)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, F5User> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, F5Token> _tokens = new(StringComparer.Ordinal);
    private readonly Dictionary<long, F5Transaction> _transactions = new();
    private F5Config _config = new();
    private long _nextTransaction = 1_700_000_000_000_000;
    private int _expireCountdown = -1;
    private string? _expireAtMethod;
    private string? _expirePendingMethod;
    private int _busyWrites;
    private int _busyStatus = 400;
    private long _operationId = 1000;

    public int LoginCount { get; private set; }
    public int FailedLoginCount { get; private set; }
    public int TokenExtensionCount { get; private set; }
    public int LogoutCount { get; private set; }
    public int RejectedTokenCount { get; private set; }
    public int BasicAuthCount { get; private set; }
    public int CommittedTransactions { get; private set; }
    public int FailedTransactions { get; private set; }

    public T Read<T>(Func<F5Config, T> read)
    {
        lock (_gate) return read(_config);
    }

    public void Write(Action<F5Config> write)
    {
        lock (_gate) write(_config);
    }

    public void AddUser(string name, string password, bool remote)
    {
        lock (_gate) _users[name] = new F5User(name, password, remote);
    }

    public int LiveTokens(string? user)
    {
        var now = options.TimeProvider.GetUtcNow();
        lock (_gate) return _tokens.Values.Count(t => t.IsLive(now) && (user is null || t.User.Name == user));
    }

    public IReadOnlyList<(string User, int TimeoutSeconds)> LiveTokenDetails()
    {
        var now = options.TimeProvider.GetUtcNow();
        lock (_gate) return _tokens.Values.Where(t => t.IsLive(now)).Select(t => (t.User.Name, t.TimeoutSeconds)).ToList();
    }

    public IReadOnlyList<string> IssuedTokens()
    {
        lock (_gate) return _tokens.Keys.ToList();
    }

    public void ExpireAllTokens()
    {
        lock (_gate)
        {
            ExpireAll();
            _expireCountdown = -1;
            _expirePendingMethod = null;
        }
    }

    public void ExpireTokensAfter(int requests, string? atMethod)
    {
        if (requests < 0) throw new ArgumentOutOfRangeException(nameof(requests));
        lock (_gate)
        {
            _expireCountdown = requests;
            _expireAtMethod = atMethod?.ToUpperInvariant();
            _expirePendingMethod = null;
            if (requests == 0) ExpireNowOrPend();
        }
    }

    private void ExpireNowOrPend()
    {
        _expireCountdown = -1;
        if (_expireAtMethod is null) ExpireAll();
        else _expirePendingMethod = _expireAtMethod;
    }

    private void ExpireAll()
    {
        foreach (var t in _tokens.Values) t.ForcedExpired = true;
    }

    /// <summary>Tokens held by someone else (other tools of the same user), for the token cap.</summary>
    public void IssueTokens(string user, int count)
    {
        lock (_gate)
        {
            var u = _users[user];
            for (var i = 0; i < count; i++) NewToken(u);
        }
    }

    public void BusyFor(int writes, int status)
    {
        lock (_gate)
        {
            _busyWrites = writes;
            _busyStatus = status;
        }
    }

    public F5Result Handle(F5Request request)
    {
        lock (_gate)
        {
            var path = request.Path;
            if (Is(path, "shared", "authn", "login"))
                return request.Method == "POST" ? Login(request) : F5Result.Error(405, "Method not allowed on /mgmt/shared/authn/login.", 1);

            if (_expirePendingMethod is not null && request.Method == _expirePendingMethod && request.Token is not null)
            {
                // Expire just before this request, so it is the one that meets the 401.
                _expirePendingMethod = null;
                ExpireAll();
            }
            var (user, denied) = Authenticate(request);
            if (user is null) return denied!;
            // This request was accepted; the tokens die after it (or before the next request of the chosen method).
            if (_expireCountdown > 0 && --_expireCountdown == 0) ExpireNowOrPend();

            if (path.Count == 4 && Is(path.Take(3).ToList(), "shared", "authz", "tokens")) return TokenCall(request, user, path[3]);
            if (Is(path, "tm", "sys", "version"))
                return request.Method == "GET" ? F5Result.Ok(Version()) : F5Result.Error(405, "Method not allowed.", 1);
            if (path.Count >= 2 && path[0] == "tm" && path[1] == "transaction") return TransactionCall(request, user);
            if (Is(path, "tm", "cm") && request.Method == "POST") return ConfigSync(request);
            if (path.Count >= 2 && path[0] == "tm" && path[1] == "ltm")
            {
                var ltmPath = path.Skip(2).ToArray();
                if (request.CoordinationId is not null) return Queue(request, user, ltmPath);
                if (request.Method != "GET" && _busyWrites > 0)
                {
                    _busyWrites--;
                    return F5Result.Error(_busyStatus, "There is an active asynchronous task executing.", 32);
                }
                return F5Ltm.Dispatch(_config, options, request.Method, ltmPath, request.Query, request.Body);
            }
            return F5Result.Error(404, $"URI path {request.RawPath} not registered.  Please verify URI is supported and wait for /available suffix to be responsive.", 1);
        }
    }

    // ---- config sync ----

    /// <summary>Config-sync requests accepted, by device group, in order.</summary>
    public List<string> ConfigSyncs { get; } = new();

    /// <summary>
    /// POST /mgmt/tm/cm {"command":"run","utilCmdArgs":"config-sync to-group NAME"} (tmsh "run cm config-sync
    /// to-group", as f5-ansible's bigip_configsync_action sends it); an unknown group is refused.
    /// </summary>
    private F5Result ConfigSync(F5Request request)
    {
        var o = request.Body as JsonObject;
        string? command = o?["command"]?.GetValue<string>();
        string? args = o?["utilCmdArgs"]?.GetValue<string>();
        const string prefix = "config-sync to-group ";
        if (command != "run" || args is null || !args.StartsWith(prefix, StringComparison.Ordinal))
            return F5Result.Error(400, "One or more configuration identifiers must be provided.", 1);
        string group = args.Substring(prefix.Length).Trim();
        if (!DeviceGroups.Contains(group)) return F5Result.Error(400, $"01070712:3: Values (/Common/{group}) specified for device group: not found.");
        ConfigSyncs.Add(group);
        return F5Result.Ok(new JsonObject { ["kind"] = "tm:cm:runstate", ["command"] = "run", ["utilCmdArgs"] = args });
    }

    public HashSet<string> DeviceGroups { get; } = new(StringComparer.Ordinal);

    // ---- auth ----

    private F5Result Login(F5Request request)
    {
        if (!options.TokenLoginAvailable)
            return F5Result.Error(404, "URI path /mgmt/shared/authn/login not registered.  Please verify URI is supported and wait for /available suffix to be responsive.", 1);
        var body = request.Body as JsonObject;
        var name = body is null ? null : F5Ltm.Str(body, "username");
        var password = body is null ? null : F5Ltm.Str(body, "password");
        var provider = body is null ? null : F5Ltm.Str(body, "loginProviderName");
        if (provider is not null && provider != "tmos")
            return F5Result.Error(400, $"loginProviderName {provider} not found.", 1);
        if (name is null || !_users.TryGetValue(name, out var user) || !FixedEquals(user.Password, password ?? ""))
        {
            FailedLoginCount++;
            // BIG-IP echoes the request body without the password.
            return new F5Result(401, new JsonObject
            {
                ["code"] = 401,
                ["message"] = "Authentication failed.",
                ["originalRequestBody"] = new JsonObject { ["username"] = name, ["loginProviderName"] = provider, ["generation"] = 0, ["lastUpdateMicros"] = 0 }.ToJsonString(),
                ["referer"] = "127.0.0.1",
                ["restOperationId"] = ++_operationId,
                ["errorStack"] = new JsonArray(),
                ["kind"] = ":resterrorresponse",
            });
        }
        var now = options.TimeProvider.GetUtcNow();
        if (_tokens.Values.Count(t => t.User == user && t.IsLive(now)) >= options.MaxTokensPerUser)
            return F5Result.Error(400, $"user {user.Id} has reached maximum active login tokens", 1);

        var token = NewToken(user);
        LoginCount++;
        return F5Result.Ok(new JsonObject
        {
            ["username"] = user.Name,
            ["loginReference"] = new JsonObject { ["link"] = "https://localhost/mgmt/cm/system/authn/providers/tmos/1f44a60e-11a7-3c51-a49f-82983026b41b/login" },
            ["loginProviderName"] = "tmos",
            ["token"] = TokenJson(token),
            ["generation"] = 0,
            ["lastUpdateMicros"] = 0,
        });
    }

    private F5Token NewToken(F5User user)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var value = string.Create(26, 0, (span, _) =>
        {
            Span<byte> bytes = stackalloc byte[26];
            RandomNumberGenerator.Fill(bytes);
            for (var i = 0; i < span.Length; i++) span[i] = alphabet[bytes[i] % alphabet.Length];
        });
        var token = new F5Token { Value = value, User = user, Start = options.TimeProvider.GetUtcNow(), TimeoutSeconds = options.DefaultTokenTimeoutSeconds };
        _tokens[value] = token;
        return token;
    }

    private (F5User? User, F5Result? Denied) Authenticate(F5Request request)
    {
        var now = options.TimeProvider.GetUtcNow();
        if (request.Token is not null)
        {
            if (_tokens.TryGetValue(request.Token, out var token) && token.IsLive(now)) return (token.User, null);
            RejectedTokenCount++;
            return (null, Unauthorized("X-F5-Auth-Token does not exist."));
        }
        if (request.BasicAuthorization is not null)
        {
            string decoded;
            try
            {
                decoded = Encoding.UTF8.GetString(Convert.FromBase64String(request.BasicAuthorization));
            }
            catch (FormatException)
            {
                return (null, Unauthorized("Authentication failed."));
            }
            var colon = decoded.IndexOf(':');
            var name = colon < 0 ? decoded : decoded[..colon];
            var password = colon < 0 ? "" : decoded[(colon + 1)..];
            // Basic authentication is for local users only; remote (LDAP, RADIUS, TACACS+) users need a token.
            if (options.AllowBasicAuth && _users.TryGetValue(name, out var user) && !user.Remote && FixedEquals(user.Password, password))
            {
                BasicAuthCount++;
                return (user, null);
            }
            return (null, Unauthorized("Authentication failed."));
        }
        return (null, Unauthorized($"Authorization failed: no user authentication header or token detected. Uri:http://localhost:8100{request.RawPath} Referrer:127.0.0.1 Sender:127.0.0.1"));
    }

    private F5Result Unauthorized(string message) => new(401, new JsonObject
    {
        ["code"] = 401,
        ["message"] = message,
        ["referer"] = "127.0.0.1",
        ["restOperationId"] = ++_operationId,
        ["kind"] = ":resterrorresponse",
    });

    private F5Result TokenCall(F5Request request, F5User user, string value)
    {
        var now = options.TimeProvider.GetUtcNow();
        if (!_tokens.TryGetValue(value, out var token) || token.Deleted || (!token.IsLive(now) && request.Method != "DELETE"))
            return F5Result.Error(404, $"Token {value} not found.", 1);
        if (token.User != user) return F5Result.Error(403, "Operation is not authorized for this user.", 1);
        switch (request.Method)
        {
            case "GET":
                return F5Result.Ok(TokenJson(token));
            case "DELETE":
                token.Deleted = true;
                LogoutCount++;
                return F5Result.Ok(TokenJson(token));
            case "PATCH":
                if (request.Body is not JsonObject o || o["timeout"] is not JsonValue v || !v.TryGetValue(out int timeout))
                    return F5Result.Error(400, "A numeric \"timeout\" is required.", 1);
                if (timeout > options.MaxTokenTimeoutSeconds)
                    return F5Result.Error(406, $"Timeout {timeout} is greater than the maximum of {options.MaxTokenTimeoutSeconds} seconds.", 1);
                if (timeout < 1) return F5Result.Error(400, "Timeout must be positive.", 1);
                token.TimeoutSeconds = timeout;
                TokenExtensionCount++;
                return F5Result.Ok(TokenJson(token));
            default:
                return F5Result.Error(405, "Method not allowed on tokens.", 1);
        }
    }

    private static JsonObject TokenJson(F5Token t) => new()
    {
        ["token"] = t.Value,
        ["name"] = t.Value,
        ["userName"] = t.User.Name,
        ["authProviderName"] = "tmos",
        ["user"] = new JsonObject { ["link"] = "https://localhost/mgmt/shared/authz/users/" + t.User.Name },
        ["groupReferences"] = new JsonArray(),
        ["timeout"] = t.TimeoutSeconds,
        ["startTime"] = t.Start.ToString("yyyy-MM-dd'T'HH:mm:ss.fffK", CultureInfo.InvariantCulture),
        ["address"] = "127.0.0.1",
        ["partition"] = "[All]",
        ["generation"] = 1,
        ["lastUpdateMicros"] = t.Start.ToUnixTimeMilliseconds() * 1000,
        ["expirationMicros"] = t.Start.AddSeconds(t.TimeoutSeconds).ToUnixTimeMilliseconds() * 1000,
        ["kind"] = "shared:authz:tokens:authtokenitemstate",
        ["selfLink"] = "https://localhost/mgmt/shared/authz/tokens/" + t.Value,
    };

    private JsonObject Version() => new()
    {
        ["kind"] = "tm:sys:version:versionstats",
        ["selfLink"] = "https://localhost/mgmt/tm/sys/version?ver=" + options.Version,
        ["entries"] = new JsonObject
        {
            ["https://localhost/mgmt/tm/sys/version/0"] = new JsonObject
            {
                ["nestedStats"] = new JsonObject
                {
                    ["entries"] = new JsonObject
                    {
                        ["Build"] = new JsonObject { ["description"] = "0.0.4" },
                        ["Date"] = new JsonObject { ["description"] = "Fri Mar  1 12:00:00 PST 2024" },
                        ["Edition"] = new JsonObject { ["description"] = "Point Release 1" },
                        ["Product"] = new JsonObject { ["description"] = "BIG-IP" },
                        ["Title"] = new JsonObject { ["description"] = "Main Package" },
                        ["Version"] = new JsonObject { ["description"] = options.Version },
                    },
                },
            },
        },
    };

    // ---- transactions ----

    private F5Result TransactionCall(F5Request request, F5User user)
    {
        var path = request.Path;
        if (path.Count == 2)
        {
            if (request.Method != "POST") return F5Result.Error(405, "Method not allowed on /mgmt/tm/transaction.", 1);
            var tx = new F5Transaction { Id = ++_nextTransaction, Owner = user };
            _transactions[tx.Id] = tx;
            return F5Result.Ok(TransactionJson(tx));
        }
        if (!long.TryParse(path[2], NumberStyles.None, CultureInfo.InvariantCulture, out var id) || !_transactions.TryGetValue(id, out var t) || t.Owner != user)
            return F5Result.Error(404, $"Transaction with ID {path[2]} not found.", 1);

        if (path.Count == 4 && path[3] == "commands" && request.Method == "GET")
        {
            return F5Result.Ok(F5Ltm.Collection("tm:transaction:commands:commandscollectionstate", $"https://localhost/mgmt/tm/transaction/{id}/commands",
                t.Commands.Select((c, i) => (JsonNode)new JsonObject
                {
                    ["method"] = c.Method,
                    ["uri"] = "https://localhost/mgmt/tm/ltm/" + string.Join('/', c.Path),
                    ["body"] = c.Body?.DeepClone(),
                    ["evalOrder"] = i + 1,
                    ["commandId"] = i + 1,
                })));
        }
        if (path.Count != 3) return F5Result.Error(404, $"URI path {request.RawPath} not registered.", 1);

        switch (request.Method)
        {
            case "GET":
                return F5Result.Ok(TransactionJson(t));
            case "DELETE":
                _transactions.Remove(id);
                return F5Result.Ok(null);
            case "PATCH":
                if (request.Body is not JsonObject o || F5Ltm.Str(o, "state") != "VALIDATING")
                    return F5Result.Error(400, "Only {\"state\":\"VALIDATING\"} commits a transaction.", 1);
                return Commit(t);
            default:
                return F5Result.Error(405, "Method not allowed on a transaction.", 1);
        }
    }

    private F5Result Queue(F5Request request, F5User user, string[] ltmPath)
    {
        if (!long.TryParse(request.CoordinationId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || !_transactions.TryGetValue(id, out var tx) || tx.Owner != user)
            return F5Result.Error(404, $"Transaction with ID {request.CoordinationId} not found.", 1);
        if (tx.State != "STARTED")
            return F5Result.Error(400, $"Transaction {id} is {tx.State}; commands can only be added while it is STARTED.", 1);
        if (request.Method == "GET")
            return F5Result.Error(400, "Reads cannot be part of a transaction.", 1);
        tx.Commands.Add((request.Method, ltmPath, request.Body?.DeepClone()));
        // A queued command is answered without being applied; the commit applies it.
        var echo = request.Body?.DeepClone() as JsonObject ?? new JsonObject();
        echo["transId"] = id;
        echo["evalOrder"] = tx.Commands.Count;
        return F5Result.Ok(echo);
    }

    /// <summary>Applies every queued command to a copy; the copy replaces the configuration only when all succeed.</summary>
    private F5Result Commit(F5Transaction tx)
    {
        if (tx.State != "STARTED") return F5Result.Error(400, $"Transaction {tx.Id} is {tx.State}.", 1);
        if (tx.Commands.Count == 0) return F5Result.Error(400, $"Transaction {tx.Id} has no commands to commit.", 1);
        tx.State = "VALIDATING";
        var copy = _config.Clone();
        var none = new Dictionary<string, string>();
        foreach (var (method, path, body) in tx.Commands)
        {
            var result = F5Ltm.Dispatch(copy, options, method, path, none, body);
            if (!result.IsSuccess)
            {
                tx.State = "FAILED";
                tx.FailureReason = result.Message ?? $"HTTP {result.Status}";
                FailedTransactions++;
                return F5Result.Error(400, "transaction failed:" + tx.FailureReason, 2);
            }
        }
        _config = copy;
        tx.State = "COMPLETED";
        CommittedTransactions++;
        return F5Result.Ok(TransactionJson(tx));
    }

    private static JsonObject TransactionJson(F5Transaction t) => new()
    {
        ["transId"] = t.Id,
        ["state"] = t.State,
        ["timeoutSeconds"] = 120,
        ["asyncExecution"] = false,
        ["validateOnly"] = false,
        ["executionTimeout"] = 300,
        ["executionTime"] = 0,
        ["failureReason"] = t.FailureReason,
        ["kind"] = "tm:transactionstate",
        ["selfLink"] = $"https://localhost/mgmt/tm/transaction/{t.Id}?ver=17.1.1",
    };

    private static bool Is(IReadOnlyList<string> path, params string[] expected) => path.Count == expected.Length && path.SequenceEqual(expected, StringComparer.Ordinal);

    private static bool FixedEquals(string expected, string actual) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(actual));
}
