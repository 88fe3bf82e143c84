using System;
using System.Net;
using LoadBalancerTools.Http;

namespace LoadBalancerTools.Providers
{
    /// <summary>Everything a provider needs to connect. The credential stays inside the provider and its auth handler.</summary>
    public sealed class LbConnectionSettings
    {
        public LbConnectionSettings(string provider, Uri endpoint)
        {
            Provider = provider;
            Endpoint = endpoint;
        }

        public string Provider { get; }
        public Uri Endpoint { get; }
        public NetworkCredential? Credential { get; set; }
        public TransportOptions Transport { get; set; } = new TransportOptions();
        /// <summary>Vendor scoping: F5 partition, AWS region and profile.</summary>
        public string? Partition { get; set; }
        public string? Region { get; set; }
        public string? ProfileName { get; set; }
        /// <summary>NetScaler: save the running configuration after changes (default on, as citrix-adc-ansible does).</summary>
        public bool SaveConfig { get; set; } = true;
        /// <summary>F5: the device group to config-sync to after changes; null for none.</summary>
        public string? SyncGroup { get; set; }
    }
}
