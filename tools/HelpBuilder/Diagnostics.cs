using System;
using System.Collections.Generic;
using System.IO;

namespace HelpBuilder;

/// <summary>
/// Problems found in the docs, printed in MSBuild's canonical format ("file(line): error HB001: text")
/// so the Exec task turns them into build errors and warnings that IDEs can jump to.
/// </summary>
internal sealed class Diagnostics
{
    private readonly List<string> _lines = new List<string>();

    public int ErrorCount { get; private set; }
    public int WarningCount { get; private set; }

    public void Error(string file, int line, string code, string message)
    {
        ErrorCount++;
        _lines.Add(Format(file, line, "error", code, message));
    }

    public void Warning(string file, int line, string code, string message)
    {
        WarningCount++;
        _lines.Add(Format(file, line, "warning", code, message));
    }

    public void WriteTo(TextWriter writer)
    {
        foreach (string line in _lines) writer.WriteLine(line);
    }

    private static string Format(string file, int line, string severity, string code, string message) =>
        line > 0 ? $"{file}({line}): {severity} {code}: {message}" : $"{file}: {severity} {code}: {message}";
}

/// <summary>Diagnostic codes, one per rule, so a message can be looked up in docs/README.md.</summary>
internal static class Codes
{
    public const string Title = "HB001";
    public const string UnknownSection = "HB002";
    public const string DuplicateSection = "HB003";
    public const string MissingSection = "HB004";
    public const string EmptySection = "HB005";
    public const string Structure = "HB006";
    public const string Example = "HB007";
    public const string Parameter = "HB008";
    public const string TypeEntry = "HB009";
    public const string Fence = "HB010";
    public const string UnknownCmdlet = "HB011";
    public const string UnknownParameter = "HB012";
    public const string About = "HB013";
    public const string Metadata = "HB014";
    // Coverage gaps: warnings by default (the help tests fail on them), errors with --strict.
    public const string MissingDoc = "HB100";
    public const string MissingParameter = "HB101";
    public const string OutputTypeNotListed = "HB102";
}
