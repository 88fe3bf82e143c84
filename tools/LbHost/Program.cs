using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Threading;

namespace LbHost;

/// <summary>
/// Runs one PowerShell script (or -Command text) on the in-process engine and maps its outcome to
/// an exit code: 130 after Ctrl+C, 1 for a terminating error, N for "exit N", otherwise 1 if any
/// error record was written (so CI notices non-terminating failures) and 0 if none. 2 = bad usage.
/// </summary>
internal static class Program
{
    private const int UsageError = 2;
    private const int Cancelled = 130;

    private static int Main(string[] args)
    {
        CommandLine commandLine;
        try
        {
            commandLine = CommandLine.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"LbHost: {e.Message}{Environment.NewLine}{CommandLine.Usage}");
            return UsageError;
        }

        if (commandLine.ShowHelp)
        {
            Console.WriteLine(CommandLine.Usage);
            return 0;
        }

        string? scriptPath = null;
        if (commandLine.ScriptPath != null)
        {
            scriptPath = Path.GetFullPath(commandLine.ScriptPath);
            if (!File.Exists(scriptPath))
            {
                Console.Error.WriteLine($"LbHost: script not found: {scriptPath}");
                return UsageError;
            }
        }

        return Run(commandLine, scriptPath);
    }

    private static int Run(CommandLine commandLine, string? scriptPath)
    {
        var host = new ConsoleHost();
        ConsoleHostUserInterface ui = host.Ui;

        if (Console.IsOutputRedirected || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR")))
        {
            // Left at "Host", the formatter emits $PSStyle escapes (e.g. table headers) into logs.
            PSStyle.Instance.OutputRendering = OutputRendering.PlainText;
        }

        InitialSessionState iss = InitialSessionState.CreateDefault2();
        if (OperatingSystem.IsWindows())
        {
            // Execution policy only exists on Windows; elsewhere the engine ignores it.
            iss.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Unrestricted;
        }

        FallbackCmdlets.AddMissing(iss);

        using Runspace runspace = RunspaceFactory.CreateRunspace(host, iss);
        runspace.Open();

        // Relative paths in the script resolve against the caller's directory, as in pwsh.
        runspace.SessionStateProxy.Path.SetLocation(WildcardPattern.Escape(Environment.CurrentDirectory));

        using PowerShell ps = PowerShell.Create();
        ps.Runspace = runspace;
        if (scriptPath != null)
        {
            // Invoking by path (not dot-sourcing text) gives the script $PSScriptRoot and its own scope.
            ps.AddCommand(scriptPath);
            Func<string, bool> isSwitch = SwitchLookup(runspace, scriptPath);
            foreach (ScriptArgument argument in CommandLine.ParseScriptArguments(commandLine.ScriptTokens, isSwitch))
            {
                if (argument.Name is null)
                {
                    ps.AddArgument(argument.Value);
                }
                else if (argument.IsSwitch)
                {
                    ps.AddParameter(argument.Name);
                }
                else
                {
                    ps.AddParameter(argument.Name, argument.Value);
                }
            }
        }
        else
        {
            ps.AddScript(commandLine.CommandText);
        }

        // Out-Default formats objects with the engine's format views and writes through our UI.
        ps.AddCommand("Out-Default");

        // Error records are printed as they arrive, so they interleave with the other output.
        ps.Streams.Error.DataAdded += (_, e) => ui.WriteErrorRecord(ps.Streams.Error[e.Index]);

        int cancelRequests = 0;
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // First Ctrl+C stops the pipeline cleanly; a second one is left to kill the process.
            if (Interlocked.Increment(ref cancelRequests) == 1)
            {
                e.Cancel = true;
                ps.BeginStop(null, null);
            }
        };
        Console.CancelKeyPress += onCancel;

        // Set last, so the first script processor the engine creates is the script itself.
        bool exitEndsRun = scriptPath != null && MakeExitEndTheRun(runspace);

        bool terminated = false;
        try
        {
            ps.Invoke();
        }
        catch (PipelineStoppedException) when (Volatile.Read(ref cancelRequests) > 0)
        {
            // Reported below.
        }
        catch (RuntimeException e)
        {
            terminated = true;
            ui.WriteErrorRecord(e.ErrorRecord);
        }
        catch (Exception e)
        {
            terminated = true;
            Console.Error.WriteLine($"LbHost: {e}");
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }

        if (Volatile.Read(ref cancelRequests) > 0)
        {
            Console.Error.WriteLine("LbHost: stopped by Ctrl+C.");
            return Cancelled;
        }

        if (terminated)
        {
            return 1;
        }

        if (host.ExitCode is int exitCode)
        {
            return exitCode;
        }

        // Where "exit N" could not reach SetShouldExit (-Command text ending in a failed native
        // command, or the engine switch missing) $LASTEXITCODE is the best signal, as in pwsh -Command.
        if (!exitEndsRun && ps.HadErrors
            && runspace.SessionStateProxy.GetVariable("LASTEXITCODE") is int lastExitCode && lastExitCode != 0)
        {
            return lastExitCode;
        }

        return ui.ErrorCount > 0 ? 1 : 0;
    }

    /// <summary>
    /// Gives "exit N" in the script file pwsh -File's meaning: the run ends with N. By default the
    /// engine turns a script file's exit into $LASTEXITCODE only, which a native command also sets,
    /// so the two could not be told apart. The engine's switch for this is internal, hence reflection;
    /// false if this engine version lacks it.
    /// </summary>
    private static bool MakeExitEndTheRun(Runspace runspace)
    {
        const BindingFlags Internal = BindingFlags.NonPublic | BindingFlags.Instance;
        object? context = typeof(Runspace).GetProperty("ExecutionContext", Internal)?.GetValue(runspace);
        PropertyInfo? rethrowExit = context?.GetType().GetProperty("ScriptCommandProcessorShouldRethrowExit", Internal);
        if (rethrowExit is null)
        {
            return false;
        }

        rethrowExit.SetValue(context, true);
        return true;
    }

    /// <summary>
    /// Which names are [switch] parameters of the script, so "-Force target" leaves "target"
    /// positional instead of taking it as the switch's value. Matches names, aliases and unique
    /// prefixes, as the parameter binder does.
    /// </summary>
    private static Func<string, bool> SwitchLookup(Runspace runspace, string scriptPath)
    {
        Dictionary<string, ParameterMetadata> parameters;
        try
        {
            var script = (ExternalScriptInfo?)runspace.SessionStateProxy.InvokeCommand.GetCommand(scriptPath, CommandTypes.ExternalScript);
            parameters = script?.Parameters ?? new Dictionary<string, ParameterMetadata>();
        }
        catch (RuntimeException)
        {
            // A script that does not parse fails when it runs, with a better message than here.
            return _ => false;
        }

        return name =>
        {
            var exact = parameters.Values.FirstOrDefault(p =>
                string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)
                || p.Aliases.Contains(name, StringComparer.OrdinalIgnoreCase));
            if (exact != null)
            {
                return exact.SwitchParameter;
            }

            var prefixed = parameters.Values.Where(p => p.Name.StartsWith(name, StringComparison.OrdinalIgnoreCase)).ToList();
            return prefixed.Count == 1 && prefixed[0].SwitchParameter;
        };
    }
}
