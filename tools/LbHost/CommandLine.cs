using System;
using System.Collections.Generic;

namespace LbHost;

/// <summary>One script argument: a named parameter (Name set), a switch (Name set, IsSwitch) or a positional value.</summary>
internal sealed record ScriptArgument(string? Name, object? Value, bool IsSwitch = false);

/// <summary>
/// What to run: a script file (with arguments bound as PowerShell parameters) or inline text.
/// The argument rules follow pwsh -File: values stay strings and the parameter binder converts them.
/// </summary>
internal sealed class CommandLine
{
    public const string Usage =
        "Usage: LbHost <script.ps1> [-Name value] [-Switch] [positional ...]\n" +
        "       LbHost -Command \"<script text>\"\n" +
        "Runs PowerShell on the engine from the System.Management.Automation package (no pwsh needed).";

    private CommandLine(string? scriptPath, string? commandText, string[] scriptTokens)
    {
        ScriptPath = scriptPath;
        CommandText = commandText;
        ScriptTokens = scriptTokens;
    }

    public string? ScriptPath { get; }

    public string? CommandText { get; }

    /// <summary>The command-line tokens after the script path, unparsed (see <see cref="ParseScriptArguments"/>).</summary>
    public string[] ScriptTokens { get; }

    public bool ShowHelp { get; private init; }

    /// <exception cref="ArgumentException">The command line cannot be understood.</exception>
    public static CommandLine Parse(string[] args)
    {
        if (args.Length == 0)
        {
            throw new ArgumentException("No script given.");
        }

        string first = args[0];
        if (IsOption(first, "-help") || IsOption(first, "-h") || first is "-?" or "--help" or "/?")
        {
            return new CommandLine(null, null, Array.Empty<string>()) { ShowHelp = true };
        }

        if (IsOption(first, "-command") || IsOption(first, "-c"))
        {
            // Like pwsh: everything after -Command is the script text.
            string text = string.Join(' ', args[1..]);
            if (string.IsNullOrWhiteSpace(text))
            {
                throw new ArgumentException("-Command needs script text.");
            }

            return new CommandLine(null, text, Array.Empty<string>());
        }

        int start = IsOption(first, "-file") || IsOption(first, "-f") ? 1 : 0;
        if (start >= args.Length)
        {
            throw new ArgumentException("-File needs a script path.");
        }

        return new CommandLine(args[start], null, args[(start + 1)..]);
    }

    /// <summary>
    /// Turns tokens into parameters: "-Name value" is named, "-Switch" (a parameter the script
    /// declares as [switch], or one followed by another "-Name" or by nothing) is a switch, and
    /// anything else is positional.
    /// </summary>
    public static List<ScriptArgument> ParseScriptArguments(string[] tokens, Func<string, bool> isSwitch)
    {
        var result = new List<ScriptArgument>();
        bool onlyPositional = false;
        for (int i = 0; i < tokens.Length; i++)
        {
            string token = tokens[i];
            if (!onlyPositional && token == "--")
            {
                onlyPositional = true; // Everything after "--" is a value, even if it starts with '-'.
                continue;
            }

            if (onlyPositional || !IsParameterName(token))
            {
                result.Add(new ScriptArgument(null, token));
                continue;
            }

            string name = token[1..];
            int colon = name.IndexOf(':');
            if (colon > 0)
            {
                // -Name:value keeps the value attached, which is the only way to pass -Switch:$false.
                result.Add(new ScriptArgument(name[..colon], ColonValue(name[(colon + 1)..])));
            }
            else if (!isSwitch(name) && i + 1 < tokens.Length && !IsParameterName(tokens[i + 1]))
            {
                result.Add(new ScriptArgument(name, tokens[++i]));
            }
            else
            {
                result.Add(new ScriptArgument(name, null, IsSwitch: true));
            }
        }

        return result;
    }

    // "-Name" is a parameter; "-5" and "-1.5" are negative numbers, i.e. values.
    private static bool IsParameterName(string token) =>
        token.Length > 1 && token[0] == '-' && (char.IsLetter(token[1]) || token[1] == '_');

    private static object ColonValue(string value) => value.ToLowerInvariant() switch
    {
        "$true" or "true" => true,
        "$false" or "false" => false,
        _ => value,
    };

    private static bool IsOption(string token, string option) =>
        string.Equals(token, option, StringComparison.OrdinalIgnoreCase)
        || string.Equals(token, "-" + option, StringComparison.OrdinalIgnoreCase);
}
