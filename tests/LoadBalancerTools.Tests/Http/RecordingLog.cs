using System.Collections.Concurrent;
using LoadBalancerTools.Logging;

namespace LoadBalancerTools.Tests.Http
{
    internal sealed class RecordingLog : ILbLog
    {
        public ConcurrentQueue<string> Verbose { get; } = new ConcurrentQueue<string>();
        public ConcurrentQueue<string> Warnings { get; } = new ConcurrentQueue<string>();
        public ConcurrentQueue<(string Status, int Percent, bool Completed)> ProgressLog { get; } = new ConcurrentQueue<(string, int, bool)>();
        void ILbLog.Verbose(string message) => Verbose.Enqueue(message);
        void ILbLog.Warning(string message) => Warnings.Enqueue(message);
        void ILbLog.Debug(string message) { }
        void ILbLog.Progress(int activityId, string activity, string status, int percent, bool completed) => ProgressLog.Enqueue((status, percent, completed));
    }
}
