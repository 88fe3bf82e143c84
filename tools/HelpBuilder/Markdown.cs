using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;

namespace HelpBuilder;

internal enum BlockKind
{
    Heading,
    Paragraph,
    Code,
    List,
    Table,
}

/// <summary>One block of a markdown file, with the line it starts on for error messages.</summary>
internal sealed class Block
{
    public Block(BlockKind kind, int line)
    {
        Kind = kind;
        Line = line;
    }

    public BlockKind Kind { get; }
    public int Line { get; }
    /// <summary>Heading level (1-6) for headings.</summary>
    public int Level { get; init; }
    /// <summary>Heading text, or the info string of a code fence.</summary>
    public string Text { get; init; } = "";
    /// <summary>Paragraph lines, code lines (verbatim) or table rows (raw).</summary>
    public List<string> Lines { get; } = new List<string>();
    /// <summary>List items, each the lines of one item.</summary>
    public List<List<string>> Items { get; } = new List<List<string>>();
    public bool Ordered { get; init; }

    public override string ToString() => $"{Kind}@{Line}";
}

/// <summary>
/// The small subset of CommonMark the docs use: ATX headings, paragraphs, fenced code blocks, bullet
/// and numbered lists, pipe tables. Anything else is read as paragraph text, which keeps the parser
/// predictable: what a writer sees on GitHub is what Get-Help shows.
/// </summary>
internal static class Markdown
{
    private static readonly Regex HeadingPattern = new Regex(@"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$");
    private static readonly Regex FencePattern = new Regex(@"^ {0,3}(```+|~~~+)\s*([^`\s]*)");
    private static readonly Regex ListPattern = new Regex(@"^ {0,3}([-*+]|\d{1,3}[.)])\s+(.*)$");

    public static List<Block> Parse(string text, string file, Diagnostics diagnostics)
    {
        var lines = text.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n');
        var blocks = new List<Block>();
        Block? paragraph = null;
        Block? list = null;
        Block? table = null;

        void Close()
        {
            paragraph = null;
            list = null;
            table = null;
        }

        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd();
            int lineNo = i + 1;

            var fence = FencePattern.Match(line);
            if (fence.Success)
            {
                Close();
                string marker = fence.Groups[1].Value;
                var code = new Block(BlockKind.Code, lineNo) { Text = fence.Groups[2].Value };
                int indent = line.Length - line.TrimStart().Length;
                bool closed = false;
                for (i++; i < lines.Length; i++)
                {
                    string codeLine = lines[i].TrimEnd();
                    if (codeLine.TrimStart().StartsWith(marker, StringComparison.Ordinal) && codeLine.Trim().Trim(marker[0]).Length == 0)
                    {
                        closed = true;
                        break;
                    }
                    // A fence indented inside a list item indents its content too; strip that much.
                    code.Lines.Add(StripIndent(codeLine, indent));
                }
                if (!closed) diagnostics.Error(file, lineNo, Codes.Fence, $"The code fence opened here ({marker}) is never closed.");
                blocks.Add(code);
                continue;
            }

            if (line.Trim().Length == 0)
            {
                paragraph = null;
                table = null;
                // A blank line inside a list ends it unless the next text line is another item.
                if (list != null && !NextNonBlankIsListItem(lines, i + 1)) list = null;
                continue;
            }

            var heading = HeadingPattern.Match(line);
            if (heading.Success)
            {
                Close();
                blocks.Add(new Block(BlockKind.Heading, lineNo) { Level = heading.Groups[1].Value.Length, Text = heading.Groups[2].Value.Trim() });
                continue;
            }

            if (line.TrimStart().StartsWith("|", StringComparison.Ordinal))
            {
                if (table == null)
                {
                    paragraph = null;
                    list = null;
                    table = new Block(BlockKind.Table, lineNo);
                    blocks.Add(table);
                }
                table.Lines.Add(line.Trim());
                continue;
            }

            var item = ListPattern.Match(line);
            if (item.Success)
            {
                bool ordered = char.IsDigit(item.Groups[1].Value[0]);
                if (list == null || list.Ordered != ordered)
                {
                    paragraph = null;
                    table = null;
                    list = new Block(BlockKind.List, lineNo) { Ordered = ordered };
                    blocks.Add(list);
                }
                list.Items.Add(new List<string> { item.Groups[2].Value.Trim() });
                continue;
            }

            if (list != null)
            {
                // Continuation of the current item (indented or lazy).
                list.Items[list.Items.Count - 1].Add(line.Trim());
                continue;
            }

            if (table != null) table = null;
            if (paragraph == null)
            {
                paragraph = new Block(BlockKind.Paragraph, lineNo);
                blocks.Add(paragraph);
            }
            paragraph.Lines.Add(line.Trim());
        }
        return blocks;
    }

    private static bool NextNonBlankIsListItem(string[] lines, int start)
    {
        for (int i = start; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0) continue;
            return ListPattern.IsMatch(lines[i]);
        }
        return false;
    }

    private static string StripIndent(string line, int indent)
    {
        int n = 0;
        while (n < indent && n < line.Length && line[n] == ' ') n++;
        return line.Substring(n);
    }
}
