using System;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Text.RegularExpressions;
using LoadBalancerTools.Errors;

namespace LoadBalancerTools.Util
{
    /// <summary>Validates and normalizes member addresses and ports the same way for every vendor.</summary>
    public static class MemberAddress
    {
        // RFC 1123 host names: labels of letters, digits and inner hyphens.
        private static readonly Regex HostName = new Regex(
            @"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?\z",
            RegexOptions.CultureInvariant);

        /// <summary>The address in canonical form (IPv6 without brackets, lower case); InvalidInput naming the value otherwise.</summary>
        public static string Normalize(string? address)
        {
            RefuseControlCharacters(address, "member address", ErrorIds.InvalidAddress);
            string value = (address ?? "").Trim();
            if (EmbeddedPort(value) != null)
            {
                throw new LbException(LbErrorKind.InvalidInput,
                    $"'{address}' includes a port: give the address alone and the port in -Port.") { ErrorId = ErrorIds.InvalidAddress };
            }
            int percent = value.LastIndexOf('%');
            if (percent > 0 && percent < value.Length - 1)
            {
                string host = value.Substring(0, percent).Trim('[', ']');
                string suffix = value.Substring(percent + 1).TrimEnd(']');
                // An F5 route domain: 10.0.0.1%2 is that address in route domain 2 (ASCII digits only).
                if (suffix.All(IsAsciiDigit) && IPAddress.TryParse(host, out _))
                {
                    try { return Normalize(host) + "%" + suffix; }
                    catch (LbException) { throw Invalid(address); }
                }
                // An IPv6 zone (fe80::1%eth0) names an interface of the load balancer, not of this machine:
                // it is kept as text, never resolved to a local interface index.
                if (ZoneId.IsMatch(suffix) && IPAddress.TryParse(host, out var scoped) && scoped.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
                {
                    return scoped.ToString().ToLowerInvariant() + "%" + suffix;
                }
                throw Invalid(address);
            }
            string bare = value.StartsWith("[", StringComparison.Ordinal) && value.EndsWith("]", StringComparison.Ordinal)
                ? value.Substring(1, value.Length - 2)
                : value;
            if (bare.Length > 0 && IPAddress.TryParse(bare, out var ip))
            {
                // IPAddress.TryParse accepts "1" or "10.1"; an operator typing those has made a mistake.
                if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && bare.Split('.').Length != 4)
                {
                    throw Invalid(address);
                }
                return ip.ToString().ToLowerInvariant();
            }
            if (bare.Length > 0 && bare.IndexOf(':') < 0 && HostName.IsMatch(bare) && !Regex.IsMatch(bare, @"^[0-9.]+\z"))
            {
                return bare.ToLowerInvariant();
            }
            throw Invalid(address);
        }

        /// <summary>
        /// The address, normalized, for a member whose port is <paramref name="port"/>. An address that carries
        /// a port of its own ('[::1]:8080', '10.0.0.1:8080') is taken when the two agree and refused when they
        /// differ: one of them would otherwise be dropped without a word.
        /// </summary>
        public static string Normalize(string? address, int port)
        {
            RefuseControlCharacters(address, "member address", ErrorIds.InvalidAddress);
            string value = (address ?? "").Trim();
            if (EmbeddedPort(value) is { } embedded)
            {
                if (embedded.Port != port)
                {
                    throw new LbException(LbErrorKind.InvalidInput, string.Format(CultureInfo.InvariantCulture,
                        "'{0}' carries port {1}, but the port given is {2}: give the port once.", address, embedded.Port, port)) { ErrorId = ErrorIds.InvalidPort };
                }
                value = embedded.Host;
            }
            return Normalize(value);
        }

        /// <summary>Names (pools, members, tenants) go into URLs and command lines: control characters never belong in them.</summary>
        public static void RefuseControlCharacters(string? value, string what, string errorId)
        {
            if (value != null && value.Any(char.IsControl))
            {
                string shown = new string(value.Select(c => char.IsControl(c) ? '?' : c).ToArray());
                throw new LbException(LbErrorKind.InvalidInput,
                    $"The {what} '{shown}' contains a control character (a newline, tab or similar; shown as '?'): remove it.") { ErrorId = errorId };
            }
        }

        /// <summary>A pool name any vendor could take: not empty, not '.' or '..' (they escape no URL path), no control characters.</summary>
        public static void ValidatePoolName(string? pool)
        {
            RefuseControlCharacters(pool, "pool name", ErrorIds.InvalidName);
            string name = pool ?? "";
            if (name.Trim().Length == 0 || name == "." || name == "..")
            {
                throw new LbException(LbErrorKind.InvalidInput,
                    $"'{name}' is not a valid pool name: '.', '..' and empty names address no pool (in a URL they mean the folder itself or the one above).") { ErrorId = ErrorIds.InvalidName };
            }
        }

        private static readonly Regex ZoneId = new Regex(@"^[A-Za-z0-9_.\-]{1,64}\z", RegexOptions.CultureInvariant);

        private static bool IsAsciiDigit(char c) => c >= '0' && c <= '9';

        /// <summary>'[v6]:port' or 'v4-or-host:port' split, or null when the value carries no port.</summary>
        private static (string Host, int Port)? EmbeddedPort(string value)
        {
            if (value.StartsWith("[", StringComparison.Ordinal))
            {
                int close = value.IndexOf(']');
                if (close > 0 && close + 1 < value.Length && value[close + 1] == ':' && int.TryParse(value.Substring(close + 2), NumberStyles.None, CultureInfo.InvariantCulture, out int p6))
                {
                    return (value.Substring(1, close - 1), p6);
                }
                return null;
            }
            int colon = value.LastIndexOf(':');
            if (colon > 0 && value.IndexOf(':') == colon && int.TryParse(value.Substring(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int p))
            {
                return (value.Substring(0, colon), p);
            }
            return null;
        }

        public static void ValidatePort(int port)
        {
            if (port < 1 || port > 65535)
            {
                throw new LbException(LbErrorKind.InvalidInput,
                    string.Format(CultureInfo.InvariantCulture, "Port {0} is not valid: use 1 to 65535.", port)) { ErrorId = ErrorIds.InvalidPort };
            }
        }

        /// <summary>Splits a vendor's "host:port", "[v6]:port" or bare "host" (default port) into parts.</summary>
        public static (string Address, int Port) SplitEndpoint(string endpoint, int defaultPort)
        {
            string s = endpoint.Trim();
            if (s.StartsWith("[", StringComparison.Ordinal))
            {
                int close = s.IndexOf(']');
                string host = s.Substring(1, close - 1);
                int port = close + 2 <= s.Length - 1 && s[close + 1] == ':' ? int.Parse(s.Substring(close + 2), CultureInfo.InvariantCulture) : defaultPort;
                return (host.ToLowerInvariant(), port);
            }
            int colon = s.LastIndexOf(':');
            if (colon > 0 && s.IndexOf(':') == colon && int.TryParse(s.Substring(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int p))
            {
                return (s.Substring(0, colon).ToLowerInvariant(), p);
            }
            return (s.ToLowerInvariant(), defaultPort);
        }

        private static LbException Invalid(string? address) =>
            new LbException(LbErrorKind.InvalidInput,
                $"'{address}' is not a valid member address: give an IPv4 or IPv6 address or a host name.") { ErrorId = ErrorIds.InvalidAddress };
    }
}
