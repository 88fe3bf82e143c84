using System.Collections.Generic;

namespace LoadBalancerTools.TestKit;

/// <summary>What a second POST of an address that is already in the upstream does.</summary>
public enum NginxDuplicatePolicy
{
    /// <summary>
    /// Creates a second server with a new id. Real NGINX Plus behaviour is unverified (the spec names 409
    /// EntryExists), so the emulator defaults to the worst case for a client that does not check first.
    /// </summary>
    AllowDuplicates,

    /// <summary>409 EntryExists, as the API spec describes.</summary>
    Reject,
}

/// <summary>Start-up settings of a <see cref="NginxPlusEmulator"/>.</summary>
public sealed class NginxPlusEmulatorOptions
{
    /// <summary>
    /// Versions listed by <c>GET /api/</c> and accepted in paths; any other version is 404 UnknownVersion.
    /// Shrink it to test a client's version negotiation.
    /// </summary>
    public IReadOnlyList<int> SupportedVersions { get; set; } = new[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 };

    /// <summary>Initial value of <see cref="NginxPlusEmulator.DuplicatePolicy"/>.</summary>
    public NginxDuplicatePolicy DuplicatePolicy { get; set; } = NginxDuplicatePolicy.AllowDuplicates;

    /// <summary>Initial value of <see cref="NginxPlusEmulator.WriteEnabled"/> (<c>api write=on</c>).</summary>
    public bool WriteEnabled { get; set; } = true;

    /// <summary>Seed of the fault injector's random source.</summary>
    public int FaultSeed { get; set; }

    /// <summary>Keep the request log (<see cref="NginxPlusEmulator.Requests"/>). Long benchmarks may turn it off.</summary>
    public bool RecordRequests { get; set; } = true;

    /// <summary>Serve HTTPS with a self-signed certificate no client trusts, to test TLS validation.</summary>
    public bool Https { get; set; }

    /// <summary>Reported by <c>GET /api/{v}/nginx</c>.</summary>
    public string NginxVersion { get; set; } = "1.27.4";

    /// <summary>Reported by <c>GET /api/{v}/nginx</c>.</summary>
    public string Build { get; set; } = "nginx-plus-r34";
}
