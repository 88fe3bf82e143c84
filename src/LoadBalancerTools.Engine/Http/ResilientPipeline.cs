using System;
using System.Globalization;
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
    /// <summary>How one transport's results look to the shared resilience shape.</summary>
    public sealed class ResiliencePolicy<T>
    {
        /// <summary>Whether an outcome may be retried, given how safe the request is to repeat.</summary>
        public Func<Outcome<T>, RequestKind, bool> ShouldRetry { get; set; } = (_, _) => false;
        /// <summary>Whether an outcome counts against the endpoint for the circuit breaker.</summary>
        public Func<Outcome<T>, bool> IsFailure { get; set; } = o => o.Exception != null;
        /// <summary>A server-requested wait, or null for the computed backoff.</summary>
        public Func<T, TimeSpan?> RetryAfter { get; set; } = _ => null;
        /// <summary>A short description of a result, for the retry's verbose line.</summary>
        public Func<T, string> Describe { get; set; } = r => r?.ToString() ?? "";
        /// <summary>What an outcome says about the endpoint's capacity, for the adaptive concurrency limit.</summary>
        public Func<Outcome<T>, ConcurrencySignal> Signal { get; set; } = o => o.Exception == null ? ConcurrencySignal.Success : ConcurrencySignal.Ignore;
        /// <summary>Releases a result that is being retried.</summary>
        public Action<T> Discard { get; set; } = _ => { };
    }

    /// <summary>
    /// The pipeline shape every transport shares: total timeout → retry (exponential backoff with
    /// jitter, server Retry-After first) → endpoint gate (a Retry-After pauses every caller) →
    /// adaptive concurrency limit (one slot per attempt) → circuit breaker → per-attempt timeout.
    /// </summary>
    public sealed class ResilientPipeline<T>
    {
        private static readonly ResiliencePropertyKey<RequestKind> KindKey = new ResiliencePropertyKey<RequestKind>("lb.kind");
        private static readonly ResiliencePropertyKey<ILbLog> LogKey = new ResiliencePropertyKey<ILbLog>("lb.log");
        private static readonly ResiliencePropertyKey<string> DescriptionKey = new ResiliencePropertyKey<string>("lb.request");
        private static readonly ResiliencePropertyKey<CancellationToken> StopKey = new ResiliencePropertyKey<CancellationToken>("lb.stop");

        private readonly ResiliencePipeline<T> _pipeline;
        private readonly TransportOptions _options;

        /// <param name="concurrency">The endpoint's shared limiter; null for one of this pipeline's own (tests on a fake clock).</param>
        public ResilientPipeline(TransportOptions options, ResiliencePolicy<T> policy, AdaptiveConcurrency? concurrency = null)
        {
            _options = options;
            Gate = new EndpointGate(options.TimeProvider);
            Concurrency = concurrency ?? options.NewLimiter("this endpoint");
            _pipeline = Build(options, policy, Gate, Concurrency);
        }

        /// <summary>Shared by every call through this pipeline: a server's Retry-After pauses them all.</summary>
        public EndpointGate Gate { get; }

        /// <summary>How many attempts may be in flight to the endpoint: adapts to its answers. Null when the options set no limit.</summary>
        public AdaptiveConcurrency? Concurrency { get; }

        /// <summary>
        /// Runs one logical call; <paramref name="attempt"/> runs once per try. Timeouts and an open
        /// circuit become <see cref="LbException"/>; a timed-out write is marked ambiguous.
        /// </summary>
        /// <remarks>
        /// A stop (Ctrl+C) cancels a read at once. A write is never cut off once sent: a stop keeps it from
        /// starting (and from being retried), but one already on the wire runs to its answer or its attempt
        /// timeout, so that when the cmdlet returns its outcome is known and nothing lands afterwards.
        /// </remarks>
        public async Task<T> ExecuteAsync(string description, RequestKind kind, ILbLog log, Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
        {
            bool write = kind != RequestKind.Read;
            var context = ResilienceContextPool.Shared.Get(write ? CancellationToken.None : cancellationToken);
            try
            {
                context.Properties.Set(KindKey, kind);
                context.Properties.Set(LogKey, log);
                context.Properties.Set(DescriptionKey, description);
                context.Properties.Set(StopKey, cancellationToken);
                return await _pipeline.ExecuteAsync(async ctx =>
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    return await attempt(ctx.CancellationToken).ConfigureAwait(false);
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
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }

        private static ResiliencePipeline<T> Build(TransportOptions o, ResiliencePolicy<T> policy, EndpointGate gate, AdaptiveConcurrency? concurrency)
        {
            var builder = new ResiliencePipelineBuilder<T> { TimeProvider = o.TimeProvider }
                .AddTimeout(new TimeoutStrategyOptions { Timeout = o.TotalTimeout });
            // Polly requires at least one retry; -MaxRetries 0 means no retry strategy at all.
            if (o.MaxRetries > 0)
            {
                var retry = new RetryStrategyOptions<T>
                {
                    MaxRetryAttempts = o.MaxRetries,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = o.BaseDelay,
                    MaxDelay = o.MaxDelay,
                    ShouldHandle = args => new ValueTask<bool>(
                        args.Context.Properties.GetValue(StopKey, CancellationToken.None).IsCancellationRequested ? false
                        : args.Outcome.Exception is TimeoutRejectedException
                            ? args.Context.Properties.GetValue(KindKey, RequestKind.Read) != RequestKind.NonIdempotentWrite
                            : policy.ShouldRetry(args.Outcome, args.Context.Properties.GetValue(KindKey, RequestKind.Read))),
                    DelayGenerator = args => new ValueTask<TimeSpan?>(args.Outcome.Result is { } r ? policy.RetryAfter(r) : null),
                    OnRetry = args =>
                    {
                        var log = args.Context.Properties.GetValue(LogKey, NullLog.Instance);
                        args.Context.Properties.TryGetValue(DescriptionKey, out var what);
                        string why = args.Outcome.Result is { } r ? policy.Describe(r) : args.Outcome.Exception?.GetType().Name ?? "failure";
                        log.Verbose(string.Format(CultureInfo.InvariantCulture,
                            "Retrying {0} (retry {1} of {2}) in {3:0.###} s after {4}.", what, args.AttemptNumber + 1, o.MaxRetries, args.RetryDelay.TotalSeconds, why));
                        if (args.Outcome.Result is { } result) policy.Discard(result);
                        return default;
                    },
                };
                if (o.JitterSeed is int seed)
                {
                    var random = new Random(seed);
                    retry.Randomizer = () => { lock (random) return random.NextDouble(); };
                }
                builder.AddRetry(retry);
            }
            // Outside the attempt timeout, so a long server-requested pause never times out an unsent request.
            builder.AddStrategy(_ => new GateStrategy(gate, policy));
            // Inside the gate (a paused endpoint holds no slots) and outside the breaker and the attempt timeout,
            // so a slot is held exactly while a request is on the wire and a timeout counts as pushback.
            if (concurrency != null) builder.AddStrategy(_ => new ConcurrencyStrategy(concurrency, policy));
            return builder
                .AddCircuitBreaker(new CircuitBreakerStrategyOptions<T>
                {
                    FailureRatio = o.BreakerFailureRatio,
                    MinimumThroughput = o.BreakerMinimumThroughput,
                    SamplingDuration = o.BreakerSamplingDuration,
                    BreakDuration = o.BreakerBreakDuration,
                    ShouldHandle = args => new ValueTask<bool>(args.Outcome.Exception is TimeoutRejectedException || policy.IsFailure(args.Outcome)),
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

        /// <summary>Waits for something before an attempt: nothing is sent yet, so a stop ends the wait even for a write.</summary>
        private static async Task<TResult> BeforeSendingAsync<TResult>(ResilienceContext context, Func<CancellationToken, Task<TResult>> wait)
        {
            var stop = context.Properties.GetValue(StopKey, CancellationToken.None);
            if (!stop.CanBeCanceled || context.CancellationToken.Equals(stop)) return await wait(context.CancellationToken).ConfigureAwait(false);
            using var both = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, stop);
            return await wait(both.Token).ConfigureAwait(false);
        }

        private static Task BeforeSendingAsync(ResilienceContext context, Func<CancellationToken, Task> wait) =>
            BeforeSendingAsync(context, async ct => { await wait(ct).ConfigureAwait(false); return true; });

        /// <summary>Holds one of the endpoint's concurrency slots for each attempt and tells the limiter how it went.</summary>
        private sealed class ConcurrencyStrategy : ResilienceStrategy<T>
        {
            private readonly AdaptiveConcurrency _limiter;
            private readonly ResiliencePolicy<T> _policy;

            public ConcurrencyStrategy(AdaptiveConcurrency limiter, ResiliencePolicy<T> policy)
            {
                _limiter = limiter;
                _policy = policy;
            }

            protected override async ValueTask<Outcome<T>> ExecuteCore<TState>(Func<ResilienceContext, TState, ValueTask<Outcome<T>>> callback, ResilienceContext context, TState state)
            {
                AdaptiveConcurrency.Lease lease;
                try
                {
                    lease = await BeforeSendingAsync(context, _limiter.AcquireAsync).ConfigureAwait(false);
                }
                catch (OperationCanceledException ex)
                {
                    return Outcome.FromException<T>(ex);
                }
                var signal = ConcurrencySignal.Ignore;
                try
                {
                    var outcome = await callback(context, state).ConfigureAwait(false);
                    signal = outcome.Exception is TimeoutRejectedException ? ConcurrencySignal.Pushback : _policy.Signal(outcome);
                    return outcome;
                }
                finally
                {
                    _limiter.Complete(lease, signal, context.Properties.GetValue(LogKey, NullLog.Instance));
                }
            }
        }

        /// <summary>Waits at the endpoint's gate before each attempt; a retryable answer with a server-requested wait closes the gate for everyone.</summary>
        private sealed class GateStrategy : ResilienceStrategy<T>
        {
            private readonly EndpointGate _gate;
            private readonly ResiliencePolicy<T> _policy;

            public GateStrategy(EndpointGate gate, ResiliencePolicy<T> policy)
            {
                _gate = gate;
                _policy = policy;
            }

            protected override async ValueTask<Outcome<T>> ExecuteCore<TState>(Func<ResilienceContext, TState, ValueTask<Outcome<T>>> callback, ResilienceContext context, TState state)
            {
                try
                {
                    await BeforeSendingAsync(context, _gate.WaitAsync).ConfigureAwait(false);
                }
                catch (OperationCanceledException ex)
                {
                    return Outcome.FromException<T>(ex);
                }
                var outcome = await callback(context, state).ConfigureAwait(false);
                if (outcome.Result is { } result && _policy.RetryAfter(result) is { } wait && wait > TimeSpan.Zero
                    && _policy.ShouldRetry(outcome, context.Properties.GetValue(KindKey, RequestKind.Read))
                    && _gate.PauseFor(wait))
                {
                    // Debug, not verbose: the retry's own verbose line already says how long this request waits.
                    context.Properties.GetValue(LogKey, NullLog.Instance).Debug(string.Format(CultureInfo.InvariantCulture,
                        "The endpoint asked for a pause of {0:0.###} s ({1}); every request to it waits until then.", wait.TotalSeconds, _policy.Describe(result)));
                }
                return outcome;
            }
        }
    }
}
