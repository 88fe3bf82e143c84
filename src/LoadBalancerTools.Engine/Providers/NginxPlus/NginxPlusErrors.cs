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
                    return new LbException(LbErrorKind.Rejected, message, code, response.Status) { ErrorId = ErrorIds.Rejected };
                case "UpstreamServerImmutable":
                    // A server nginx created by resolving a name (it carries "parent" and "host"): change the configured server or DNS.
                    return new LbException(LbErrorKind.NotSupported, message + " The server was created by DNS resolution of a configured name; change that server or the DNS record instead.", code, response.Status) { ErrorId = ErrorIds.NotSupported };
                case "UpstreamServerWeightImmutable":
                    // Hash-based balancing (hash, ip_hash) fixes weights.
                    return new LbException(LbErrorKind.NotSupported, message + " The upstream's balancing method (a hash) does not let weights change at run time.", code, response.Status) { ErrorId = ErrorIds.NotSupported };
                case "UnknownVersion":
                    return new LbException(LbErrorKind.NotSupported, message, code, response.Status) { ErrorId = ErrorIds.NotSupported };
            }
            return HttpErrors.FromStatus(response, message, code);
        }
    }
}
