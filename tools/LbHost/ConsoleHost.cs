using System;
using System.Globalization;
using System.Management.Automation.Host;

namespace LbHost;

/// <summary>The PSHost the engine talks to: identity, the UI, and the exit request of an <c>exit N</c>.</summary>
internal sealed class ConsoleHost : PSHost
{
    private readonly ConsoleHostUserInterface _ui = new();

    public override string Name => "LbHost";

    public override Version Version { get; } = typeof(ConsoleHost).Assembly.GetName().Version ?? new Version(1, 0);

    public override Guid InstanceId { get; } = Guid.NewGuid();

    public override PSHostUserInterface UI => _ui;

    internal ConsoleHostUserInterface Ui => _ui;

    public override CultureInfo CurrentCulture => CultureInfo.CurrentCulture;

    public override CultureInfo CurrentUICulture => CultureInfo.CurrentUICulture;

    /// <summary>Set when the engine asks the host to exit (an <c>exit N</c> that reached the top level).</summary>
    public int? ExitCode { get; private set; }

    public override void SetShouldExit(int exitCode) => ExitCode = exitCode;

    // A one-shot runner has no interactive loop to nest into.
    public override void EnterNestedPrompt() =>
        throw new NotSupportedException("LbHost runs one script non-interactively and has no nested prompt.");

    public override void ExitNestedPrompt() =>
        throw new NotSupportedException("LbHost runs one script non-interactively and has no nested prompt.");

    public override void NotifyBeginApplication() { }

    public override void NotifyEndApplication() { }
}
