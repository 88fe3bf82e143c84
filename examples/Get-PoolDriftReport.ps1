<#
.SYNOPSIS
    Nightly drift report: compares the members a CSV file says a pool should have with what the load
    balancer has, and reports every difference as an object.
.DESCRIPTION
    Reads the desired members from a CSV file (the format of Add-MembersFromCsv.ps1: Address, Port and
    optionally Weight, Name and State), reads the actual members with Get-LbPoolMember, and writes one
    object per member with its Status:

      InSync      in the file and in the pool, with the desired state and weight
      Different   in both, but the state or the weight differs (Detail says which)
      Missing     in the file, not in the pool
      Unexpected  in the pool, not in the file

    Each object has Pool, Address, Port, Name, Status, DesiredState, ActualState, DesiredWeight,
    ActualWeight, Health and Detail. State and Weight are compared only where the file gives them, so a
    file with only Address and Port checks membership alone. State accepts Enabled, Disabled, Drain or
    Draining, and ForcedOffline. Addresses are compared the way the module compares them (IPv6
    brackets and letter case do not matter).

    The script changes nothing. It only reads, so it is safe to schedule; pair it with
    Sync-LbPool (or Add-MembersFromCsv.ps1) to act on what it finds.

    With -ReportPath the objects are also written to a CSV file, and with -FailOnDrift the script ends
    with exit code 1 when anything is not InSync, so a scheduler or CI job can alert on drift.

    Runs on Windows PowerShell 5.1 and PowerShell 7.

    Scheduling: see Invoke-SelfHealing.ps1 for cron, systemd and Task Scheduler entries; for a nightly
    run use, for example, the cron line
        30 2 * * *  lbtools  pwsh -NoProfile -File /opt/lbtools/Get-PoolDriftReport.ps1 -Path /etc/lbtools/web.csv -Pool web -Provider HAProxy -Endpoint tcp://127.0.0.1:9999 -ReportPath /var/log/lbtools/web-drift.csv -FailOnDrift
.PARAMETER Path
    The CSV file with the desired members.
.PARAMETER Pool
    The pool to compare.
.PARAMETER Delimiter
    The field separator of the CSV file. Default: a comma.
.PARAMETER ReportPath
    Also writes the report to this CSV file (replaced if it exists).
.PARAMETER FailOnDrift
    Ends with exit code 1 when any member is Missing, Unexpected or Different.
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
    With -Provider: more Connect-LbController parameters, such as @{ Region = 'eu-west-1' }.
.EXAMPLE
    ./Get-PoolDriftReport.ps1 -Path ./web.csv -Pool web | Where-Object Status -ne InSync

    Lists only the members that drifted, using the session's default connection.
.EXAMPLE
    ./Get-PoolDriftReport.ps1 -Path /etc/lbtools/web.csv -Pool web -Provider F5 -Endpoint https://bigip1 -SecretName bigip-ro -ReportPath ./web-drift.csv -FailOnDrift

    Connects with a read-only account from the default vault, writes the report to web-drift.csv and
    exits with 1 if the pool drifted.
.OUTPUTS
    PSCustomObject (type name LoadBalancerTools.Example.PoolDrift), one per member.
#>
[CmdletBinding(DefaultParameterSetName = 'Session')]
param(
    [Parameter(Mandatory)] [string] $Path,
    [Parameter(Mandatory)] [string] $Pool,
    [char] $Delimiter = ',',
    [string] $ReportPath,
    [switch] $FailOnDrift,
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

# The module's rule: brackets and spaces off, IP addresses in canonical form, names in lower case.
function Get-AddressKey([string] $Address, [int] $Port) {
    $bare = $Address.Trim().TrimStart('[').TrimEnd(']')
    $ip = $null
    if ([System.Net.IPAddress]::TryParse($bare, [ref] $ip)) { $bare = $ip.ToString() }
    '{0}|{1}' -f $bare.ToLowerInvariant(), $Port
}

$stateNames = @{ enabled = 'Enabled'; disabled = 'Disabled'; drain = 'Draining'; draining = 'Draining'; forcedoffline = 'ForcedOffline' }

# --- the desired members: a report built on a file it misread would be wrong everywhere, so a bad row stops the script ---
$desired = [ordered]@{}
foreach ($want in Read-MemberCsv -Path $Path -Delimiter $Delimiter -ErrorAction Stop) {
    $key = Get-AddressKey $want.Address $want.Port
    if ($desired.Contains($key)) {
        $PSCmdlet.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new(
                [System.IO.InvalidDataException]::new("${Path}: $($want.Address):$($want.Port) is listed twice."), 'CsvRowDuplicate', 'InvalidData', $want))
    }
    $state = $null
    if ($want.State) {
        $state = $stateNames[$want.State.ToLowerInvariant()]
        if (-not $state) {
            $PSCmdlet.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new(
                    [System.IO.InvalidDataException]::new("${Path}: State '$($want.State)' of $($want.Address):$($want.Port) is not Enabled, Disabled, Draining or ForcedOffline."), 'CsvRowInvalid', 'InvalidData', $want))
        }
    }
    $desired[$key] = [pscustomobject]@{ Address = $want.Address; Port = $want.Port; Name = $want.Name; State = $state; Weight = $want.Weight }
}

# --- the actual members ---
$target = @{}
$own = $null
try {
    if ($PSCmdlet.ParameterSetName -eq 'Connect') {
        $own = Open-RunbookConnection -Provider $Provider -Endpoint $Endpoint -SecretName $SecretName -Vault $Vault -ConnectOption $ConnectOption
        $target.Connection = $own
    }
    elseif ($Connection) { $target.Connection = $Connection }
    $actual = @(Get-LbPoolMember -Pool $Pool @target -ErrorAction Stop)
}
finally {
    if ($own) { Disconnect-LbController -Connection $own }
}

# Shown as a table of these columns; every property is still there for Where-Object and exports.
$display = [System.Management.Automation.PSMemberSet]::new('PSStandardMembers', [System.Management.Automation.PSMemberInfo[]] @(
        [System.Management.Automation.PSPropertySet]::new('DefaultDisplayPropertySet', [string[]] @('Address', 'Port', 'Status', 'Detail'))))

# --- the comparison ---
$report = [System.Collections.Generic.List[object]]::new()
$seen = @{}
foreach ($member in $actual) {
    $key = Get-AddressKey $member.Address $member.Port
    $seen[$key] = $true
    $want = if ($desired.Contains($key)) { $desired[$key] } else { $null }
    $differences = @()
    if ($null -eq $want) { $status = 'Unexpected' }
    else {
        if ($want.State -and $want.State -ne [string] $member.State) { $differences += "State $($want.State) expected, is $($member.State)" }
        if ($null -ne $want.Weight -and $want.Weight -ne $member.Weight) { $differences += "Weight $($want.Weight) expected, is $($member.Weight)" }
        $status = if ($differences.Count -gt 0) { 'Different' } else { 'InSync' }
    }
    $report.Add([pscustomobject]@{
        PSTypeName    = 'LoadBalancerTools.Example.PoolDrift'
        Pool          = $Pool
        Address       = $member.Address
        Port          = $member.Port
        Name          = $member.Name
        Status        = $status
        DesiredState  = if ($want) { $want.State } else { $null }
        ActualState   = [string] $member.State
        DesiredWeight = if ($want) { $want.Weight } else { $null }
        ActualWeight  = $member.Weight
        Health        = [string] $member.Health
        Detail        = if ($status -eq 'Unexpected') { 'In the pool, not in the file.' } else { $differences -join '; ' }
    })
}
foreach ($key in $desired.Keys) {
    if ($seen.ContainsKey($key)) { continue }
    $want = $desired[$key]
    $report.Add([pscustomobject]@{
        PSTypeName    = 'LoadBalancerTools.Example.PoolDrift'
        Pool          = $Pool
        Address       = $want.Address
        Port          = $want.Port
        Name          = $want.Name
        Status        = 'Missing'
        DesiredState  = $want.State
        ActualState   = $null
        DesiredWeight = $want.Weight
        ActualWeight  = $null
        Health        = $null
        Detail        = 'In the file, not in the pool.'
    })
}
foreach ($row in $report) { $row.PSObject.Members.Add($display) }
$report

$drift = @($report | Where-Object Status -ne 'InSync').Count
Write-Verbose "Pool '$Pool': $($report.Count) member(s) compared, $drift not in sync."

if ($ReportPath) {
    $folder = Split-Path -Path $ReportPath -Parent
    if ($folder -and -not (Test-Path -Path $folder)) { $null = New-Item -ItemType Directory -Path $folder }
    $report | Select-Object Pool, Address, Port, Name, Status, DesiredState, ActualState, DesiredWeight, ActualWeight, Health, Detail |
        Export-Csv -Path $ReportPath -NoTypeInformation -Encoding UTF8
    Write-Verbose "Report written to $ReportPath."
}

if ($FailOnDrift -and $drift -gt 0) { Exit-Runbook 1 $PSCommandPath }
