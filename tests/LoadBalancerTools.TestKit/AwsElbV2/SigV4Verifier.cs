using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace LoadBalancerTools.TestKit;

/// <summary>A request as SigV4 sees it: method, path, query pairs, headers (any case), body.</summary>
public sealed record SigV4Request(
    string Method,
    string Path,
    IReadOnlyList<KeyValuePair<string, string>> Query,
    IReadOnlyDictionary<string, string[]> Headers,
    byte[] Body);

/// <summary>Why a request was refused: the AWS error code and message, with its HTTP status.</summary>
public sealed record SigV4Failure(int Status, string Code, string Message);

/// <summary>
/// Checks AWS Signature Version 4 (AWS4-HMAC-SHA256, Authorization header) the way the service does:
/// the header's shape, the credential scope, the date, and then the signature itself, recomputed from
/// the request with the known secret. Written from AWS's published signing steps, independently of the
/// AWS SDK, so that it tests the SDK's signer rather than agreeing with it by construction.
/// </summary>
public static partial class SigV4Verifier
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Hex64();

    /// <summary>The parts of a well-formed Authorization header.</summary>
    public sealed record ParsedAuthorization(string AccessKeyId, string Date, string Region, string Service, IReadOnlyList<string> SignedHeaders, string Signature)
    {
        public string Scope => $"{Date}/{Region}/{Service}/aws4_request";
    }

    /// <summary>Parses the header; a failure says what is wrong, as AWS's IncompleteSignature does.</summary>
    public static (ParsedAuthorization? Parsed, SigV4Failure? Failure) Parse(string? authorization)
    {
        if (string.IsNullOrWhiteSpace(authorization))
            return (null, new SigV4Failure(403, "MissingAuthenticationToken", "Request is missing Authentication Token"));
        if (!authorization.StartsWith(Algorithm + " ", StringComparison.Ordinal))
            return (null, Incomplete($"Unsupported AWS 'algorithm': '{authorization.Split(' ')[0]}'"));

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in authorization.Substring(Algorithm.Length + 1).Split(','))
        {
            var kv = part.Trim();
            int eq = kv.IndexOf('=');
            if (eq <= 0) return (null, Incomplete($"Authorization header requires each component to be of the form key=value; got '{kv}'"));
            fields[kv.Substring(0, eq)] = kv.Substring(eq + 1);
        }
        foreach (var required in new[] { "Credential", "SignedHeaders", "Signature" })
        {
            if (!fields.ContainsKey(required)) return (null, Incomplete($"Authorization header requires '{required}' parameter."));
        }

        var scope = fields["Credential"].Split('/');
        if (scope.Length != 5 || scope[0].Length == 0 || scope[4] != "aws4_request"
            || !DateTime.TryParseExact(scope[1], "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            return (null, Incomplete($"Credential should be of the form AKID/yyyyMMdd/region/service/aws4_request; got '{Redact(fields["Credential"])}'"));
        }

        var signed = fields["SignedHeaders"].Split(';');
        if (signed.Any(h => h.Length == 0 || h != h.ToLowerInvariant()) || !signed.SequenceEqual(signed.OrderBy(h => h, StringComparer.Ordinal)))
            return (null, Incomplete("SignedHeaders must be lower-case header names, sorted, separated by ';'."));
        if (!signed.Contains("host") || !signed.Contains("x-amz-date"))
            return (null, Incomplete("SignedHeaders must include host and x-amz-date."));
        if (!Hex64().IsMatch(fields["Signature"]))
            return (null, Incomplete("Signature must be 64 lower-case hexadecimal digits."));

        return (new ParsedAuthorization(scope[0], scope[1], scope[2], scope[3], signed, fields["Signature"]), null);
    }

    /// <summary>
    /// Verifies a request end to end. <paramref name="lookup"/> gives the secret (and the session token
    /// the key was issued with, if any) for an access key id, or null when the key is unknown.
    /// </summary>
    public static (ParsedAuthorization? Parsed, SigV4Failure? Failure) Verify(SigV4Request request, string region, string service,
        Func<string, (string Secret, string? SessionToken)?> lookup, DateTimeOffset now, TimeSpan? maxSkew)
    {
        var (parsed, failure) = Parse(Header(request, "authorization"));
        if (parsed == null) return (null, failure);

        if (parsed.Region != region)
            return (parsed, new SigV4Failure(403, "SignatureDoesNotMatch", $"Credential should be scoped to a valid region, not '{parsed.Region}'."));
        if (parsed.Service != service)
            return (parsed, new SigV4Failure(403, "SignatureDoesNotMatch", $"Credential should be scoped to correct service: '{service}'."));

        string? amzDate = Header(request, "x-amz-date");
        if (amzDate == null || !DateTimeOffset.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var signedAt))
            return (parsed, Incomplete("The X-Amz-Date header is missing or not of the form yyyyMMddTHHmmssZ."));
        if (!amzDate.StartsWith(parsed.Date, StringComparison.Ordinal))
            return (parsed, new SigV4Failure(403, "SignatureDoesNotMatch", $"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{parsed.Date}' != '{amzDate.Substring(0, 8)}'."));
        if (maxSkew is { } skew && (signedAt - now).Duration() > skew)
            return (parsed, new SigV4Failure(403, "SignatureDoesNotMatch", $"Signature expired: {amzDate} is now earlier than {now.Subtract(skew):yyyyMMdd'T'HHmmss'Z'} ({now:yyyyMMdd'T'HHmmss'Z'} - {skew.TotalMinutes:0} min.)"));

        foreach (var name in parsed.SignedHeaders)
        {
            if (Header(request, name) == null)
                return (parsed, Incomplete($"The header '{name}' is listed in SignedHeaders but not sent."));
        }

        var known = lookup(parsed.AccessKeyId);
        if (known == null)
            return (parsed, new SigV4Failure(403, "InvalidClientTokenId", "The security token included in the request is invalid."));
        if (known.Value.SessionToken is { } token)
        {
            if (Header(request, "x-amz-security-token") != token)
                return (parsed, new SigV4Failure(403, "InvalidClientTokenId", "The security token included in the request is invalid."));
            if (!parsed.SignedHeaders.Contains("x-amz-security-token"))
                return (parsed, new SigV4Failure(403, "SignatureDoesNotMatch", "The session token must be signed."));
        }

        // The payload hash comes from the body received, so a body changed after signing fails the signature.
        string payloadHash = Hex(SHA256.HashData(request.Body));

        string canonical = CanonicalRequest(request, parsed.SignedHeaders, payloadHash);
        string stringToSign = StringToSign(amzDate, parsed.Scope, canonical);
        string expected = Sign(known.Value.Secret, parsed.Date, parsed.Region, parsed.Service, stringToSign);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(parsed.Signature)))
        {
            // AWS quotes both strings in this message; so does the emulator, so clients are tested for not echoing it.
            return (parsed, new SigV4Failure(403, "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. " +
                $"Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{stringToSign}'\n"));
        }
        return (parsed, null);
    }

    /// <summary>Method, URI, sorted query, signed headers with their values, the list of them, and the payload hash.</summary>
    public static string CanonicalRequest(SigV4Request request, IReadOnlyList<string> signedHeaders, string payloadHash)
    {
        var path = string.Join("/", (request.Path.Length == 0 ? "/" : request.Path).Split('/').Select(s => Encode(Uri.UnescapeDataString(s))));
        var query = string.Join("&", request.Query
            .Select(p => (Key: Encode(p.Key), Value: Encode(p.Value)))
            .OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => p.Key + "=" + p.Value));
        var headers = new StringBuilder();
        foreach (var name in signedHeaders) headers.Append(name).Append(':').Append(CanonicalValue(AllValues(request, name))).Append('\n');
        return string.Join("\n", request.Method.ToUpperInvariant(), path, query, headers.ToString(), string.Join(";", signedHeaders), payloadHash);
    }

    public static string StringToSign(string amzDate, string scope, string canonicalRequest) =>
        string.Join("\n", Algorithm, amzDate, scope, Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest))));

    /// <summary>The signature: HMAC-SHA256 chained over date, region, service and "aws4_request", then over the string to sign.</summary>
    public static string Sign(string secret, string date, string region, string service, string stringToSign)
    {
        byte[] key = Encoding.UTF8.GetBytes("AWS4" + secret);
        foreach (var part in new[] { date, region, service, "aws4_request" }) key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(part));
        return Hex(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
    }

    private static string CanonicalValue(IEnumerable<string> values) =>
        string.Join(",", values.Select(v => Regex.Replace(v.Trim(), " +", " ")));

    private static IEnumerable<string> AllValues(SigV4Request request, string name) =>
        request.Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).SelectMany(h => h.Value);

    private static string? Header(SigV4Request request, string name)
    {
        var values = AllValues(request, name).ToList();
        return values.Count == 0 ? null : string.Join(",", values);
    }

    // RFC 3986 unreserved characters stay; everything else is %XX with upper-case hex.
    private static string Encode(string value) => Uri.EscapeDataString(value);

    private static string Hex(byte[] bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    private static SigV4Failure Incomplete(string message) => new(403, "IncompleteSignature", message);

    private static string Redact(string credential) => credential.Length <= 4 ? credential : credential.Substring(0, 4) + "…";
}
