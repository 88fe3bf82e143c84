using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.Http
{
    /// <summary>An HTTP handler scripted per attempt, recording the fake time of each attempt.</summary>
    internal sealed class FakeHandler : HttpMessageHandler
    {
        private readonly FakeTimeProvider _time;
        private readonly Func<int, HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> _respond;
        private readonly List<DateTimeOffset> _attempts = new List<DateTimeOffset>();

        public FakeHandler(FakeTimeProvider time, Func<int, HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> respond)
        {
            _time = time;
            _respond = respond;
        }

        public IReadOnlyList<DateTimeOffset> Attempts { get { lock (_attempts) return _attempts.ToArray(); } }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            int n;
            lock (_attempts)
            {
                _attempts.Add(_time.GetUtcNow());
                n = _attempts.Count;
            }
            return _respond(n, request, cancellationToken);
        }
    }

    internal static class FakeClock
    {
        /// <summary>
        /// Advances fake time in steps until the task completes; the real 1 ms yield only lets the
        /// task's continuations reach their next timer, the loop ends on the task's completion.
        /// </summary>
        public static async Task<T> Drive<T>(this FakeTimeProvider time, Task<T> task, TimeSpan step, int maxSteps = 10_000)
        {
            for (int i = 0; i < maxSteps && !task.IsCompleted; i++)
            {
                await Task.Delay(1);
                if (!task.IsCompleted) time.Advance(step);
            }
            return await task;
        }
    }
}
