using System.Text.Json;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Util;

namespace LoadBalancerTools.Providers.NginxPlus
{
    /// <summary>Maps the API's {"error":{"status","text","code"}} bodies to the model's error kinds.</summary>
    internal static class NginxPlusErrors
    {
        public static LbException Map(ApiResponse response)
        {
            var error = response.TryJson()?.Prop("error");
            string? code = error?.Str("code");
            string text = error?.Str("text") ?? $"HTTP {response.Status}";
            string message = $"NGINX Plus refused {response.Request}: {text}" + (code != null ? $" ({code})." : ".");
            switch (code)
            {
                case "UpstreamNotFound":
                    return new LbException(LbErrorKind.NotFound, message, code, response.Status) { ErrorId = ErrorIds.PoolNotFound };
                case "UpstreamServerNotFound":
                    return new LbException(LbErrorKind.NotFound, message, code, response.Status) { ErrorId = ErrorIds.MemberNotFound };
                case "EntryExists":
                    return new LbException(LbErrorKind.AlreadyExists, message, code, response.Status);
                case "MethodDisabled":
                    return new LbException(LbErrorKind.ReadOnly, message + " The API is read-only: enable writes with 'api write=on;' on its location.", code, response.Status) { ErrorId = ErrorIds.ApiReadOnly };
                case "UpstreamStatic":
                    return new LbException(LbErrorKind.Rejected, message + " The upstream has no shared-memory zone, so the API cannot change it: add a 'zone' directive.", code, response.Status) { ErrorId = ErrorIds.Rejected };
                case "UpstreamBadAddress":
                    return new LbException(LbErrorKind.InvalidInput, message, code, response.Status) { ErrorId = ErrorIds.InvalidAddress };
                case "UpstreamBadWeight":
                    return new LbException(LbErrorKind.InvalidInput, message, code, response.Status) { ErrorId = ErrorIds.InvalidWeight };
                case "UpstreamConfFormatError":
                case "UpstreamServerImmutable":
                    return new LbException(LbErrorKind.Rejected, message, code, response.Status) { ErrorId = ErrorIds.Rejected };
                case "UnknownVersion":
                    return new LbException(LbErrorKind.NotSupported, message, code, response.Status) { ErrorId = ErrorIds.NotSupported };
            }
            return HttpErrors.FromStatus(response, message, code);
        }
    }
}
