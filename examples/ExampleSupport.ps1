<#
.SYNOPSIS
    Helpers the runbooks in this folder share; each runbook dot-sources this file.
.DESCRIPTION
    Runs on Windows PowerShell 5.1 and PowerShell 7.
#>

# The module: already loaded, else the repository's build next to the runbooks, else the installed one.
function Import-LbToolsModule {
    if (Get-Module LoadBalancerTools) { return }
    $built = Join-Path $PSScriptRoot '../out/LoadBalancerTools/LoadBalancerTools.psd1'
    if (Test-Path -Path $built) { Import-Module $built -Global -ErrorAction Stop -Verbose:$false }
    else { Import-Module LoadBalancerTools -Global -ErrorAction Stop -Verbose:$false }
}

# The exit code, without losing output: pwsh -File drops table output still being formatted when a
# script calls exit, so when the runbook is what the process was started to run, the host is told the
# code and the runbook ends normally; called from other code, it exits as usual ($LASTEXITCODE).
function Exit-Runbook([int] $Code, [string] $Runbook) {
    $started = @([Environment]::GetCommandLineArgs() | ForEach-Object { try { [IO.Path]::GetFullPath($_) } catch { } }) -contains $Runbook
    if ($started) { $Host.SetShouldExit($Code) } else { exit $Code }
}

# The members of a CSV file (Address, Port, and optionally Weight, Name, State; IPAddress or Host for
# Address), as objects whose Weight, Name and State are there only when the file gives them, so an empty
# Weight leaves the load balancer's default instead of binding 0. Blank lines and lines starting with #
# are skipped. A row without an Address or a numeric Port, or with a Weight that is not a whole number,
# is a CsvRowInvalid error naming the file and the row.
function Read-MemberCsv {
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Path, [char] $Delimiter = ',')

    $file = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($Path)
    if (-not (Test-Path -Path $file -PathType Leaf)) {
        $PSCmdlet.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new(
                [System.IO.FileNotFoundException]::new("The CSV file '$file' does not exist."), 'CsvNotFound', 'ObjectNotFound', $file))
    }
    $rows = @(Get-Content -Path $file | Where-Object { $_.Trim() -and -not $_.TrimStart().StartsWith('#') } | ConvertFrom-Csv -Delimiter $Delimiter)
    $row = 0
    foreach ($line in $rows) {
        $row++
        $address = foreach ($column in 'Address', 'IPAddress', 'Host') { if ($line.$column) { "$($line.$column)".Trim(); break } }
        $port = 0
        $weight = 0
        $where = "${file}: row $row"
        if (-not $address -or -not [int]::TryParse("$($line.Port)".Trim(), [ref] $port)) {
            Write-Error -Message "${where}: a row needs an Address and a numeric Port; skipped." -ErrorId CsvRowInvalid -Category InvalidData -TargetObject $line
            continue
        }
        $member = [ordered]@{ Address = $address; Port = $port }
        if ("$($line.Weight)".Trim()) {
            if (-not [int]::TryParse("$($line.Weight)".Trim(), [ref] $weight)) {
                Write-Error -Message "${where}: Weight '$($line.Weight)' is not a whole number; skipped." -ErrorId CsvRowInvalid -Category InvalidData -TargetObject $line
                continue
            }
            $member.Weight = $weight
        }
        if ("$($line.Name)".Trim()) { $member.Name = "$($line.Name)".Trim() }
        if ("$($line.State)".Trim()) { $member.State = "$($line.State)".Trim() }
        [pscustomobject] $member
    }
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
