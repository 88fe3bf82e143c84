<#
.SYNOPSIS
    Helpers the runbooks in this folder share; each runbook dot-sources this file.
.DESCRIPTION
    Written for both pwsh and the core-cmdlets-only engine of tools/LbHost, so it uses .NET rather than
    Import-Csv, Join-Path or Test-Path.
#>

# The module: already loaded, else the repository's build next to the runbooks, else the installed one.
function Import-LbToolsModule {
    if (Get-Module LoadBalancerTools) { return }
    $built = [IO.Path]::Combine($PSScriptRoot, '..', 'out', 'LoadBalancerTools', 'LoadBalancerTools.psd1')
    if ([IO.File]::Exists($built)) { Import-Module $built -Global -ErrorAction Stop -Verbose:$false }
    else { Import-Module LoadBalancerTools -Global -ErrorAction Stop -Verbose:$false }
}

# The exit code, without losing output: pwsh -File drops table output still being formatted when a
# script calls exit, so when the runbook is what the process was started to run, the host is told the
# code and the runbook ends normally; called from other code, it exits as usual ($LASTEXITCODE).
function Exit-Runbook([int] $Code, [string] $Runbook) {
    $started = @([Environment]::GetCommandLineArgs() | ForEach-Object { try { [IO.Path]::GetFullPath($_) } catch { } }) -contains $Runbook
    if ($started) { $Host.SetShouldExit($Code) } else { exit $Code }
}

# One CSV line into fields: quotes, doubled quotes inside quotes, and the separator.
function Split-CsvLine([string] $Line, [char] $Separator) {
    $fields = [System.Collections.Generic.List[string]]::new()
    $field = [System.Text.StringBuilder]::new()
    $quoted = $false
    for ($i = 0; $i -lt $Line.Length; $i++) {
        $c = $Line[$i]
        if ($quoted) {
            if ($c -ne '"') { [void] $field.Append($c) }
            elseif ($i + 1 -lt $Line.Length -and $Line[$i + 1] -eq '"') { [void] $field.Append('"'); $i++ }
            else { $quoted = $false }
        }
        elseif ($c -eq '"') { $quoted = $true }
        elseif ($c -eq $Separator) { $fields.Add($field.ToString()); [void] $field.Clear() }
        else { [void] $field.Append($c) }
    }
    $fields.Add($field.ToString())
    , $fields.ToArray()
}

# A connection of the runbook's own when -Provider was given (the caller disconnects it), else $null.
function Open-RunbookConnection([string] $Provider, [string] $Endpoint, [string] $SecretName, [string] $Vault, [string] $UserName, [hashtable] $ConnectOption) {
    if (-not $Provider) { return $null }
    $connect = @{ Provider = $Provider }
    if ($Endpoint) { $connect.Endpoint = $Endpoint }
    if ($SecretName) {
        $connect.SecretName = $SecretName
        if ($Vault) { $connect.Vault = $Vault }
        if ($UserName) { $connect.UserName = $UserName }
    }
    if ($ConnectOption) { foreach ($key in $ConnectOption.Keys) { $connect[$key] = $ConnectOption[$key] } }
    Connect-LbController @connect -ErrorAction Stop
}
