using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Xml;

namespace HelpBuilder;

/// <summary>
/// Writes the MAML file Get-Help reads for compiled cmdlets (&lt;Assembly&gt;.dll-Help.xml). Prose comes from
/// the markdown; syntax, types, positions, pipeline input, aliases and wildcard support come from the
/// cmdlet's metadata, so they cannot drift from the code.
/// </summary>
internal static class MamlWriter
{
    private const string MshNs = "http://msh";
    private const string MamlNs = "http://schemas.microsoft.com/maml/2004/10";
    private const string CommandNs = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private const string DevNs = "http://schemas.microsoft.com/maml/dev/2004/10";
    private const string MsHelpNs = "http://msdn.microsoft.com/mshelp";

    // PowerShell's own words for the parameters it adds, used when a doc does not describe them.
    private static readonly Dictionary<string, string> ShouldProcessDescriptions = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["WhatIf"] = "Shows what would happen if the cmdlet runs. The cmdlet is not run.",
        ["Confirm"] = "Prompts you for confirmation before running the cmdlet.",
    };

    public static void Write(string path, IEnumerable<(CmdletMeta Cmdlet, CommandDoc Doc)> commands)
    {
        var settings = new XmlWriterSettings { Indent = true, IndentChars = "  ", Encoding = new UTF8Encoding(false), NewLineChars = "\n" };
        using var writer = XmlWriter.Create(path, settings);
        writer.WriteStartDocument();
        writer.WriteStartElement("helpItems", MshNs);
        writer.WriteAttributeString("schema", "maml");
        foreach (var (cmdlet, doc) in commands) WriteCommand(writer, cmdlet, doc);
        writer.WriteEndElement();
        writer.WriteEndDocument();
    }

    private static void WriteCommand(XmlWriter w, CmdletMeta cmdlet, CommandDoc doc)
    {
        w.WriteStartElement("command", "command", CommandNs);
        w.WriteAttributeString("xmlns", "maml", null, MamlNs);
        w.WriteAttributeString("xmlns", "command", null, CommandNs);
        w.WriteAttributeString("xmlns", "dev", null, DevNs);
        w.WriteAttributeString("xmlns", "MSHelp", null, MsHelpNs);

        w.WriteStartElement("command", "details", CommandNs);
        w.WriteElementString("command", "name", CommandNs, cmdlet.Name);
        w.WriteElementString("command", "verb", CommandNs, cmdlet.Verb);
        w.WriteElementString("command", "noun", CommandNs, cmdlet.Noun);
        Description(w, new[] { doc.SynopsisText });
        w.WriteEndElement();

        Description(w, doc.DescriptionParas);

        var descriptions = doc.ParameterList.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

        w.WriteStartElement("command", "syntax", CommandNs);
        foreach (string set in cmdlet.ParameterSetNames())
        {
            w.WriteStartElement("command", "syntaxItem", CommandNs);
            w.WriteElementString("maml", "name", MamlNs, cmdlet.Name);
            foreach (var (parameter, entry) in cmdlet.ParametersOf(set))
            {
                Parameter(w, parameter, entry.Mandatory, entry.Position, Pipeline(new[] { entry }), null, syntax: true);
            }
            w.WriteEndElement();
        }
        w.WriteEndElement();

        // Parameters in the doc's order (the writer chose it), then any the doc leaves out.
        var ordered = doc.ParameterList
            .Select(p => cmdlet.Parameters.FirstOrDefault(m => string.Equals(m.Name, p.Name, StringComparison.OrdinalIgnoreCase)))
            .Where(m => m != null).Select(m => m!)
            .Concat(cmdlet.Parameters.Where(m => !descriptions.ContainsKey(m.Name)))
            .ToList();
        w.WriteStartElement("command", "parameters", CommandNs);
        foreach (var parameter in ordered)
        {
            descriptions.TryGetValue(parameter.Name, out var pdoc);
            // One entry for all sets: required if required wherever it appears; the default set's position.
            bool required = parameter.Sets.All(s => s.Mandatory);
            var defaultEntry = parameter.Sets.FirstOrDefault(s => s.SetName == cmdlet.DefaultParameterSetName) ?? parameter.Sets[0];
            Parameter(w, parameter, required, defaultEntry.Position ?? parameter.Sets.Select(s => s.Position).FirstOrDefault(p => p.HasValue),
                Pipeline(parameter.Sets), pdoc, syntax: false);
        }
        w.WriteEndElement();

        Types(w, "inputTypes", "inputType", doc.InputList);
        Types(w, "returnValues", "returnValue", doc.OutputList);

        if (doc.NotesParas.Count > 0)
        {
            w.WriteStartElement("maml", "alertSet", MamlNs);
            w.WriteStartElement("maml", "alert", MamlNs);
            Paras(w, doc.NotesParas);
            w.WriteEndElement();
            w.WriteEndElement();
        }

        w.WriteStartElement("command", "examples", CommandNs);
        for (int i = 0; i < doc.ExampleList.Count; i++)
        {
            var example = doc.ExampleList[i];
            w.WriteStartElement("command", "example", CommandNs);
            w.WriteElementString("maml", "title", MamlNs, $"---------- Example {i + 1}: {example.Title} ----------");
            w.WriteElementString("dev", "code", DevNs, string.Join("\n", example.Code));
            w.WriteStartElement("dev", "remarks", DevNs);
            Paras(w, example.Remarks);
            w.WriteEndElement();
            w.WriteEndElement();
        }
        w.WriteEndElement();

        w.WriteStartElement("command", "relatedLinks", CommandNs);
        foreach (var link in doc.Links)
        {
            w.WriteStartElement("maml", "navigationLink", MamlNs);
            w.WriteElementString("maml", "linkText", MamlNs, link.Text);
            w.WriteElementString("maml", "uri", MamlNs, link.Uri ?? "");
            w.WriteEndElement();
        }
        w.WriteEndElement();

        w.WriteEndElement();
    }

    private static void Parameter(XmlWriter w, ParameterMeta parameter, bool required, int? position, string pipeline, ParameterDoc? doc, bool syntax)
    {
        var type = parameter.Type.Unwrapped;
        w.WriteStartElement("command", "parameter", CommandNs);
        w.WriteAttributeString("required", required ? "true" : "false");
        w.WriteAttributeString("variableLength", type.ElementType != null ? "true" : "false");
        w.WriteAttributeString("globbing", parameter.Wildcards ? "true" : "false");
        w.WriteAttributeString("pipelineInput", pipeline);
        w.WriteAttributeString("position", position.HasValue ? position.Value.ToString(CultureInfo.InvariantCulture) : "named");
        w.WriteAttributeString("aliases", parameter.Aliases.Count == 0 ? "none" : string.Join(", ", parameter.Aliases));
        w.WriteElementString("maml", "name", MamlNs, parameter.Name);
        if (!syntax)
        {
            var paras = doc?.Description.Count > 0 ? doc.Description
                : parameter.IsShouldProcess ? new List<string> { ShouldProcessDescriptions[parameter.Name] }
                : new List<string>();
            Description(w, paras);
        }
        if (syntax && parameter.ValidValues.Count > 0)
        {
            // Shown as -State {Enabled | Disabled | ...}.
            w.WriteStartElement("command", "parameterValueGroup", CommandNs);
            foreach (string value in parameter.ValidValues)
            {
                w.WriteStartElement("command", "parameterValue", CommandNs);
                w.WriteAttributeString("required", "false");
                w.WriteAttributeString("command", "variableLength", CommandNs, "false");
                w.WriteString(value);
                w.WriteEndElement();
            }
            w.WriteEndElement();
        }
        else if (!type.IsSwitch || !syntax)
        {
            // A switch takes no value: -PassThru, not -PassThru <SwitchParameter>, in the syntax.
            w.WriteStartElement("command", "parameterValue", CommandNs);
            w.WriteAttributeString("required", type.IsSwitch ? "false" : "true");
            w.WriteAttributeString("variableLength", type.ElementType != null ? "true" : "false");
            w.WriteString(type.DisplayName);
            w.WriteEndElement();
        }
        w.WriteStartElement("dev", "type", DevNs);
        w.WriteElementString("maml", "name", MamlNs, type.FullName);
        w.WriteElementString("maml", "uri", MamlNs, "");
        w.WriteEndElement();
        w.WriteElementString("dev", "defaultValue", DevNs, doc?.DefaultValue ?? (type.IsSwitch ? "False" : "None"));
        w.WriteEndElement();
    }

    private static string Pipeline(IEnumerable<ParameterSetEntry> entries)
    {
        var list = entries.ToList();
        bool byValue = list.Any(e => e.ByValue);
        bool byName = list.Any(e => e.ByPropertyName);
        if (byValue && byName) return "True (ByValue, ByPropertyName)";
        if (byValue) return "True (ByValue)";
        if (byName) return "True (ByPropertyName)";
        return "False";
    }

    private static void Types(XmlWriter w, string listElement, string itemElement, List<TypeDoc> types)
    {
        w.WriteStartElement("command", listElement, CommandNs);
        foreach (var type in types)
        {
            w.WriteStartElement("command", itemElement, CommandNs);
            w.WriteStartElement("dev", "type", DevNs);
            w.WriteElementString("maml", "name", MamlNs, type.TypeName);
            w.WriteEndElement();
            Description(w, type.Description);
            w.WriteEndElement();
        }
        w.WriteEndElement();
    }

    private static void Description(XmlWriter w, IEnumerable<string> paras)
    {
        w.WriteStartElement("maml", "description", MamlNs);
        Paras(w, paras);
        w.WriteEndElement();
    }

    private static void Paras(XmlWriter w, IEnumerable<string> paras)
    {
        foreach (string para in paras) w.WriteElementString("maml", "para", MamlNs, para);
    }
}
