using System;
using System.Collections.Generic;
using System.Linq;

namespace LoadBalancerTools.Providers.HAProxy
{
    /// <summary>
    /// Parses the Runtime API's tables by their header names (never by position), so fields HAProxy
    /// adds in later versions do not shift what is read.
    /// </summary>
    internal static class HaproxyTables
    {
        /// <summary>"show servers state": a version line, a "# name name…" header, space-separated rows.</summary>
        public static List<Dictionary<string, string>> ServersState(string text) =>
            Parse(text, ' ');

        /// <summary>"show stat": a "# pxname,svname,…" header and CSV rows.</summary>
        public static List<Dictionary<string, string>> Stat(string text) =>
            Parse(text, ',');

        private static List<Dictionary<string, string>> Parse(string text, char separator)
        {
            var rows = new List<Dictionary<string, string>>();
            string[]? header = null;
            foreach (string raw in text.Split('\n'))
            {
                string line = raw.TrimEnd('\r');
                if (line.StartsWith("# ", StringComparison.Ordinal))
                {
                    header = line.Substring(2).Split(separator);
                    continue;
                }
                if (header == null || line.Length == 0) continue;
                string[] cells = line.Split(separator);
                var row = new Dictionary<string, string>(StringComparer.Ordinal);
                for (int i = 0; i < header.Length && i < cells.Length; i++)
                {
                    if (header[i].Length > 0) row[header[i]] = cells[i];
                }
                rows.Add(row);
            }
            return rows;
        }

        /// <summary>"show info": "Name: value" lines.</summary>
        public static string? InfoValue(string text, string name) =>
            text.Split('\n')
                .Select(l => l.TrimEnd('\r'))
                .Where(l => l.StartsWith(name + ":", StringComparison.Ordinal))
                .Select(l => l.Substring(name.Length + 1).Trim())
                .FirstOrDefault();

        public static string Get(this Dictionary<string, string> row, string name) => row.TryGetValue(name, out var v) ? v : "";
    }
}
