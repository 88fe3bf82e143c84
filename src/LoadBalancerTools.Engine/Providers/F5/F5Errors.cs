using System;
using System.Text.RegularExpressions;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Util;

namespace LoadBalancerTools.Providers.F5
{
    /// <summary>Maps iControl REST error bodies {"code","message","errorStack","apiError"} to the model's error kinds.</summary>
    internal static class F5Errors
    {
        /// <summary>"01020066:3: The requested ..." carries an 8-digit hex code before the severity.</summary>
        private static readonly Regex VendorCodePattern = new Regex(@"\b([0-9a-fA-F]{8}):\d+:", RegexOptions.CultureInvariant);
        private static readonly Regex TokenInPath = new Regex(@"(/authz/tokens/)[^/\s?]+", RegexOptions.CultureInvariant);

        internal const string Busy = "active asynchronous task";

        /// <summary>"01070734:3: Configuration error: invalid ratio ..." (01070734 is the generic configuration error).</summary>
        private static readonly Regex InvalidRatio = new Regex(@"^01070734:\d+: Configuration error: invalid ratio\b", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);
        /// <summary>"01070734:3: Configuration error: invalid IP address ...".</summary>
        private static readonly Regex InvalidAddress = new Regex(@"^01070734:\d+: Configuration error: invalid IP address\b", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

        /// <summary>The API's own message, or null when the body is not an iControl error.</summary>
        public static string? Message(ApiResponse response) => response.TryJson()?.Str("message");

        /// <summary>"There is an active asynchronous task executing": the device did not act and asks to be called again.</summary>
        public static bool IsBusy(ApiResponse response) =>
            !response.IsSuccess && (Message(response)?.IndexOf(Busy, StringComparison.OrdinalIgnoreCase) ?? -1) >= 0;

        /// <summary>Token values travel in the path of token calls; they never reach a message.</summary>
        public static string Redact(string text) => TokenInPath.Replace(text, "$1***");

        public static LbException Map(ApiResponse response)
        {
            string? text = Message(response);
            string request = Redact(response.Request);
            string? code = text == null ? null : VendorCodePattern.Match(text) is { Success: true } m ? m.Groups[1].Value : null;
            string message = $"BIG-IP refused {request}: " + (text != null ? Redact(text) : $"HTTP {response.Status}") + (text != null && !text.EndsWith(".", StringComparison.Ordinal) ? "." : "");
            int status = response.Status;

            if (text != null && text.IndexOf(Busy, StringComparison.OrdinalIgnoreCase) >= 0)
            {
                return new LbException(LbErrorKind.Transient, message + " The device stayed busy through every retry; run the command again later.", code, status) { ErrorId = ErrorIds.Transient };
            }
            if (text != null && text.IndexOf("maximum active login tokens", StringComparison.OrdinalIgnoreCase) >= 0)
            {
                return new LbException(LbErrorKind.Throttled,
                    $"BIG-IP refused a new login token: this user already holds the maximum number of live tokens (100). Another tool or session is not logging out; its tokens expire on their own (default 1200 s), or an administrator can delete them under /mgmt/shared/authz/tokens.",
                    code, status) { ErrorId = ErrorIds.Throttled };
            }
            switch (status)
            {
                case 401:
                    return new LbException(LbErrorKind.AuthenticationFailed,
                        $"BIG-IP rejected the credentials for {request} (HTTP 401). Check the user name and password, or the secret they came from.", code, status) { ErrorId = ErrorIds.AuthenticationFailed };
                case 403:
                    return new LbException(LbErrorKind.ReadOnly,
                        message + " The user's role does not allow this on the partition; see the least-privilege notes in the README.", code, status) { ErrorId = ErrorIds.ApiReadOnly };
                case 404:
                    return new LbException(LbErrorKind.NotFound, message, code, status) { ErrorId = IsPoolMissing(response, text) ? ErrorIds.PoolNotFound : ErrorIds.MemberNotFound };
                case 409:
                    return new LbException(LbErrorKind.AlreadyExists, message, code, status) { ErrorId = ErrorIds.AlreadyExists };
            }
            if (code == "01020036")
            {
                // "The requested ... was not found", whatever status a version answers it with.
                return new LbException(LbErrorKind.NotFound, message, code, status) { ErrorId = IsPoolMissing(response, text) ? ErrorIds.PoolNotFound : ErrorIds.MemberNotFound };
            }
            if (code == "01020066")
            {
                return new LbException(LbErrorKind.AlreadyExists, message, code, status) { ErrorId = ErrorIds.AlreadyExists };
            }
            if (code == "01070587")
            {
                // "The requested pool member name (...) is invalid": the member name is built from the address.
                return new LbException(LbErrorKind.InvalidInput, message, code, status) { ErrorId = ErrorIds.InvalidAddress };
            }
            if (status == 400 && text != null)
            {
                // Classified by code first (above), then by patterns anchored at the start of the vendor text,
                // so a word such as "ratio" elsewhere in an unrelated refusal classifies nothing.
                if (InvalidRatio.IsMatch(text))
                    return new LbException(LbErrorKind.InvalidInput, message, code, status) { ErrorId = ErrorIds.InvalidWeight };
                if (InvalidAddress.IsMatch(text))
                    return new LbException(LbErrorKind.InvalidInput, message, code, status) { ErrorId = ErrorIds.InvalidAddress };
                return new LbException(LbErrorKind.Rejected, message, code, status) { ErrorId = ErrorIds.Rejected };
            }
            return HttpErrors.FromStatus(new ApiResponse(status, "", request), message, code);
        }

        /// <summary>A 404 on a member URI can mean the member or its pool; the message says which.</summary>
        private static bool IsPoolMissing(ApiResponse response, string? text)
        {
            if (text != null)
            {
                if (text.IndexOf("Pool Member", StringComparison.OrdinalIgnoreCase) >= 0) return false;
                if (text.IndexOf("Pool (", StringComparison.OrdinalIgnoreCase) >= 0) return true;
            }
            // Without a telling message: a member URI names the member, a pool URI the pool.
            return response.Request.IndexOf("/members/", StringComparison.Ordinal) < 0 || response.Request.EndsWith("/stats", StringComparison.Ordinal);
        }
    }
}
