using System;
using System.Net.Http;

namespace LoadBalancerTools.Http
{
    /// <summary>Resilience settings for one endpoint. Defaults suit an unattended run: patient, but bounded.</summary>
    public sealed class TransportOptions
    {
        /// <summary>Budget for one logical call, retries and waits included.</summary>
        public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(100);
        /// <summary>Budget for one attempt.</summary>
        public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);
        public int MaxRetries { get; set; } = 5;
        public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);
        /// <summary>Cap on one computed backoff; a server's Retry-After is honoured up to the total timeout.</summary>
        public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);
        public bool SkipCertificateCheck { get; set; }
        public double BreakerFailureRatio { get; set; } = 0.5;
        public int BreakerMinimumThroughput { get; set; } = 10;
        public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);
        public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(15);
        public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
        /// <summary>Calls in flight to the endpoint at first (the adaptive limit moves from here, see <see cref="AdaptiveConcurrency"/>); the provider registry fills in the provider's default.</summary>
        public int? InitialConcurrency { get; set; }
        /// <summary>
        /// The most calls in flight the adaptive limit may reach (the default -ThrottleLimit); the provider
        /// registry fills in the provider's default. Null: no limit (a pipeline built outside the registry,
        /// such as an alert webhook's).
        /// </summary>
        public int? MaxConcurrency { get; set; }

        /// <summary>A limiter of this pipeline's own, or null when no limit is set.</summary>
        internal AdaptiveConcurrency? NewLimiter(string name) =>
            MaxConcurrency is int ceiling ? new AdaptiveConcurrency(name, InitialConcurrency ?? ceiling, ceiling, TimeProvider) : null;

        /// <summary>The endpoint's limiter, shared in the process, or null when no limit is set.</summary>
        internal AdaptiveConcurrency? SharedLimiter(Uri endpoint) =>
            MaxConcurrency is int ceiling ? AdaptiveConcurrency.For(endpoint, InitialConcurrency ?? ceiling, ceiling) : null;
        /// <summary>Seeds the retry jitter, so tests on a fake clock see the same waits every run; null is Polly's shared random source.</summary>
        public int? JitterSeed { get; set; }
        /// <summary>
        /// Recognises throttling that the status code alone does not show (AWS answers 400 with an error
        /// code of Throttling). Such responses are retried like 429: the server did not act. The body is
        /// already buffered when this runs.
        /// </summary>
        public Func<HttpResponseMessage, bool>? IsThrottled { get; set; }

        internal string CacheKey(Uri endpoint) =>
            string.Join("|", endpoint.GetLeftPart(UriPartial.Authority).ToLowerInvariant(), TotalTimeout.Ticks, AttemptTimeout.Ticks,
                MaxRetries, BaseDelay.Ticks, MaxDelay.Ticks, SkipCertificateCheck, IsThrottled != null);
    }

    /// <summary>How safe a request is to repeat; decides what the retry policy may do with it.</summary>
    public enum RequestKind
    {
        /// <summary>GET and other reads: always safe to retry.</summary>
        Read,
        /// <summary>PUT/PATCH/DELETE that set an absolute state: repeating gives the same result.</summary>
        IdempotentWrite,
        /// <summary>
        /// A create, or a delete (which may address by position, or whose repeat cannot tell "deleted by
        /// me" from "already gone"): retried by the transport only when the server provably did not act
        /// (connection refused before sending, 429, or a vendor answer documented as "not applied").
        /// Any other failure is an unknown outcome that the service resolves by reading the pool.
        /// </summary>
        NonIdempotentWrite,
    }
}
