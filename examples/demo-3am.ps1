<#
.SYNOPSIS
    The 3 AM scenario against a real HAProxy: manage the pool, then watch it heal itself.
.DESCRIPTION
    Run it with `dotnet run --project tools/Demo -c Release`, which starts HAProxy 2.6 with four web
    backends and a spare, steady client traffic, and a local alert receiver, runs this script through
    tools/LbHost, and stops everything afterwards. Everything below is the module's cmdlets; only the
    Outage function (a stand-in for a real failure) and the traffic report talk to the demo's stage.
#>
param(
    [Parameter(Mandatory)] [string] $Endpoint,
    [Parameter(Mandatory)] [string] $Spare,
    [Parameter(Mandatory)] [string] $ControlUri,
    [Parameter(Mandatory)] [string] $AlertUri,
    [Parameter(Mandatory)] [string] $WorkDirectory
)

$ErrorActionPreference = 'Stop'
Import-Module ([IO.Path]::Combine($PSScriptRoot, '..', 'out', 'LoadBalancerTools', 'LoadBalancerTools.psd1'))

$stage = [System.Net.Http.HttpClient]::new()
$stage.BaseAddress = [uri]$ControlUri
function Step([string] $Text) { Write-Host ''; Write-Host "=== $Text" }
function Outage([string] $Action, [string] $Backend) { $null = $stage.PostAsync("/$Action/$Backend", $null).GetAwaiter().GetResult().EnsureSuccessStatusCode() }
function Traffic { [System.Text.Json.JsonDocument]::Parse($stage.GetStringAsync('/traffic').GetAwaiter().GetResult()).RootElement }
function Pause([int] $Seconds) { [System.Threading.Thread]::Sleep($Seconds * 1000) }

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
Get-LbPoolMember -Pool web | Where-Object Name -eq 'web1' | Remove-LbPoolMember -Drain -DrainTimeoutSec 30 -Confirm:$false -Verbose
Get-LbPoolMember -Pool web | Out-Default

Step '03:00 - web2 and web3 die. HAProxy keeps sending them traffic; clients start to fail.'
$null = $stage.PostAsync('/traffic/reset', $null).GetAwaiter().GetResult()
Outage fail web2
Outage fail web3
Pause 2
$t = Traffic
Write-Host ("Client requests in the last 2 s: {0}, failed: {1}" -f $t.GetProperty('total'), $t.GetProperty('failures'))

Step 'Self-healing: probe every second, eject after 2 failures, at most 50% of the pool, alert Slack and PagerDuty'
$alerts = @(
    New-LbAlertChannel Slack -Uri "$($AlertUri)slack"
    New-LbAlertChannel PagerDuty -RoutingKey 'demo-routing-key' -Uri "$($AlertUri)pagerduty"
)
$state = [IO.Path]::Combine($WorkDirectory, 'web.state.json')
$journal = [IO.Path]::Combine($WorkDirectory, 'web.journal.jsonl')
$heal = @{
    Pool = 'web'; Path = '/healthz'; ProbeTimeoutSec = 1; FailureThreshold = 2; RecoveryThreshold = 2
    IntervalSec = 1; MaxEjectPercent = 50; MinHealthyMembers = 1; Action = 'Disable'
    StatePath = $state; JournalPath = $journal; AlertChannel = $alerts
}
Invoke-LbHealthRemediation @heal -Watch -DurationSec 4 | Out-Default

$ejected = @(Get-LbPoolMember -Pool web | Where-Object State -eq Disabled | ForEach-Object Name)
if (($ejected -join ',') -ne 'web2,web3') { throw "Expected web2 and web3 to be ejected, found: $($ejected -join ',')" }

Step 'The pool after healing, and what clients see now'
Get-LbPoolMember -Pool web | Out-Default
$null = $stage.PostAsync('/traffic/reset', $null).GetAwaiter().GetResult()
Pause 3
$t = Traffic
Write-Host ("Client requests in the last 3 s: {0}, failed: {1}" -f $t.GetProperty('total'), $t.GetProperty('failures'))
if ($t.GetProperty('failures').GetInt64() -ne 0) { throw 'Clients still see errors after healing.' }

Step 'What the on-call engineer received'
foreach ($alert in [System.Text.Json.JsonDocument]::Parse($stage.GetStringAsync('/alerts').GetAwaiter().GetResult()).RootElement.EnumerateArray()) {
    Write-Host ("{0,-11} {1}" -f $alert.GetProperty('path').GetString(), $alert.GetProperty('body').GetString())
}

Step 'Why: the journal, one JSON line per decision'
foreach ($line in [IO.File]::ReadAllLines($journal)) {
    $e = [System.Text.Json.JsonDocument]::Parse($line).RootElement
    Write-Host ("round {0,2} {1,-9} {2,-6} {3}" -f $e.GetProperty('round'), $e.GetProperty('type'), $e.GetProperty('member'), $e.GetProperty('reason'))
}

Step '03:20 - web2 and web3 are back; the next rounds restore them'
Outage recover web2
Outage recover web3
Invoke-LbHealthRemediation @heal -Watch -DurationSec 3 | Out-Default
Get-LbPoolMember -Pool web | Out-Default
$still = @(Get-LbPoolMember -Pool web | Where-Object State -ne Enabled)
if ($still.Count -ne 0) { throw "Expected every member back in rotation, found: $($still.Name -join ',')" }

Disconnect-LbController
Write-Host ''
Write-Host 'The pool healed itself, told people, and never took more than half of it out of rotation.'
