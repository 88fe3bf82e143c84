using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Alerts
{
    /// <summary>The remediation journal: one JSON object per line per decision, appended, so `tail -f` and log shippers read it as it grows.</summary>
    public static class Journal
    {
        // A log file, not HTML: only what JSON itself requires is escaped, so "+00:00" and "<" stay greppable.
        private static readonly JsonSerializerOptions LineOptions = new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        public static void Append(string? path, IEnumerable<LbRemediationEvent> events)
        {
            if (path == null) return;
            var text = new StringBuilder();
            foreach (var e in events) text.Append(JsonSerializer.Serialize(ToJsonObject(e), LineOptions)).Append('\n');
            if (text.Length == 0) return;
            string full = Path.GetFullPath(path);
            string? dir = Path.GetDirectoryName(full);
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            // Never through a link (it would append to another file); a new journal is owner-only.
            Services.Remediation.StateFileLock.RefuseLink(full);
            bool created = !File.Exists(full);
            File.AppendAllText(full, text.ToString());
            if (created) Services.Remediation.StateFileSecurity.OwnerOnly(full);
        }

        internal static Dictionary<string, object?> ToJsonObject(LbRemediationEvent e) => new Dictionary<string, object?>
        {
            ["timestamp"] = e.Timestamp.ToString("o"),
            ["round"] = e.Round,
            ["type"] = e.Type.ToString(),
            ["provider"] = e.Provider,
            ["endpoint"] = e.Endpoint,
            ["pool"] = e.Pool,
            ["member"] = e.Member,
            ["address"] = e.Address,
            ["port"] = e.Port,
            ["action"] = e.Action,
            ["applied"] = e.Applied,
            ["success"] = e.Success,
            ["reason"] = Util.UrlRedaction.Redact(e.Reason),
            ["consecutiveFailures"] = e.ConsecutiveFailures,
            ["consecutiveSuccesses"] = e.ConsecutiveSuccesses,
            ["channel"] = e.Channel,
            ["error"] = e.Error == null ? null : Util.UrlRedaction.Redact(e.Error),
        };
    }
}
