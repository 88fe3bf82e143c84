<#
.SYNOPSIS
    Scales a pool out: adds the members listed in a CSV file, safely and repeatably.
.DESCRIPTION
    Reads a CSV file with one member per row and adds each one to -Pool with Add-LbPoolMember.
    Members that are already in the pool are left as they are, so the script can run again after a
    partial failure, or on a schedule against a file that other tooling keeps up to date.

    The CSV format (the first line is the header; column names are not case-sensitive, their order
    does not matter, and other columns are ignored):

        Address,Port,Weight,Name,State
        10.0.0.31,8080,5,web31,Enabled
        10.0.0.32,8080,,,
        "web33.example.internal",8080,1,,Disabled

      Address  Required. IPv4, IPv6 (with or without brackets) or a host name. IPAddress or Host
               are accepted as the column name too.
      Port     Required. 1 to 65535.
      Weight   Optional. Left to the load balancer's default when empty.
      Name     Optional. The member's name, where the provider names members (HAProxy).
      State    Optional. Enabled (default) or Disabled: Disabled adds the member out of rotation.

    Blank lines and lines that start with # are skipped; fields follow the CSV rules of Import-Csv
    (double quotes around a field that holds the delimiter, "" for a quote inside one). A row that
    cannot be read is reported as an error naming its row number, and the other rows are still added.

    Runs on Windows PowerShell 5.1 and PowerShell 7.

    The connection: give -Provider and -Endpoint (with -SecretName and -Vault, or credentials from
    LBTOOLS_* environment variables) and the script connects and disconnects by itself; or pass
    -Connection; or run Connect-LbController first and give neither.

    Use -WhatIf first: it prints one "What if" line per member that would be added and changes
    nothing. The script ends with exit code 1 when a row could not be read or a member could not be
    added, and 0 otherwise.
.PARAMETER Path
    The CSV file to read.
.PARAMETER Pool
    The pool to add the members to.
.PARAMETER Delimiter
    The field separator. Default: a comma.
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
    With -Provider: a SecretManagement secret that holds the credential.
.PARAMETER Vault
    The vault of -SecretName.
.PARAMETER ConnectOption
    With -Provider: more Connect-LbController parameters, such as @{ Partition = 'Web'; TimeoutSec = 30 }.
.EXAMPLE
    ./Add-MembersFromCsv.ps1 -Path ./new-web-servers.csv -Pool web -WhatIf

    Shows which members would be added to the pool web, using the session's default connection.
.EXAMPLE
    ./Add-MembersFromCsv.ps1 -Path ./new-web-servers.csv -Pool web -Provider NginxPlus -Endpoint https://lb1:8443/api -SecretName lb1-api -Vault Ops -Confirm:$false

    Connects with the credential from the vault Ops, adds the members without asking, writes the
    members as they are afterwards, and disconnects.
.EXAMPLE
    pwsh -NoProfile -File ./Add-MembersFromCsv.ps1 -Path new.csv -Pool web -Provider HAProxy -Endpoint tcp://127.0.0.1:9999

    From a scheduler or a shell: exit code 1 when a row could not be read or added.
.OUTPUTS
    LoadBalancerTools.Model.LbPoolMember: each member of the file as it is in the pool afterwards
    (nothing under -WhatIf).
#>
[CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'Session')]
param(
    [Parameter(Mandatory)] [string] $Path,
    [Parameter(Mandatory)] [string] $Pool,
    [char] $Delimiter = ',',
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

$readErrors = $null
$rows = @(Read-MemberCsv -Path $Path -Delimiter $Delimiter -ErrorVariable readErrors)
$failed = @($readErrors).Count
Write-Verbose "$($rows.Count) member(s) read from $Path."

$target = @{}
$own = $null
try {
    if ($PSCmdlet.ParameterSetName -eq 'Connect') {
        $own = Open-RunbookConnection -Provider $Provider -Endpoint $Endpoint -SecretName $SecretName -Vault $Vault -ConnectOption $ConnectOption
        $target.Connection = $own
    }
    elseif ($Connection) { $target.Connection = $Connection }

    if ($rows.Count -gt 0) {
        $addErrors = $null
        $rows | Add-LbPoolMember -Pool $Pool @target -PassThru -WhatIf:$WhatIfPreference -ErrorVariable addErrors
        if ($addErrors) { $failed += @($addErrors).Count }
    }
}
finally {
    if ($own) { Disconnect-LbController -Connection $own }
}

if ($failed -gt 0) {
    Write-Verbose "$failed row(s) could not be read or added."
    Exit-Runbook 1 $PSCommandPath
}
