using System;

namespace LoadBalancerTools.TestKit;

/// <summary>How an <see cref="F5Emulator"/> behaves.</summary>
public sealed class F5EmulatorOptions
{
    /// <summary>The BIG-IP version reported by /mgmt/tm/sys/version and in selfLinks.</summary>
    public string Version { get; set; } = "17.1.1";

    /// <summary>When false, POST /mgmt/shared/authn/login is not registered (404), as on versions without token auth.</summary>
    public bool TokenLoginAvailable { get; set; } = true;

    /// <summary>Basic authentication on every call; BIG-IP accepts it for local users only.</summary>
    public bool AllowBasicAuth { get; set; } = true;

    /// <summary>Live tokens one user may hold; the next login gets 400 "maximum active login tokens".</summary>
    public int MaxTokensPerUser { get; set; } = 100;

    /// <summary>Lifetime of a new token (BIG-IP's default is 1200 s).</summary>
    public int DefaultTokenTimeoutSeconds { get; set; } = 1200;

    /// <summary>Longest timeout a PATCH of the token may set; beyond is 406.</summary>
    public int MaxTokenTimeoutSeconds { get; set; } = 36000;

    /// <summary>The clock for token lifetimes; tests pass a fake one and advance it.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Pool-level member stats wrap each member one level deeper, as newer versions do.</summary>
    public bool DeepStats { get; set; }

    /// <summary>Seed of the fault injector's random source.</summary>
    public int FaultSeed { get; set; }

    /// <summary>Keep a log of requests (method, raw path, status).</summary>
    public bool RecordRequests { get; set; } = true;
}
