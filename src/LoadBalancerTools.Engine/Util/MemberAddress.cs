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
            @"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$",
            RegexOptions.CultureInvariant);

        /// <summary>The address in canonical form (IPv6 without brackets, lower case); InvalidInput naming the value otherwise.</summary>
        public static string Normalize(string? address)
        {
            string value = (address ?? "").Trim();
            // An F5 route domain: 10.0.0.1%2 is that address in route domain 2.
            int percent = value.LastIndexOf('%');
            if (percent > 0 && percent < value.Length - 1 && value.Substring(percent + 1).All(char.IsDigit) && IPAddress.TryParse(value.Substring(0, percent).Trim('[', ']'), out _))
            {
                try { return Normalize(value.Substring(0, percent)) + value.Substring(percent); }
                catch (LbException) { throw Invalid(address); }
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
            if (bare.Length > 0 && bare.IndexOf(':') < 0 && HostName.IsMatch(bare) && !Regex.IsMatch(bare, @"^[0-9.]+$"))
            {
                return bare.ToLowerInvariant();
            }
            throw Invalid(address);
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
