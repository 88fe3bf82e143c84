using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Logging;

namespace LoadBalancerTools.Http
{
    /// <summary>What one attempt told the limiter about the endpoint's capacity.</summary>
    public enum ConcurrencySignal
    {
        /// <summary>Answered (whatever the status): the endpoint had room for it.</summary>
        Success,
        /// <summary>429, 503, vendor throttling or an attempt timeout: the endpoint is pushing back.</summary>
        Pushback,
        /// <summary>Neither (cancelled, refused connection): says nothing about capacity.</summary>
        Ignore,
    }

    /// <summary>
    /// How many calls one endpoint gets at once, adapted to what it answers (AIMD, as TCP congestion
    /// control): start at the provider's default; while answers come back without pushback and with flat
    /// latency, raise the limit (by one per answer until the first pushback, then by one per round of
    /// answers); at a 429/503/timeout, cut it multiplicatively, once per round, so a burst of rejections
    /// from one overload counts once. The round after a cut is watched: refusals that stop were overload (the cut
    /// stands); refusals that go on at the background rate were noise (the cut is undone); more than that, and it
    /// cuts again. Never above the ceiling (-ThrottleLimit, the provider's default), never
    /// below one. One instance per endpoint in the process (<see cref="For"/>), shared by every cmdlet and
    /// runspace that calls it. No library in reach offers an adaptive limiter for netstandard2.0
    /// (System.Threading.RateLimiting's ConcurrencyLimiter is fixed), hence this small one.
    /// </summary>
    public sealed class AdaptiveConcurrency
    {
        private static readonly ConcurrentDictionary<string, AdaptiveConcurrency> Endpoints = new ConcurrentDictionary<string, AdaptiveConcurrency>(StringComparer.OrdinalIgnoreCase);

        /// <summary>Cut at a pushback: keeps 70 % (CUBIC's factor; TCP Reno keeps 50 %, which halves throughput on every stray 503).</summary>
        public const double DecreaseFactor = 0.7;
        /// <summary>An answer slower than this multiple of the fastest recent one means a queue is building: no raise.</summary>
        public const double LatencyTolerance = 2.0;
        /// <summary>
        /// The highest refusal rate that may count as background noise: when the round after a cut is refused at
        /// about the background rate and no more than this, the refusals did not follow the load, and the cut is undone.
        /// </summary>
        public const double NoiseTolerance = 0.25;
        // Slow on purpose: the background refusal rate, which a cut is judged against, must not move with one burst.
        private const double RateSmoothing = 0.01;
        /// <summary>Fewest answers after a cut before judging whether it helped: fewer say too little about a rate.</summary>
        public const int MinProbationAnswers = 40;

        private readonly object _lock = new object();
        private readonly Queue<TaskCompletionSource<bool>> _waiters = new Queue<TaskCompletionSource<bool>>();
        private readonly TimeProvider _time;
        private double _limit;
        private int _ceiling;
        private int _inFlight;
        private bool _slowStart = true;
        // The background share of answers that push back (slowly smoothed); and the round after a cut, which shows whether it helped.
        private double _pushbackRate;
        private bool _probation;
        private int _probationAnswers;
        private int _probationPushbacks;
        private double _limitBeforeCut;
        private bool _slowStartBeforeCut;
        // Requests started before the last cut belong to the round that caused it: their pushback does not cut again.
        private long _epoch;
        private int _lastReported;
        private double _minLatencyMs = double.MaxValue;
        private int _minAgeSamples;

        public AdaptiveConcurrency(string name, int initial, int ceiling, TimeProvider time)
        {
            Name = name;
            _time = time ?? throw new ArgumentNullException(nameof(time));
            _ceiling = Math.Max(1, ceiling);
            _limit = Math.Max(1, Math.Min(initial, _ceiling));
            _lastReported = (int)_limit;
        }

        /// <summary>The endpoint's limiter in this process; the first caller's initial value and ceiling create it, a higher ceiling later raises it.</summary>
        public static AdaptiveConcurrency For(Uri endpoint, int initial, int ceiling)
        {
            var limiter = Endpoints.GetOrAdd(Key(endpoint), key => new AdaptiveConcurrency(Describe(endpoint), initial, ceiling, TimeProvider.System));
            limiter.RaiseCeiling(ceiling);
            return limiter;
        }

        /// <summary>The endpoint's limiter when one exists in this process.</summary>
        public static AdaptiveConcurrency? Find(Uri endpoint) => Endpoints.TryGetValue(Key(endpoint), out var limiter) ? limiter : null;

        /// <summary>Host and port (or the socket path), as verbose lines name the endpoint.</summary>
        public string Name { get; }

        /// <summary>Calls allowed in flight now.</summary>
        public int Limit
        {
            get { lock (_lock) return (int)_limit; }
        }

        public int Ceiling
        {
            get { lock (_lock) return _ceiling; }
        }

        public int InFlight
        {
            get { lock (_lock) return _inFlight; }
        }

        /// <summary>Lets the limit grow to <paramref name="ceiling"/> (an explicit -ThrottleLimit above the provider's default); never lowers it.</summary>
        public void RaiseCeiling(int ceiling)
        {
            lock (_lock)
            {
                if (ceiling > _ceiling) _ceiling = ceiling;
            }
        }

        /// <summary>Waits for room, then returns the lease that <see cref="Complete"/> takes back with what the attempt told.</summary>
        public Task<Lease> AcquireAsync(CancellationToken cancellationToken)
        {
            TaskCompletionSource<bool> waiter;
            lock (_lock)
            {
                if (TryAcquireLocked(out var lease)) return Task.FromResult(lease);
                waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Enqueue(waiter);
            }
            return WaitAsync(waiter, cancellationToken);
        }

        /// <summary>Takes a slot when one is free now, without waiting.</summary>
        public bool TryAcquire(out Lease lease)
        {
            lock (_lock) return TryAcquireLocked(out lease);
        }

        private bool TryAcquireLocked(out Lease lease)
        {
            lease = default;
            if (_inFlight >= (int)_limit || _waiters.Count > 0) return false;
            _inFlight++;
            lease = new Lease(_epoch, _time.GetTimestamp(), _inFlight);
            return true;
        }

        private async Task<Lease> WaitAsync(TaskCompletionSource<bool> waiter, CancellationToken cancellationToken)
        {
            // A waiter cancelled before its turn stays queued; Admit skips it (its TrySetResult fails).
            using (cancellationToken.Register(() => waiter.TrySetCanceled()))
            {
                await waiter.Task.ConfigureAwait(false);
            }
            lock (_lock) return new Lease(_epoch, _time.GetTimestamp(), _inFlight);
        }

        /// <summary>Returns the slot and adapts the limit; the log of the call that moved it hears "concurrency for X now N".</summary>
        public void Complete(Lease lease, ConcurrencySignal signal, ILbLog? log)
        {
            int report = 0;
            lock (_lock)
            {
                _inFlight--;
                if (signal == ConcurrencySignal.Success) OnSuccess(lease);
                else if (signal == ConcurrencySignal.Pushback) OnPushback(lease);
                int now = (int)_limit;
                // Every cut is reported; growth when it has moved a quarter since the last line, or reached the ceiling: not one line per call.
                if (now != _lastReported && (now < _lastReported || now - _lastReported >= Math.Max(1, _lastReported / 4) || now == _ceiling))
                {
                    _lastReported = now;
                    report = now;
                }
                Admit();
            }
            if (report > 0) log?.Verbose(string.Format(CultureInfo.InvariantCulture, "Concurrency for {0} now {1}.", Name, report));
        }

        private void OnSuccess(Lease lease)
        {
            _pushbackRate *= 1 - RateSmoothing;
            double latencyMs = _time.GetElapsedTime(lease.Started).TotalMilliseconds;
            // The fastest recent answer is the baseline; it is forgotten slowly, so a server that got slower for good resets it.
            if (latencyMs < _minLatencyMs || ++_minAgeSamples > 500)
            {
                _minLatencyMs = latencyMs;
                _minAgeSamples = 0;
            }
            if (_probation)
            {
                if (lease.Epoch == _epoch) _probationAnswers++;
                EndProbationIfDue();
                return;
            }
            bool queueing = latencyMs > _minLatencyMs * LatencyTolerance + 1.0;
            // Raise only when the limit was in use: idle capacity proves nothing.
            bool used = lease.InFlightAtStart * 2 >= (int)_limit;
            if (queueing || !used || _limit >= _ceiling) return;
            _limit = Math.Min(_ceiling, _limit + (_slowStart ? 1.0 : 1.0 / _limit));
        }

        private void OnPushback(Lease lease)
        {
            _pushbackRate = _pushbackRate * (1 - RateSmoothing) + RateSmoothing;
            if (_probation)
            {
                if (lease.Epoch == _epoch)
                {
                    _probationAnswers++;
                    _probationPushbacks++;
                }
                EndProbationIfDue();
                return;
            }
            if (lease.Epoch != _epoch) return;
            Cut(chained: false);
        }

        /// <summary>
        /// Cuts the limit and watches the next round: refusals that follow the load drop after a cut;
        /// refusals at the same low rate whatever the load (a flaky proxy, a fault injector) do not, and
        /// holding the limit down for them would only slow every run.
        /// </summary>
        private void Cut(bool chained)
        {
            _epoch++;
            _probation = true;
            _probationAnswers = 0;
            _probationPushbacks = 0;
            // A cut after a cut that did not help enough keeps the first one's reference, so noise that looked like
            // overload twice in a row is still undone in one step.
            if (!chained)
            {
                _limitBeforeCut = _limit;
                _slowStartBeforeCut = _slowStart;
            }
            _slowStart = false;
            // The epsilon keeps 20 x 0.7 at 14 despite binary rounding.
            _limit = Math.Max(1.0, Math.Floor(_limit * DecreaseFactor + 1e-9));
        }

        private void EndProbationIfDue()
        {
            int answers = _probationAnswers;
            if (answers < Math.Max(MinProbationAnswers, (int)_limit)) return;
            _probation = false;
            double rate = (double)_probationPushbacks / answers;
            // Cleared (or nearly) after the cut: the endpoint was over its capacity; the cut stands.
            if (_probationPushbacks == 0 || rate < _pushbackRate / 4) return;
            if (rate <= NoiseTolerance && rate <= 2 * _pushbackRate + 0.02)
            {
                // The refusals went on at the background rate whatever the load: not a capacity limit. Back to
                // where it was, growing as it was.
                _limit = _limitBeforeCut;
                _slowStart = _slowStartBeforeCut;
                return;
            }
            // Fewer, but more than the background: still over capacity.
            Cut(chained: true);
        }

        /// <summary>Hands free slots to waiters in arrival order. Called under the lock.</summary>
        private void Admit()
        {
            while (_waiters.Count > 0 && _inFlight < (int)_limit)
            {
                var next = _waiters.Dequeue();
                if (next.TrySetResult(true)) _inFlight++;
            }
        }

        private static string Key(Uri endpoint) =>
            endpoint.Scheme == Uri.UriSchemeHttp || endpoint.Scheme == Uri.UriSchemeHttps
                ? endpoint.GetLeftPart(UriPartial.Authority).ToLowerInvariant()
                : endpoint.GetLeftPart(UriPartial.Path).ToLowerInvariant();

        private static string Describe(Uri endpoint) =>
            string.IsNullOrEmpty(endpoint.Host) ? endpoint.AbsolutePath : endpoint.Authority;

        /// <summary>One attempt's slot.</summary>
        public readonly struct Lease
        {
            internal Lease(long epoch, long started, int inFlightAtStart)
            {
                Epoch = epoch;
                Started = started;
                InFlightAtStart = inFlightAtStart;
            }

            internal long Epoch { get; }
            internal long Started { get; }
            internal int InFlightAtStart { get; }
        }
    }
}
