using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace LoadBalancerTools.TestKit.Hosting
{
    /// <summary>
    /// A real PowerShell engine in this process (Microsoft.PowerShell.SDK: every built-in module, as in pwsh),
    /// with the built module imported: tests type what a user types and read back objects, error records and every stream.
    /// </summary>
    public sealed class PsSession : IDisposable
    {
        private readonly Runspace _runspace;

        public PsSession(bool importModule = true)
        {
            Host = new CapturingHost();
            var iss = InitialSessionState.CreateDefault2();
            _runspace = RunspaceFactory.CreateRunspace(Host, iss);
            _runspace.Open();
            if (importModule)
            {
                var result = Run($"Import-Module '{RepoPaths.ModuleManifest.Replace("'", "''")}' -ErrorAction Stop");
                if (result.HadErrors) throw new InvalidOperationException("Import-Module failed: " + string.Join("; ", result.Errors));
            }
        }

        public CapturingHost Host { get; }
        public Runspace Runspace => _runspace;

        /// <summary>Runs script text; variables are set in the session first. Terminating errors are captured, not thrown.</summary>
        public PsResult Run(string script, IDictionary<string, object?>? variables = null)
        {
            if (variables != null)
            {
                foreach (var kv in variables) _runspace.SessionStateProxy.SetVariable(kv.Key, kv.Value);
            }
            Host.Clear();
            using var ps = PowerShell.Create();
            ps.Runspace = _runspace;
            ps.AddScript(script);
            var result = new PsResult();
            try
            {
                result.Output.AddRange(ps.Invoke());
            }
            catch (RuntimeException ex)
            {
                result.Terminating = ex.ErrorRecord;
            }
            result.Errors.AddRange(ps.Streams.Error);
            result.Warnings.AddRange(ps.Streams.Warning.Select(w => w.Message));
            result.Verbose.AddRange(ps.Streams.Verbose.Select(v => v.Message));
            result.Debug.AddRange(ps.Streams.Debug.Select(d => d.Message));
            result.Information.AddRange(ps.Streams.Information.Select(i => i.MessageData?.ToString() ?? ""));
            result.Progress.AddRange(ps.Streams.Progress);
            result.HostLines.AddRange(Host.Lines);
            return result;
        }

        /// <summary>Starts a script and returns at once: for -Watch loops that a test observes live and then stops, as Ctrl+C would.</summary>
        public RunningScript Start(string script)
        {
            Host.Clear();
            var ps = PowerShell.Create();
            ps.Runspace = _runspace;
            ps.AddScript(script);
            var output = new PSDataCollection<PSObject>();
            var handle = ps.BeginInvoke<PSObject, PSObject>(null, output);
            return new RunningScript(ps, handle, output);
        }

        public void Dispose() => _runspace.Dispose();
    }

    public sealed class RunningScript : IDisposable
    {
        private readonly PowerShell _ps;
        private readonly IAsyncResult _handle;

        internal RunningScript(PowerShell ps, IAsyncResult handle, PSDataCollection<PSObject> output)
        {
            _ps = ps;
            _handle = handle;
            Output = output;
        }

        /// <summary>Objects as they are written.</summary>
        public PSDataCollection<PSObject> Output { get; }
        public IReadOnlyList<ErrorRecord> Errors => _ps.Streams.Error.ToList();
        public IReadOnlyList<string> Warnings => _ps.Streams.Warning.Select(w => w.Message).ToList();
        public bool IsCompleted => _handle.IsCompleted;

        /// <summary>Stops the pipeline the way Ctrl+C does and waits for it to wind down.</summary>
        public void Stop() => _ps.Stop();

        public void Dispose()
        {
            if (!_handle.IsCompleted) _ps.Stop();
            _ps.Dispose();
        }
    }

    public sealed class PsResult
    {
        public List<PSObject> Output { get; } = new List<PSObject>();
        public List<ErrorRecord> Errors { get; } = new List<ErrorRecord>();
        public ErrorRecord? Terminating { get; set; }
        public List<string> Warnings { get; } = new List<string>();
        public List<string> Verbose { get; } = new List<string>();
        public List<string> Debug { get; } = new List<string>();
        public List<string> Information { get; } = new List<string>();
        public List<ProgressRecord> Progress { get; } = new List<ProgressRecord>();
        /// <summary>Lines written to the host: -WhatIf messages land here.</summary>
        public List<string> HostLines { get; } = new List<string>();

        public bool HadErrors => Errors.Count > 0 || Terminating != null;
        public IEnumerable<ErrorRecord> AllErrors => Terminating == null ? Errors : Errors.Append(Terminating);

        /// <summary>Everything the user could see, as text: for scanning that a secret never appears.</summary>
        public string AllText() => string.Join("\n", new[]
        {
            string.Join("\n", Output.Select(o => o?.ToString())),
            string.Join("\n", AllErrors.Select(e => $"{e} {e.FullyQualifiedErrorId} {e.CategoryInfo} {e.TargetObject} {e.Exception}")),
            string.Join("\n", Warnings), string.Join("\n", Verbose), string.Join("\n", Debug), string.Join("\n", Information),
            string.Join("\n", Progress.Select(p => p.Activity + " " + p.StatusDescription)), string.Join("\n", HostLines),
        });

        public T Prop<T>(int index, string name) => (T)LanguagePrimitives.ConvertTo(Output[index].Properties[name].Value, typeof(T));

        public override string ToString() =>
            $"Output={Output.Count} Errors=[{string.Join("; ", AllErrors.Select(e => e.FullyQualifiedErrorId + ": " + e))}] Warnings=[{string.Join("; ", Warnings)}]";
    }
}
