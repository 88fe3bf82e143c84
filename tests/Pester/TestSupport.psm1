<#
    What every Pester file shares: the repository's paths, the BUILT module, the stage (tools/Stage) and
    the real SecretManagement module from ../shared/modules (or one already on PSModulePath).
#>

$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
Import-Module (Join-Path $script:RepoRoot 'tools/Stage/Stage.psm1') -Global

function Get-RepoPath([string] $Relative) { Join-Path $script:RepoRoot $Relative }

# The module as users import it: the build's output, never the sources.
function Get-BuiltModulePath {
    $manifest = Get-RepoPath 'out/LoadBalancerTools/LoadBalancerTools.psd1'
    if (-not (Test-Path $manifest)) { throw "The module is not built: $manifest is missing. Run 'dotnet build LbTools.sln -c Release' first." }
    $manifest
}

# The shared third-party modules (shared/modules, see its README): LBTOOLS_SHARED_MODULES when set, else the
# first shared/modules beside the repository or any folder above it, else beside the repository this one was
# cloned from (a CI clone in a temporary folder still finds the workspace's copy through its origin).
function Find-SharedModules {
    if ($env:LBTOOLS_SHARED_MODULES) { return $env:LBTOOLS_SHARED_MODULES }
    $roots = @($script:RepoRoot)
    $origin = git -C $script:RepoRoot remote get-url origin 2>$null
    if ($origin -and (Test-Path -LiteralPath $origin)) { $roots += (Resolve-Path -LiteralPath $origin).Path }
    foreach ($root in $roots) {
        $dir = Split-Path $root -Parent
        while ($dir) {
            $candidate = Join-Path $dir 'shared/modules'
            if (Test-Path $candidate) { return $candidate }
            $parent = Split-Path $dir -Parent
            if ($parent -eq $dir) { break }
            $dir = $parent
        }
    }
}

# SecretManagement 1.1.2: ../shared/modules beside the repository goes first on PSModulePath, so the real
# module is found (and child pwsh processes inherit the path). SecretManagement keeps its vault registry
# under $HOME/.secretmanagement: HOME points at a folder in Pester's TestDrive, so the registry of the user
# who runs the tests is never read or changed, and goes with the TestDrive. Start the stage first: its
# real-server harness keeps its files under the real HOME.
function Initialize-SecretManagement {
    $env:HOME = Join-Path (Get-PSDrive TestDrive).Root 'home'
    $null = New-Item -ItemType Directory -Path $env:HOME -Force
    $shared = Find-SharedModules
    if ($shared) {
        $env:PSModulePath = $shared + [IO.Path]::PathSeparator + $env:PSModulePath
    }
    $module = Get-Module -ListAvailable Microsoft.PowerShell.SecretManagement | Where-Object Version -eq '1.1.2' | Select-Object -First 1
    if (-not $module) {
        throw ("Microsoft.PowerShell.SecretManagement 1.1.2 was not found: no shared/modules folder beside $script:RepoRoot, any folder above it or the repository it was cloned from, " +
            "and none on PSModulePath. Set LBTOOLS_SHARED_MODULES to the folder that holds Microsoft.PowerShell.SecretManagement/1.1.2/, or install it on PSModulePath.")
    }
    Import-Module $module.Path -Global
}

# A SecretStore-like vault of the tests' own (TestVault/TestVault.Extension) in the run's HOME; its secrets
# are in a file there, so child pwsh processes read the same ones.
function Register-TestVault([string] $Name) {
    $path = Join-Path $env:HOME "$Name.vault.json"
    Register-SecretVault -Name $Name -ModuleName (Join-Path $PSScriptRoot 'TestVault') -VaultParameters @{ Path = $path } -AllowClobber
}

# The module as users import it, with SecretManagement and a test vault named Ops, for credentials.
function Initialize-VaultSession {
    Initialize-SecretManagement
    Import-Module (Get-BuiltModulePath) -Global
    Register-TestVault -Name Ops
}

# What a user sees: every stream of a script block as text (give the commands -Verbose -Debug), and its errors.
function Invoke-Captured([scriptblock] $Script) {
    $records = [System.Collections.Generic.List[object]]::new()
    try { & $Script *>&1 | ForEach-Object { $records.Add($_) } }
    catch { $records.Add($_) }   # a terminating error ends the script block, as it would end a user's line
    $isStream = { $_ -is [System.Management.Automation.ErrorRecord] -or $_ -is [System.Management.Automation.VerboseRecord] -or $_ -is [System.Management.Automation.DebugRecord] -or $_ -is [System.Management.Automation.WarningRecord] -or $_ -is [System.Management.Automation.InformationRecord] }
    $errors = @($records | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
    [pscustomobject]@{
        Output = @($records | Where-Object { -not (& $isStream) })
        Errors = $errors
        Text   = ($records | Out-String -Width 400) + (($errors | ForEach-Object { $_.Exception.ToString() }) -join "`n")
    }
}

# The pinned pwsh that runs this file, for scripts run as users run them: pwsh -File.
function Invoke-PwshFile {
    param([Parameter(Mandatory)] [string] $Path, [string[]] $ArgumentList = @())
    $pwsh = Join-Path $PSHOME 'pwsh.dll'
    $output = & dotnet $pwsh -NoProfile -NonInteractive -File $Path @ArgumentList 2>&1
    [pscustomobject]@{ ExitCode = $LASTEXITCODE; Text = ($output | Out-String -Width 400) }
}

Export-ModuleMember -Function Get-RepoPath, Get-BuiltModulePath, Initialize-SecretManagement, Register-TestVault, Initialize-VaultSession, Invoke-Captured, Invoke-PwshFile
