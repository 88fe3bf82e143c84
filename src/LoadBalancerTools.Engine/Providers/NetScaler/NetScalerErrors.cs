using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Util;

namespace LoadBalancerTools.Providers.NetScaler
{
    /// <summary>
    /// Maps NITRO's {"errorcode","message","severity"} bodies to the model's error kinds. NITRO reports
    /// failures in the body as well as the status (bulk requests answer 207 with errorcode 1243, and a
    /// 2xx with a non-zero errorcode is still a failure), so the body's code decides first.
    /// </summary>
    internal static class NetScalerErrors
    {
        public const int NoSuchResource = 258;
        public const int ResourceExists = 273;
        public const int InvalidArgument = 278;
        public const int InvalidCredentials = 354;
        public const int SessionExpired = 444;
        public const int SessionLimitExceeded = 445;
        public const int ConnectionLimitExceeded = 446;
        public const int NotLoggedIn = 1026;
        public const int AuthTimeout = 1027;
        public const int RequiredArgumentMissing = 1095;
        public const int InvalidArgumentValue = 1097;
        public const int BulkOperationFailed = 1243;
        /// <summary>A command policy denied the command. Named by a NITRO client library, not by the reference: matched defensively.</summary>
        public const int NotAuthorized = 2138;

        /// <summary>The body's errorcode, when the body is NITRO JSON.</summary>
        public static int? ErrorCode(ApiResponse response) => ErrorCode(response.TryJson());

        private static int? ErrorCode(JsonElement? body)
        {
            var code = body?.Prop("errorcode");
            if (code == null) return null;
            if (code.Value.ValueKind == JsonValueKind.Number && code.Value.TryGetInt32(out int n)) return n;
            if (code.Value.ValueKind == JsonValueKind.String && int.TryParse(code.Value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out n)) return n;
            return null;
        }

        /// <summary>The server ended the session (444) or no longer knows it (1027): logging in again helps, whatever the status line says.</summary>
        public static bool IsSessionExpired(ApiResponse response)
        {
            int? code = ErrorCode(response);
            return code == SessionExpired || code == AuthTimeout;
        }

        /// <summary>A non-success status, or a success status whose body still reports an error (207 bulk results, errorcode ≠ 0 with severity ERROR).</summary>
        public static bool IsFailure(ApiResponse response)
        {
            if (!response.IsSuccess || response.Status == 207) return true;
            var body = response.TryJson();
            int? code = ErrorCode(body);
            return code.HasValue && code.Value != 0 && !string.Equals(body?.Str("severity"), "WARNING", System.StringComparison.OrdinalIgnoreCase);
        }

        public static LbException Map(ApiResponse response)
        {
            var body = response.TryJson();
            int? code = ErrorCode(body);
            string text = body?.Str("message") ?? $"HTTP {response.Status}";
            string vendorCode = code?.ToString(CultureInfo.InvariantCulture) ?? "";
            string message = $"NetScaler refused {response.Request}: {text}" + (code.HasValue ? $" (errorcode {vendorCode})." : ".");
            bool isWrite = !response.Request.StartsWith(HttpMethod.Get.Method + " ", System.StringComparison.Ordinal);

            switch (code)
            {
                case null:
                    // Not NITRO JSON (an HTML page from a proxy, an empty body): the status is all there is.
                    return HttpErrors.FromStatus(response, message);
                case BulkOperationFailed:
                    return Bulk(response, body!.Value);
                case NoSuchResource:
                    // The message names what is missing ("No such resource [servicegroupName, web]"); a member op on a missing group says so too.
                    return new LbException(LbErrorKind.NotFound, message, vendorCode, response.Status)
                    {
                        ErrorId = text.IndexOf("servicegroup", System.StringComparison.OrdinalIgnoreCase) >= 0 ? ErrorIds.PoolNotFound : ErrorIds.MemberNotFound,
                    };
                case ResourceExists:
                    return new LbException(LbErrorKind.AlreadyExists, message, vendorCode, response.Status) { ErrorId = ErrorIds.AlreadyExists };
                case InvalidCredentials:
                    return new LbException(LbErrorKind.AuthenticationFailed,
                        $"NetScaler rejected the user name or password (errorcode {vendorCode}). Check the credential, or the secret it came from.", vendorCode, response.Status)
                    { ErrorId = ErrorIds.AuthenticationFailed };
                case SessionExpired:
                case AuthTimeout:
                case NotLoggedIn:
                    return new LbException(LbErrorKind.AuthenticationFailed,
                        $"NetScaler rejected the session for {response.Request}: {text} (errorcode {vendorCode}), and logging in again did not help.", vendorCode, response.Status)
                    { ErrorId = ErrorIds.AuthenticationFailed };
                case NotAuthorized:
                    return new LbException(isWrite ? LbErrorKind.ReadOnly : LbErrorKind.Rejected,
                        message + " The NetScaler user's command policy does not allow this command; see the module's least-privilege policy.", vendorCode, response.Status)
                    { ErrorId = isWrite ? ErrorIds.ApiReadOnly : ErrorIds.Rejected };
                case SessionLimitExceeded:
                case ConnectionLimitExceeded:
                    return new LbException(LbErrorKind.Throttled,
                        message + " The appliance limits sessions and connections per user; close other sessions (Disconnect-LbController) or wait for them to time out.", vendorCode, response.Status)
                    { ErrorId = ErrorIds.Throttled };
                case InvalidArgument:
                case RequiredArgumentMissing:
                case InvalidArgumentValue:
                    return new LbException(LbErrorKind.InvalidInput, message, vendorCode, response.Status) { ErrorId = InvalidInputId(text) };
            }
            // 599 is NetScaler's "specific error": a definite refusal, not a passing fault.
            if (response.Status == 599 || (response.Status >= 200 && response.Status < 300))
            {
                return new LbException(LbErrorKind.Rejected, message, vendorCode, response.Status) { ErrorId = ErrorIds.Rejected };
            }
            return HttpErrors.FromStatus(response, message, vendorCode);
        }

        private static string InvalidInputId(string text)
        {
            string t = text.ToLowerInvariant();
            if (t.Contains("weight")) return ErrorIds.InvalidWeight;
            if (t.Contains("port")) return ErrorIds.InvalidPort;
            if (t.Contains("ip") || t.Contains("server")) return ErrorIds.InvalidAddress;
            return ErrorIds.Rejected;
        }

        /// <summary>
        /// 207 / errorcode 1243: some operations of a bulk request failed and the others were applied.
        /// Names each failure by its position; the kind is the failures' common kind, else Rejected.
        /// </summary>
        private static LbException Bulk(ApiResponse response, JsonElement body)
        {
            var results = body.Prop("response") is { ValueKind: JsonValueKind.Array } r ? r.EnumerateArray().ToList() : new List<JsonElement>();
            var failures = new List<(int Index, int Code, string Text)>();
            for (int i = 0; i < results.Count; i++)
            {
                int code = ErrorCode(results[i]) ?? 0;
                if (code != 0) failures.Add((i + 1, code, results[i].Str("message") ?? ""));
            }
            int done = results.Count - failures.Count;
            string detail = failures.Count == 0
                ? "the appliance did not say which operations failed"
                : string.Join("; ", failures.Select(f => string.Format(CultureInfo.InvariantCulture, "#{0}: {1} (errorcode {2})", f.Index, f.Text, f.Code)));
            string text = string.Format(CultureInfo.InvariantCulture,
                "NetScaler applied only part of {0}: {1} operation(s) failed ({2}); {3} reported Done and were applied.",
                response.Request, failures.Count, detail, done);

            var kinds = failures.Select(f => Map(new ApiResponse(f.Code == ResourceExists ? 409 : 599,
                "{\"errorcode\":" + f.Code.ToString(CultureInfo.InvariantCulture) + ",\"message\":" + JsonSerializer.Serialize(f.Text) + "}", response.Request)).Kind).Distinct().ToList();
            var kind = kinds.Count == 1 ? kinds[0] : LbErrorKind.Rejected;
            return new LbException(kind, text, BulkOperationFailed.ToString(CultureInfo.InvariantCulture), response.Status) { ErrorId = kind == LbErrorKind.Rejected ? ErrorIds.Rejected : null };
        }
    }
}
