using System;
using System.Text.RegularExpressions;

namespace LoadBalancerTools.Util
{
    /// <summary>
    /// URLs in events, journal lines and alerts lose their query string and user info: a probe path such
    /// as /healthz?token=… must not carry its token into a Slack channel or a file.
    /// </summary>
    public static class UrlRedaction
    {
        private static readonly Regex Url = new Regex(@"\b([a-zA-Z][a-zA-Z0-9+.-]*://)([^/\s@?#]*@)?([^\s?#]*)(\?[^\s#]*)?(#\S*)?", RegexOptions.CultureInvariant);

        /// <summary>The text with every URL's user info and query replaced by "***".</summary>
        public static string Redact(string? text)
        {
            if (string.IsNullOrEmpty(text) || text!.IndexOf("://", StringComparison.Ordinal) < 0) return text ?? "";
            return Url.Replace(text, m => m.Groups[1].Value + (m.Groups[2].Success ? "***@" : "") + m.Groups[3].Value + (m.Groups[4].Success ? "?***" : ""));
        }
    }
}
