using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Internal;
using System.Security;
using System.Text;

namespace LbHost;

/// <summary>
/// Prints every stream the engine hands the host as plain lines, so the result reads the same in a
/// terminal and in a CI log. Colour (ANSI) only when the target stream is a terminal.
/// Prompts read stdin; with stdin redirected they never wait for a person who is not there.
/// </summary>
internal sealed class ConsoleHostUserInterface : PSHostUserInterface
{
    // The escape sequences pwsh's $PSStyle uses for these streams.
    private const string ErrorStyle = "\u001b[31;1m";
    private const string WarningStyle = "\u001b[33;1m";
    private const string ProgressStyle = "\u001b[36m";
    private const string Reset = "\u001b[0m";

    private readonly ConsoleHostRawUserInterface _rawUI = new();
    private readonly object _lock = new();
    private readonly bool _stdoutColor = !Console.IsOutputRedirected && NoColorUnset();
    private readonly bool _stderrColor = !Console.IsErrorRedirected && NoColorUnset();

    // Last (status, percent) printed per progress activity, to print only changes. Keyed by what
    // the line shows, not by source id: each Write-Progress call in a script is a new source.
    private readonly Dictionary<(int Id, string Activity), (string? Status, int Percent)> _progress = new();

    public override PSHostRawUserInterface RawUI => _rawUI;

    // Tells the formatter whether $PSStyle escapes (e.g. table headers) may be emitted.
    public override bool SupportsVirtualTerminal => _stdoutColor;

    /// <summary>Number of error records printed; any at all means the run failed.</summary>
    public int ErrorCount { get; private set; }

    public override void Write(string value) => Out(value, null);

    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) =>
        Out(value, ColorStyle(foregroundColor, backgroundColor));

    public override void WriteLine(string value) => Out(value + Environment.NewLine, null);

    public override void WriteLine(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) =>
        Out(value + Environment.NewLine, ColorStyle(foregroundColor, backgroundColor));

    public override void WriteErrorLine(string value) => Err(value);

    public override void WriteWarningLine(string message) => OutStyled("WARNING: " + message, WarningStyle);

    public override void WriteVerboseLine(string message) => OutStyled("VERBOSE: " + message, WarningStyle);

    public override void WriteDebugLine(string message) => OutStyled("DEBUG: " + message, WarningStyle);

    // The engine shows information records itself (through WriteLine, or Write with colours for
    // Write-Host) when $InformationPreference says so; this call is only for transcripts, and
    // printing here would show records that the preference hides.
    public override void WriteInformation(InformationRecord record) { }

    public override void WriteProgress(long sourceId, ProgressRecord record)
    {
        var key = (record.ActivityId, record.Activity);
        string? line = null;
        lock (_lock)
        {
            if (record.RecordType == ProgressRecordType.Completed)
            {
                // A completion of an activity never shown (e.g. a bare "done") is still worth one line.
                _progress.Remove(key);
                line = $"PROGRESS: {record.Activity} - completed";
            }
            else if (!_progress.TryGetValue(key, out var last)
                     || last.Status != record.StatusDescription
                     || last.Percent != record.PercentComplete)
            {
                _progress[key] = (record.StatusDescription, record.PercentComplete);
                string percent = record.PercentComplete >= 0 ? $" {record.PercentComplete}%" : string.Empty;
                line = $"PROGRESS: {record.Activity} - {record.StatusDescription}{percent}";
            }
        }

        if (line != null)
        {
            OutStyled(line, ProgressStyle);
        }
    }

    /// <summary>
    /// Prints an error the way pwsh's concise view starts ("Command: message"), followed by where
    /// it happened and the category / error id lines a CI log reader needs to find its cause.
    /// </summary>
    public void WriteErrorRecord(ErrorRecord record)
    {
        CommandInfo? command = record.InvocationInfo?.MyCommand;
        // Like pwsh: the failing command's name, else the exception's kind ("Exception" for throw).
        string source;
        if (command is not null and not ScriptInfo && !string.IsNullOrEmpty(command.Name))
        {
            source = command.Name;
        }
        else
        {
            Type? kind = record.Exception?.GetType();
            source = kind is null || kind == typeof(RuntimeException) ? "Exception" : kind.Name;
        }

        var text = new StringBuilder();
        text.Append(source).Append(": ").Append(record.ToString());

        string? position = record.InvocationInfo?.PositionMessage;
        if (!string.IsNullOrEmpty(position))
        {
            // First line only ("At file:line char:N"); the caret lines add noise to a log.
            text.AppendLine().Append("    ").Append(position.Split('\n')[0].TrimEnd());
        }

        string? action = record.ErrorDetails?.RecommendedAction;
        if (!string.IsNullOrEmpty(action))
        {
            text.AppendLine().Append("    + RecommendedAction     : ").Append(action);
        }

        text.AppendLine().Append("    + CategoryInfo          : ").Append(record.CategoryInfo);
        text.AppendLine().Append("    + FullyQualifiedErrorId : ").Append(record.FullyQualifiedErrorId);
        ErrorCount++;
        Err(text.ToString());
    }

    public override string? ReadLine()
    {
        // Null at end of input lets a script loop over piped stdin.
        return Console.In.ReadLine();
    }

    public override SecureString ReadLineAsSecureString()
    {
        var secure = new SecureString();
        if (Console.IsInputRedirected)
        {
            string line = Console.In.ReadLine()
                ?? throw NonInteractive("read a secure string: standard input has ended");
            WriteLine();
            foreach (char c in line)
            {
                secure.AppendChar(c);
            }
        }
        else
        {
            // Read key by key so the secret is never echoed.
            for (ConsoleKeyInfo key = Console.ReadKey(true); key.Key != ConsoleKey.Enter; key = Console.ReadKey(true))
            {
                if (key.Key == ConsoleKey.Backspace)
                {
                    if (secure.Length > 0)
                    {
                        secure.RemoveAt(secure.Length - 1);
                    }
                }
                else if (!char.IsControl(key.KeyChar))
                {
                    secure.AppendChar(key.KeyChar);
                }
            }

            Out(Environment.NewLine, null);
        }

        secure.MakeReadOnly();
        return secure;
    }

    public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions)
    {
        WritePromptHeader(caption, message);
        var answers = new Dictionary<string, PSObject>();
        foreach (FieldDescription field in descriptions)
        {
            string label = string.IsNullOrEmpty(field.Label) ? field.Name : field.Label.Replace("&", string.Empty);
            string type = field.ParameterTypeFullName ?? string.Empty;
            if (type == typeof(SecureString).FullName)
            {
                Write(label + ": ");
                answers[field.Name] = PSObject.AsPSObject(ReadLineAsSecureString());
            }
            else if (type == typeof(PSCredential).FullName)
            {
                answers[field.Name] = PSObject.AsPSObject(PromptForCredential(caption, message, null!, string.Empty));
            }
            else if (type.EndsWith("[]", StringComparison.Ordinal))
            {
                // Like pwsh: one element per line, an empty line ends the list.
                var items = new List<string>();
                for (int i = 0; ; i++)
                {
                    Write($"{label}[{i}]: ");
                    string? line = ReadPromptLine(field.Name);
                    if (line.Length == 0)
                    {
                        break;
                    }

                    items.Add(line);
                }

                answers[field.Name] = PSObject.AsPSObject(items.ToArray());
            }
            else
            {
                Write(label + ": ");
                answers[field.Name] = PSObject.AsPSObject(ReadPromptLine(field.Name));
            }
        }

        return answers;
    }

    public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
    {
        WritePromptHeader(caption, message);
        var hotkeys = choices.Select(c => Hotkey(c.Label)).ToList();
        string menu = string.Join("  ", choices.Select((c, i) => $"[{hotkeys[i]}] {c.Label.Replace("&", string.Empty)}"));
        string defaultText = defaultChoice >= 0 && defaultChoice < choices.Count ? hotkeys[defaultChoice] : string.Empty;
        string line = $"{menu}  [?] Help (default is \"{defaultText}\"): ";

        // Nobody can answer a redirected stdin: say in the log what was chosen, and go on.
        if (Console.IsInputRedirected)
        {
            WriteLine($"{line}{defaultText} (non-interactive: default)");
            return defaultChoice;
        }

        while (true)
        {
            Write(line);
            string? answer = Console.In.ReadLine();
            if (answer is null)
            {
                WriteLine();
                return defaultChoice;
            }

            answer = answer.Trim();
            if (answer.Length == 0 && defaultChoice >= 0)
            {
                return defaultChoice;
            }

            if (answer == "?")
            {
                for (int i = 0; i < choices.Count; i++)
                {
                    WriteLine($"{hotkeys[i]} - {choices[i].HelpMessage}");
                }

                continue;
            }

            int match = hotkeys.FindIndex(h => string.Equals(h, answer, StringComparison.OrdinalIgnoreCase));
            if (match < 0)
            {
                match = choices.ToList().FindIndex(c =>
                    string.Equals(c.Label.Replace("&", string.Empty), answer, StringComparison.OrdinalIgnoreCase));
            }

            if (match >= 0)
            {
                return match;
            }
        }
    }

    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
        PromptForCredential(caption, message, userName, targetName, PSCredentialTypes.Default, PSCredentialUIOptions.Default);

    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
        PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options)
    {
        // Secrets must not be read from a pipe or a log by accident: unattended runs pass -Credential.
        if (Console.IsInputRedirected)
        {
            throw NonInteractive("prompt for a credential; pass it as a parameter instead");
        }

        WritePromptHeader(caption, message);
        if (string.IsNullOrEmpty(userName))
        {
            Write("User: ");
            userName = ReadPromptLine("User");
        }

        Write($"Password for user {userName}: ");
        return new PSCredential(userName, ReadLineAsSecureString());
    }

    private static string Hotkey(string label)
    {
        int amp = label.IndexOf('&');
        return amp >= 0 && amp + 1 < label.Length
            ? label[amp + 1].ToString().ToUpperInvariant()
            : label.Length > 0 ? label[0].ToString().ToUpperInvariant() : "?";
    }

    private string ReadPromptLine(string what)
    {
        string line = Console.In.ReadLine() ?? throw NonInteractive($"prompt for '{what}': standard input has ended");
        if (Console.IsInputRedirected)
        {
            WriteLine(line); // A terminal echoes the answer; a log would otherwise run prompts together.
        }

        return line;
    }

    private static PSInvalidOperationException NonInteractive(string what) =>
        new($"LbHost is non-interactive and cannot {what}.");

    private void WritePromptHeader(string caption, string message)
    {
        if (!string.IsNullOrEmpty(caption))
        {
            WriteLine(caption);
        }

        if (!string.IsNullOrEmpty(message))
        {
            WriteLine(message);
        }
    }

    private void OutStyled(string line, string style) => Out(line + Environment.NewLine, _stdoutColor ? style : null);

    private void Out(string text, string? style)
    {
        // Only pwsh's own console host strips $PSStyle escapes for a redirected stdout; a custom
        // host has to, or table headers and the like leave escape codes in CI logs.
        if (!_stdoutColor && text.Contains('\u001b'))
        {
            text = new StringDecorated(text).ToString(OutputRendering.PlainText);
        }

        WriteTo(Console.Out, text, style);
    }

    private void Err(string line) => WriteTo(Console.Error, line + Environment.NewLine, _stderrColor ? ErrorStyle : null);

    private void WriteTo(TextWriter writer, string text, string? style)
    {
        lock (_lock)
        {
            if (style is null)
            {
                writer.Write(text);
            }
            else
            {
                // Reset before the newline so a colour never bleeds into the next line.
                string body = text.EndsWith(Environment.NewLine, StringComparison.Ordinal)
                    ? text[..^Environment.NewLine.Length]
                    : text;
                writer.Write(style + body + Reset + text[body.Length..]);
            }

            writer.Flush();
        }
    }

    // Write-Host -ForegroundColor etc.; the raw UI's own colours mean "leave the terminal's colours alone".
    private string? ColorStyle(ConsoleColor foreground, ConsoleColor background)
    {
        if (!_stdoutColor)
        {
            return null;
        }

        var codes = new List<int>();
        if (foreground != _rawUI.ForegroundColor)
        {
            codes.Add(AnsiCode(foreground));
        }

        if (background != _rawUI.BackgroundColor)
        {
            codes.Add(AnsiCode(background) + 10);
        }

        return codes.Count == 0 ? null : $"\u001b[{string.Join(';', codes)}m";
    }

    private static int AnsiCode(ConsoleColor color) => color switch
    {
        ConsoleColor.Black => 30,
        ConsoleColor.DarkRed => 31,
        ConsoleColor.DarkGreen => 32,
        ConsoleColor.DarkYellow => 33,
        ConsoleColor.DarkBlue => 34,
        ConsoleColor.DarkMagenta => 35,
        ConsoleColor.DarkCyan => 36,
        ConsoleColor.Gray => 37,
        ConsoleColor.DarkGray => 90,
        ConsoleColor.Red => 91,
        ConsoleColor.Green => 92,
        ConsoleColor.Yellow => 93,
        ConsoleColor.Blue => 94,
        ConsoleColor.Magenta => 95,
        ConsoleColor.Cyan => 96,
        _ => 97,
    };

    // https://no-color.org convention: NO_COLOR set to anything turns colour off.
    private static bool NoColorUnset() => string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
}
