<#
.SYNOPSIS
    Builds, tests and packages LoadBalancerTools.
.DESCRIPTION
    A thin wrapper over the dotnet CLI, so PowerShell users and CI run the same steps:
      Build    dotnet build LbTools.sln -c Release; the importable module lands in out/LoadBalancerTools/
      Test     dotnet test LbTools.sln
      Package  Build, then a .nupkg of the module in out/packages/ that Install-Module / Install-PSResource accept
    Runs in pwsh, Windows PowerShell, or without pwsh through the repository's host:
      dotnet run --project tools/LbHost -- ./build.ps1 -Task Build
.EXAMPLE
    ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package')]
    [string] $Task = 'Build',
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
$root = $PSScriptRoot
# Only the engine's core cmdlets exist where no pwsh is installed (see tools/LbHost), so paths use .NET.
$solution = [IO.Path]::Combine($root, 'LbTools.sln')

function Invoke-Dotnet {
    param([string[]] $Arguments)
    $PSCmdlet.WriteVerbose("dotnet $($Arguments -join ' ')")
    & dotnet @Arguments
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($Arguments[0]) failed with exit code $LASTEXITCODE." }
}

switch ($Task) {
    'Build' {
        Invoke-Dotnet @('build', $solution, '-c', $Configuration, '--nologo')
        $manifest = [IO.Path]::Combine($root, 'out', 'LoadBalancerTools', 'LoadBalancerTools.psd1')
        if (-not [IO.File]::Exists($manifest)) { throw "The build did not produce $manifest." }
        "Module built: $manifest"
    }
    'Test' {
        Invoke-Dotnet @('test', $solution, '--nologo')
    }
    'Package' {
        Invoke-Dotnet @('build', $solution, '-c', $Configuration, '--nologo')
        $packages = [IO.Path]::Combine($root, 'out', 'packages')
        Invoke-Dotnet @('pack', [IO.Path]::Combine($root, 'tools', 'Packaging', 'Packaging.proj'), '-c', $Configuration, '--nologo', '-o', $packages)
        [IO.Directory]::GetFiles($packages, '*.nupkg') | ForEach-Object { "Package: $_" }
    }
}
