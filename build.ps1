<#
.SYNOPSIS
    Builds, tests and packages LoadBalancerTools.
.DESCRIPTION
    A thin wrapper over the dotnet CLI, so PowerShell users and CI run the same steps:
      Build    dotnet build LbTools.sln -c Release; the importable module lands in out/LoadBalancerTools/
      Test     dotnet test LbTools.sln
      Package  Build, then a .nupkg of the module in out/packages/ that Install-Module / Install-PSResource accept
    Runs in pwsh or Windows PowerShell; the repository pins pwsh 7.6.9 as a local .NET tool:
      dotnet tool restore; dotnet pwsh ./build.ps1 -Task Build
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
$solution = Join-Path $root 'LbTools.sln'

function Invoke-Dotnet {
    param([string[]] $Arguments)
    Write-Verbose "dotnet $($Arguments -join ' ')"
    & dotnet @Arguments
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($Arguments[0]) failed with exit code $LASTEXITCODE." }
}

switch ($Task) {
    'Build' {
        Invoke-Dotnet @('build', $solution, '-c', $Configuration, '--nologo')
        $manifest = Join-Path $root 'out/LoadBalancerTools/LoadBalancerTools.psd1'
        if (-not (Test-Path -Path $manifest)) { throw "The build did not produce $manifest." }
        "Module built: $manifest"
    }
    'Test' {
        Invoke-Dotnet @('test', $solution, '--nologo')
    }
    'Package' {
        Invoke-Dotnet @('build', $solution, '-c', $Configuration, '--nologo')
        $packages = Join-Path $root 'out/packages'
        Invoke-Dotnet @('pack', (Join-Path $root 'tools/Packaging/Packaging.proj'), '-c', $Configuration, '--nologo', '-o', $packages)
        Get-ChildItem -Path $packages -Filter *.nupkg | ForEach-Object { "Package: $($_.FullName)" }
    }
}
