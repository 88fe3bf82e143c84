<#
.SYNOPSIS
    The 3 AM scenario against a real HAProxy: manage the pool, then watch it heal itself.
.DESCRIPTION
    Run it with `dotnet run --project tools/Demo -c Release`, which starts HAProxy 2.6 with four web
    backends and a spare, steady client traffic and a local alert receiver (tools/Demo/Start-Demo.ps1),
    runs this script in pwsh, and stops everything afterwards. Everything below is the module's cmdlets;
    only the Outage function (a stand-in for a real failure) and the traffic report talk to the stage.

    Runs on Windows PowerShell 5.1 and PowerShell 7.
.PARAMETER Endpoint
    HAProxy's Runtime API, tcp://127.0.0.1:PORT.
.PARAMETER Spare
    The spare backend to add, ADDRESS:PORT.
.PARAMETER StageUri
    The stage's control API (tools/Stage): outages, traffic counts and the alerts it received.
.PARAMETER AlertUri
    The stage's alert receiver; Slack and PagerDuty alerts go to paths under it.
.PARAMETER WorkDirectory
    Where the remediation state and journal are written.
.EXAMPLE
    dotnet run --project tools/Demo -c Release

    Sets the stage and plays the scenario.
#>
param(
    [Parameter(Mandatory)] [string] $Endpoint,
    [Parameter(Mandatory)] [string] $Spare,
    [Parameter(Mandatory)] [uri] $StageUri,
    [Parameter(Mandatory)] [uri] $AlertUri,
    [Parameter(Mandatory)] [string] $WorkDirectory
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../out/LoadBalancerTools/LoadBalancerTools.psd1')

function Step([string] $Text) { Write-Host ''; Write-Host "=== $Text" }
function Stage([string] $Path, [string] $Method = 'Post') { Invoke-RestMethod -Method $Method -Uri ([uri]::new($StageUri, $Path)) }
function Outage([string] $Action, [string] $Backend) { $null = Stage "backends/$Backend/$Action" }

Step 'Connect to HAProxy through its Runtime API'
Connect-LbController -Provider HAProxy -Endpoint $Endpoint | Out-Default

Step 'The pools, and the members of "web"'
Get-LbPool | Out-Default
Get-LbPoolMember -Pool web | Out-Default

Step 'Scale out: add the spare backend (a second add changes nothing)'
$address, $port = $Spare.Split(':')
Add-LbPoolMember -Pool web -Address $address -Port $port -Name web5 -PassThru | Out-Default
Add-LbPoolMember -Pool web -Address $address -Port $port -Name web5 -Verbose

Step 'Retire web1: drain it (no new sessions, wait for its connections), then remove it'
Get-LbPoolMember -Pool web -Name web1 | Remove-LbPoolMember -Drain -DrainTimeoutSec 30 -Confirm:$false -Verbose
Get-LbPoolMember -Pool web | Out-Default

Step '03:00 - web2 and web3 die. HAProxy keeps sending them traffic; clients start to fail.'
$null = Stage 'traffic/reset'
Outage stop web2
Outage stop web3
Start-Sleep -Seconds 2
$traffic = Stage 'traffic' Get
Write-Host ("Client requests in the last 2 s: {0}, failed: {1}" -f $traffic.total, $traffic.failures)

Step 'Self-healing: probe every second, eject after 2 failures, at most 50% of the pool, alert Slack and PagerDuty'
$alerts = @(
    New-LbAlertChannel Slack -Uri ([uri]::new($AlertUri, 'slack'))
    New-LbAlertChannel PagerDuty -RoutingKey 'demo-routing-key' -Uri ([uri]::new($AlertUri, 'pagerduty'))
)
$journal = Join-Path $WorkDirectory 'web.journal.jsonl'
$heal = @{
    Pool = 'web'; Path = '/healthz'; ProbeTimeoutSec = 1; FailureThreshold = 2; RecoveryThreshold = 2
    IntervalSec = 1; MaxEjectPercent = 50; MinHealthyMembers = 1; Action = 'Disable'
    StatePath = (Join-Path $WorkDirectory 'web.state.json'); JournalPath = $journal; AlertChannel = $alerts
}
Invoke-LbHealthRemediation @heal -Watch -DurationSec 4 | Out-Default

$ejected = @(Get-LbPoolMember -Pool web | Where-Object State -eq Disabled | ForEach-Object Name)
if (($ejected -join ',') -ne 'web2,web3') { throw "Expected web2 and web3 to be ejected, found: $($ejected -join ',')" }

Step 'The pool after healing, and what clients see now'
Get-LbPoolMember -Pool web | Out-Default
$null = Stage 'traffic/reset'
Start-Sleep -Seconds 3
$traffic = Stage 'traffic' Get
Write-Host ("Client requests in the last 3 s: {0}, failed: {1}" -f $traffic.total, $traffic.failures)
if ($traffic.failures -ne 0) { throw 'Clients still see errors after healing.' }

Step 'What the on-call engineer received'
foreach ($alert in (Stage 'hooks/received' Get)) { Write-Host ("{0,-11} {1}" -f $alert.path, $alert.body) }

Step 'Why: the journal, one JSON line per decision'
foreach ($line in Get-Content -Path $journal) {
    $decision = ConvertFrom-Json -InputObject $line
    Write-Host ("round {0,2} {1,-9} {2,-6} {3}" -f $decision.round, $decision.type, $decision.member, $decision.reason)
}

Step '03:20 - web2 and web3 are back; the next rounds restore them'
Outage restart web2
Outage restart web3
Invoke-LbHealthRemediation @heal -Watch -DurationSec 3 | Out-Default
Get-LbPoolMember -Pool web | Out-Default
$still = @(Get-LbPoolMember -Pool web | Where-Object State -ne Enabled)
if ($still.Count -ne 0) { throw "Expected every member back in rotation, found: $(($still | ForEach-Object Name) -join ',')" }

Disconnect-LbController
Write-Host ''
Write-Host 'The pool healed itself, told people, and never took more than half of it out of rotation.'
