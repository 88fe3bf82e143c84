using System;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace LoadBalancerTools.Http
{
    /// <summary>
    /// One resilient HTTP pipeline per endpoint: total timeout, retries with exponential backoff and jitter
    /// (honouring Retry-After), a circuit breaker and a per-attempt timeout. Cached per endpoint so the
    /// breaker sees every call made to it, whichever cmdlet or connection makes it.
    /// </summary>
    public sealed class ResilientHttp
    {
        private static readonly ConcurrentDictionary<string, ResilientHttp> Cache = new ConcurrentDictionary<string, ResilientHttp>();
        private static readonly ResiliencePropertyKey<RequestKind> KindKey = new ResiliencePropertyKey<RequestKind>("lb.kind");
        private static readonly ResiliencePropertyKey<ILbLog> LogKey = new ResiliencePropertyKey<ILbLog>("lb.log");
        private static readonly ResiliencePropertyKey<string> DescriptionKey = new ResiliencePropertyKey<string>("lb.request");

        private readonly HttpClient _client;
        private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
        private readonly TransportOptions _options;

        private ResilientHttp(TransportOptions options, HttpMessageHandler? handler)
        {
            _options = options;
            _client = new HttpClient(handler ?? CreateHandler(options)) { Timeout = Timeout.InfiniteTimeSpan };
            _pipeline = BuildPipeline(options);
        }

        /// <summary>The shared pipeline for this endpoint and settings.</summary>
        public static ResilientHttp For(Uri endpoint, TransportOptions options) =>
            Cache.GetOrAdd(options.CacheKey(endpoint), _ => new ResilientHttp(options, null));

        /// <summary>An uncached pipeline, for tests that drive it with a fake clock or a fake handler.</summary>
        public static ResilientHttp Create(TransportOptions options, HttpMessageHandler? handler = null) => new ResilientHttp(options, handler);

        public TransportOptions Options => _options;

        /// <summary>
        /// Sends a request built fresh for each attempt. Returns the final response, whatever its status;
        /// throws <see cref="LbException"/> when no response could be had.
        /// </summary>
        public async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> createRequest, RequestKind kind, ILbLog log, CancellationToken cancellationToken)
        {
            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            string description = "";
            try
            {
                context.Properties.Set(KindKey, kind);
                context.Properties.Set(LogKey, log);
                return await _pipeline.ExecuteAsync(async ctx =>
                {
                    using var request = createRequest();
                    description = request.Method + " " + request.RequestUri?.GetLeftPart(UriPartial.Path);
                    ctx.Properties.Set(DescriptionKey, description);
                    return await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, ctx.CancellationToken).ConfigureAwait(false);
                }, context).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (BrokenCircuitException ex)
            {
                throw new LbException(LbErrorKind.Transient,
                    $"The circuit breaker for this endpoint is open after repeated failures; {description} was not sent. Calls resume after {_options.BreakerBreakDuration.TotalSeconds:0} s.",
                    inner: ex);
            }
            catch (TimeoutRejectedException ex)
            {
                throw new LbException(LbErrorKind.Transient, $"{description} timed out after {ex.Timeout.TotalSeconds:0.#} s.", inner: ex)
                {
                    Ambiguous = kind != RequestKind.Read,
                };
            }
            catch (HttpRequestException ex)
            {
                bool refused = IsConnectionRefused(ex);
                throw new LbException(refused ? LbErrorKind.Unreachable : LbErrorKind.Transient,
                    refused ? $"Cannot reach the endpoint for {description}: connection refused." : $"{description} failed: {ex.Message}", inner: ex)
                {
                    Ambiguous = !refused && kind != RequestKind.Read,
                };
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }

        private ResiliencePipeline<HttpResponseMessage> BuildPipeline(TransportOptions o)
        {
            var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = o.TimeProvider }
                .AddTimeout(new TimeoutStrategyOptions { Timeout = o.TotalTimeout });
            // Polly requires at least one retry; -MaxRetries 0 means no retry strategy at all.
            if (o.MaxRetries > 0)
            {
                builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
                {
                    MaxRetryAttempts = o.MaxRetries,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = o.BaseDelay,
                    MaxDelay = o.MaxDelay,
                    ShouldHandle = args => new ValueTask<bool>(ShouldRetry(args.Outcome, args.Context)),
                    DelayGenerator = args => new ValueTask<TimeSpan?>(RetryAfter(args.Outcome.Result, o.TimeProvider)),
                    OnRetry = args =>
                    {
                        var log = args.Context.Properties.GetValue(LogKey, NullLog.Instance);
                        args.Context.Properties.TryGetValue(DescriptionKey, out var what);
                        string why = args.Outcome.Result is { } r
                            ? $"{(int)r.StatusCode} {r.ReasonPhrase}"
                            : args.Outcome.Exception?.GetType().Name ?? "failure";
                        log.Verbose(string.Format(CultureInfo.InvariantCulture,
                            "Retrying {0} (retry {1} of {2}) in {3:0.###} s after {4}.", what, args.AttemptNumber + 1, o.MaxRetries, args.RetryDelay.TotalSeconds, why));
                        args.Outcome.Result?.Dispose();
                        return default;
                    },
                });
            }
            return builder
                .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
                {
                    FailureRatio = o.BreakerFailureRatio,
                    MinimumThroughput = o.BreakerMinimumThroughput,
                    SamplingDuration = o.BreakerSamplingDuration,
                    BreakDuration = o.BreakerBreakDuration,
                    // Throttling is the server protecting itself, not the endpoint failing: it does not trip the breaker.
                    ShouldHandle = args => new ValueTask<bool>(args.Outcome.Exception is HttpRequestException or TimeoutRejectedException
                        || (args.Outcome.Result is { } r && (int)r.StatusCode >= 500)),
                    OnOpened = args =>
                    {
                        args.Context.Properties.GetValue(LogKey, NullLog.Instance)
                            .Warning($"Circuit breaker opened for this endpoint for {args.BreakDuration.TotalSeconds:0} s after repeated failures.");
                        return default;
                    },
                })
                .AddTimeout(new TimeoutStrategyOptions { Timeout = o.AttemptTimeout })
                .Build();
        }

        private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context)
        {
            var kind = context.Properties.GetValue(KindKey, RequestKind.Read);
            if (outcome.Result is { } response)
            {
                int status = (int)response.StatusCode;
                // 429 and 503 mean the server did not act, so even a create may be repeated.
                if (status == 429 || status == 503) return true;
                if (kind == RequestKind.NonIdempotentWrite) return false;
                return status == 408 || status >= 500;
            }

            switch (outcome.Exception)
            {
                case HttpRequestException hre:
                    // A refused connection never reached the server; anything else may have.
                    return kind != RequestKind.NonIdempotentWrite || IsConnectionRefused(hre);
                case TimeoutRejectedException:
                    return kind != RequestKind.NonIdempotentWrite;
                default:
                    return false;
            }
        }

        /// <summary>The server's Retry-After, in seconds or as a date; null lets the backoff decide.</summary>
        internal static TimeSpan? RetryAfter(HttpResponseMessage? response, TimeProvider time)
        {
            var header = response?.Headers.RetryAfter;
            if (header == null) return null;
            if (header.Delta is { } delta) return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
            if (header.Date is { } date)
            {
                var wait = date - time.GetUtcNow();
                return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
            }
            return null;
        }

        private static bool IsConnectionRefused(Exception ex)
        {
            for (var e = ex; e != null; e = e.InnerException)
            {
                if (e is SocketException se && se.SocketErrorCode == SocketError.ConnectionRefused) return true;
            }
            return false;
        }

        private static HttpMessageHandler CreateHandler(TransportOptions options)
        {
            var handler = new HttpClientHandler
            {
                AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate,
                UseCookies = false,
                AllowAutoRedirect = false,
            };
            if (options.SkipCertificateCheck)
            {
                handler.ServerCertificateCustomValidationCallback = (_, _, _, _) => true;
            }
            return handler;
        }
    }
}
