using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Logging;
using Polly;

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
        private readonly HttpClient _client;
        private readonly ResilientPipeline<HttpResponseMessage> _pipeline;

        private ResilientHttp(TransportOptions options, HttpMessageHandler? handler, AdaptiveConcurrency? concurrency)
        {
            _client = new HttpClient(handler ?? CreateHandler(options)) { Timeout = Timeout.InfiniteTimeSpan };
            _pipeline = new ResilientPipeline<HttpResponseMessage>(options, Policy(options), concurrency);
        }

        /// <summary>The shared pipeline for this endpoint and settings; its concurrency limit is the endpoint's, whatever the settings.</summary>
        public static ResilientHttp For(Uri endpoint, TransportOptions options)
        {
            var http = Cache.GetOrAdd(options.CacheKey(endpoint), _ => new ResilientHttp(options, null, options.SharedLimiter(endpoint)));
            if (options.MaxConcurrency is int ceiling) http.Concurrency?.RaiseCeiling(ceiling);
            return http;
        }

        /// <summary>An uncached pipeline, for tests that drive it with a fake clock or a fake handler.</summary>
        public static ResilientHttp Create(TransportOptions options, HttpMessageHandler? handler = null) => new ResilientHttp(options, handler, null);

        /// <summary>The endpoint's shared pause, set from a server's Retry-After.</summary>
        public EndpointGate Gate => _pipeline.Gate;

        /// <summary>The endpoint's adaptive limit on calls in flight.</summary>
        public AdaptiveConcurrency? Concurrency => _pipeline.Concurrency;

        /// <summary>
        /// Sends a request built fresh for each attempt. Returns the final response, whatever its status;
        /// throws <see cref="LbException"/> when no response could be had.
        /// </summary>
        /// <param name="description">Method and address for messages; null builds one request up front to learn them.</param>
        public async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> createRequest, RequestKind kind, ILbLog log, CancellationToken cancellationToken,
            string? description = null)
        {
            if (description == null)
            {
                using var probe = createRequest();
                description = probe.Method + " " + probe.RequestUri?.GetLeftPart(UriPartial.Path);
            }
            try
            {
                return await _pipeline.ExecuteAsync(description, kind, log, async ct =>
                {
                    using var request = createRequest();
                    return await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
                }, cancellationToken).ConfigureAwait(false);
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
        }

        private static ResiliencePolicy<HttpResponseMessage> Policy(TransportOptions options) => new ResiliencePolicy<HttpResponseMessage>
        {
            ShouldRetry = (outcome, kind) => ShouldRetry(outcome, kind) || (outcome.Result is { } r && options.IsThrottled?.Invoke(r) == true),
            // Throttling is the server protecting itself, not the endpoint failing: it does not trip the breaker.
            IsFailure = o => o.Exception is HttpRequestException || (o.Result is { } r && (int)r.StatusCode >= 500 && options.IsThrottled?.Invoke(r) != true),
            RetryAfter = r => RetryAfter(r, options.TimeProvider),
            Signal = o => o.Result is { } r
                ? ((int)r.StatusCode == 429 || (int)r.StatusCode == 503 || options.IsThrottled?.Invoke(r) == true ? ConcurrencySignal.Pushback : ConcurrencySignal.Success)
                : ConcurrencySignal.Ignore,
            Describe = r => $"{(int)r.StatusCode} {r.ReasonPhrase}" + (options.IsThrottled?.Invoke(r) == true ? " (throttled)" : ""),
            Discard = r => r.Dispose(),
        };

        private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, RequestKind kind)
        {
            if (outcome.Result is { } response)
            {
                int status = (int)response.StatusCode;
                // 429 is the server refusing before it acts (RFC 6585 §4), so even a create may be repeated.
                // A 503 is not: a management API behind a proxy, or one that timed out internally, may have
                // applied the write and still answer 503. Creates and deletes go back to the service, which
                // reads the pool to learn the outcome.
                if (status == 429) return true;
                if (kind == RequestKind.NonIdempotentWrite) return false;
                return status == 408 || status >= 500;
            }
            // A refused connection never reached the server; anything else may have.
            return outcome.Exception is HttpRequestException hre && (kind != RequestKind.NonIdempotentWrite || IsConnectionRefused(hre));
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
