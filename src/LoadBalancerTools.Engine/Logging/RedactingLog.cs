using System;

namespace LoadBalancerTools.Logging
{
    /// <summary>Passes every line on after removing a secret from it (a token in a URL path, a webhook URL).</summary>
    public sealed class RedactingLog : ILbLog
    {
        private readonly ILbLog _inner;
        private readonly Func<string, string> _redact;

        public RedactingLog(ILbLog inner, Func<string, string> redact)
        {
            _inner = inner;
            _redact = redact;
        }

        public void Verbose(string message) => _inner.Verbose(_redact(message));
        public void Warning(string message) => _inner.Warning(_redact(message));
        public void Debug(string message) => _inner.Debug(_redact(message));
        public void Progress(int activityId, string activity, string status, int percent, bool completed = false) =>
            _inner.Progress(activityId, _redact(activity), _redact(status), percent, completed);
    }
}
