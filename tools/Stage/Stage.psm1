<#
    Starts tools/Stage (built by the solution) for a script in pwsh and talks to its control API.
    The stage lives as long as its standard input stays open: Stop-LbStage closes it and waits for the
    stage to stop what it started; if the script's process dies, the pipe closes and the stage stops too.
#>

$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path

function Start-LbStage {
    [CmdletBinding()]
    # The configuration the caller was built in (the xUnit suite sets LBTOOLS_CONFIGURATION), else Release.
    param([ValidateSet('Release', 'Debug')] [string] $Configuration = $(if ($env:LBTOOLS_CONFIGURATION) { $env:LBTOOLS_CONFIGURATION } else { 'Release' }))

    $dll = Join-Path $script:RepoRoot "tools/Stage/bin/$Configuration/net10.0/Stage.dll"
    if (-not (Test-Path $dll)) { throw "The stage is not built: $dll is missing. Run 'dotnet build LbTools.sln -c $Configuration' first." }
    $start = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    $start.ArgumentList.Add($dll)
    $start.RedirectStandardInput = $true
    $start.RedirectStandardOutput = $true
    $start.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($start)
    $line = $process.StandardOutput.ReadLine()
    if (-not $line) {
        $process.WaitForExit(5000) | Out-Null
        throw "The stage (process $($process.Id)) exited before it printed its control URL."
    }
    [pscustomobject]@{
        PSTypeName = 'LbStage'
        Process    = $process
        Control    = [uri] ($line | ConvertFrom-Json).control
    }
}

function Invoke-LbStage {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] $Stage,
        [Parameter(Mandatory)] [string] $Path,
        [ValidateSet('Get', 'Post')] [string] $Method = 'Post',
        [object] $Body
    )
    $request = @{ Uri = [uri]::new($Stage.Control, $Path.TrimStart('/')); Method = $Method }
    if ($null -ne $Body) { $request.Body = $Body | ConvertTo-Json -Depth 5; $request.ContentType = 'application/json' }
    # Returned through a variable so that a JSON array reaches the pipeline one element at a time.
    try { $response = Invoke-RestMethod @request }
    catch { throw "The stage could not $Method $Path`: $($_.ErrorDetails.Message) ($($_.Exception.Message))" }
    $response
}

function Stop-LbStage {
    [CmdletBinding()]
    param([Parameter(Mandatory)] $Stage)
    $process = $Stage.Process
    $process.StandardInput.Close()
    if (-not $process.WaitForExit(30000)) {
        # Only the stage this script started, by its id.
        Stop-Process -Id $process.Id -Force
    }
    $process.Dispose()
}

Export-ModuleMember -Function Start-LbStage, Invoke-LbStage, Stop-LbStage
