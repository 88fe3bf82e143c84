using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace HelpBuilder;

/// <summary>
/// Renders docs/about_X.md as about_X.help.txt in the classic layout Get-Help prints verbatim
/// (TOPIC / SHORT DESCRIPTION / LONG DESCRIPTION, uppercase headings, bodies indented four spaces,
/// wrapped to 80 columns). Get-Help takes the topic's synopsis from the SHORT DESCRIPTION section.
/// </summary>
internal static class AboutWriter
{
    private const int Width = 80;
    private const string ShortDescription = "SHORT DESCRIPTION";
    private const string LongDescription = "LONG DESCRIPTION";

    /// <summary>The text, or null after reporting why the doc cannot be rendered.</summary>
    public static string? Render(string file, string expectedName, List<Block> blocks, Diagnostics d)
    {
        int errors = d.ErrorCount;
        if (blocks.Count == 0 || blocks[0].Kind != BlockKind.Heading || blocks[0].Level != 1 || blocks[0].Text != expectedName)
        {
            d.Error(file, blocks.Count > 0 ? blocks[0].Line : 0, Codes.Title, $"An about topic starts with '# {expectedName}'.");
            return null;
        }

        var sections = new List<(Block Heading, List<Block> Body)>();
        foreach (var block in blocks.Skip(1))
        {
            if (block.Kind == BlockKind.Heading && block.Level <= 2)
            {
                if (block.Level == 1) d.Error(file, block.Line, Codes.Structure, "Only one '#' title is allowed; sections are '##' headings.");
                sections.Add((block, new List<Block>()));
                continue;
            }
            if (sections.Count == 0)
            {
                d.Error(file, block.Line, Codes.Structure, "Text before the first '##' section; start with '## SHORT DESCRIPTION'.");
                continue;
            }
            sections[sections.Count - 1].Body.Add(block);
        }

        string Upper(Block h) => h.Text.ToUpperInvariant();
        var shortSection = sections.FirstOrDefault(s => Upper(s.Heading) == ShortDescription);
        if (shortSection.Heading == null || sections.IndexOf(shortSection) != 0)
        {
            d.Error(file, 0, Codes.About, $"An about topic's first section is '## {ShortDescription}' (Get-Help takes the topic's synopsis from it).");
        }
        else if (shortSection.Body.Count != 1 || shortSection.Body[0].Kind != BlockKind.Paragraph)
        {
            d.Error(file, shortSection.Heading.Line, Codes.About, $"'## {ShortDescription}' must be one paragraph.");
        }
        if (!sections.Any(s => Upper(s.Heading) == LongDescription))
        {
            d.Error(file, 0, Codes.About, $"The section '## {LongDescription}' is missing.");
        }
        foreach (var group in sections.GroupBy(s => Upper(s.Heading)).Where(g => g.Count() > 1))
        {
            d.Error(file, group.Skip(1).First().Heading.Line, Codes.DuplicateSection, $"The section '## {group.Key}' appears twice.");
        }
        foreach (var section in sections.Where(s => s.Body.Count == 0))
        {
            d.Error(file, section.Heading.Line, Codes.EmptySection, $"The section '## {section.Heading.Text}' is empty.");
        }
        if (d.ErrorCount > errors) return null;

        var sb = new StringBuilder();
        sb.Append("TOPIC\n    ").Append(expectedName).Append('\n');
        foreach (var (heading, body) in sections)
        {
            EnsureBlankLine(sb);
            sb.Append(Upper(heading)).Append('\n');
            if (Upper(heading) == ShortDescription)
            {
                // Get-Help's Synopsis for an about topic is the one line after SHORT DESCRIPTION: never wrap it.
                sb.Append("    ").Append(Text.Inline(string.Join(" ", body[0].Lines))).Append("\n\n");
                continue;
            }
            foreach (var block in body) RenderBlock(sb, block);
        }
        return sb.ToString().TrimEnd() + "\n";
    }

    private static void RenderBlock(StringBuilder sb, Block block)
    {
        const string indent = "    ";
        switch (block.Kind)
        {
            case BlockKind.Heading:
                // Subsections: title at the body's indent, underlined so it stands out in a console.
                string title = Text.Inline(block.Text);
                EnsureBlankLine(sb);
                sb.Append(indent).Append(title).Append('\n');
                sb.Append(indent).Append(new string('-', title.Length)).Append('\n');
                break;
            case BlockKind.Paragraph:
                AppendLines(sb, Text.Wrap(Text.Inline(string.Join(" ", block.Lines)), Width, indent, indent));
                break;
            case BlockKind.List:
                for (int i = 0; i < block.Items.Count; i++)
                {
                    string bullet = block.Ordered ? $"{i + 1}. " : "- ";
                    string text = Text.Inline(string.Join(" ", block.Items[i]));
                    foreach (string line in Text.Wrap(text, Width, indent + bullet, indent + new string(' ', bullet.Length)))
                    {
                        sb.Append(line).Append('\n');
                    }
                }
                sb.Append('\n');
                break;
            case BlockKind.Code:
                AppendLines(sb, block.Lines.Select(l => l.Length == 0 ? "" : indent + indent + l));
                break;
            case BlockKind.Table:
                AppendLines(sb, Text.Table(block).Select(l => indent + l));
                break;
        }
    }

    private static void EnsureBlankLine(StringBuilder sb)
    {
        if (sb.Length >= 2 && sb[sb.Length - 1] == '\n' && sb[sb.Length - 2] == '\n') return;
        sb.Append('\n');
    }

    private static void AppendLines(StringBuilder sb, IEnumerable<string> lines)
    {
        foreach (string line in lines) sb.Append(line.TrimEnd()).Append('\n');
        sb.Append('\n');
    }
}
