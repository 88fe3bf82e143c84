using System;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace LoadBalancerTools.TestKit;

/// <summary>
/// Parses the <c>server</c> value of an upstream server the way the emulator stores it: IPv4 and IPv6
/// literals in canonical text, host names lower-cased, and an http address without a port gets ":80"
/// (nginx's default), so "10.0.0.1" is listed as "10.0.0.1:80". Stream addresses need a port.
/// </summary>
internal static class NginxAddress
{
    /// <summary>Returns the normalised address, or null with <paramref name="error"/> set (nginx-style text).</summary>
    public static string? TryNormalize(string? raw, bool stream, bool forService, out string error)
    {
        error = "";
        if (string.IsNullOrWhiteSpace(raw))
        {
            error = "no host while parsing";
            return null;
        }

        var text = raw.Trim();
        if (text.StartsWith("unix:", StringComparison.Ordinal))
        {
            // UNIX-domain sockets are legal upstream servers; nothing to normalise beyond the path check.
            if (text.Length == 5 || text[5] != '/') { error = $"invalid path while parsing \"{text}\""; return null; }
            return forService ? Fail(out error, $"service upstream \"{text}\" requires domain name") : text;
        }

        string host;
        string? portText;
        bool ipv6 = false;
        if (text[0] == '[')
        {
            var close = text.IndexOf(']');
            if (close < 0) { error = $"invalid host while parsing \"{text}\""; return null; }
            host = text.Substring(1, close - 1);
            var rest = text.Substring(close + 1);
            if (rest.Length == 0) portText = null;
            else if (rest[0] == ':') portText = rest.Substring(1);
            else { error = $"invalid host while parsing \"{text}\""; return null; }
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                error = $"invalid IPv6 address while parsing \"{text}\"";
                return null;
            }
            host = v6.ToString();
            ipv6 = true;
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon >= 0 && text.IndexOf(':') != colon)
            {
                // A bare IPv6 literal is ambiguous (which colon starts the port?); nginx wants brackets.
                error = $"invalid port while parsing \"{text}\"";
                return null;
            }
            host = colon >= 0 ? text.Substring(0, colon) : text;
            portText = colon >= 0 ? text.Substring(colon + 1) : null;
            if (!IsIPv4Shaped(host) ? !IsHostName(host) : !IsIPv4(host))
            {
                error = $"invalid host while parsing \"{text}\"";
                return null;
            }
            host = host.ToLowerInvariant();
        }

        if (forService)
        {
            if (portText is not null) return Fail(out error, $"service upstream \"{text}\" may not have port");
            if (ipv6 || IsIPv4Shaped(host)) return Fail(out error, $"service upstream \"{text}\" requires domain name");
            return host;
        }

        int port;
        if (portText is null)
        {
            if (stream) return Fail(out error, $"no port in server \"{text}\"");
            port = 80;
        }
        else if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port < 1 || port > 65535)
        {
            return Fail(out error, $"invalid port while parsing \"{text}\"");
        }

        var portString = port.ToString(CultureInfo.InvariantCulture);
        return ipv6 ? $"[{host}]:{portString}" : $"{host}:{portString}";
    }

    private static string? Fail(out string error, string message)
    {
        error = message;
        return null;
    }

    private static bool IsIPv4Shaped(string host)
    {
        foreach (var c in host)
            if (c != '.' && (c < '0' || c > '9')) return false;
        return host.Length > 0;
    }

    private static bool IsIPv4(string host)
    {
        // IPAddress.TryParse also takes "1" or "010.1"; nginx wants four decimal octets.
        var parts = host.Split('.');
        if (parts.Length != 4) return false;
        foreach (var part in parts)
            if (part.Length is < 1 or > 3 || !int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var octet) || octet > 255)
                return false;
        return true;
    }

    private static bool IsHostName(string host)
    {
        if (host.Length is < 1 or > 253) return false;
        foreach (var label in host.Split('.'))
        {
            if (label.Length is < 1 or > 63 || label[0] == '-' || label[^1] == '-') return false;
            foreach (var c in label)
                if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_')) return false;
        }
        return true;
    }
}
