using System;
using System.Globalization;
using System.Text;
using LoadBalancerTools.Errors;

namespace LoadBalancerTools.Providers.F5
{
    /// <summary>
    /// BIG-IP object naming: full paths (/Partition/name), member names (addr:port, IPv6 addr.port,
    /// optional %routeDomain) and their URI form (/ becomes ~, % becomes %25).
    /// </summary>
    public static class F5Names
    {
        public const string DefaultPartition = "Common";

        /// <summary>The partition to use: the given one trimmed of slashes, or Common. InvalidInput for names BIG-IP cannot have.</summary>
        public static string Partition(string? partition)
        {
            string p = (partition ?? "").Trim().Trim('/');
            if (p.Length == 0) return DefaultPartition;
            foreach (char c in p)
            {
                if (!(char.IsLetterOrDigit(c) || c == '-' || c == '_' || c == '.'))
                {
                    throw new LbException(LbErrorKind.InvalidInput,
                        $"'{partition}' is not a valid BIG-IP partition name: use letters, digits, '-', '_' and '.'.");
                }
            }
            return p;
        }

        /// <summary>"/Partition/name" for a bare name; a name that is already a full path keeps its own partition.</summary>
        public static string FullPath(string partition, string name) =>
            name.StartsWith("/", StringComparison.Ordinal) ? name : "/" + partition + "/" + name;

        /// <summary>The URI path segment for a full path: ~Common~web, ~Common~10.0.0.1%252:80.</summary>
        public static string UriSegment(string fullPath)
        {
            var sb = new StringBuilder(fullPath.Length + 8);
            foreach (char c in fullPath)
            {
                if (c == '/') sb.Append('~');
                else if (IsUnreserved(c)) sb.Append(c);
                else
                {
                    // Route domains (%) and anything else outside the safe set are percent-encoded, byte by byte.
                    foreach (byte b in Encoding.UTF8.GetBytes(c.ToString()))
                    {
                        sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
                    }
                }
            }
            return sb.ToString();
        }

        private static bool IsUnreserved(char c) =>
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == ':' || c == '@';

        /// <summary>The member name BIG-IP uses: 10.0.0.1:80, 2001:db8::1.80, 10.0.0.1%2:80.</summary>
        public static string MemberName(string address, int port)
        {
            string bare = address.Trim().TrimStart('[').TrimEnd(']');
            string ipPart = StripRouteDomain(bare);
            char separator = ipPart.IndexOf(':') >= 0 ? '.' : ':';
            return bare + separator + port.ToString(CultureInfo.InvariantCulture);
        }

        /// <summary>Splits a member name into its node part and port: "2001:db8::1.80" → ("2001:db8::1", 80).</summary>
        public static bool TrySplitMemberName(string name, out string node, out int port)
        {
            node = name;
            port = 0;
            // The node part has colons only when it is IPv6, and then the port follows the last '.'.
            int colon = name.LastIndexOf(':');
            int dot = name.LastIndexOf('.');
            string nodePart = StripRouteDomain(name);
            bool ipv6 = nodePart.IndexOf(':') != nodePart.LastIndexOf(':');
            int split = ipv6 ? dot : colon;
            if (split <= 0 || split == name.Length - 1) return false;
            if (!int.TryParse(name.Substring(split + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port)) return false;
            node = name.Substring(0, split);
            return true;
        }

        /// <summary>The name without its partition: "/Common/web" → "web".</summary>
        public static string Leaf(string fullPath)
        {
            int slash = fullPath.LastIndexOf('/');
            return slash >= 0 ? fullPath.Substring(slash + 1) : fullPath;
        }

        /// <summary>The partition of a full path: "/Common/web" → "Common"; null for a bare name.</summary>
        public static string? PartitionOf(string fullPath)
        {
            if (!fullPath.StartsWith("/", StringComparison.Ordinal)) return null;
            int next = fullPath.IndexOf('/', 1);
            return next > 1 ? fullPath.Substring(1, next - 1) : null;
        }

        private static string StripRouteDomain(string s)
        {
            // "10.0.0.1%2:80" and "2001:db8::1%2.80": the route domain sits between address and port.
            int percent = s.IndexOf('%');
            if (percent < 0) return s;
            int end = percent + 1;
            while (end < s.Length && char.IsDigit(s[end])) end++;
            return s.Substring(0, percent) + s.Substring(end);
        }
    }
}
