using System;
using System.Globalization;
using LoadBalancerTools.Errors;

namespace LoadBalancerTools.Services.Remediation.Stores
{
    /// <summary>
    /// A -StateStore value of the form redis://host[:port][/db] or rediss://… (TLS). A user name or password in
    /// the address is refused without echoing it: credentials come from -StateCredential or a vault secret.
    /// </summary>
    public sealed class RedisStoreAddress
    {
        private RedisStoreAddress(string host, int port, int database, bool tls)
        {
            Host = host;
            Port = port;
            Database = database;
            Tls = tls;
        }

        public string Host { get; }
        public int Port { get; }
        public int Database { get; }
        public bool Tls { get; }

        /// <summary>True when the value names a Redis store rather than a file.</summary>
        public static bool IsRedis(string value) =>
            value.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) || value.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase);

        public static RedisStoreAddress Parse(string value)
        {
            // Checked before anything else, and the value is never shown: it may hold a password (no host, path or db has an '@').
            if (value.IndexOf('@') >= 0)
            {
                throw Bad("-StateStore must not carry a user name or password (user:password@host): they would show wherever the address is shown. Use -StateCredential or -StateSecretName.");
            }
            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || !IsRedis(value) || uri.Host.Length == 0)
            {
                throw Bad($"-StateStore '{value}' is not a Redis address such as redis://host:6379/0 or rediss://host:6380.");
            }
            if (uri.Query.Length > 0 || uri.Fragment.Length > 0) throw Bad($"-StateStore '{value}' has options after the address; only redis://host:port/db is understood.");
            string path = uri.AbsolutePath.Trim('/');
            int db = 0;
            if (path.Length > 0 && (!int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out db) || db > 15))
            {
                throw Bad($"-StateStore '{value}': the database '{path}' is not a number from 0 to 15.");
            }
            bool tls = uri.Scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase);
            return new RedisStoreAddress(uri.Host.Trim('[', ']'), uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port, db, tls);
        }

        private static LbException Bad(string message) => new LbException(LbErrorKind.InvalidInput, message) { ErrorId = ErrorIds.InvalidStateStore };

        public override string ToString() =>
            string.Format(CultureInfo.InvariantCulture, "{0}://{1}:{2}/{3}", Tls ? "rediss" : "redis", Host.IndexOf(':') >= 0 ? "[" + Host + "]" : Host, Port, Database);
    }
}
