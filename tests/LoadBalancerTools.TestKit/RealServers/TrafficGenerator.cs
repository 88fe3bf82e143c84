using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace LoadBalancerTools.TestKit.RealServers;

/// <summary>Counts since the last reset: what clients of the load balancer saw.</summary>
public sealed class TrafficStats
{
    internal TrafficStats(long successes, long failures, IReadOnlyDictionary<string, long> hitsByBackend, IReadOnlyList<string> failureMessages, TimeSpan elapsed, bool running)
    {
        Successes = successes;
        Failures = failures;
        HitsByBackend = hitsByBackend;
        FailureMessages = failureMessages;
        Elapsed = elapsed;
        IsRunning = running;
    }

    public long Total => Successes + Failures;

    public long Successes { get; }

    /// <summary>Non-2xx answers and exceptions (refused, reset, timeout).</summary>
    public long Failures { get; }

    /// <summary>Successful requests per backend name (X-Backend header, else the body).</summary>
    public IReadOnlyDictionary<string, long> HitsByBackend { get; }

    /// <summary>The first few failures, for assertion messages.</summary>
    public IReadOnlyList<string> FailureMessages { get; }

    /// <summary>Time since the generator started or the counters were last reset.</summary>
    public TimeSpan Elapsed { get; }

    public bool IsRunning { get; }

    public long HitsFor(string backend) => HitsByBackend.TryGetValue(backend, out var hits) ? hits : 0;

    public override string ToString()
    {
        var hits = string.Join(", ", HitsByBackend.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
        var text = $"{Total} requests in {Elapsed.TotalSeconds:0.0} s: {Successes} ok, {Failures} failed; hits [{hits}]";
        return FailureMessages.Count == 0 ? text : text + "; first failures: " + string.Join(" | ", FailureMessages);
    }
}

/// <summary>
/// Steady client traffic through a load balancer, so a test can assert what users would have seen
/// while pools change. Bounded by a duration and a request count so a forgotten generator stops.
/// </summary>
public sealed class TrafficGenerator : IAsyncDisposable
{
    private const int KeptFailureMessages = 10;

    private readonly Uri _url;
    private readonly HttpClient _client;
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly double _requestsPerSecond;
    private readonly long _maxRequests;
    private readonly TimeSpan _maxDuration;
    private readonly object _paceGate = new();
    private long _issued;
    private TimeSpan _nextSlot;
    private Counters _counters = new(TimeSpan.Zero);
    private Task _workers = Task.CompletedTask;
    private int _disposed;

    private TrafficGenerator(Uri url, int requestsPerSecond, TimeSpan maxDuration, long maxRequests, TimeSpan requestTimeout)
    {
        _url = url;
        _requestsPerSecond = requestsPerSecond;
        _maxDuration = maxDuration;
        _maxRequests = maxRequests;
        _client = new HttpClient(new SocketsHttpHandler
        {
            // Loopback only: an environment proxy must not sit between the test and the balancer.
            UseProxy = false,
            ConnectTimeout = TimeSpan.FromSeconds(2),
            // Short-lived pooled connections keep the mix of new and reused connections realistic.
            PooledConnectionLifetime = TimeSpan.FromSeconds(5),
        })
        {
            Timeout = requestTimeout,
        };
    }

    public Uri Url => _url;

    /// <summary>True until stopped or a bound is reached.</summary>
    public bool IsRunning => !_workers.IsCompleted;

    /// <summary>Completes when the generator stops (by <see cref="StopAsync"/> or a bound).</summary>
    public Task Completion => _workers;

    public static TrafficGenerator Start(
        Uri url,
        int requestsPerSecond = 50,
        int concurrency = 2,
        TimeSpan? maxDuration = null,
        long maxRequests = 100_000,
        TimeSpan? requestTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentOutOfRangeException.ThrowIfLessThan(requestsPerSecond, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRequests, 1);

        var generator = new TrafficGenerator(url, requestsPerSecond, maxDuration ?? TimeSpan.FromMinutes(2), maxRequests, requestTimeout ?? TimeSpan.FromSeconds(5));
        generator._stop.CancelAfter(generator._maxDuration);
        var workers = new Task[concurrency];
        for (var i = 0; i < concurrency; i++)
        {
            workers[i] = Task.Run(generator.WorkAsync);
        }

        generator._workers = Task.WhenAll(workers);
        return generator;
    }

    public TrafficStats Snapshot() => Volatile.Read(ref _counters).ToStats(_clock.Elapsed, IsRunning);

    /// <summary>
    /// Starts a fresh count. A request already in flight is counted in the old one, so a failure
    /// after this call comes from a request sent after it.
    /// </summary>
    public void ResetCounters() => Volatile.Write(ref _counters, new Counters(_clock.Elapsed));

    public async Task<TrafficStats> StopAsync()
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            _stop.Cancel();
        }

        await _workers.ConfigureAwait(false);
        return Snapshot();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _client.Dispose();
        _stop.Dispose();
    }

    private async Task WorkAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            if (!TryTakeSlot(out var due))
            {
                return;
            }

            var wait = due - _clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            var counters = Volatile.Read(ref _counters);
            await SendOneAsync(counters, token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One shared pace for all workers: slots are 1/rate apart, and a stall (a slow answer, a
    /// pause) is not made up afterwards with a burst, so the rate stays steady.
    /// </summary>
    private bool TryTakeSlot(out TimeSpan due)
    {
        lock (_paceGate)
        {
            due = TimeSpan.Zero;
            if (_issued >= _maxRequests)
            {
                return false;
            }

            _issued++;
            var now = _clock.Elapsed;
            due = _nextSlot > now ? _nextSlot : now;
            _nextSlot = due + TimeSpan.FromSeconds(1 / _requestsPerSecond);
            return true;
        }
    }

    private async Task SendOneAsync(Counters counters, CancellationToken token)
    {
        try
        {
            using var response = await GetAsync(token).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                counters.Failure($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}: {Truncate(body)}");
                return;
            }

            counters.Success(BackendOf(response, body));
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopped mid-request: neither a success nor a failure of the balancer.
        }
        catch (Exception ex)
        {
            var inner = ex.InnerException is null ? string.Empty : $" ({ex.InnerException.GetType().Name}: {ex.InnerException.Message})";
            counters.Failure($"{ex.GetType().Name}: {ex.Message}{inner}");
        }
    }

    /// <summary>
    /// A GET, sent once more when a pooled keep-alive connection was closed under it before any answer (a
    /// balancer's graceful reload closes idle connections): RFC 9112 §9.3.1 lets a client retry an idempotent
    /// request then, and browsers do. A second failure, or any answer at all, counts as it is.
    /// </summary>
    private async Task<HttpResponseMessage> GetAsync(CancellationToken token)
    {
        try
        {
            return await _client.GetAsync(_url, token).ConfigureAwait(false);
        }
        catch (HttpRequestException ex) when (ex.InnerException is System.IO.IOException && !token.IsCancellationRequested)
        {
            return await _client.GetAsync(_url, token).ConfigureAwait(false);
        }
    }

    private static string BackendOf(HttpResponseMessage response, string body)
    {
        if (response.Headers.TryGetValues(BackendServer.BackendHeader, out var values))
        {
            var name = values.FirstOrDefault();
            if (!string.IsNullOrEmpty(name))
            {
                return name;
            }
        }

        return body.StartsWith(BackendServer.BodyPrefix, StringComparison.Ordinal)
            ? body.Substring(BackendServer.BodyPrefix.Length).Trim()
            : "(unknown)";
    }

    private static string Truncate(string text) => text.Length <= 200 ? text : text.Substring(0, 200) + "…";

    private sealed class Counters
    {
        private readonly object _gate = new();
        private readonly Dictionary<string, long> _hits = new(StringComparer.Ordinal);
        private readonly List<string> _failureMessages = new();
        private readonly TimeSpan _startedAt;
        private long _successes;
        private long _failures;

        public Counters(TimeSpan startedAt)
        {
            _startedAt = startedAt;
        }

        public void Success(string backend)
        {
            lock (_gate)
            {
                _successes++;
                _hits[backend] = _hits.TryGetValue(backend, out var hits) ? hits + 1 : 1;
            }
        }

        public void Failure(string message)
        {
            lock (_gate)
            {
                _failures++;
                if (_failureMessages.Count < KeptFailureMessages)
                {
                    _failureMessages.Add(message);
                }
            }
        }

        public TrafficStats ToStats(TimeSpan now, bool running)
        {
            lock (_gate)
            {
                return new TrafficStats(
                    _successes,
                    _failures,
                    new Dictionary<string, long>(_hits, StringComparer.Ordinal),
                    _failureMessages.ToArray(),
                    now - _startedAt,
                    running);
            }
        }
    }
}
