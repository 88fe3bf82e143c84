using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;
using System.Text;

namespace LoadBalancerTools.TestKit.Hosting
{
    /// <summary>A host that records everything written to it (-WhatIf lines go here), and answers prompts from a script.</summary>
    public sealed class CapturingHost : PSHost
    {
        private readonly CapturingUI _ui = new CapturingUI();
        public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
        public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
        public override Guid InstanceId { get; } = Guid.NewGuid();
        public override string Name => "LbTestHost";
        public override PSHostUserInterface UI => _ui;
        public override Version Version => new Version(1, 0);
        public IReadOnlyList<string> Lines => _ui.Lines;
        /// <summary>Answers to ShouldContinue/PromptForChoice, in order; when empty the default choice is taken.</summary>
        public Queue<int> ChoiceAnswers => _ui.ChoiceAnswers;
        public void Clear() => _ui.Clear();
        public override void EnterNestedPrompt() => throw new NotSupportedException();
        public override void ExitNestedPrompt() => throw new NotSupportedException();
        public override void NotifyBeginApplication() { }
        public override void NotifyEndApplication() { }
        public override void SetShouldExit(int exitCode) { }

        private sealed class CapturingUI : PSHostUserInterface
        {
            private readonly List<string> _lines = new List<string>();
            private readonly StringBuilder _partial = new StringBuilder();
            public Queue<int> ChoiceAnswers { get; } = new Queue<int>();
            public IReadOnlyList<string> Lines { get { lock (_lines) return _lines.ToArray(); } }
            public void Clear() { lock (_lines) _lines.Clear(); }
            public override PSHostRawUserInterface? RawUI => null;

            private void Add(string line) { lock (_lines) { _partial.Append(line); _lines.Add(_partial.ToString()); _partial.Clear(); } }
            public override void Write(string value) { lock (_lines) _partial.Append(value); }
            public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Write(value);
            public override void WriteLine(string value) => Add(value);
            public override void WriteErrorLine(string value) => Add("ERROR: " + value);
            public override void WriteDebugLine(string message) => Add("DEBUG: " + message);
            public override void WriteVerboseLine(string message) => Add("VERBOSE: " + message);
            public override void WriteWarningLine(string message) => Add("WARNING: " + message);
            public override void WriteProgress(long sourceId, ProgressRecord record) { }
            public override string ReadLine() => "";
            public override SecureString ReadLineAsSecureString() => throw new NotSupportedException("non-interactive test host");
            public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) => throw new NotSupportedException("non-interactive test host");
            public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException("non-interactive test host");
            public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException("non-interactive test host");
            public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
            {
                Add("PROMPT: " + message);
                lock (_lines) return ChoiceAnswers.Count > 0 ? ChoiceAnswers.Dequeue() : defaultChoice;
            }
        }
    }
}
