using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace HelpBuilder;

internal sealed class ExampleDoc
{
    public string Title { get; set; } = "";
    public int Line { get; set; }
    public List<string> Code { get; } = new List<string>();
    public List<string> Remarks { get; } = new List<string>();
}

internal sealed class ParameterDoc
{
    public string Name { get; set; } = "";
    public int Line { get; set; }
    public List<string> Description { get; } = new List<string>();
    public string? DefaultValue { get; set; }
}

internal sealed class TypeDoc
{
    public string TypeName { get; set; } = "";
    public List<string> Description { get; } = new List<string>();
}

internal sealed class LinkDoc
{
    public string Text { get; set; } = "";
    public string? Uri { get; set; }
}

/// <summary>One docs/Verb-Noun.md, parsed and checked for shape (not yet against the cmdlet).</summary>
internal sealed class CommandDoc
{
    public const string Synopsis = "SYNOPSIS";
    public const string Syntax = "SYNTAX";
    public const string Description = "DESCRIPTION";
    public const string Examples = "EXAMPLES";
    public const string Parameters = "PARAMETERS";
    public const string Inputs = "INPUTS";
    public const string Outputs = "OUTPUTS";
    public const string Notes = "NOTES";
    public const string RelatedLinks = "RELATED LINKS";

    private static readonly string[] Known = { Synopsis, Syntax, Description, Examples, Parameters, Inputs, Outputs, Notes, RelatedLinks };
    private static readonly string[] Required = { Synopsis, Description, Examples, Inputs, Outputs };
    private static readonly Regex ExampleHeading = new Regex(@"^Example\s+(\d+)\s*:\s*(.*)$", RegexOptions.IgnoreCase);
    private static readonly Regex ParameterHeading = new Regex(@"^-([A-Za-z_][A-Za-z0-9_]*)$");
    private static readonly Regex DefaultValueLine = new Regex(@"^Default value:\s*(.+)$", RegexOptions.IgnoreCase);

    public string File { get; private set; } = "";
    public string Name { get; private set; } = "";
    public string SynopsisText { get; private set; } = "";
    public List<string> DescriptionParas { get; } = new List<string>();
    public List<ExampleDoc> ExampleList { get; } = new List<ExampleDoc>();
    public List<ParameterDoc> ParameterList { get; } = new List<ParameterDoc>();
    public bool HasParametersSection { get; private set; }
    public int ParametersLine { get; private set; }
    public List<TypeDoc> InputList { get; } = new List<TypeDoc>();
    public List<TypeDoc> OutputList { get; } = new List<TypeDoc>();
    public List<string> NotesParas { get; } = new List<string>();
    public List<LinkDoc> Links { get; } = new List<LinkDoc>();

    public static CommandDoc Parse(string file, string expectedName, List<Block> blocks, Diagnostics d)
    {
        var doc = new CommandDoc { File = file };
        if (blocks.Count == 0 || blocks[0].Kind != BlockKind.Heading || blocks[0].Level != 1)
        {
            d.Error(file, blocks.Count > 0 ? blocks[0].Line : 0, Codes.Title, $"The file must start with '# {expectedName}'.");
            return doc;
        }
        doc.Name = blocks[0].Text;
        if (!string.Equals(doc.Name, expectedName, StringComparison.Ordinal))
        {
            d.Error(file, blocks[0].Line, Codes.Title, $"The title '# {doc.Name}' must match the file name: '# {expectedName}'.");
        }

        var sections = new Dictionary<string, (Block Heading, List<Block> Body)>(StringComparer.Ordinal);
        (Block Heading, List<Block> Body)? current = null;
        for (int i = 1; i < blocks.Count; i++)
        {
            var block = blocks[i];
            if (block.Kind == BlockKind.Heading && block.Level <= 2)
            {
                if (block.Level == 1)
                {
                    d.Error(file, block.Line, Codes.Structure, "Only one '#' title is allowed; sections are '##' headings.");
                    current = null;
                    continue;
                }
                string name = block.Text.ToUpperInvariant();
                if (!Known.Contains(name))
                {
                    d.Error(file, block.Line, Codes.UnknownSection, $"Unknown section '## {block.Text}'. Sections: {string.Join(", ", Known)}.");
                    current = null;
                    continue;
                }
                if (sections.ContainsKey(name))
                {
                    d.Error(file, block.Line, Codes.DuplicateSection, $"The section '## {name}' appears twice.");
                    current = null;
                    continue;
                }
                current = (block, new List<Block>());
                sections[name] = current.Value;
                continue;
            }
            if (current == null)
            {
                if (sections.Count == 0) d.Error(file, block.Line, Codes.Structure, "Text before the first '##' section; start with '## SYNOPSIS'.");
                continue;
            }
            current.Value.Body.Add(block);
        }

        foreach (string name in Required)
        {
            if (!sections.ContainsKey(name)) d.Error(file, 0, Codes.MissingSection, $"The section '## {name}' is missing.");
        }

        if (sections.TryGetValue(Synopsis, out var synopsis)) doc.ParseSynopsis(synopsis.Heading, synopsis.Body, d);
        if (sections.TryGetValue(Description, out var description))
        {
            doc.DescriptionParas.AddRange(ProseOnly(file, description.Heading, description.Body, d));
        }
        if (sections.TryGetValue(Examples, out var examples)) doc.ParseExamples(examples.Heading, examples.Body, d);
        if (sections.TryGetValue(Parameters, out var parameters))
        {
            doc.HasParametersSection = true;
            doc.ParametersLine = parameters.Heading.Line;
            doc.ParseParameters(parameters.Body, d);
        }
        if (sections.TryGetValue(Inputs, out var inputs)) ParseTypes(file, inputs.Heading, inputs.Body, doc.InputList, d);
        if (sections.TryGetValue(Outputs, out var outputs)) ParseTypes(file, outputs.Heading, outputs.Body, doc.OutputList, d);
        if (sections.TryGetValue(Notes, out var notes)) doc.NotesParas.AddRange(ProseOnly(file, notes.Heading, notes.Body, d));
        if (sections.TryGetValue(RelatedLinks, out var links)) doc.ParseLinks(links.Body, d);
        return doc;
    }

    private void ParseSynopsis(Block heading, List<Block> body, Diagnostics d)
    {
        if (body.Count == 0)
        {
            d.Error(File, heading.Line, Codes.EmptySection, "'## SYNOPSIS' is empty; write one sentence saying what the cmdlet does.");
            return;
        }
        if (body.Count > 1 || body[0].Kind != BlockKind.Paragraph)
        {
            d.Error(File, body[0].Line, Codes.Structure, "'## SYNOPSIS' must be a single paragraph; details go in '## DESCRIPTION'.");
        }
        if (body[0].Kind == BlockKind.Paragraph) SynopsisText = Text.Inline(string.Join(" ", body[0].Lines));
    }

    /// <summary>Paragraphs, lists, code and tables; a subheading here is a mistake (a misplaced section).</summary>
    private static List<string> ProseOnly(string file, Block heading, List<Block> body, Diagnostics d)
    {
        if (body.Count == 0) d.Error(file, heading.Line, Codes.EmptySection, $"'## {heading.Text.ToUpperInvariant()}' is empty.");
        foreach (var h in body.Where(b => b.Kind == BlockKind.Heading))
        {
            d.Error(file, h.Line, Codes.Structure, $"Unexpected heading '{new string('#', h.Level)} {h.Text}' inside '## {heading.Text.ToUpperInvariant()}'.");
        }
        return Text.ToParagraphs(body.Where(b => b.Kind != BlockKind.Heading));
    }

    private void ParseExamples(Block heading, List<Block> body, Diagnostics d)
    {
        ExampleDoc? example = null;
        bool sawRemarks = false;
        foreach (var block in body)
        {
            if (block.Kind == BlockKind.Heading && block.Level == 3)
            {
                Finish(example);
                var m = ExampleHeading.Match(block.Text);
                if (!m.Success || m.Groups[2].Value.Trim().Length == 0)
                {
                    d.Error(File, block.Line, Codes.Example, $"Example headings are '### Example N: Title'; found '### {block.Text}'.");
                    example = null;
                    continue;
                }
                int number = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (number != ExampleList.Count + 1)
                {
                    d.Error(File, block.Line, Codes.Example, $"Examples are numbered 1, 2, 3...; expected 'Example {ExampleList.Count + 1}', found 'Example {number}'.");
                }
                example = new ExampleDoc { Title = Text.Inline(m.Groups[2].Value.Trim()), Line = block.Line };
                ExampleList.Add(example);
                sawRemarks = false;
                continue;
            }
            if (example == null)
            {
                d.Error(File, block.Line, Codes.Structure, "Text in '## EXAMPLES' must be under a '### Example N: Title' heading.");
                continue;
            }
            if (block.Kind == BlockKind.Heading)
            {
                d.Error(File, block.Line, Codes.Structure, $"Unexpected heading '{new string('#', block.Level)} {block.Text}' inside an example.");
                continue;
            }
            if (block.Kind == BlockKind.Code && !sawRemarks)
            {
                if (example.Code.Count > 0) example.Code.Add("");
                example.Code.AddRange(block.Lines);
                continue;
            }
            if (example.Code.Count == 0)
            {
                d.Error(File, block.Line, Codes.Example, $"Example {ExampleList.Count} must start with a ```powershell code block; the explanation follows it.");
            }
            sawRemarks = true;
            example.Remarks.AddRange(Text.ToParagraphs(new[] { block }));
        }
        Finish(example);
        if (ExampleList.Count == 0)
        {
            d.Error(File, heading.Line, Codes.EmptySection, "'## EXAMPLES' has no '### Example 1: Title' with a code block.");
        }

        void Finish(ExampleDoc? e)
        {
            if (e == null) return;
            if (e.Code.Count == 0 || e.Code.All(l => l.Trim().Length == 0))
            {
                d.Error(File, e.Line, Codes.Example, $"Example '{e.Title}' has no code block.");
            }
        }
    }

    private void ParseParameters(List<Block> body, Diagnostics d)
    {
        ParameterDoc? parameter = null;
        var blocks = new List<Block>();
        foreach (var block in body)
        {
            if (block.Kind == BlockKind.Heading && block.Level == 3)
            {
                Finish();
                var m = ParameterHeading.Match(block.Text);
                if (!m.Success)
                {
                    d.Error(File, block.Line, Codes.Parameter, $"Parameter headings are '### -Name'; found '### {block.Text}'.");
                    parameter = null;
                    continue;
                }
                string name = m.Groups[1].Value;
                if (ParameterList.Any(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)))
                {
                    d.Error(File, block.Line, Codes.Parameter, $"The parameter -{name} is described twice.");
                }
                parameter = new ParameterDoc { Name = name, Line = block.Line };
                ParameterList.Add(parameter);
                continue;
            }
            if (parameter == null)
            {
                d.Error(File, block.Line, Codes.Structure, "Text in '## PARAMETERS' must be under a '### -Name' heading.");
                continue;
            }
            if (block.Kind == BlockKind.Heading)
            {
                d.Error(File, block.Line, Codes.Structure, $"Unexpected heading '{new string('#', block.Level)} {block.Text}' inside -{parameter.Name}.");
                continue;
            }
            blocks.Add(block);
        }
        Finish();

        void Finish()
        {
            if (parameter == null) return;
            // "Default value: X" on a line of its own feeds Get-Help's "Default value" field.
            foreach (var block in blocks.Where(b => b.Kind == BlockKind.Paragraph))
            {
                for (int i = block.Lines.Count - 1; i >= 0; i--)
                {
                    var m = DefaultValueLine.Match(block.Lines[i]);
                    if (!m.Success) continue;
                    parameter.DefaultValue = Text.Inline(m.Groups[1].Value.Trim());
                    block.Lines.RemoveAt(i);
                }
            }
            blocks.RemoveAll(b => b.Kind == BlockKind.Paragraph && b.Lines.Count == 0);
            parameter.Description.AddRange(Text.ToParagraphs(blocks));
            if (parameter.Description.Count == 0)
            {
                d.Error(File, parameter.Line, Codes.Parameter, $"The parameter -{parameter.Name} has a heading but no description.");
            }
            blocks.Clear();
            parameter = null;
        }
    }

    private static void ParseTypes(string file, Block heading, List<Block> body, List<TypeDoc> into, Diagnostics d)
    {
        string section = heading.Text.ToUpperInvariant();
        TypeDoc? current = null;
        foreach (var block in body)
        {
            if (block.Kind == BlockKind.Heading && block.Level == 3)
            {
                current = new TypeDoc { TypeName = Text.Inline(block.Text) };
                into.Add(current);
                continue;
            }
            if (current == null || block.Kind == BlockKind.Heading)
            {
                d.Error(file, block.Line, Codes.TypeEntry, $"'## {section}' lists types as '### TypeName' headings, each followed by a description (use '### None' when there is none).");
                continue;
            }
            current.Description.AddRange(Text.ToParagraphs(new[] { block }));
        }
        if (into.Count == 0)
        {
            d.Error(file, heading.Line, Codes.TypeEntry, $"'## {section}' needs at least one '### TypeName' (or '### None').");
        }
    }

    private static readonly Regex LinkPattern = new Regex(@"^\[([^\]]+)\]\(([^)\s]*)\)$");

    private void ParseLinks(List<Block> body, Diagnostics d)
    {
        foreach (var block in body)
        {
            IEnumerable<string> entries = block.Kind switch
            {
                BlockKind.List => block.Items.Select(i => string.Join(" ", i)),
                BlockKind.Paragraph => block.Lines,
                _ => Array.Empty<string>(),
            };
            if (block.Kind != BlockKind.List && block.Kind != BlockKind.Paragraph)
            {
                d.Error(File, block.Line, Codes.Structure, "'## RELATED LINKS' holds a list of [Text](target) links or command names.");
                continue;
            }
            foreach (string entry in entries)
            {
                var m = LinkPattern.Match(entry.Trim());
                if (m.Success)
                {
                    Links.Add(new LinkDoc { Text = m.Groups[1].Value, Uri = Text.IsAbsoluteUri(m.Groups[2].Value) ? m.Groups[2].Value : null });
                }
                else
                {
                    Links.Add(new LinkDoc { Text = Text.Inline(entry.Trim()) });
                }
            }
        }
    }
}
