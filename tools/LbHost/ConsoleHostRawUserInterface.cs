using System;
using System.Management.Automation.Host;

namespace LbHost;

/// <summary>
/// Just enough of a raw console for the formatter: it reads BufferSize to lay out tables.
/// Redirected output gets a fixed width (COLUMNS or 120) so CI logs do not depend on a terminal.
/// </summary>
internal sealed class ConsoleHostRawUserInterface : PSHostRawUserInterface
{
    private const int RedirectedWidth = 120;

    // Colours the UI treats as "the terminal's own": writing in them emits no escape sequence.
    public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;

    public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;

    public override Size BufferSize
    {
        get => new(Width, short.MaxValue);
        set { } // The host does not resize anything.
    }

    public override Size WindowSize
    {
        get => new(Width, Console.IsOutputRedirected ? 50 : SafeTerminal(() => Console.WindowHeight, 50));
        set { }
    }

    public override Size MaxWindowSize => WindowSize;

    public override Size MaxPhysicalWindowSize => WindowSize;

    public override Coordinates CursorPosition
    {
        get => Console.IsOutputRedirected
            ? new Coordinates(0, 0)
            : new Coordinates(SafeTerminal(() => Console.CursorLeft, 0), SafeTerminal(() => Console.CursorTop, 0));
        set
        {
            if (!Console.IsOutputRedirected)
            {
                SafeTerminal(() => { Console.SetCursorPosition(value.X, value.Y); return 0; }, 0);
            }
        }
    }

    public override Coordinates WindowPosition { get; set; }

    public override int CursorSize { get; set; } = 25;

    public override string WindowTitle { get; set; } = "LbHost";

    public override bool KeyAvailable => !Console.IsInputRedirected && Console.KeyAvailable;

    private static int Width
    {
        get
        {
            if (!Console.IsOutputRedirected)
            {
                int w = SafeTerminal(() => Console.WindowWidth, 0);
                if (w > 0)
                {
                    return w;
                }
            }

            return int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out int cols) && cols > 20
                ? cols
                : RedirectedWidth;
        }
    }

    public override KeyInfo ReadKey(ReadKeyOptions options)
    {
        if (Console.IsInputRedirected)
        {
            throw new NotSupportedException("LbHost cannot read a key: standard input is redirected (non-interactive).");
        }

        ConsoleKeyInfo key = Console.ReadKey((options & ReadKeyOptions.NoEcho) != 0);
        ControlKeyStates state = 0;
        if ((key.Modifiers & ConsoleModifiers.Shift) != 0) state |= ControlKeyStates.ShiftPressed;
        if ((key.Modifiers & ConsoleModifiers.Control) != 0) state |= ControlKeyStates.LeftCtrlPressed;
        if ((key.Modifiers & ConsoleModifiers.Alt) != 0) state |= ControlKeyStates.LeftAltPressed;
        return new KeyInfo((int)key.Key, key.KeyChar, state, keyDown: true);
    }

    public override void FlushInputBuffer() { }

    // Buffer access needs a real console screen buffer, which a log-oriented host does not model.
    public override BufferCell[,] GetBufferContents(Rectangle rectangle) =>
        throw new NotSupportedException("LbHost does not support reading the console buffer.");

    public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) =>
        throw new NotSupportedException("LbHost does not support writing the console buffer.");

    public override void SetBufferContents(Rectangle rectangle, BufferCell fill) =>
        throw new NotSupportedException("LbHost does not support writing the console buffer.");

    public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) =>
        throw new NotSupportedException("LbHost does not support scrolling the console buffer.");

    // Terminal queries throw when there is no terminal (e.g. under some CI runners); fall back quietly.
    private static int SafeTerminal(Func<int> query, int fallback)
    {
        try
        {
            return query();
        }
        catch (Exception e) when (e is System.IO.IOException or PlatformNotSupportedException or InvalidOperationException)
        {
            return fallback;
        }
    }
}
