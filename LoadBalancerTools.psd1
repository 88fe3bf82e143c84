@{
    RootModule           = 'LoadBalancerTools.dll'
    # Imported before the root module: it sets up the isolated loading of Dependencies/.
    NestedModules        = @('LoadBalancerTools.Loader.dll')
    # The model and error types, loaded in the default context so that scripts can name them
    # ([LoadBalancerTools.Model.LbPoolMember], catch [LoadBalancerTools.Errors.LbException]); no third-party references.
    RequiredAssemblies   = @('LoadBalancerTools.Model.dll')
    ModuleVersion        = '0.1.0'
    GUID                 = '5d0c1c3e-8f1e-4b7a-9d55-3f6a2b7c9e41'
    Author               = 'LoadBalancerTools contributors'
    CompanyName          = 'LoadBalancerTools'
    Copyright            = '(c) LoadBalancerTools contributors. MIT License.'
    Description          = 'Manage and self-heal load balancer backend pools (NGINX Plus, F5 BIG-IP, NetScaler, AWS ELBv2, HAProxy, Caddy) with typed objects, retries, -WhatIf and desired-state sync.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Core', 'Desktop')
    TypesToProcess       = @('LoadBalancerTools.types.ps1xml')
    FormatsToProcess     = @('LoadBalancerTools.format.ps1xml')
    CmdletsToExport      = @(
        'Connect-LbController'
        'Disconnect-LbController'
        'Get-LbConnection'
        'Get-LbPool'
        'Get-LbPoolMember'
        'Add-LbPoolMember'
        'Remove-LbPoolMember'
        'Set-LbPoolMember'
        'Test-LbPoolMember'
        'Invoke-LbHealthRemediation'
        'New-LbAlertChannel'
        'Sync-LbPool'
        'Wait-LbPoolMember'
        'Export-LbHaproxyServerLine'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('LoadBalancer', 'NGINX', 'HAProxy', 'Caddy', 'F5', 'NetScaler', 'AWS', 'ELB', 'SelfHealing', 'HealthCheck', 'Automation', 'PSEdition_Core', 'PSEdition_Desktop', 'Windows', 'Linux', 'MacOS')
            LicenseUri   = 'https://opensource.org/licenses/MIT'
            ReleaseNotes = '0.1.0: first release. The full history is in CHANGELOG.md, in the module folder.'
        }
    }
}
