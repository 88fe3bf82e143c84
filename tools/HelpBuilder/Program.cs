using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace HelpBuilder;

/// <summary>
/// HelpBuilder --docs &lt;dir&gt; --assembly &lt;Cmdlets.dll&gt; --out &lt;dir&gt; [--strict]
///
/// Compiles docs/Verb-Noun.md into &lt;out&gt;/&lt;Cmdlets.dll&gt;-Help.xml and docs/about_*.md into
/// &lt;out&gt;/about_*.help.txt (format: docs/README.md). Exit codes: 0 written, 1 a doc is malformed
/// (nothing written), 2 bad usage or unreadable assembly.
/// </summary>
internal static class Program
{
    private const string Usage = "Usage: HelpBuilder --docs <dir> --assembly <Cmdlets.dll> --out <dir> [--strict]";

    private static int Main(string[] args)
    {
        string? docs = null, assembly = null, output = null;
        bool strict = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--docs" when i + 1 < args.Length: docs = args[++i]; break;
                case "--assembly" when i + 1 < args.Length: assembly = args[++i]; break;
                case "--out" when i + 1 < args.Length: output = args[++i]; break;
                case "--strict": strict = true; break;
                default:
                    Console.Error.WriteLine($"HelpBuilder: unexpected argument '{args[i]}'. {Usage}");
                    return 2;
            }
        }
        if (docs == null || assembly == null || output == null)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        if (!Directory.Exists(docs))
        {
            Console.Error.WriteLine($"HelpBuilder: error HB000: the docs folder '{docs}' does not exist.");
            return 2;
        }

        List<CmdletMeta> cmdlets;
        try
        {
            cmdlets = CmdletMetadata.Read(assembly);
        }
        catch (Exception ex) when (ex is IOException || ex is BadImageFormatException || ex is InvalidDataException || ex is UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"{assembly}: error {Codes.Metadata}: cannot read cmdlets from the assembly: {ex.Message}");
            return 2;
        }

        var d = new Diagnostics();
        var result = Build(Path.GetFullPath(docs), cmdlets, strict, d);
        d.WriteTo(Console.Out);
        if (d.ErrorCount > 0 || result == null)
        {
            // Not in the canonical error format: the errors above are the build errors, this only sums them up.
            Console.Out.WriteLine($"HelpBuilder: {d.ErrorCount} error(s) in the help sources under {Path.GetFullPath(docs)}; no help was written. The format is described in docs/README.md.");
            return 1;
        }

        Directory.CreateDirectory(output);
        string mamlPath = Path.Combine(output, Path.GetFileName(assembly) + "-Help.xml");
        MamlWriter.Write(mamlPath, result.Value.Commands);
        foreach (var (name, text) in result.Value.Topics)
        {
            File.WriteAllText(Path.Combine(output, name + ".help.txt"), text, new UTF8Encoding(false));
        }
        Console.Out.WriteLine($"HelpBuilder: help for {result.Value.Commands.Count} cmdlet(s) and {result.Value.Topics.Count} about topic(s) written to {Path.GetFullPath(output)}" +
            (d.WarningCount > 0 ? $" ({d.WarningCount} warning(s))." : "."));
        return 0;
    }

    private static (List<(CmdletMeta, CommandDoc)> Commands, List<(string Name, string Text)> Topics)? Build(string docsDir, List<CmdletMeta> cmdlets, bool strict, Diagnostics d)
    {
        var commands = new List<(CmdletMeta, CommandDoc)>();
        var topics = new List<(string, string)>();
        var documented = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        void Gap(string file, int line, string code, string message)
        {
            if (strict) d.Error(file, line, code, message);
            else d.Warning(file, line, code, message);
        }

        foreach (string file in Directory.GetFiles(docsDir, "*.md").OrderBy(f => f, StringComparer.Ordinal))
        {
            string name = Path.GetFileNameWithoutExtension(file);
            if (name.Equals("README", StringComparison.OrdinalIgnoreCase)) continue;
            var blocks = Markdown.Parse(File.ReadAllText(file), file, d);

            if (name.StartsWith("about_", StringComparison.OrdinalIgnoreCase))
            {
                string? text = AboutWriter.Render(file, name, blocks, d);
                if (text != null) topics.Add((name, text));
                continue;
            }

            var cmdlet = cmdlets.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));
            if (cmdlet == null)
            {
                d.Error(file, 0, Codes.UnknownCmdlet, $"No cmdlet named '{name}' in the assembly (cmdlets: {string.Join(", ", cmdlets.Select(c => c.Name))}). Cmdlet docs are named Verb-Noun.md; other markdown belongs in README.md or about_*.md.");
                continue;
            }
            if (cmdlet.Name != name)
            {
                d.Error(file, 0, Codes.UnknownCmdlet, $"Name the file {cmdlet.Name}.md, as the cmdlet is spelled.");
                continue;
            }
            var doc = CommandDoc.Parse(file, cmdlet.Name, blocks, d);
            documented.Add(cmdlet.Name);
            Check(cmdlet, doc, d, Gap);
            commands.Add((cmdlet, doc));
        }

        foreach (var cmdlet in cmdlets.Where(c => !documented.Contains(c.Name)))
        {
            Gap(Path.Combine(docsDir, cmdlet.Name + ".md"), 0, Codes.MissingDoc, $"The cmdlet {cmdlet.Name} ({cmdlet.TypeName}) has no help: write docs/{cmdlet.Name}.md.");
        }
        return d.ErrorCount > 0 ? null : (commands, topics);
    }

    /// <summary>The doc against the code: no help for parameters that do not exist, and (as gaps) no parameter without help.</summary>
    private static void Check(CmdletMeta cmdlet, CommandDoc doc, Diagnostics d, Action<string, int, string, string> gap)
    {
        foreach (var parameter in doc.ParameterList)
        {
            var declared = cmdlet.Parameters.FirstOrDefault(p => string.Equals(p.Name, parameter.Name, StringComparison.OrdinalIgnoreCase));
            if (declared == null)
            {
                d.Error(doc.File, parameter.Line, Codes.UnknownParameter,
                    $"{cmdlet.Name} has no parameter -{parameter.Name} (its parameters: {string.Join(", ", cmdlet.Parameters.Select(p => "-" + p.Name))}). Common parameters such as -Verbose are not described here.");
            }
            else if (declared.Name != parameter.Name)
            {
                d.Error(doc.File, parameter.Line, Codes.UnknownParameter, $"Spell the parameter as the cmdlet does: '### -{declared.Name}'.");
            }
        }
        foreach (var parameter in cmdlet.Parameters.Where(p => !p.IsShouldProcess))
        {
            if (doc.ParameterList.Any(p => string.Equals(p.Name, parameter.Name, StringComparison.OrdinalIgnoreCase))) continue;
            gap(doc.File, doc.HasParametersSection ? doc.ParametersLine : 0, Codes.MissingParameter,
                $"{cmdlet.Name}: the parameter -{parameter.Name} has no description; add '### -{parameter.Name}' under '## PARAMETERS'.");
        }
        foreach (string outputType in cmdlet.OutputTypes)
        {
            string shortName = outputType.Substring(outputType.LastIndexOfAny(new[] { '.', '+' }) + 1);
            bool listed = doc.OutputList.Any(o => o.TypeName == outputType || o.TypeName == shortName || o.TypeName.EndsWith("." + shortName, StringComparison.Ordinal));
            if (!listed) gap(doc.File, 0, Codes.OutputTypeNotListed, $"{cmdlet.Name} declares [OutputType({outputType})] but '## OUTPUTS' does not list it.");
        }
    }
}
