<#
.SYNOPSIS
    Runs one Pester file the way the xUnit suite does (tests/LoadBalancerTools.Tests/Pester) and writes
    its results as JSON: how many passed, failed and were skipped, and each failure's name and message.
.EXAMPLE
    dotnet pwsh -NoProfile -File tests/Pester/Invoke-PesterFile.ps1 -Path tests/Pester/Examples.Tests.ps1
#>
param(
    [Parameter(Mandatory)] [string] $Path,
    [string] $ResultPath,
    [string] $PesterManifest
)
$ErrorActionPreference = 'Stop'
if (-not $PesterManifest) {
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
    $PesterManifest = Join-Path $packages 'pester/5.7.1/tools/Pester.psd1'
}
if (-not (Test-Path $PesterManifest)) {
    throw "Pester 5.7.1 is not at $PesterManifest; 'dotnet restore LbTools.sln' downloads it (PackageDownload in the test project)."
}
Import-Module $PesterManifest -RequiredVersion 5.7.1

$configuration = New-PesterConfiguration
$configuration.Run.Path = $Path
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$run = Invoke-Pester -Configuration $configuration

# A failure in BeforeAll/AfterAll fails the container, not a test: it is reported too.
$failures = @(
    foreach ($test in $run.Failed) {
        [pscustomobject]@{ Name = $test.ExpandedPath; Message = (@($test.ErrorRecord | ForEach-Object { "$_" }) -join ' | ') }
    }
    foreach ($block in $run.FailedBlocks) {
        [pscustomobject]@{ Name = "$($block.ExpandedPath) (block)"; Message = (@($block.ErrorRecord | ForEach-Object { "$_" }) -join ' | ') }
    }
    foreach ($container in $run.FailedContainers) {
        [pscustomobject]@{ Name = "$($container.Item) (file)"; Message = (@($container.ErrorRecord | ForEach-Object { "$_ $($_.ScriptStackTrace)" }) -join ' | ') }
    }
)
$summary = [pscustomobject]@{
    Passed   = $run.PassedCount
    Failed   = $run.FailedCount + $run.FailedBlocksCount + $run.FailedContainersCount
    Skipped  = $run.SkippedCount
    Failures = $failures
}
if ($ResultPath) { $summary | ConvertTo-Json -Depth 4 | Set-Content -Path $ResultPath -Encoding utf8 }
if ($summary.Failed -gt 0) { exit 1 }
