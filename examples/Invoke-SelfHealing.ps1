<#
.SYNOPSIS
    Self-healing for one pool, one round per run: schedule it every minute.
.DESCRIPTION
    Each run connects to the load balancer, runs one round of Invoke-LbHealthRemediation (probe every
    member, eject what failed -FailureThreshold runs in a row, restore what passed -RecoveryThreshold
    runs in a row, within the -MaxEjectPercent and -MinHealthyMembers limits), alerts, and exits. The
    counts live in a state file between runs and every decision is appended to a JSON-lines journal,
    so the schedule decides the round interval: every minute with -FailureThreshold 3 ejects a dead
    member within about three minutes. The safety rules are in Get-Help about_LoadBalancerTools.

    Files (one pair per pool and endpoint), under -StateDirectory:
      <pool>.<endpoint>.state.json   failure and recovery counts, and what this task ejected
      <pool>.<endpoint>.journal.jsonl  one JSON object per decision, appended
    -StateDirectory defaults to $env:STATE_DIRECTORY (set by systemd's StateDirectory=), else
    $env:LBTOOLS_STATE_DIR, else the LoadBalancerTools folder of the user's local application data
    (~/.local/share/LoadBalancerTools, %LOCALAPPDATA%\LoadBalancerTools). Runs of the same pool never
    overlap: a run that finds the previous one still going writes a warning and exits with 0.

    Credentials for the load balancer, first match wins: -SecretName (and -Vault, -UserName) read with
    SecretManagement (the vault must open without a prompt, for example a SecretStore configured with
    -Authentication None for the task's account); else the environment: LBTOOLS_<PROVIDER>_USERNAME
    and LBTOOLS_<PROVIDER>_PASSWORD, or LBTOOLS_USERNAME and LBTOOLS_PASSWORD, or a .env file named by
    LBTOOLS_ENV_FILE.

    Alert channels, each optional: -AlertChannel (objects from New-LbAlertChannel); -SlackSecretName,
    -TeamsSecretName, -PagerDutySecretName and -WebhookSecretName (from -AlertVault); else the
    environment variables LBTOOLS_ALERT_SLACK_URI, LBTOOLS_ALERT_TEAMS_URI,
    LBTOOLS_ALERT_PAGERDUTY_KEY and LBTOOLS_ALERT_WEBHOOK_URI. Without any channel, alerts are written
    as warnings (which land in the task's log).

    Exit codes: 0 when the round ran and everything it tried worked; 1 when the load balancer could
    not be reached or read, a change or an alert failed, or a parameter is wrong. The events of the
    round are written to the output (the task's log) either way.

    -WhatIf shows what this run would do, starting from the real counts; Invoke-LbHealthRemediation
    writes neither state nor journal under -WhatIf, so a trial never counts toward the thresholds.

    Runs on Windows PowerShell 5.1 and PowerShell 7.

    SCHEDULING

    cron (Linux), every minute, as a dedicated user, with credentials in a root-readable env file:
        # /etc/cron.d/lbtools-web
        * * * * *  lbtools  . /etc/lbtools/web.env; pwsh -NoProfile -NonInteractive -File /opt/lbtools/Invoke-SelfHealing.ps1 -Provider HAProxy -Endpoint tcp://127.0.0.1:9999 -Pool web -HealthPath /healthz >>/var/log/lbtools/web.log 2>&1
    where /etc/lbtools/web.env holds lines such as: export LBTOOLS_ALERT_SLACK_URI='https://hooks.slack.com/services/...'

    systemd timer (Linux): a oneshot service and a timer that starts it every minute. Runs never
    overlap, the output goes to the journal (journalctl -u lbtools-web), and StateDirectory= makes
    /var/lib/lbtools, passed to the script as $STATE_DIRECTORY.
        # /etc/systemd/system/lbtools-web.service
        [Unit]
        Description=LoadBalancerTools self-healing for pool web
        [Service]
        Type=oneshot
        User=lbtools
        StateDirectory=lbtools
        EnvironmentFile=/etc/lbtools/web.env
        ExecStart=/usr/bin/pwsh -NoProfile -NonInteractive -File /opt/lbtools/Invoke-SelfHealing.ps1 -Provider HAProxy -Endpoint tcp://127.0.0.1:9999 -Pool web -HealthPath /healthz
        TimeoutStartSec=300

        # /etc/systemd/system/lbtools-web.timer
        [Unit]
        Description=Run lbtools-web every minute
        [Timer]
        OnBootSec=1min
        OnUnitActiveSec=1min
        AccuracySec=1s
        [Install]
        WantedBy=timers.target

        systemctl daemon-reload; systemctl enable --now lbtools-web.timer
    (EnvironmentFile= lines have no "export": LBTOOLS_HAPROXY_USERNAME=..., LBTOOLS_ALERT_SLACK_URI=...)

    Windows Task Scheduler, every minute, as a service account, never two at once:
        $action = New-ScheduledTaskAction -Execute 'pwsh.exe' -Argument '-NoProfile -NonInteractive -File C:\lbtools\Invoke-SelfHealing.ps1 -Provider F5 -Endpoint https://bigip1 -Pool web -HealthPath /healthz -SecretName bigip-heal -SlackSecretName ops-slack'
        $trigger = New-ScheduledTaskTrigger -Once -At (Get-Date) -RepetitionInterval (New-TimeSpan -Minutes 1)
        $settings = New-ScheduledTaskSettingsSet -MultipleInstances IgnoreNew -ExecutionTimeLimit (New-TimeSpan -Minutes 5)
        Register-ScheduledTask -TaskName 'LoadBalancerTools web self-healing' -Action $action -Trigger $trigger -Settings $settings -User 'CONTOSO\svc-lbtools' -Password '...'
    The service account needs its own SecretManagement vault that opens without a prompt (register it
    while logged on as that account). In Windows PowerShell 5.1 use powershell.exe instead of pwsh.exe.
.PARAMETER Provider
    The load balancer's provider: NginxPlus, HAProxy, Caddy, F5, NetScaler or AwsElbV2.
.PARAMETER Endpoint
    The load balancer's management endpoint. AwsElbV2 can do without it when -ConnectOption gives
    the region: -ConnectOption @{ Region = 'eu-west-1' }.
.PARAMETER Pool
    The pool to heal.
.PARAMETER SecretName
    A SecretManagement secret with the load balancer credential. Default: the environment.
.PARAMETER Vault
    The vault of -SecretName.
.PARAMETER UserName
    The user name, when -SecretName holds only a password.
.PARAMETER ConnectOption
    More Connect-LbController parameters, such as @{ Partition = 'Web'; TimeoutSec = 30; MaxRetries = 3 }.
.PARAMETER HealthPath
    The path probed on each member. Default: /.
.PARAMETER Protocol
    Http, Https or Tcp. Default: Http.
.PARAMETER ProbePort
    Probes this port instead of each member's own.
.PARAMETER ExpectedStatus
    Status codes that count as healthy. Default: 200 to 399.
.PARAMETER BodyMatch
    A regular expression the health response must match.
.PARAMETER ProbeTimeoutSec
    How long one probe may take. Default: 5.
.PARAMETER FailureThreshold
    Failed runs in a row before a member is ejected. Default: 3.
.PARAMETER RecoveryThreshold
    Good runs in a row before an ejected member is restored. Default: 2.
.PARAMETER Action
    How members are ejected: Disable, Drain or Remove (Caddy and AwsElbV2 need Remove). Default: Disable.
.PARAMETER MaxEjectPercent
    The largest share of the pool ever ejected at once. Default: 50.
.PARAMETER MinHealthyMembers
    The fewest members ever left in rotation. Default: 1.
.PARAMETER StateDirectory
    Where the state file and the journal go (see the description for the default).
.PARAMETER StatePath
    The state file, instead of the one under -StateDirectory.
.PARAMETER JournalPath
    The journal, instead of the one under -StateDirectory.
.PARAMETER AlertChannel
    Alert channels from New-LbAlertChannel, for callers that already have them.
.PARAMETER SlackSecretName
    A secret with a Slack incoming-webhook URL.
.PARAMETER TeamsSecretName
    A secret with a Microsoft Teams incoming-webhook URL.
.PARAMETER PagerDutySecretName
    A secret with a PagerDuty Events API v2 routing key.
.PARAMETER WebhookSecretName
    A secret with the URL of a generic JSON webhook.
.PARAMETER AlertVault
    The vault of the alert secrets. Default: the default vault.
.EXAMPLE
    ./Invoke-SelfHealing.ps1 -Provider NginxPlus -Endpoint https://lb1:8443/api -Pool web -HealthPath /healthz -SecretName lb1-api -Vault Ops -SlackSecretName ops-slack -AlertVault Ops

    One round against NGINX Plus, with the API credential and the Slack webhook from the vault Ops.
.EXAMPLE
    ./Invoke-SelfHealing.ps1 -Provider HAProxy -Endpoint tcp://127.0.0.1:9999 -Pool web -HealthPath /healthz -WhatIf

    Shows what the next scheduled run would decide, from the current counts, and changes nothing.
.EXAMPLE
    ./Invoke-SelfHealing.ps1 -Provider Caddy -Endpoint http://localhost:2019 -Pool app -Action Remove -MaxEjectPercent 34 -StateDirectory /var/lib/lbtools

    Caddy cannot disable an upstream, so failing upstreams are removed and added back on recovery.
.OUTPUTS
    LoadBalancerTools.Model.LbRemediationEvent, one per decision of the round.
#>
[CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
param(
    [Parameter(Mandatory)] [string] $Provider,
    [string] $Endpoint,
    [Parameter(Mandatory)] [string] $Pool,
    [string] $SecretName,
    [string] $Vault,
    [string] $UserName,
    [hashtable] $ConnectOption = @{},
    [string] $HealthPath = '/',
    [ValidateSet('Http', 'Https', 'Tcp')] [string] $Protocol = 'Http',
    [ValidateRange(1, 65535)] [int] $ProbePort,
    [int[]] $ExpectedStatus,
    [string] $BodyMatch,
    [ValidateRange(1, 300)] [int] $ProbeTimeoutSec = 5,
    [ValidateRange(1, 1000)] [int] $FailureThreshold = 3,
    [ValidateRange(1, 1000)] [int] $RecoveryThreshold = 2,
    [ValidateSet('Disable', 'Drain', 'Remove')] [string] $Action = 'Disable',
    [ValidateRange(0, 100)] [int] $MaxEjectPercent = 50,
    [ValidateRange(0, 100000)] [int] $MinHealthyMembers = 1,
    [string] $StateDirectory,
    [string] $StatePath,
    [string] $JournalPath,
    [object[]] $AlertChannel = @(),
    [string] $SlackSecretName,
    [string] $TeamsSecretName,
    [string] $PagerDutySecretName,
    [string] $WebhookSecretName,
    [string] $AlertVault
)

# Shared helpers (Import-LbToolsModule, Exit-Runbook, Read-MemberCsv, Open-RunbookConnection).
. (Join-Path $PSScriptRoot 'ExampleSupport.ps1')
Import-LbToolsModule


# --- where the state and journal live ---
if (-not $StateDirectory) {
    $StateDirectory = if ($env:STATE_DIRECTORY) { $env:STATE_DIRECTORY.Split(':')[0] }
    elseif ($env:LBTOOLS_STATE_DIR) { $env:LBTOOLS_STATE_DIR }
    else { Join-Path ([Environment]::GetFolderPath('LocalApplicationData')) 'LoadBalancerTools' }
}
$StateDirectory = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($StateDirectory)
# One pair of files per pool and endpoint, named so that a person can tell them apart.
$where = if ($Endpoint) { $Endpoint } elseif ($ConnectOption.Region) { "$Provider-$($ConnectOption.Region)" } else { $Provider }
$label = '{0}.{1}' -f ($Pool -replace '[^A-Za-z0-9._-]+', '_'), ($where -replace '^[a-z]+://', '' -replace '[^A-Za-z0-9.-]+', '_').Trim('_')
$StatePath = if ($StatePath) { $PSCmdlet.GetUnresolvedProviderPathFromPSPath($StatePath) } else { Join-Path $StateDirectory "$label.state.json" }
$JournalPath = if ($JournalPath) { $PSCmdlet.GetUnresolvedProviderPathFromPSPath($JournalPath) } else { Join-Path $StateDirectory "$label.journal.jsonl" }
$stateFolder = Split-Path -Path $StatePath -Parent
if (-not (Test-Path -Path $stateFolder)) { $null = New-Item -ItemType Directory -Path $stateFolder }

# --- one run at a time: cron starts the next run even when this one is slow. Invoke-LbHealthRemediation
# locks the state file itself (and stops with LbStateLocked after -LockTimeoutSec); this runbook-level lock
# lets an overlapping scheduled run skip at once instead. ---
$lockPath = "$StatePath.run.lock"
try {
    $lock = [IO.File]::Open($lockPath, [IO.FileMode]::OpenOrCreate, [IO.FileAccess]::ReadWrite, [IO.FileShare]::None)
}
catch [System.IO.IOException] {
    $PSCmdlet.WriteWarning("Another run for pool '$Pool' holds $lockPath; this run is skipped.")
    exit 0
}

$connection = $null
$failed = $false
try {
    # --- alert channels ---
    $channels = [System.Collections.Generic.List[object]]::new()
    foreach ($c in $AlertChannel) { $channels.Add($c) }
    $fromVault = @{}
    if ($AlertVault) { $fromVault.Vault = $AlertVault }
    $sources = @(
        @{ Type = 'Slack'; Secret = $SlackSecretName; Env = 'LBTOOLS_ALERT_SLACK_URI' }
        @{ Type = 'Teams'; Secret = $TeamsSecretName; Env = 'LBTOOLS_ALERT_TEAMS_URI' }
        @{ Type = 'PagerDuty'; Secret = $PagerDutySecretName; Env = 'LBTOOLS_ALERT_PAGERDUTY_KEY' }
        @{ Type = 'Webhook'; Secret = $WebhookSecretName; Env = 'LBTOOLS_ALERT_WEBHOOK_URI' }
    )
    foreach ($s in $sources) {
        $fromEnv = [Environment]::GetEnvironmentVariable($s.Env)
        if ($s.Secret) { $channels.Add((New-LbAlertChannel -Type $s.Type -SecretName $s.Secret @fromVault -ErrorAction Stop)) }
        elseif ($fromEnv -and $s.Type -eq 'PagerDuty') { $channels.Add((New-LbAlertChannel -Type PagerDuty -RoutingKey $fromEnv -ErrorAction Stop)) }
        elseif ($fromEnv) { $channels.Add((New-LbAlertChannel -Type $s.Type -Uri $fromEnv -ErrorAction Stop)) }
    }

    # --- the connection ---
    $connection = Open-RunbookConnection -Provider $Provider -Endpoint $Endpoint -SecretName $SecretName -Vault $Vault -UserName $UserName -ConnectOption $ConnectOption

    # --- one round ---
    $heal = @{
        Pool              = $Pool
        Connection        = $connection
        Path              = $HealthPath
        Protocol          = $Protocol
        ProbeTimeoutSec   = $ProbeTimeoutSec
        FailureThreshold  = $FailureThreshold
        RecoveryThreshold = $RecoveryThreshold
        Action            = $Action
        MaxEjectPercent   = $MaxEjectPercent
        MinHealthyMembers = $MinHealthyMembers
        StatePath         = $StatePath
        JournalPath       = $JournalPath
    }
    if ($ProbePort) { $heal.ProbePort = $ProbePort }
    if ($ExpectedStatus) { $heal.ExpectedStatus = $ExpectedStatus }
    if ($BodyMatch) { $heal.BodyMatch = $BodyMatch }
    if ($channels.Count -gt 0) { $heal.AlertChannel = $channels.ToArray() }

    $events = @(Invoke-LbHealthRemediation @heal -WhatIf:$WhatIfPreference -ErrorAction Continue)
    $events
    $problems = @($events | Where-Object { -not $_.Success })
    foreach ($p in $problems) { Write-Verbose "Not successful: $($p.Type) $($p.Member) $($p.Error)" }
    $failed = $problems.Count -gt 0
    Write-Verbose "Pool '$Pool': $($events.Count) event(s); state in $StatePath, journal in $JournalPath."
}
finally {
    if ($connection) { Disconnect-LbController -Connection $connection }
    $lock.Dispose()
}

if ($failed) { Exit-Runbook 1 $PSCommandPath }
