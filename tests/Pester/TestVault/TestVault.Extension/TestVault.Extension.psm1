<#
    The five functions SecretManagement calls on a vault extension, over one JSON file per vault
    (VaultParameters.Path), so that child pwsh processes (examples run with pwsh -File) see the same secrets.
    It hands back the types SecretStore does: a String, a SecureString, a PSCredential, or a Hashtable
    whose values are strings, SecureStrings or PSCredentials; SecretManagement's Get-Secret then returns
    strings (also inside a hashtable) as SecureStrings unless -AsPlainText is given. Plain text on disk is
    fine for a test vault and nothing else.
#>

function Read-Store([hashtable] $AdditionalParameters) {
    $path = $AdditionalParameters.Path
    if (-not (Test-Path $path)) { return @{} }
    $store = @{}
    (Get-Content -Raw $path | ConvertFrom-Json).PSObject.Properties | ForEach-Object { $store[$_.Name] = $_.Value }
    $store
}

function Write-Store([hashtable] $AdditionalParameters, [hashtable] $Store) {
    $Store | ConvertTo-Json -Depth 5 | Set-Content -Path $AdditionalParameters.Path -Encoding utf8
}

function ConvertTo-Stored([object] $Value) {
    switch ($Value) {
        { $_ -is [string] } { return @{ Type = 'String'; Value = $_ } }
        { $_ -is [securestring] } { return @{ Type = 'SecureString'; Value = [Net.NetworkCredential]::new('', $_).Password } }
        { $_ -is [pscredential] } { return @{ Type = 'PSCredential'; User = $_.UserName; Value = $_.GetNetworkCredential().Password } }
        { $_ -is [hashtable] } {
            $entries = @{}
            foreach ($key in $_.Keys) { $entries[$key] = ConvertTo-Stored $_[$key] }
            return @{ Type = 'Hashtable'; Value = $entries }
        }
        default { throw "The test vault does not store a $($Value.GetType().FullName)." }
    }
}

function ConvertFrom-Stored([object] $Stored) {
    switch ($Stored.Type) {
        'String' { $Stored.Value }
        'SecureString' { ConvertTo-SecureString -String $Stored.Value -AsPlainText -Force }
        'PSCredential' { [pscredential]::new($Stored.User, (ConvertTo-SecureString -String $Stored.Value -AsPlainText -Force)) }
        'Hashtable' {
            $table = @{}
            foreach ($p in $Stored.Value.PSObject.Properties) { $table[$p.Name] = ConvertFrom-Stored $p.Value }
            $table
        }
    }
}

function Get-Secret {
    [CmdletBinding()]
    param([string] $Name, [string] $VaultName, [hashtable] $AdditionalParameters)
    $store = Read-Store $AdditionalParameters
    if ($store.ContainsKey($Name)) { ConvertFrom-Stored $store[$Name] }
}

function Get-SecretInfo {
    [CmdletBinding()]
    param([string] $Filter, [string] $VaultName, [hashtable] $AdditionalParameters)
    $pattern = [WildcardPattern]::new($(if ($Filter) { $Filter } else { '*' }))
    $store = Read-Store $AdditionalParameters
    foreach ($name in $store.Keys | Where-Object { $pattern.IsMatch($_) }) {
        [Microsoft.PowerShell.SecretManagement.SecretInformation]::new($name, [Microsoft.PowerShell.SecretManagement.SecretType] $store[$name].Type, $VaultName)
    }
}

function Set-Secret {
    [CmdletBinding()]
    param([string] $Name, [object] $Secret, [string] $VaultName, [hashtable] $AdditionalParameters)
    $store = Read-Store $AdditionalParameters
    $store[$Name] = ConvertTo-Stored $Secret
    Write-Store $AdditionalParameters $store
}

function Remove-Secret {
    [CmdletBinding()]
    param([string] $Name, [string] $VaultName, [hashtable] $AdditionalParameters)
    $store = Read-Store $AdditionalParameters
    $store.Remove($Name)
    Write-Store $AdditionalParameters $store
}

function Test-SecretVault {
    [CmdletBinding()]
    param([string] $VaultName, [hashtable] $AdditionalParameters)
    $null -ne $AdditionalParameters.Path
}
