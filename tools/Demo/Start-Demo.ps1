<#
.SYNOPSIS
    Sets the stage for examples/demo-3am.ps1 and plays it: a real HAProxy in front of four web backends and
    a spare, steady client traffic, and a local alert receiver; stops all of it afterwards.
.DESCRIPTION
    Run it with `dotnet run --project tools/Demo -c Release` (which installs what is missing and builds
    first), or, once built, with `dotnet pwsh tools/Demo/Start-Demo.ps1`.
.PARAMETER Configuration
    The build configuration whose stage (tools/Stage) to start. Default: Release.
#>
param([ValidateSet('Release', 'Debug')] [string] $Configuration = 'Release')

$ErrorActionPreference = 'Stop'
$repo = Split-Path (Split-Path $PSScriptRoot -Parent) -Parent
Import-Module (Join-Path $repo 'tools/Stage/Stage.psm1')

Write-Host 'Starting the stage: four web backends, a spare, HAProxy 2.6 in front, steady client traffic, an alert receiver.'
$stage = Start-LbStage -Configuration $Configuration
$work = Join-Path ([IO.Path]::GetTempPath()) ("lbtools-demo-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
$null = New-Item -ItemType Directory -Path $work
try {
    $backends = foreach ($name in 'web1', 'web2', 'web3', 'web4', 'web5') { Invoke-LbStage $stage "/backends/$name" }
    $haproxy = Invoke-LbStage $stage /haproxy -Body @{ servers = @('web1', 'web2', 'web3', 'web4') }
    Invoke-LbStage $stage /traffic
    $hooks = Invoke-LbStage $stage /hooks

    $play = @{
        Endpoint      = $haproxy.admin
        Spare         = $backends[4].address
        StageUri      = $stage.Control
        AlertUri      = $hooks.url
        WorkDirectory = $work
    }
    & (Join-Path $repo 'examples/demo-3am.ps1') @play
    Write-Host 'Demo finished; every process it started has been stopped.'
}
finally {
    Stop-LbStage $stage
    Remove-Item -Recurse -Force $work
}
