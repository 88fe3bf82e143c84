using System;
using System.Threading;
using System.Threading.Tasks;

namespace LoadBalancerTools.Http
{
    /// <summary>
    /// A shared "pause until" for one endpoint. When the server answers one request with a throttling
    /// status and Retry-After, every request to that endpoint waits until then before its next attempt,
    /// instead of each concurrent worker discovering the throttle on its own and making it worse.
    /// </summary>
    public sealed class EndpointGate
    {
        private readonly TimeProvider _time;
        private long _untilUtcTicks;

        public EndpointGate(TimeProvider time)
        {
            _time = time ?? throw new ArgumentNullException(nameof(time));
        }

        /// <summary>When the pause ends, or null when requests may go now.</summary>
        public DateTimeOffset? PausedUntil
        {
            get
            {
                long until = Interlocked.Read(ref _untilUtcTicks);
                return until > _time.GetUtcNow().UtcTicks ? new DateTimeOffset(until, TimeSpan.Zero) : (DateTimeOffset?)null;
            }
        }

        /// <summary>Pauses the endpoint for <paramref name="wait"/> from now; a later pause already set is kept. True when this call extended the pause.</summary>
        public bool PauseFor(TimeSpan wait)
        {
            if (wait <= TimeSpan.Zero) return false;
            long until = _time.GetUtcNow().UtcTicks + wait.Ticks;
            while (true)
            {
                long current = Interlocked.Read(ref _untilUtcTicks);
                if (current >= until) return false;
                if (Interlocked.CompareExchange(ref _untilUtcTicks, until, current) == current) return true;
            }
        }

        /// <summary>Completes when the endpoint is not paused; waits again if the pause was extended meanwhile.</summary>
        public Task WaitAsync(CancellationToken cancellationToken)
        {
            long until = Interlocked.Read(ref _untilUtcTicks);
            return until <= _time.GetUtcNow().UtcTicks ? Task.CompletedTask : WaitSlowAsync(cancellationToken);
        }

        private async Task WaitSlowAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                long until = Interlocked.Read(ref _untilUtcTicks);
                long now = _time.GetUtcNow().UtcTicks;
                if (until <= now) return;
                await _time.Delay(TimeSpan.FromTicks(until - now), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
