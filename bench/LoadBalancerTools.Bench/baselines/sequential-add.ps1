# The independent baseline: what a runbook without this module does. One POST per member to the NGINX
# Plus API (http/upstreams/{name}/servers), one after another, nothing else: no read, no retry, no check.
# Prints the loop's own time in seconds, so pwsh's start-up is not counted against it.
param(
    [Parameter(Mandatory)] [string] $ApiBase,
    [Parameter(Mandatory)] [string] $Pool,
    [Parameter(Mandatory)] [int] $Count
)
$ErrorActionPreference = 'Stop'
$uri = "$ApiBase/9/http/upstreams/$Pool/servers"
$clock = [System.Diagnostics.Stopwatch]::StartNew()
foreach ($i in 0..($Count - 1)) {
    $address = '10.{0}.{1}.{2}' -f [int][math]::Floor($i / 62500), ([int][math]::Floor($i / 250) % 250), ($i % 250 + 1)
    $body = @{ server = "${address}:80" } | ConvertTo-Json -Compress
    $null = Invoke-RestMethod -Method Post -Uri $uri -Body $body -ContentType 'application/json'
}
$clock.Elapsed.TotalSeconds.ToString([System.Globalization.CultureInfo]::InvariantCulture)
