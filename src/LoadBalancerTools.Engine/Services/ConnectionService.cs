using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;
using LoadBalancerTools.Providers;

namespace LoadBalancerTools.Services
{
    /// <summary>
    /// The engine's connection registry: the one place a connection's provider (and its transport) is built,
    /// kept and released. Model objects carry only the connection; its provider is found here by the
    /// connection's Id, so the model never holds engine or third-party types.
    /// </summary>
    public static class ConnectionService
    {
        private static readonly ConcurrentDictionary<Guid, ILbProvider> Providers = new ConcurrentDictionary<Guid, ILbProvider>();

        /// <summary>Settings for a new connection, with the transport built from the user's limits.</summary>
        public static LbConnectionSettings NewSettings(string provider, Uri endpoint, int timeoutSec, int maxRetries, bool skipCertificateCheck) =>
            new LbConnectionSettings(provider, endpoint)
            {
                Transport = new TransportOptions
                {
                    TotalTimeout = TimeSpan.FromSeconds(timeoutSec),
                    // One slow attempt must leave room for a retry within the total.
                    AttemptTimeout = TimeSpan.FromSeconds(Math.Min(30, timeoutSec)),
                    MaxRetries = maxRetries,
                    SkipCertificateCheck = skipCertificateCheck,
                },
            };

        /// <summary>
        /// Creates the provider and registers it, not yet connected. A provider refuses a malformed endpoint
        /// here, before any I/O (HAProxy wants tcp:// or unix://).
        /// </summary>
        public static LbConnection Open(LbConnectionSettings settings)
        {
            if (!ProviderRegistry.TryCreate(settings, out var provider) || provider == null)
            {
                throw new LbException(LbErrorKind.InvalidInput, $"'{settings.Provider}' is not a known provider. Use one of: {string.Join(", ", ProviderRegistry.Names)}.") { ErrorId = ErrorIds.UnknownProvider };
            }
            var connection = Register(provider, settings.Endpoint, settings.Region);
            connection.IsConnected = false;
            return connection;
        }

        /// <summary>Authenticates and negotiates the API version; a failed connect releases what Open built.</summary>
        public static async Task ConnectAsync(LbConnection connection, ILbLog log, CancellationToken ct)
        {
            var provider = ProviderFor(connection);
            try
            {
                await provider.ConnectAsync(log, ct).ConfigureAwait(false);
            }
            catch
            {
                Forget(connection);
                throw;
            }
            // Known only after connect (NGINX Plus and NetScaler negotiate), and fixed from then on.
            connection.ApiVersion = provider.ApiVersion;
            connection.Capabilities = provider.Capabilities;
            connection.IsConnected = true;
        }

        /// <summary>Registers a provider that is ready to use and returns its connection.</summary>
        internal static LbConnection Register(ILbProvider provider, Uri endpoint, string? region = null)
        {
            var connection = new LbConnection(provider.ProviderName, endpoint, region)
            {
                ApiVersion = provider.ApiVersion,
                Capabilities = provider.Capabilities,
            };
            Providers[connection.Id] = provider;
            return connection;
        }

        /// <summary>The provider behind a connection; a closed connection is refused by name.</summary>
        internal static ILbProvider ProviderFor(LbConnection connection) =>
            Providers.TryGetValue(connection.Id, out var provider)
                ? provider
                : throw new LbException(LbErrorKind.InvalidInput, $"The connection to {connection} is closed: run Connect-LbController again.") { ErrorId = ErrorIds.NoConnection };

        /// <summary>Logs out (releasing server-side tokens or sessions) and forgets the connection, whatever the server answers.</summary>
        public static async Task DisconnectAsync(LbConnection connection, ILbLog log, CancellationToken ct)
        {
            if (!Providers.TryRemove(connection.Id, out var provider)) return;
            connection.IsConnected = false;
            try
            {
                await provider.DisconnectAsync(log, ct).ConfigureAwait(false);
            }
            finally
            {
                provider.Dispose();
            }
        }

        /// <summary>Forgets a connection without a logout (its runspace closed): the server's session expires on its own.</summary>
        public static void Forget(LbConnection connection)
        {
            if (!Providers.TryRemove(connection.Id, out var provider)) return;
            connection.IsConnected = false;
            provider.Dispose();
        }
    }
}
