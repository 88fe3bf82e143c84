using LoadBalancerTools.Errors;

namespace LoadBalancerTools.Http
{
    /// <summary>The fallback mapping from HTTP status to error kind, for bodies a provider does not recognise.</summary>
    public static class HttpErrors
    {
        public static LbException FromStatus(ApiResponse response, string message, string? vendorCode = null)
        {
            var kind = response.Status switch
            {
                401 => LbErrorKind.AuthenticationFailed,
                403 => LbErrorKind.AuthenticationFailed,
                404 => LbErrorKind.NotFound,
                405 => LbErrorKind.ReadOnly,
                409 => LbErrorKind.Conflict,
                412 => LbErrorKind.Conflict,
                429 => LbErrorKind.Throttled,
                400 => LbErrorKind.Rejected,
                422 => LbErrorKind.Rejected,
                _ when response.Status >= 500 => LbErrorKind.Transient,
                _ => LbErrorKind.Rejected,
            };
            if (kind == LbErrorKind.AuthenticationFailed)
            {
                message = $"The API rejected the credentials for {response.Request} (HTTP {response.Status}). Check the user name and password, or the secret they came from.";
            }
            return new LbException(kind, message, vendorCode, response.Status);
        }
    }
}
