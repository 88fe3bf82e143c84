<#
.SYNOPSIS
    Safe rolling deployment: one member at a time, drain it, deploy it, prove it healthy, put it back.
.DESCRIPTION
    For each member of -Pool that is in rotation, in the order Get-LbPoolMember lists them, and never
    more than one at a time:

      1. Checks that at least -MinInRotation other members are enabled and not unhealthy, so taking
         this one out cannot leave the pool without capacity.
      2. Drains it with Set-LbPoolMember -State Draining (Disabled on providers that drain by disabling,
         such as F5 BIG-IP).
      3. Waits until its ActiveConnections reach 0 (providers without connection counts: until it stops
         reading Draining), polling every -PollIntervalSec for at most -DrainTimeoutSec. When the time
         runs out the member is put back in rotation untouched and the deployment stops, unless
         -ContinueAfterDrainTimeout is given.
      4. Runs -Deploy with the member as its argument. A deploy block that throws stops the deployment.
      5. Probes the member directly with Test-LbPoolMember until it passes -HealthySuccesses probes in a
         row, for at most -HealthTimeoutSec.
      6. Sets it back to Enabled.

    When a member does not come back healthy (or its deploy fails), the deployment stops at once: that
    member is left out of rotation (draining) for someone to look at, the members already done stay
    enabled on the new version, and the remaining members are not touched. The script then writes an
    error and ends with exit code 1. Members that were not enabled when it started (taken out by an
    operator, or left draining by an earlier failed run) are skipped with a warning, never enabled.

    One object per member tells what happened: Pool, Address, Port, Name, Status (Deployed, Failed,
    Skipped or WhatIf), Stage (where it ended: Check, Drain, Deploy, Health, Enable or Done),
    DrainSeconds, HealthSeconds and Message.

    -WhatIf lists what would be done to each member and changes nothing; -Confirm asks before each
    member. The provider must be able to drain or disable members (not Caddy or AWS ELBv2, where a
    member leaves rotation only by being removed).

    Runs on Windows PowerShell 5.1 and PowerShell 7.
.PARAMETER Pool
    The pool whose members are deployed.
.PARAMETER Deploy
    The deployment of one member: a script block that receives the member (an LbPoolMember with
    Address, Port and Name) as its first argument. Its output is written to the verbose stream. Throw
    to report a failed deployment; check $LASTEXITCODE after native commands, which do not throw.
    Give -Deploy or -DeployScript.
.PARAMETER DeployScript
    The deployment as a script file, for callers that cannot pass a script block (pwsh -File, a
    scheduler): it is run with the member as its first argument, as -Deploy is.
.PARAMETER Address
    Deploys only the members with these addresses. Default: every member of the pool.
.PARAMETER MinInRotation
    The fewest other members that must be enabled and not unhealthy before a member is taken out.
    Default: 1.
.PARAMETER DrainTimeoutSec
    How long to wait for a member's connections to finish. Default: 300.
.PARAMETER ContinueAfterDrainTimeout
    Deploys a member even if connections remain after -DrainTimeoutSec (they are cut by the deploy).
    By default the member is put back and the deployment stops.
.PARAMETER HealthPath
    The path the health probe requests. Default: /.
.PARAMETER Protocol
    Http, Https or Tcp. Default: Http.
.PARAMETER ProbePort
    Probes this port instead of the member's own.
.PARAMETER ExpectedStatus
    Status codes that count as healthy. Default: 200 to 399.
.PARAMETER ProbeTimeoutSec
    How long one probe may take. Default: 5.
.PARAMETER HealthySuccesses
    How many probes in a row must pass before the member goes back in rotation. Default: 2.
.PARAMETER HealthTimeoutSec
    How long a deployed member may take to become healthy. Default: 300.
.PARAMETER PollIntervalSec
    Seconds between two reads of the member while draining, and between two probes. Default: 2.
.PARAMETER Connection
    A connection from Connect-LbController. Default: the session's default connection, or the one the
    script makes from -Provider and -Endpoint.
.PARAMETER Provider
    Connects to this provider (NginxPlus, HAProxy, Caddy, F5, NetScaler, AwsElbV2) for the run, and
    disconnects afterwards.
.PARAMETER Endpoint
    With -Provider: the load balancer's management endpoint (AwsElbV2 can do with
    -ConnectOption @{ Region = '...' } instead).
.PARAMETER SecretName
    With -Provider: a SecretManagement secret that holds the credential (else LBTOOLS_* environment
    variables are used).
.PARAMETER Vault
    The vault of -SecretName.
.PARAMETER ConnectOption
    With -Provider: more Connect-LbController parameters, such as @{ Partition = 'Web' }.
.EXAMPLE
    ./Invoke-RollingDeployment.ps1 -Pool web -HealthPath /healthz -Deploy {
        param($Member)
        ssh "deploy@$($Member.Address)" 'sudo /opt/app/deploy.sh 2.4.1'
        if ($LASTEXITCODE -ne 0) { throw "deploy.sh failed on $($Member.Address) with exit code $LASTEXITCODE" }
    }

    Deploys version 2.4.1 to every member of web in turn over SSH, and puts each back only when its
    /healthz answers twice in a row.
.EXAMPLE
    ./Invoke-RollingDeployment.ps1 -Pool web -Deploy { param($m) } -WhatIf

    Shows the order in which the members would be drained and deployed, and changes nothing.
.EXAMPLE
    pwsh -NoProfile -File ./Invoke-RollingDeployment.ps1 -Pool web -Provider HAProxy -Endpoint tcp://127.0.0.1:9999 -HealthPath /healthz -DeployScript /opt/app/Deploy-Member.ps1

    From a shell or a scheduler: the deployment of one member is a script file whose first parameter is the member.
.OUTPUTS
    PSCustomObject (type name LoadBalancerTools.Example.RollingDeploymentStep), one per member.
#>
[CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Session')]
param(
    [Parameter(Mandatory)] [string] $Pool,
    [scriptblock] $Deploy,
    [string] $DeployScript,
    [string[]] $Address,
    [ValidateRange(0, 100000)] [int] $MinInRotation = 1,
    [ValidateRange(0, 86400)] [int] $DrainTimeoutSec = 300,
    [switch] $ContinueAfterDrainTimeout,
    [string] $HealthPath = '/',
    [ValidateSet('Http', 'Https', 'Tcp')] [string] $Protocol = 'Http',
    [ValidateRange(1, 65535)] [int] $ProbePort,
    [int[]] $ExpectedStatus,
    [ValidateRange(1, 300)] [int] $ProbeTimeoutSec = 5,
    [ValidateRange(1, 100)] [int] $HealthySuccesses = 2,
    [ValidateRange(1, 86400)] [int] $HealthTimeoutSec = 300,
    [ValidateRange(0.05, 600)] [double] $PollIntervalSec = 2,
    [Parameter(ParameterSetName = 'Session')] [object] $Connection,
    [Parameter(Mandatory, ParameterSetName = 'Connect')] [string] $Provider,
    [Parameter(ParameterSetName = 'Connect')] [string] $Endpoint,
    [Parameter(ParameterSetName = 'Connect')] [string] $SecretName,
    [Parameter(ParameterSetName = 'Connect')] [string] $Vault,
    [Parameter(ParameterSetName = 'Connect')] [hashtable] $ConnectOption = @{}
)

# Shared helpers (Import-LbToolsModule, Exit-Runbook, Read-MemberCsv, Open-RunbookConnection).
. (Join-Path $PSScriptRoot 'ExampleSupport.ps1')
Import-LbToolsModule

if ([bool] $Deploy -eq [bool] $DeployScript) {
    $PSCmdlet.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new(
            [System.ArgumentException]::new('Give the deployment as -Deploy (a script block) or -DeployScript (a script file), not both and not neither.'), 'DeployInvalid', 'InvalidArgument', $null))
}
if ($DeployScript) {
    $DeployScript = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($DeployScript)
    if (-not (Test-Path -Path $DeployScript -PathType Leaf)) {
        $PSCmdlet.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new(
                [System.IO.FileNotFoundException]::new("The deploy script '$DeployScript' does not exist."), 'DeployInvalid', 'ObjectNotFound', $DeployScript))
    }
    $Deploy = { param($Member) & $DeployScript $Member }
}

# Shown as a table of these columns; every property is still there for Where-Object and exports.
$display = [System.Management.Automation.PSMemberSet]::new('PSStandardMembers', [System.Management.Automation.PSMemberInfo[]] @(
        [System.Management.Automation.PSPropertySet]::new('DefaultDisplayPropertySet', [string[]] @('Address', 'Port', 'Status', 'Message'))))

function New-Step($Member, [string] $Status, [string] $Stage, [string] $Message) {
    $step = [pscustomobject]@{
        PSTypeName    = 'LoadBalancerTools.Example.RollingDeploymentStep'
        Pool          = $Pool
        Address       = $Member.Address
        Port          = $Member.Port
        Name          = $Member.Name
        Status        = $Status
        Stage         = $Stage
        DrainSeconds  = $null
        HealthSeconds = $null
        Message       = $Message
    }
    $step.PSObject.Members.Add($display)
    $step
}

function Write-StepError($Step) {
    $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new(
        [System.InvalidOperationException]::new($Step.Message), "RollingDeployment$($Step.Stage)Failed", 'InvalidResult', "$($Step.Address):$($Step.Port)"))
}

function Get-Current($Member) {
    Get-LbPoolMember -Pool $Pool -Address $Member.Address -Port $Member.Port @target -ErrorAction Stop
}

function Test-Member($Member) {
    $ProgressPreference = 'SilentlyContinue'   # one probe every few seconds: no progress bar for each
    Test-LbPoolMember -InputObject $Member @probe
}

function Wait-Interval { Start-Sleep -Milliseconds ([int] ($PollIntervalSec * 1000)) }

$target = @{}
$own = $null
$failed = $false
try {
    if ($PSCmdlet.ParameterSetName -eq 'Connect') {
        $own = Open-RunbookConnection -Provider $Provider -Endpoint $Endpoint -SecretName $SecretName -Vault $Vault -ConnectOption $ConnectOption
        $target.Connection = $own
    }
    elseif ($Connection) { $target.Connection = $Connection }

    $members = @(Get-LbPoolMember -Pool $Pool @target -ErrorAction Stop)
    if ($Address) { $members = @($members | Where-Object { $Address -contains $_.Address }) }
    if ($members.Count -eq 0) {
        $PSCmdlet.WriteWarning("Pool '$Pool' has no member to deploy.")
        return
    }

    # What "out of rotation, gracefully" means on this provider.
    $capabilities = @($members[0].Connection.Capabilities.ToString() -split ',\s*')
    $drainState = if ($capabilities -contains 'Drain') { 'Draining' } elseif ($capabilities -contains 'Disable') { 'Disabled' } else { $null }
    if (-not $drainState) {
        $PSCmdlet.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new(
            [System.NotSupportedException]::new("$($members[0].Connection.Provider) cannot drain or disable a member, so a rolling deployment cannot take members out of rotation one at a time."),
            'RollingDeploymentNotSupported', 'NotImplemented', $Pool))
    }
    $countsConnections = $capabilities -contains 'ActiveConnections'

    $probe = @{ Protocol = $Protocol; Path = $HealthPath; ProbeTimeoutSec = $ProbeTimeoutSec }
    if ($ProbePort) { $probe.ProbePort = $ProbePort }
    if ($ExpectedStatus) { $probe.ExpectedStatus = $ExpectedStatus }

    foreach ($member in $members) {
        $where = "member $($member.Address):$($member.Port) ($($member.Name)) of pool '$Pool'"
        if ([string] $member.State -ne 'Enabled') {
            $PSCmdlet.WriteWarning("Skipping ${where}: it is $($member.State), not in rotation; it is left as it is.")
            New-Step $member 'Skipped' 'Check' "Not in rotation ($($member.State)); left as it is."
            continue
        }

        # 1. Enough capacity without it?
        $others = @(Get-LbPoolMember -Pool $Pool @target -ErrorAction Stop | Where-Object {
                -not ($_.Address -eq $member.Address -and $_.Port -eq $member.Port) -and [string] $_.State -eq 'Enabled' -and [string] $_.Health -ne 'Unhealthy' })
        if ($others.Count -lt $MinInRotation) {
            $step = New-Step $member 'Failed' 'Check' "Not taken out: only $($others.Count) other member(s) are in rotation and healthy, fewer than -MinInRotation $MinInRotation. The deployment stopped; this and the remaining members were not touched."
            $step
            Write-StepError $step
            $failed = $true
            break
        }

        if (-not $PSCmdlet.ShouldProcess($where, "Take out of rotation ($drainState), deploy, wait for $HealthySuccesses good probe(s) of $HealthPath, enable")) {
            New-Step $member $(if ($WhatIfPreference) { 'WhatIf' } else { 'Skipped' }) 'Check' 'Not changed.'
            continue
        }

        # 2-3. Out of rotation, and wait for its connections to finish.
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        Set-LbPoolMember -InputObject $member -State $drainState @target -Confirm:$false -WhatIf:$false -ErrorAction Stop
        $drained = $false
        while ($true) {
            $now = Get-Current $member
            if ($countsConnections) { $drained = $null -eq $now.ActiveConnections -or $now.ActiveConnections -le 0 }
            elseif ($drainState -eq 'Draining') { $drained = [string] $now.State -ne 'Draining' }
            else { $drained = $true }
            if ($drained -or $clock.Elapsed.TotalSeconds -ge $DrainTimeoutSec) { break }
            $PSCmdlet.WriteVerbose("${where}: $($now.ActiveConnections) active connection(s), $([int] $clock.Elapsed.TotalSeconds) of $DrainTimeoutSec s.")
            Wait-Interval
        }
        $drainSeconds = [Math]::Round($clock.Elapsed.TotalSeconds, 1)
        if (-not $drained) {
            if ($ContinueAfterDrainTimeout) {
                $PSCmdlet.WriteWarning("${where} still has $($now.ActiveConnections) connection(s) after $DrainTimeoutSec s; deploying anyway (-ContinueAfterDrainTimeout).")
            }
            else {
                # Nothing was deployed yet: the old version goes back in rotation and the run stops.
                Set-LbPoolMember -InputObject $member -State Enabled @target -Confirm:$false -WhatIf:$false -ErrorAction Stop
                $step = New-Step $member 'Failed' 'Drain' "Still $($now.ActiveConnections) active connection(s) after the drain timeout of $DrainTimeoutSec s; put back in rotation without deploying. The deployment stopped; the remaining members were not touched."
                $step.DrainSeconds = $drainSeconds
                $step
                Write-StepError $step
                $failed = $true
                break
            }
        }
        $PSCmdlet.WriteVerbose("${where}: out of rotation after $drainSeconds s; deploying.")

        # 4. Deploy.
        try {
            & $Deploy $member | ForEach-Object { $PSCmdlet.WriteVerbose("${where}: $_") }
        }
        catch {
            $step = New-Step $member 'Failed' 'Deploy' "The deploy failed: $($_.Exception.Message) The member is left out of rotation ($drainState); the remaining members were not touched."
            $step.DrainSeconds = $drainSeconds
            $step
            Write-StepError $step
            $failed = $true
            break
        }

        # 5. Healthy, several times in a row, before it takes traffic again.
        $clock.Restart()
        $good = 0
        $last = $null
        while ($good -lt $HealthySuccesses -and $clock.Elapsed.TotalSeconds -lt $HealthTimeoutSec) {
            $last = Test-Member $member
            if ($last.Success) { $good++ } else { $good = 0 }
            if ($good -lt $HealthySuccesses) { Wait-Interval }
        }
        $healthSeconds = [Math]::Round($clock.Elapsed.TotalSeconds, 1)
        if ($good -lt $HealthySuccesses) {
            $why = if ($last -and $last.Error) { $last.Error } else { 'no passing probe' }
            $step = New-Step $member 'Failed' 'Health' "Not healthy within $HealthTimeoutSec s after the deploy (last probe of $($last.Target): $why). The member is left out of rotation ($drainState); the remaining members were not touched."
            $step.DrainSeconds = $drainSeconds
            $step.HealthSeconds = $healthSeconds
            $step
            Write-StepError $step
            $failed = $true
            break
        }

        # 6. Back in rotation.
        Set-LbPoolMember -InputObject $member -State Enabled @target -Confirm:$false -WhatIf:$false -ErrorAction Stop
        $step = New-Step $member 'Deployed' 'Done' "Drained in $drainSeconds s, healthy $healthSeconds s after the deploy, back in rotation."
        $step.DrainSeconds = $drainSeconds
        $step.HealthSeconds = $healthSeconds
        $step
    }
}
finally {
    if ($own) { Disconnect-LbController -Connection $own }
}

if ($failed) { Exit-Runbook 1 $PSCommandPath }
