using System;
using LoadBalancerTools.Errors;

namespace LoadBalancerTools.Providers.HAProxy
{
    /// <summary>Turns HAProxy's plain-text refusals into the model's error kinds, with the fix where there is one.</summary>
    internal static class HaproxyErrors
    {
        public static LbException Map(string command, string answer)
        {
            string text = answer.Trim();
            string prefix = $"HAProxy refused '{command}': {FirstLine(text)}";
            if (Has(text, "No such backend") || Has(text, "Can't find backend"))
                return new LbException(LbErrorKind.NotFound, prefix) { ErrorId = ErrorIds.PoolNotFound };
            if (Has(text, "No such server"))
                return new LbException(LbErrorKind.NotFound, prefix) { ErrorId = ErrorIds.MemberNotFound };
            if (Has(text, "Already exists a server with the same name"))
                return new LbException(LbErrorKind.AlreadyExists, prefix + " Choose another -Name.");
            // 2.6 says the algorithm "must use a dynamic load balancing"; later versions say "Backend does not
            // support dynamic servers" (also for backends that cannot take them for other reasons).
            if (Has(text, "must use a dynamic load balancing") || Has(text, "does not support dynamic servers"))
                return new LbException(LbErrorKind.Rejected, prefix + " The backend uses a static balance algorithm (such as static-rr or a map-based hash); switch it to roundrobin, leastconn, first, random or a consistent hash to add servers at run time.") { ErrorId = ErrorIds.Rejected };
            if (Has(text, "still has connections attached"))
                return new LbException(LbErrorKind.Conflict, prefix + " It is in maintenance and takes no new traffic; remove it with -Drain to wait for its connections, or try again later.") { ErrorId = ErrorIds.Conflict };
            if (Has(text, "Only servers in maintenance mode can be deleted"))
                return new LbException(LbErrorKind.Conflict, prefix) { ErrorId = ErrorIds.Conflict };
            if (Has(text, "weight can only be between") || Has(text, "expects"))
                return new LbException(LbErrorKind.InvalidInput, prefix) { ErrorId = Has(text, "weight") ? ErrorIds.InvalidWeight : ErrorIds.Rejected };
            if (Has(text, "Permission denied"))
                return new LbException(LbErrorKind.ReadOnly, prefix + " The stats socket must be declared with 'level admin' for changes.") { ErrorId = ErrorIds.ApiReadOnly };
            if (Has(text, "Unknown command"))
                return new LbException(LbErrorKind.NotSupported, $"HAProxy does not know '{command}'; this needs HAProxy 2.6 or later with the Runtime API.") { ErrorId = ErrorIds.NotSupported };
            return new LbException(LbErrorKind.Rejected, prefix) { ErrorId = ErrorIds.Rejected };
        }

        private static bool Has(string text, string fragment) => text.IndexOf(fragment, StringComparison.OrdinalIgnoreCase) >= 0;

        internal static string FirstLine(string text)
        {
            int newline = text.IndexOf('\n');
            return newline < 0 ? text : text.Substring(0, newline);
        }
    }
}
