using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace HelpBuilder;

/// <summary>Turns markdown blocks into the plain text a console shows.</summary>
internal static class Text
{
    private static readonly Regex Link = new Regex(@"\[([^\]]+)\]\(([^)\s]+)\)");
    private static readonly Regex Strong = new Regex(@"\*\*(.+?)\*\*");
    private static readonly Regex InlineCode = new Regex(@"`([^`]+)`");

    /// <summary>
    /// Inline markdown to plain text: `code` and **strong** lose their markers, [text](https://x)
    /// becomes "text (https://x)" and a link to another doc (Get-LbPool.md) keeps only its text.
    /// Single * and _ stay: they are wildcards and identifiers far more often than emphasis here.
    /// </summary>
    public static string Inline(string text)
    {
        text = Link.Replace(text, m => IsAbsoluteUri(m.Groups[2].Value) ? $"{m.Groups[1].Value} ({m.Groups[2].Value})" : m.Groups[1].Value);
        text = Strong.Replace(text, "$1");
        text = InlineCode.Replace(text, "$1");
        return text;
    }

    public static bool IsAbsoluteUri(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    /// <summary>
    /// Blocks to MAML paragraphs: one per markdown paragraph (soft line breaks joined), one per list
    /// item ("- item"), one per code block or table (lines kept).
    /// </summary>
    public static List<string> ToParagraphs(IEnumerable<Block> blocks)
    {
        var paras = new List<string>();
        foreach (var block in blocks)
        {
            switch (block.Kind)
            {
                case BlockKind.Paragraph:
                    paras.Add(Inline(string.Join(" ", block.Lines)));
                    break;
                case BlockKind.List:
                    for (int i = 0; i < block.Items.Count; i++)
                    {
                        string bullet = block.Ordered ? $"{i + 1}." : "-";
                        paras.Add(bullet + " " + Inline(string.Join(" ", block.Items[i])));
                    }
                    break;
                // Get-Help trims the start of a paragraph but keeps the lines after it as they are, so
                // preformatted blocks are not indented: their lines stay aligned with each other.
                case BlockKind.Code:
                    paras.Add(string.Join("\n", block.Lines));
                    break;
                case BlockKind.Table:
                    paras.Add(string.Join("\n", Table(block)));
                    break;
                case BlockKind.Heading:
                    paras.Add(Inline(block.Text));
                    break;
            }
        }
        return paras;
    }

    /// <summary>A pipe table as aligned text rows, the header underlined.</summary>
    public static List<string> Table(Block table)
    {
        var rows = new List<string[]>();
        bool hasHeader = false;
        foreach (string raw in table.Lines)
        {
            var cells = SplitRow(raw);
            if (cells.All(c => Regex.IsMatch(c, @"^:?-{3,}:?$")))
            {
                hasHeader = rows.Count == 1;
                continue;
            }
            rows.Add(cells.Select(Inline).ToArray());
        }
        int columns = rows.Count == 0 ? 0 : rows.Max(r => r.Length);
        var widths = new int[columns];
        foreach (var row in rows)
        {
            for (int c = 0; c < row.Length; c++) widths[c] = Math.Max(widths[c], row[c].Length);
        }
        var lines = new List<string>();
        for (int r = 0; r < rows.Count; r++)
        {
            var sb = new StringBuilder();
            for (int c = 0; c < columns; c++)
            {
                string cell = c < rows[r].Length ? rows[r][c] : "";
                sb.Append(c == columns - 1 ? cell : cell.PadRight(widths[c] + 2));
            }
            lines.Add(sb.ToString().TrimEnd());
            if (r == 0 && hasHeader)
            {
                lines.Add(string.Join("  ", widths.Select(w => new string('-', w))));
            }
        }
        return lines;
    }

    private static string[] SplitRow(string raw)
    {
        string row = raw.Trim();
        if (row.StartsWith("|", StringComparison.Ordinal)) row = row.Substring(1);
        if (row.EndsWith("|", StringComparison.Ordinal)) row = row.Substring(0, row.Length - 1);
        // "\|" is a literal pipe inside a cell.
        return Regex.Split(row, @"(?<!\\)\|").Select(c => c.Trim().Replace("\\|", "|")).ToArray();
    }

    /// <summary>Greedy word wrap; words longer than the width stay whole.</summary>
    public static IEnumerable<string> Wrap(string text, int width, string firstIndent, string restIndent)
    {
        var words = text.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
        var line = new StringBuilder(firstIndent);
        bool empty = true;
        foreach (string word in words)
        {
            if (!empty && line.Length + 1 + word.Length > width)
            {
                yield return line.ToString();
                line.Clear().Append(restIndent);
                empty = true;
            }
            if (!empty) line.Append(' ');
            line.Append(word);
            empty = false;
        }
        if (!empty) yield return line.ToString();
    }
}
