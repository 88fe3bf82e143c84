using System;
using LoadBalancerTools.Providers;

namespace LoadBalancerTools.Model
{
    /// <summary>A live connection to one load balancer's management API. Holds no secret in any public member.</summary>
    public sealed class LbConnection
    {
        internal LbConnection(ILbProvider provider, Uri endpoint, string? region = null)
        {
            Provider = provider.ProviderName;
            Endpoint = endpoint;
            ProviderInstance = provider;
            Id = Guid.NewGuid();
            ConnectedAt = DateTimeOffset.UtcNow;
            Region = region;
        }

        public Guid Id { get; }
        public string Provider { get; }
        public Uri Endpoint { get; }
        public string? Region { get; }
        public string? ApiVersion => ProviderInstance.ApiVersion;
        public LbCapabilities Capabilities => ProviderInstance.Capabilities;
        /// <summary>Where the credential came from (Credential, SecretManagement, Environment, DotEnv, None) — never the secret itself.</summary>
        public string CredentialSource { get; internal set; } = "None";
        /// <summary>The .env file that supplied the credential, when one did.</summary>
        public string? CredentialFile { get; internal set; }
        public string? UserName { get; internal set; }
        public bool SkipCertificateCheck { get; internal set; }
        public int TimeoutSec { get; internal set; }
        public int MaxRetries { get; internal set; }
        public DateTimeOffset ConnectedAt { get; }
        public bool IsConnected { get; internal set; } = true;
        public bool IsDefault { get; internal set; }

        internal ILbProvider ProviderInstance { get; }

        public bool Supports(LbCapabilities capability) => (Capabilities & capability) == capability;

        public override string ToString() => $"{Provider} {Endpoint}";
    }
}
