using System;

namespace LoadBalancerTools.Model
{
    /// <summary>
    /// A live connection to one load balancer's management API: what it is and how it was made. Holds no
    /// secret in any public member, and no provider: the engine's connection registry maps <see cref="Id"/>
    /// to the provider that talks to the load balancer.
    /// </summary>
    public sealed class LbConnection
    {
        internal LbConnection(string provider, Uri endpoint, string? region = null)
        {
            Provider = provider;
            Endpoint = endpoint;
            Id = Guid.NewGuid();
            ConnectedAt = DateTimeOffset.UtcNow;
            Region = region;
        }

        public Guid Id { get; }
        public string Provider { get; }
        public Uri Endpoint { get; }
        public string? Region { get; }
        /// <summary>The API version negotiated at connect, when the vendor has one.</summary>
        public string? ApiVersion { get; internal set; }
        // Internal: PowerShell shows it through the type data (LbTypeData), so ConvertTo-Json writes the name, not a number.
        internal LbCapabilities Capabilities { get; set; }
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

        public bool Supports(LbCapabilities capability) => (Capabilities & capability) == capability;

        public override string ToString() => $"{Provider} {Endpoint}";
    }
}
