namespace LoadBalancerTools.Logging
{
    /// <summary>Where engine code reports what it does. Cmdlets queue these and write them on the pipeline thread.</summary>
    public interface ILbLog
    {
        void Verbose(string message);
        void Warning(string message);
        void Debug(string message);
        /// <summary>Progress of a long operation; percent -1 when unknown; completed closes the bar.</summary>
        void Progress(int activityId, string activity, string status, int percent, bool completed = false);
    }

    public sealed class NullLog : ILbLog
    {
        public static readonly NullLog Instance = new NullLog();
        public void Verbose(string message) { }
        public void Warning(string message) { }
        public void Debug(string message) { }
        public void Progress(int activityId, string activity, string status, int percent, bool completed = false) { }
    }
}
