using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace LoadBalancerTools.TestKit;

/// <summary>
/// Vendor-neutral fault injection for the emulators: queued one-shot faults, a seeded random 429/503 rate,
/// fixed added latency. Plug it in front of an emulator's handlers with <c>app.UseFaults(injector)</c>; the
/// emulator supplies <see cref="ErrorFormatter"/> so 401/429/503 bodies look like that vendor's errors.
/// All members are thread-safe.
/// </summary>
public sealed class FaultInjector
{
    private static readonly object InjectedKey = new();
    private static readonly int KindCount = Enum.GetValues<FaultKind>().Length;

    // Truncated mid-object on purpose: a JSON parser must fail, not read a partial document as valid.
    private const string MalformedJson = "{\"peers\":[{\"id\":0,\"server\":\"10.0.0.1:80\",\"state\":";

    private readonly object _gate = new();
    private readonly List<QueuedFault> _queue = new();
    private readonly Random _random;
    private readonly int[] _counts = new int[KindCount];
    private int _injected;
    private int _queuedCount; // read without the lock on the fast path
    private long _randomRateBits;
    private long _ambiguousRateBits;
    private int _nextAmbiguous;
    private long _latencyTicks;
    private long _slowDelayTicks = TimeSpan.FromSeconds(2).Ticks;
    private int _retryAfterSeconds = 1;
    private int _randomRetryAfterSeconds;
    private int _randomSelection;
    private bool _nextRandomIs503;
    private Func<int, string, string, (string contentType, string body)> _errorFormatter;
    private string? _unauthorizedChallenge;
    private int _concurrencyLimit;
    private int _inFlight;
    private int _overLimit;

    /// <param name="seed">Seed of the random source behind <see cref="RandomFaultRate"/>, so runs repeat.</param>
    /// <param name="errorFormatter">(status, text, code) → (content type, body); null means <see cref="DefaultErrorFormatter"/>.</param>
    public FaultInjector(int seed = 0, Func<int, string, string, (string contentType, string body)>? errorFormatter = null)
    {
        _random = new Random(seed);
        _errorFormatter = errorFormatter ?? DefaultErrorFormatter;
    }

    /// <summary>A plain <c>{"status":N,"text":"…","code":"…"}</c> body, for emulators that do not set their own.</summary>
    public static (string contentType, string body) DefaultErrorFormatter(int status, string text, string code)
    {
        return ("application/json",
            "{\"status\":" + status.ToString(CultureInfo.InvariantCulture) + ",\"text\":\"" + Escape(text) +
            "\",\"code\":\"" + Escape(code) + "\"}");

        static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
    }

    /// <summary>Builds the body of injected 401/429/503 answers in the vendor's error format.</summary>
    public Func<int, string, string, (string contentType, string body)> ErrorFormatter
    {
        get => Volatile.Read(ref _errorFormatter);
        set => Volatile.Write(ref _errorFormatter, value ?? throw new ArgumentNullException(nameof(value)));
    }

    /// <summary>WWW-Authenticate value sent with an injected 401; null sends none.</summary>
    public string? UnauthorizedChallenge
    {
        get => Volatile.Read(ref _unauthorizedChallenge);
        set => Volatile.Write(ref _unauthorizedChallenge, value);
    }

    /// <summary>Fraction (0..1) of requests answered 429 or 503 at random, after any queued fault.</summary>
    public double RandomFaultRate
    {
        get => BitConverter.Int64BitsToDouble(Interlocked.Read(ref _randomRateBits));
        set
        {
            if (double.IsNaN(value) || value < 0 || value > 1)
                throw new ArgumentOutOfRangeException(nameof(value), value, "The rate is a fraction between 0 and 1.");
            Interlocked.Exchange(ref _randomRateBits, BitConverter.DoubleToInt64Bits(value));
        }
    }

    /// <summary>
    /// Fraction (0..1) of writes (POST, PUT, PATCH, DELETE) that are applied and then answered with 500, 502,
    /// 503 or a dropped connection, chosen in turn: the ambiguous failures a client must resolve by reading.
    /// Checked after queued faults, before <see cref="RandomFaultRate"/>.
    /// </summary>
    public double AmbiguousWriteRate
    {
        get => BitConverter.Int64BitsToDouble(Interlocked.Read(ref _ambiguousRateBits));
        set
        {
            if (double.IsNaN(value) || value < 0 || value > 1)
                throw new ArgumentOutOfRangeException(nameof(value), value, "The rate is a fraction between 0 and 1.");
            Interlocked.Exchange(ref _ambiguousRateBits, BitConverter.DoubleToInt64Bits(value));
        }
    }

    /// <summary>How random faults choose between 429 and 503.</summary>
    public RandomFaultSelection RandomFaultSelection
    {
        get => (RandomFaultSelection)Volatile.Read(ref _randomSelection);
        set => Volatile.Write(ref _randomSelection, (int)value);
    }

    /// <summary>Retry-After on random 429s. Defaults to 0 so benchmarks measure retries, not sleeps.</summary>
    public int RandomFaultRetryAfterSeconds
    {
        get => Volatile.Read(ref _randomRetryAfterSeconds);
        set => Volatile.Write(ref _randomRetryAfterSeconds, NonNegative(value));
    }

    /// <summary>Retry-After on queued <see cref="FaultKind.TooManyRequests"/> answers (default 1).</summary>
    public int RetryAfterSeconds
    {
        get => Volatile.Read(ref _retryAfterSeconds);
        set => Volatile.Write(ref _retryAfterSeconds, NonNegative(value));
    }

    /// <summary>Delay added to every request before anything else happens.</summary>
    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks));
        set => Interlocked.Exchange(ref _latencyTicks, NonNegative(value).Ticks);
    }

    /// <summary>How long <see cref="FaultKind.Slow"/> waits before processing (default 2 s).</summary>
    public TimeSpan SlowDelay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _slowDelayTicks));
        set => Interlocked.Exchange(ref _slowDelayTicks, NonNegative(value).Ticks);
    }

    /// <summary>
    /// A hidden capacity: a request arriving while this many are already being served is refused at once with
    /// 503, as nginx's limit_conn does (ngx_http_limit_conn_module: "limit_conn_status code; Default: 503").
    /// 0 (the default) for no limit.
    /// </summary>
    public int ConcurrencyLimit
    {
        get => Volatile.Read(ref _concurrencyLimit);
        set => Volatile.Write(ref _concurrencyLimit, NonNegative(value));
    }

    /// <summary>Requests refused by <see cref="ConcurrencyLimit"/> so far.</summary>
    public int OverLimitCount => Volatile.Read(ref _overLimit);

    /// <summary>Faults injected so far, all kinds together (random ones included).</summary>
    public int InjectedCount => Volatile.Read(ref _injected);

    /// <summary>Queued faults not yet consumed (sum of remaining counts).</summary>
    public int PendingCount => Volatile.Read(ref _queuedCount);

    /// <summary>Faults of one kind injected so far.</summary>
    public int CountOf(FaultKind kind) => Volatile.Read(ref _counts[(int)kind]);

    /// <summary>Snapshot of the per-kind counters.</summary>
    public IReadOnlyDictionary<FaultKind, int> InjectedByKind
    {
        get
        {
            var result = new Dictionary<FaultKind, int>(KindCount);
            foreach (FaultKind kind in Enum.GetValues<FaultKind>())
                result[kind] = CountOf(kind);
            return result;
        }
    }

    /// <summary>
    /// The next <paramref name="count"/> requests that satisfy <paramref name="when"/> (all requests if null)
    /// get <paramref name="kind"/>. Queued faults are consumed first-in first-out: a request takes the oldest
    /// entry whose filter it matches.
    /// </summary>
    public void Enqueue(FaultKind kind, int count = 1, Func<HttpRequest, bool>? when = null)
    {
        if (!Enum.IsDefined(kind)) throw new ArgumentOutOfRangeException(nameof(kind));
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "At least one request.");
        lock (_gate)
        {
            _queue.Add(new QueuedFault(kind, count, when));
            _queuedCount += count;
        }
    }

    /// <summary>Drops queued faults, zeroes the counters and turns random faults and latency off.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _queue.Clear();
            _queuedCount = 0;
            _injected = 0;
            Array.Clear(_counts);
            _nextRandomIs503 = false;
        }
        RandomFaultRate = 0;
        AmbiguousWriteRate = 0;
        Latency = TimeSpan.Zero;
        ConcurrencyLimit = 0;
    }

    /// <summary>The fault injected into this request, if any (lets request logs tell a dropped request apart).</summary>
    public static FaultKind? GetInjectedFault(HttpContext context) =>
        context.Items.TryGetValue(InjectedKey, out var value) && value is FaultKind kind ? kind : null;

    /// <summary>The middleware body: apply latency, pick a fault (or none), act on it, call <paramref name="next"/> when the request should be processed.</summary>
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var aborted = context.RequestAborted;
        int inFlight = Interlocked.Increment(ref _inFlight);
        try
        {
            int limit = ConcurrencyLimit;
            if (limit > 0 && inFlight > limit)
            {
                Interlocked.Increment(ref _overLimit);
                await WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "too many connections", "ServiceUnavailable").ConfigureAwait(false);
                return;
            }
            var latency = Latency;
            if (latency > TimeSpan.Zero)
                await Task.Delay(latency, aborted).ConfigureAwait(false);

            var decision = Decide(context.Request);
            if (decision is not { } fault)
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            context.Items[InjectedKey] = fault.Kind;
            switch (fault.Kind)
            {
                case FaultKind.TooManyRequests:
                    context.Response.Headers.RetryAfter = fault.RetryAfter.ToString(CultureInfo.InvariantCulture);
                    await WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, "too many requests", "TooManyRequests").ConfigureAwait(false);
                    break;

                case FaultKind.ServiceUnavailable:
                    await WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "service unavailable", "ServiceUnavailable").ConfigureAwait(false);
                    break;

                case FaultKind.Unauthorized:
                    if (UnauthorizedChallenge is { } challenge)
                        context.Response.Headers.WWWAuthenticate = challenge;
                    await WriteErrorAsync(context, StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized").ConfigureAwait(false);
                    break;

                case FaultKind.Slow:
                    await Task.Delay(SlowDelay, aborted).ConfigureAwait(false);
                    await next(context).ConfigureAwait(false);
                    break;

                case FaultKind.DropConnection:
                    context.Abort();
                    break;

                case FaultKind.DropAfterProcessing:
                    await RunThenDropAsync(context, next).ConfigureAwait(false);
                    break;

                case FaultKind.NotFound:
                    await WriteErrorAsync(context, StatusCodes.Status404NotFound, "not found", "NotFound").ConfigureAwait(false);
                    break;

                case FaultKind.ApplyThen500:
                case FaultKind.ApplyThen502:
                case FaultKind.ApplyThen503:
                    await RunThenFailAsync(context, next, fault.Kind == FaultKind.ApplyThen500 ? 500 : fault.Kind == FaultKind.ApplyThen502 ? 502 : 503).ConfigureAwait(false);
                    break;

                case FaultKind.MalformedBody:
                    context.Response.StatusCode = StatusCodes.Status200OK;
                    context.Response.ContentType = "application/json";
                    await context.Response.WriteAsync(MalformedJson, aborted).ConfigureAwait(false);
                    break;
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client gave up during a delay (its own timeout); there is nobody left to answer.
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static async Task RunThenDropAsync(HttpContext context, RequestDelegate next)
    {
        // Buffer the handler's output so no status line or header reaches the wire before the abort.
        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            context.Abort();
            context.Response.Body = original;
        }
    }

    private async Task RunThenFailAsync(HttpContext context, RequestDelegate next, int status)
    {
        // The handler's answer is buffered and thrown away: the change stands, the client hears an error.
        var original = context.Response.Body;
        using (var buffer = new MemoryStream())
        {
            context.Response.Body = buffer;
            try
            {
                await next(context).ConfigureAwait(false);
            }
            finally
            {
                context.Response.Body = original;
            }
        }
        context.Response.Headers.Clear();
        await WriteErrorAsync(context, status, status == 502 ? "bad gateway" : status == 503 ? "service unavailable" : "internal server error",
            status == 502 ? "BadGateway" : status == 503 ? "ServiceUnavailable" : "InternalServerError").ConfigureAwait(false);
    }

    private async Task WriteErrorAsync(HttpContext context, int status, string text, string code)
    {
        var (contentType, body) = ErrorFormatter(status, text, code);
        var bytes = Encoding.UTF8.GetBytes(body);
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    private (FaultKind Kind, int RetryAfter)? Decide(HttpRequest request)
    {
        var rate = RandomFaultRate;
        var ambiguous = AmbiguousWriteRate;
        if (Volatile.Read(ref _queuedCount) == 0 && rate <= 0 && ambiguous <= 0)
            return null; // fast path: no lock when nothing is configured

        lock (_gate)
        {
            for (var i = 0; i < _queue.Count; i++)
            {
                var entry = _queue[i];
                if (entry.When is not null && !entry.When(request))
                    continue;
                entry.Remaining--;
                _queuedCount--;
                if (entry.Remaining == 0)
                    _queue.RemoveAt(i);
                Count(entry.Kind);
                return (entry.Kind, RetryAfterSeconds);
            }

            if (ambiguous > 0 && !HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && _random.NextDouble() < ambiguous)
            {
                var kind = (_nextAmbiguous++ % 4) switch
                {
                    0 => FaultKind.ApplyThen500,
                    1 => FaultKind.ApplyThen502,
                    2 => FaultKind.ApplyThen503,
                    _ => FaultKind.DropAfterProcessing,
                };
                Count(kind);
                return (kind, 0);
            }

            if (rate > 0 && _random.NextDouble() < rate)
            {
                bool is503;
                if (RandomFaultSelection == RandomFaultSelection.Alternate)
                {
                    is503 = _nextRandomIs503;
                    _nextRandomIs503 = !_nextRandomIs503;
                }
                else
                {
                    is503 = _random.Next(2) == 1;
                }
                var kind = is503 ? FaultKind.ServiceUnavailable : FaultKind.TooManyRequests;
                Count(kind);
                return (kind, RandomFaultRetryAfterSeconds);
            }
        }
        return null;
    }

    private void Count(FaultKind kind)
    {
        // Called under _gate; Interlocked keeps the lock-free readers' view consistent.
        Interlocked.Increment(ref _counts[(int)kind]);
        Interlocked.Increment(ref _injected);
    }

    private static int NonNegative(int value) =>
        value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must not be negative.");

    private static TimeSpan NonNegative(TimeSpan value) =>
        value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Must not be negative.");

    private sealed class QueuedFault(FaultKind kind, int remaining, Func<HttpRequest, bool>? when)
    {
        public FaultKind Kind { get; } = kind;
        public int Remaining { get; set; } = remaining;
        public Func<HttpRequest, bool>? When { get; } = when;
    }
}
