using System;
using System.Net.Http;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;

namespace LoadBalancerTools.Providers.AwsElbV2
{
    /// <summary>
    /// Maps the Query API's &lt;ErrorResponse&gt;&lt;Error&gt;&lt;Code/&gt;&lt;Message/&gt; bodies to the model's error kinds.
    /// </summary>
    internal static class ElbV2Errors
    {
        /// <summary>The error code of an XML error body, or null.</summary>
        public static string? Code(string body)
        {
            if (body.IndexOf("<Code>", StringComparison.Ordinal) < 0) return null; // most bodies: no parse at all
            return ElbV2Xml.TryParse(body)?.Root.Child("Error").Text("Code");
        }

        /// <summary>For the transport's retry policy: AWS throttles with HTTP 400 and a code, and sends no Retry-After.</summary>
        public static bool IsThrottled(HttpResponseMessage response)
        {
            int status = (int)response.StatusCode;
            if (status != 400 && status != 429 && status != 503) return false;
            if (response.Content == null) return false;
            // The transport buffered the body before the policy runs, so this read does not block.
            string body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            return IsThrottlingCode(Code(body));
        }

        public static bool IsThrottlingCode(string? code) =>
            code == "Throttling" || code == "ThrottlingException" || code == "RequestLimitExceeded" || code == "TooManyRequestsException";

        /// <param name="action">The API action, for the message.</param>
        /// <param name="subject">What the call was about (a target group name or ARN), for the message.</param>
        public static LbException Map(string action, int status, string body, string? subject)
        {
            var error = ElbV2Xml.TryParse(body)?.Root.Child("Error");
            string? code = error.Text("Code");
            string text = error.Text("Message") ?? $"HTTP {status}";
            string about = subject == null ? "" : $" for '{subject}'";
            string message = $"ELBv2 refused {action}{about}: {text}" + (code != null ? $" ({code})." : ".");

            switch (code)
            {
                case "TargetGroupNotFound":
                    return new LbException(LbErrorKind.NotFound,
                        subject == null ? message : $"Target group '{subject}' was not found (ELBv2 {action}: {text}).", code, status) { ErrorId = ErrorIds.PoolNotFound };
                case "InvalidTarget":
                    return new LbException(LbErrorKind.InvalidInput, message, code, status) { ErrorId = ErrorIds.InvalidAddress };
                case "TooManyTargets":
                case "TooManyRegistrationsForTargetId":
                    return new LbException(LbErrorKind.Rejected, message + " An ELBv2 quota was reached.", code, status) { ErrorId = ErrorIds.Rejected };
                case "ValidationError":
                case "InvalidParameterValue":
                case "InvalidParameterCombination":
                case "MissingParameter":
                    return new LbException(LbErrorKind.InvalidInput, message, code, status) { ErrorId = ErrorIds.Rejected };
                case "InvalidConfigurationRequest":
                case "OperationNotPermitted":
                case "InvalidAction":
                    return new LbException(LbErrorKind.Rejected, message, code, status) { ErrorId = ErrorIds.Rejected };
                case "Throttling":
                case "ThrottlingException":
                case "RequestLimitExceeded":
                case "TooManyRequestsException":
                    return new LbException(LbErrorKind.Throttled,
                        $"ELBv2 throttled {action} (\"{text}\") and kept doing so through every retry; the account's request rate for this region is used up. Try again later, or run fewer calls at a time.",
                        code, status) { ErrorId = ErrorIds.Throttled };
                case "AccessDenied":
                case "AccessDeniedException":
                case "UnauthorizedOperation":
                    // Signed correctly, but the IAM policy lacks this action: reads and writes are told apart
                    // because a read-only policy is a common, deliberate setup.
                    bool write = action == "RegisterTargets" || action == "DeregisterTargets";
                    return new LbException(write ? LbErrorKind.ReadOnly : LbErrorKind.AuthenticationFailed,
                        $"The AWS identity is not allowed to call elasticloadbalancing:{action}{about}: {text} Grant it in the IAM policy (see the module's README for the minimal policy).", code, status)
                        { ErrorId = write ? ErrorIds.ApiReadOnly : ErrorIds.AuthenticationFailed };
                case "SignatureDoesNotMatch":
                case "IncompleteSignature":
                case "InvalidClientTokenId":
                case "UnrecognizedClientException":
                case "MissingAuthenticationToken":
                case "InvalidSignatureException":
                case "AuthFailure":
                case "ExpiredToken":
                case "ExpiredTokenException":
                case "RequestExpired":
                    // AWS's own text for a bad signature can quote the canonical request, whose signed headers
                    // include the session token: only the code is passed on.
                    return new LbException(LbErrorKind.AuthenticationFailed,
                        $"AWS rejected the credentials for {action} ({code}). Check the access key id and secret access key (or the profile, environment or role they came from), that a session token has not expired, and that this machine's clock is right.",
                        code, status) { ErrorId = ErrorIds.AuthenticationFailed };
                case "ServiceUnavailable":
                case "InternalFailure":
                case "InternalError":
                    return new LbException(LbErrorKind.Transient, message, code, status) { ErrorId = ErrorIds.Transient };
            }
            // Anything else (a proxy's HTML page, an unknown code): the status decides; the body is not quoted.
            return HttpErrors.FromStatus(new ApiResponse(status, body, "POST " + action), message, code);
        }
    }
}
