using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.Help
{
    /// <summary>
    /// One engine with the built module imported, and each exported cmdlet's Get-Help -Full object:
    /// the cmdlets come from Get-Command, so a new cmdlet is checked without touching these tests.
    /// </summary>
    public sealed class HelpFixture : IDisposable
    {
        public HelpFixture()
        {
            Session = new PsSession();
            var commands = Session.Run("Get-Command -Module LoadBalancerTools -CommandType Cmdlet");
            if (commands.HadErrors) throw new InvalidOperationException("Get-Command failed: " + commands);
            foreach (var command in commands.Output.Select(o => (CmdletInfo)o.BaseObject).OrderBy(c => c.Name, StringComparer.Ordinal))
            {
                var help = Session.Run("Get-Help -Name $name -Full", new Dictionary<string, object?> { ["name"] = command.Name });
                if (help.HadErrors || help.Output.Count != 1) throw new InvalidOperationException($"Get-Help {command.Name} -Full: {help}");
                Cmdlets.Add(new CmdletHelp(command, help.Output[0]));
            }
        }

        public PsSession Session { get; }
        public List<CmdletHelp> Cmdlets { get; } = new List<CmdletHelp>();

        public void Dispose() => Session.Dispose();
    }

    public sealed class CmdletHelp
    {
        public CmdletHelp(CmdletInfo command, PSObject help)
        {
            Command = command;
            Help = help;
        }

        public CmdletInfo Command { get; }
        public PSObject Help { get; }
        public string Name => Command.Name;
        public override string ToString() => Name;
    }

    public class HelpTests : IClassFixture<HelpFixture>
    {
        private static readonly string[] Shipped =
        {
            "Add-LbPoolMember", "Connect-LbController", "Disconnect-LbController", "Get-LbConnection",
            "Get-LbPool", "Get-LbPoolMember", "Remove-LbPoolMember", "Set-LbPoolMember",
        };

        private readonly HelpFixture _fixture;

        public HelpTests(HelpFixture fixture)
        {
            _fixture = fixture;
        }

        [Fact]
        public void Every_cmdlet_of_the_module_is_checked()
        {
            // Guards the other tests against passing vacuously (an empty Get-Command).
            Assert.Superset(new HashSet<string>(Shipped), new HashSet<string>(_fixture.Cmdlets.Select(c => c.Name)));
        }

        [Fact]
        public void Every_cmdlet_has_a_written_synopsis_and_description()
        {
            var problems = new List<string>();
            foreach (var cmdlet in _fixture.Cmdlets)
            {
                // Without a MAML entry Get-Help builds help from the metadata: its synopsis is the syntax.
                if (!cmdlet.Help.TypeNames.Contains("MamlCommandHelpInfo"))
                {
                    problems.Add($"{cmdlet}: Get-Help found no help file entry (it generated {cmdlet.Help.TypeNames[0]} from the metadata); write docs/{cmdlet}.md");
                    continue;
                }
                string synopsis = Str(cmdlet.Help, "Synopsis").Trim();
                if (synopsis.Length == 0) problems.Add($"{cmdlet}: empty synopsis");
                else if (synopsis.StartsWith(cmdlet.Name + " ", StringComparison.OrdinalIgnoreCase) || synopsis.Contains("<CommonParameters>", StringComparison.Ordinal))
                {
                    problems.Add($"{cmdlet}: the synopsis is the generated syntax, not a written one: {synopsis}");
                }
                if (Paragraphs(Prop(cmdlet.Help, "description")).Trim().Length == 0) problems.Add($"{cmdlet}: no description");
            }
            Assert.True(problems.Count == 0, Report(problems));
        }

        [Fact]
        public void Every_declared_parameter_has_a_description()
        {
            var problems = new List<string>();
            foreach (var cmdlet in _fixture.Cmdlets)
            {
                var described = Items(Prop(Prop(cmdlet.Help, "parameters"), "parameter"))
                    .ToDictionary(p => Str(p, "name"), p => Paragraphs(Prop(p, "description")).Trim(), StringComparer.OrdinalIgnoreCase);
                foreach (string parameter in DeclaredParameters(cmdlet.Command))
                {
                    if (!described.TryGetValue(parameter, out string? text) || text.Length == 0)
                    {
                        problems.Add($"{cmdlet}: -{parameter} has no description");
                    }
                }
            }
            Assert.True(problems.Count == 0, Report(problems));
        }

        [Fact]
        public void Every_cmdlet_has_at_least_two_examples_with_code_and_an_explanation()
        {
            var problems = new List<string>();
            foreach (var cmdlet in _fixture.Cmdlets)
            {
                var examples = Items(Prop(Prop(cmdlet.Help, "examples"), "example")).ToList();
                if (examples.Count < 2) problems.Add($"{cmdlet}: {examples.Count} example(s), at least 2 needed");
                foreach (var example in examples)
                {
                    string title = Str(example, "title");
                    if (Str(example, "code").Trim().Length == 0) problems.Add($"{cmdlet}: example '{title}' has no code");
                    else if (!Str(example, "code").Contains(cmdlet.Name, StringComparison.OrdinalIgnoreCase)) problems.Add($"{cmdlet}: example '{title}' does not use {cmdlet.Name}");
                    if (Paragraphs(Prop(example, "remarks")).Trim().Length == 0) problems.Add($"{cmdlet}: example '{title}' explains nothing");
                }
            }
            Assert.True(problems.Count == 0, Report(problems));
        }

        /// <summary>The syntax is generated from the compiled metadata at build time; the engine's own view must agree with it.</summary>
        [Fact]
        public void The_syntax_in_help_matches_the_parameter_sets_the_engine_sees()
        {
            var problems = new List<string>();
            foreach (var cmdlet in _fixture.Cmdlets)
            {
                var engine = cmdlet.Command.ParameterSets
                    .Select(set => Signature(set.Parameters.Where(p => !IsCommon(p.Name)).Select(p =>
                        (p.Name, p.IsMandatory, p.Position == int.MinValue ? "named" : p.Position.ToString(CultureInfo.InvariantCulture)))))
                    .OrderBy(s => s, StringComparer.Ordinal).ToList();
                var help = Items(Prop(Prop(cmdlet.Help, "syntax"), "syntaxItem"))
                    .Select(item => Signature(Items(Prop(item, "parameter")).Where(p => !IsCommon(Str(p, "name"))).Select(p =>
                        (Str(p, "name"), Str(p, "required") == "true", Str(p, "position")))))
                    .OrderBy(s => s, StringComparer.Ordinal).ToList();
                if (!engine.SequenceEqual(help))
                {
                    problems.Add($"{cmdlet}:\n    engine: {string.Join("\n            ", engine)}\n    help:   {string.Join("\n            ", help)}");
                }
            }
            Assert.True(problems.Count == 0, Report(problems));
        }

        [Fact]
        public void Parameter_details_in_help_match_the_engine()
        {
            var problems = new List<string>();
            foreach (var cmdlet in _fixture.Cmdlets)
            {
                foreach (var p in Items(Prop(Prop(cmdlet.Help, "parameters"), "parameter")))
                {
                    string name = Str(p, "name");
                    if (!cmdlet.Command.Parameters.TryGetValue(name, out var metadata))
                    {
                        problems.Add($"{cmdlet}: help describes -{name}, which the cmdlet does not have");
                        continue;
                    }
                    var sets = metadata.ParameterSets.Values;
                    string pipeline = (sets.Any(s => s.ValueFromPipeline), sets.Any(s => s.ValueFromPipelineByPropertyName)) switch
                    {
                        (true, true) => "True (ByValue, ByPropertyName)",
                        (true, false) => "True (ByValue)",
                        (false, true) => "True (ByPropertyName)",
                        _ => "False",
                    };
                    if (Str(p, "pipelineInput") != pipeline) problems.Add($"{cmdlet} -{name}: pipeline input '{Str(p, "pipelineInput")}', engine says '{pipeline}'");
                    string aliases = metadata.Aliases.Count == 0 ? "none" : string.Join(", ", metadata.Aliases);
                    if (Str(p, "aliases") != aliases) problems.Add($"{cmdlet} -{name}: aliases '{Str(p, "aliases")}', engine says '{aliases}'");
                    bool wildcards = metadata.Attributes.OfType<SupportsWildcardsAttribute>().Any();
                    if ((Str(p, "globbing") == "true") != wildcards) problems.Add($"{cmdlet} -{name}: globbing '{Str(p, "globbing")}', engine says {wildcards}");
                }
            }
            Assert.True(problems.Count == 0, Report(problems));
        }

        [Fact]
        public void The_about_topic_is_found_with_its_synopsis_and_sections()
        {
            var r = _fixture.Session.Run("Get-Help about_LoadBalancerTools");
            Assert.False(r.HadErrors, r.ToString());
            var topic = Assert.Single(r.Output);
            string text = topic.BaseObject as string ?? "";
            Assert.StartsWith("TOPIC", text, StringComparison.Ordinal);
            Assert.Equal("HelpFile", Str(topic, "Category"));
            Assert.StartsWith("Manages load-balancer backend pools", Str(topic, "Synopsis"), StringComparison.Ordinal);
            foreach (string section in new[] { "LONG DESCRIPTION", "CONCEPTS", "PROVIDER CAPABILITIES", "RETRY POLICY", "SECURITY", "REMEDIATION SAFETY RULES" })
            {
                Assert.Contains("\n" + section + "\n", text, StringComparison.Ordinal);
            }
            Assert.Contains("LBTOOLS_<PROVIDER>_USERNAME", text, StringComparison.Ordinal);
        }

        /// <summary>
        /// Get-Help looks under the UI culture's folders, then the module folder, then en-US and en; the
        /// help ships in en-US, so it must be found from the invariant culture of a hosted engine as from
        /// any other.
        /// </summary>
        [Theory]
        [InlineData("")]
        [InlineData("en-US")]
        [InlineData("en-GB")]
        [InlineData("de-DE")]
        public void Help_is_found_whatever_the_UI_culture(string culture)
        {
            using var ps = new PsSession();
            var r = ps.Run(
                "[System.Threading.Thread]::CurrentThread.CurrentUICulture = [System.Globalization.CultureInfo]::GetCultureInfo($culture)\n" +
                "[System.Globalization.CultureInfo]::CurrentUICulture.Name\n" +
                "(Get-Help -Name Get-LbPool).Synopsis\n" +
                "(Get-Help -Name about_LoadBalancerTools).Synopsis",
                new Dictionary<string, object?> { ["culture"] = culture });
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(3, r.Output.Count);
            Assert.Equal(culture, r.Output[0].ToString());
            Assert.StartsWith("Lists the load balancer's pools", r.Output[1].ToString(), StringComparison.Ordinal);
            Assert.StartsWith("Manages load-balancer backend pools", r.Output[2].ToString(), StringComparison.Ordinal);
        }

        private static IEnumerable<string> DeclaredParameters(CmdletInfo command) =>
            command.Parameters.Keys.Where(name => !IsCommon(name));

        private static bool IsCommon(string name) =>
            Cmdlet.CommonParameters.Contains(name) || Cmdlet.OptionalCommonParameters.Contains(name);

        private static string Signature(IEnumerable<(string Name, bool Required, string Position)> parameters) =>
            string.Join(" ", parameters.OrderBy(p => p.Name, StringComparer.OrdinalIgnoreCase)
                .Select(p => $"{p.Name}:{(p.Required ? "required" : "optional")}:{p.Position}"));

        private static object? Prop(object? value, string name)
        {
            var obj = value as PSObject ?? (value == null ? null : PSObject.AsPSObject(value));
            return obj?.Properties[name]?.Value;
        }

        private static string Str(object? value, string name) => Prop(value, name)?.ToString() ?? "";

        /// <summary>Help properties hold a single object or an array of them.</summary>
        private static IEnumerable<PSObject> Items(object? value)
        {
            if (value == null) yield break;
            if (value is PSObject ps && ps.BaseObject is IEnumerable inner && ps.BaseObject is not string) value = inner;
            if (value is IEnumerable list && value is not string)
            {
                foreach (object? item in list)
                {
                    if (item != null) yield return PSObject.AsPSObject(item);
                }
                yield break;
            }
            yield return PSObject.AsPSObject(value);
        }

        /// <summary>The text of a MAML description: its paragraphs' Text properties.</summary>
        private static string Paragraphs(object? description) =>
            string.Join("\n", Items(description).Select(p => Str(p, "Text")));

        private static string Report(List<string> problems) =>
            "Help problems (fix the markdown under docs/, format in docs/README.md):\n- " + string.Join("\n- ", problems);
    }
}
