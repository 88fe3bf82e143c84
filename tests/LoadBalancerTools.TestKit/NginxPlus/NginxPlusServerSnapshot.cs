namespace LoadBalancerTools.TestKit;

/// <summary>One upstream server as the emulator holds it, configuration and peer state together.</summary>
/// <param name="Id">The id nginx assigned (never reused within an upstream).</param>
/// <param name="Server">Normalised address, as listed by the API ("10.0.0.1:80").</param>
/// <param name="State">Peer state as the API reports it: up, draining, down, unavail, checking, unhealthy.</param>
/// <param name="Active">Active connections reported on the peer.</param>
public sealed record NginxPlusServerSnapshot(
    int Id,
    string Server,
    string? Service,
    int Weight,
    int MaxConns,
    int MaxFails,
    string FailTimeout,
    string SlowStart,
    string Route,
    bool Backup,
    bool Down,
    bool Drain,
    string State,
    int Active);
