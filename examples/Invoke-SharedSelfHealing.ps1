<#
.SYNOPSIS
    Self-healing for many pools that two or more machines can schedule at the same time.
.DESCRIPTION
    Each run connects to the load balancer, runs Invoke-LbHealthRemediation on every pool named by -Pool
    (names and wildcards), and exits. The counts, ejections and leases live in Redis (-StateStore), so any
    number of machines can run this on the same schedule: for each pool, the machine that holds its lease
    probes it and changes it; the others write "pool web held by <runner> until <time>" to the journal and
    skip it. When a machine dies, its leases expire after -LeaseTtlSec and another machine takes its pools
    over, with the dead machine's counts and ejections, and restores what it ejected once it recovers.

    One round per run (the default) suits a schedule every minute: each run takes the leases, acts, and
    gives them back on exit. With -WatchSec the run loops a round every -IntervalSec seconds for that long
    and keeps its leases for the whole time, renewed every round.

    Credentials: the load balancer's from -SecretName (and -Vault) or the LBTOOLS_* environment variables;
    Redis's from -RedisSecretName (a password or a credential, in -Vault) or, when that is not given, the
    environment variable LBTOOLS_REDIS_PASSWORD. A password is never put in the Redis address.

    The journal (one JSON object per decision, appended) goes to -JournalPath, by default
    lbtools-shared.jsonl in the LoadBalancerTools folder of the user's local application data.

    Exit codes: 0 when every round ran and every change worked; 1 when a change failed, Redis or the load
    balancer could not be reached, or a parameter is wrong.

    Runs on Windows PowerShell 5.1 and PowerShell 7: typed parameters, Join-Path, no syntax newer than 5.1.

    SCHEDULING (the same on both machines)

    cron (Linux), every minute:
        * * * * *  lbtools  . /etc/lbtools/shared.env; pwsh -NoProfile -NonInteractive -File /opt/lbtools/Invoke-SharedSelfHealing.ps1 -Provider HAProxy -Endpoint tcp://lb1:9999 -Pool 'web*,api' -StateStore rediss://redis.internal:6380/0 >>/var/log/lbtools/shared.log 2>&1

    Windows Task Scheduler, every minute, never two at once on one machine:
        $action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument '-NoProfile -NonInteractive -File C:\lbtools\Invoke-SharedSelfHealing.ps1 -Provider F5 -Endpoint https://bigip1 -Pool web,api -StateStore rediss://redis.internal:6380/0 -SecretName bigip-heal -RedisSecretName lbtools-redis'
        $trigger = New-ScheduledTaskTrigger -Once -At (Get-Date) -RepetitionInterval (New-TimeSpan -Minutes 1)
        $settings = New-ScheduledTaskSettingsSet -MultipleInstances IgnoreNew -ExecutionTimeLimit (New-TimeSpan -Minutes 5)
        Register-ScheduledTask -TaskName 'LoadBalancerTools shared self-healing' -Action $action -Trigger $trigger -Settings $settings -User 'CONTOSO\svc-lbtools' -Password '...'
.PARAMETER Provider
    The load balancer's provider: NginxPlus, HAProxy, Caddy, F5, NetScaler or AwsElbV2.
.PARAMETER Endpoint
    The load balancer's management endpoint.
.PARAMETER Pool
    The pools to heal: names and wildcards, several separated by commas ('web*,api' from a scheduler).
.PARAMETER StateStore
    The shared Redis: redis://host:port/db, or rediss://host:port/db for TLS.
.PARAMETER RedisSecretName
    A SecretManagement secret with the Redis password or credential.
.PARAMETER SecretName
    A SecretManagement secret with the load balancer credential. Default: the LBTOOLS_* environment.
.PARAMETER Vault
    The vault of -SecretName and -RedisSecretName.
.PARAMETER HealthPath
    The path probed on each member. Default: /.
.PARAMETER FailureThreshold
    Failed rounds in a row before a member is ejected. Default: 3.
.PARAMETER RecoveryThreshold
    Good rounds in a row before an ejected member is restored. Default: 2.
.PARAMETER Action
    How members are ejected: Disable, Drain or Remove. Default: Disable.
.PARAMETER MaxEjectPercent
    The largest share of each pool ever ejected at once. Default: 50.
.PARAMETER WatchSec
    Loop rounds for this many seconds instead of one round. Default: 0 (one round).
.PARAMETER IntervalSec
    Seconds between rounds with -WatchSec. Default: 10.
.PARAMETER LeaseTtlSec
    How long a pool's lease outlives a silent machine. Default: 3 x -IntervalSec, at least 15.
.PARAMETER JournalPath
    The JSON-lines journal. Default: lbtools-shared.jsonl under the local application data folder.
.EXAMPLE
    ./Invoke-SharedSelfHealing.ps1 -Provider NginxPlus -Endpoint https://lb1:8443/api -Pool 'web*' -StateStore rediss://redis.internal:6380/0 -SecretName lb1-api -RedisSecretName lbtools-redis -Vault Ops

    One round over every pool whose name starts with web; scheduled every minute on two machines.
.EXAMPLE
    ./Invoke-SharedSelfHealing.ps1 -Provider HAProxy -Endpoint tcp://127.0.0.1:9999 -Pool web -StateStore redis://127.0.0.1:6379/0 -WatchSec 55 -IntervalSec 5 -Verbose

    Rounds every five seconds for 55 seconds; -Verbose shows which pools another machine holds.
.OUTPUTS
    LoadBalancerTools.Model.LbRemediationEvent, one per decision.
#>
[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
param(
    [Parameter(Mandatory = $true)] [string] $Provider,
    [Parameter(Mandatory = $true)] [string] $Endpoint,
    [Parameter(Mandatory = $true)] [string[]] $Pool,
    [Parameter(Mandatory = $true)] [ValidatePattern('^rediss?://')] [string] $StateStore,
    [string] $RedisSecretName,
    [string] $SecretName,
    [string] $Vault,
    [string] $HealthPath = '/',
    [ValidateRange(1, 1000)] [int] $FailureThreshold = 3,
    [ValidateRange(1, 1000)] [int] $RecoveryThreshold = 2,
    [ValidateSet('Disable', 'Drain', 'Remove')] [string] $Action = 'Disable',
    [ValidateRange(0, 100)] [int] $MaxEjectPercent = 50,
    [ValidateRange(0, 86400)] [int] $WatchSec = 0,
    [ValidateRange(1, 3600)] [int] $IntervalSec = 10,
    [ValidateRange(1, 86400)] [int] $LeaseTtlSec = 0,
    [string] $JournalPath
)

$ErrorActionPreference = 'Stop'
# A scheduler passes -Pool through 'pwsh -File' as one string: 'web*,api' means two names.
$Pool = @($Pool | ForEach-Object { $_ -split ',' } | ForEach-Object { $_.Trim() } | Where-Object { $_ })
# The module next to this script's repository when run from a clone, else the installed one.
$built = Join-Path -Path $PSScriptRoot -ChildPath '..\out\LoadBalancerTools\LoadBalancerTools.psd1'
if (Test-Path -LiteralPath $built) { Import-Module -Name $built } else { Import-Module -Name LoadBalancerTools }

if (-not $JournalPath) {
    $JournalPath = Join-Path -Path ([Environment]::GetFolderPath('LocalApplicationData')) -ChildPath 'LoadBalancerTools\lbtools-shared.jsonl'
}

$connect = @{ Provider = $Provider; Endpoint = $Endpoint }
if ($SecretName) {
    $connect.SecretName = $SecretName
    if ($Vault) { $connect.Vault = $Vault }
}

$heal = @{
    Pool              = $Pool
    Path              = $HealthPath
    FailureThreshold  = $FailureThreshold
    RecoveryThreshold = $RecoveryThreshold
    Action            = $Action
    MaxEjectPercent   = $MaxEjectPercent
    StateStore        = $StateStore
    JournalPath       = $JournalPath
    IntervalSec       = $IntervalSec
}
if ($LeaseTtlSec -gt 0) { $heal.LeaseTtlSec = $LeaseTtlSec }
if ($WatchSec -gt 0) {
    $heal.Watch = $true
    $heal.DurationSec = $WatchSec
}
if ($RedisSecretName) {
    $heal.StateSecretName = $RedisSecretName
    if ($Vault) { $heal.StateVault = $Vault }
}
elseif ($env:LBTOOLS_REDIS_PASSWORD) {
    # 'default' is Redis's user for a server with a password alone (requirepass).
    $password = ConvertTo-SecureString -String $env:LBTOOLS_REDIS_PASSWORD -AsPlainText -Force
    $heal.StateCredential = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList 'default', $password
}
if ($WhatIfPreference) { $heal.WhatIf = $true }

$failed = $false
try {
    $connection = Connect-LbController @connect
    Invoke-LbHealthRemediation @heal -Connection $connection -ErrorAction Continue -ErrorVariable changeErrors |
        ForEach-Object {
            if ($_.Type -eq 'ApiFailure' -or -not $_.Success) { $failed = $true }
            $_
        }
    if ($changeErrors) { $failed = $true }
}
catch {
    # The message names what failed (LbStateStoreUnavailable, LbNoConnection...), never a password.
    Write-Error -ErrorRecord $_ -ErrorAction Continue
    $failed = $true
}

if ($failed) { exit 1 }
exit 0
