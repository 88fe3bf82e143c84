using System;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace LbHost;

/// <summary>
/// The System.Management.Automation package carries only Microsoft.PowerShell.Core; the Write-*
/// cmdlets live in Microsoft.PowerShell.Utility, which it lacks. Scripts can hardly run without
/// them, so the host adds small stand-ins, but only where the engine has no command of that name.
/// They are compiled cmdlets (not functions) so -Verbose and preference variables reach them the
/// same way as the real ones.
/// </summary>
internal static class FallbackCmdlets
{
    private static readonly Type[] Cmdlets =
    {
        typeof(WriteOutputCommand), typeof(WriteHostCommand), typeof(WriteWarningCommand),
        typeof(WriteVerboseCommand), typeof(WriteDebugCommand), typeof(WriteInformationCommand),
        typeof(WriteErrorCommand), typeof(WriteProgressCommand),
    };

    public static void AddMissing(InitialSessionState iss)
    {
        foreach (Type type in Cmdlets)
        {
            var attribute = (CmdletAttribute)Attribute.GetCustomAttribute(type, typeof(CmdletAttribute))!;
            string name = $"{attribute.VerbName}-{attribute.NounName}";
            if (!iss.Commands[name].Any())
            {
                iss.Commands.Add(new SessionStateCmdletEntry(name, type, helpFileName: null));
            }
        }
    }
}

[Cmdlet(VerbsCommunications.Write, "Output")]
public sealed class WriteOutputCommand : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromRemainingArguments = true)]
    [AllowNull, AllowEmptyCollection]
    public PSObject? InputObject { get; set; }

    [Parameter]
    public SwitchParameter NoEnumerate { get; set; }

    protected override void ProcessRecord() => WriteObject(InputObject, enumerateCollection: !NoEnumerate);
}

[Cmdlet(VerbsCommunications.Write, "Host")]
public sealed class WriteHostCommand : PSCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromRemainingArguments = true)]
    public object? Object { get; set; }

    [Parameter]
    public SwitchParameter NoNewline { get; set; }

    [Parameter]
    public object Separator { get; set; } = " ";

    [Parameter]
    public ConsoleColor? ForegroundColor { get; set; }

    [Parameter]
    public ConsoleColor? BackgroundColor { get; set; }

    protected override void ProcessRecord()
    {
        // Collections print as their elements joined by -Separator, as Write-Host does.
        object? value = Object is PSObject wrapped ? wrapped.BaseObject : Object;
        string text = value is System.Collections.IEnumerable items and not string
            ? string.Join(Separator?.ToString(), items.Cast<object?>().Select(i => i?.ToString()))
            : value?.ToString() ?? string.Empty;

        var message = new HostInformationMessage
        {
            Message = text,
            NoNewLine = NoNewline,
            ForegroundColor = ForegroundColor ?? Host.UI.RawUI.ForegroundColor,
            BackgroundColor = BackgroundColor ?? Host.UI.RawUI.BackgroundColor,
        };

        // The PSHOST tag is what makes the engine show the record on the host even when
        // $InformationPreference is SilentlyContinue.
        WriteInformation(message, new[] { "PSHOST" });
    }
}

[Cmdlet(VerbsCommunications.Write, "Warning")]
public sealed class WriteWarningCommand : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [AllowEmptyString, Alias("Msg")]
    public string Message { get; set; } = string.Empty;

    protected override void ProcessRecord() => WriteWarning(Message);
}

[Cmdlet(VerbsCommunications.Write, "Verbose")]
public sealed class WriteVerboseCommand : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [AllowEmptyString, Alias("Msg")]
    public string Message { get; set; } = string.Empty;

    protected override void ProcessRecord() => WriteVerbose(Message);
}

[Cmdlet(VerbsCommunications.Write, "Debug")]
public sealed class WriteDebugCommand : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [AllowEmptyString, Alias("Msg")]
    public string Message { get; set; } = string.Empty;

    protected override void ProcessRecord() => WriteDebug(Message);
}

[Cmdlet(VerbsCommunications.Write, "Information")]
public sealed class WriteInformationCommand : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [Alias("Msg", "Message")]
    [AllowNull]
    public object? MessageData { get; set; }

    [Parameter(Position = 1)]
    public string[]? Tags { get; set; }

    protected override void ProcessRecord() => WriteInformation(MessageData, Tags);
}

[Cmdlet(VerbsCommunications.Write, "Error", DefaultParameterSetName = "Message")]
public sealed class WriteErrorCommand : PSCmdlet
{
    [Parameter(ParameterSetName = "Message", Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = "Exception")]
    [AllowNull, AllowEmptyString, Alias("Msg")]
    public string? Message { get; set; }

    [Parameter(ParameterSetName = "Exception", Mandatory = true)]
    public Exception? Exception { get; set; }

    [Parameter(ParameterSetName = "ErrorRecord", Mandatory = true)]
    public ErrorRecord? ErrorRecord { get; set; }

    [Parameter(ParameterSetName = "Message")]
    [Parameter(ParameterSetName = "Exception")]
    public ErrorCategory Category { get; set; } = ErrorCategory.NotSpecified;

    [Parameter(ParameterSetName = "Message")]
    [Parameter(ParameterSetName = "Exception")]
    public string ErrorId { get; set; } = string.Empty;

    [Parameter(ParameterSetName = "Message")]
    [Parameter(ParameterSetName = "Exception")]
    public object? TargetObject { get; set; }

    [Parameter]
    public string? RecommendedAction { get; set; }

    protected override void ProcessRecord()
    {
        ErrorRecord record = ErrorRecord ?? new ErrorRecord(
            Exception ?? new WriteErrorException(Message),
            string.IsNullOrEmpty(ErrorId) ? "Microsoft.PowerShell.Commands.WriteErrorException" : ErrorId,
            Category,
            TargetObject);

        if (Exception != null && Message != null)
        {
            record.ErrorDetails = new ErrorDetails(Message);
        }

        if (!string.IsNullOrEmpty(RecommendedAction))
        {
            record.ErrorDetails ??= new ErrorDetails(record.ToString());
            record.ErrorDetails.RecommendedAction = RecommendedAction;
        }

        WriteError(record);
    }
}

/// <summary>The exception behind a Write-Error -Message, named like the real one so error ids read the same.</summary>
public sealed class WriteErrorException : SystemException
{
    public WriteErrorException(string? message) : base(message) { }
}

[Cmdlet(VerbsCommunications.Write, "Progress")]
public sealed class WriteProgressCommand : PSCmdlet
{
    [Parameter(Position = 0)]
    public string Activity { get; set; } = "Processing";

    [Parameter(Position = 1)]
    public string? Status { get; set; }

    [Parameter(Position = 2)]
    [ValidateRange(0, int.MaxValue)]
    public int Id { get; set; }

    [Parameter]
    [ValidateRange(-1, 100)]
    public int PercentComplete { get; set; } = -1;

    [Parameter]
    public int SecondsRemaining { get; set; } = -1;

    [Parameter]
    public string? CurrentOperation { get; set; }

    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int ParentId { get; set; } = -1;

    [Parameter]
    public SwitchParameter Completed { get; set; }

    protected override void ProcessRecord()
    {
        var record = new ProgressRecord(Id, Activity, string.IsNullOrEmpty(Status) ? "Processing" : Status)
        {
            PercentComplete = PercentComplete,
            SecondsRemaining = SecondsRemaining,
            CurrentOperation = CurrentOperation,
            ParentActivityId = ParentId,
            RecordType = Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        };
        WriteProgress(record);
    }
}
