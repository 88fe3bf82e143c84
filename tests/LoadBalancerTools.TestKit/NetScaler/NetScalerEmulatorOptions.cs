using System;

namespace LoadBalancerTools.TestKit;

/// <summary>Start-up settings of a <see cref="NetScalerEmulator"/>.</summary>
public sealed class NetScalerEmulatorOptions
{
    /// <summary>The user that may log in (more with <see cref="NetScalerEmulator.AddUser"/>).</summary>
    public string UserName { get; set; } = "nsroot";

    public string Password { get; set; } = "nsroot";

    /// <summary>Idle timeout, in seconds, of a session whose login named none (NetScaler's default is 900).</summary>
    public int DefaultSessionTimeoutSec { get; set; } = 900;

    /// <summary>
    /// Clock behind session idle timeouts and graceful-disable delays. Pass a fake one so tests move time
    /// instead of sleeping.
    /// </summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Errorcode of a rejected session: 444 (session expired or killed) or 1027 (not logged in or connection timed out).</summary>
    public int SessionExpiredCode { get; set; } = 444;

    /// <summary>Seed of the fault injector's random source.</summary>
    public int FaultSeed { get; set; }
}

/// <summary>One service-group member as the emulator holds it.</summary>
/// <param name="ServerName">The server entity the member is bound through (named after the IP when bound by IP).</param>
/// <param name="Ip">The member's IP; "0.0.0.0" for a domain-based server.</param>
/// <param name="State">ENABLED or DISABLED, as set by bind, enable and disable.</param>
/// <param name="SvrState">What the API reports now: UP, DOWN, GOING OUT OF SERVICE, OUT OF SERVICE…</param>
/// <param name="Graceful">The graceful flag of the last disable (YES/NO).</param>
/// <param name="Delay">The delay, in seconds, of the last disable; 0 when none was given.</param>
/// <param name="DisableCount">How many disables this member received.</param>
public sealed record NetScalerMemberSnapshot(
    string ServiceGroup,
    string ServerName,
    string Ip,
    int Port,
    int Weight,
    string State,
    string SvrState,
    string Graceful,
    int Delay,
    int DisableCount);

/// <summary>One request as the emulator saw it. Login bodies are never kept: they hold the password.</summary>
public sealed record NetScalerRequest(string Method, string Path, int Status, string? Body);
