@{
    ModuleVersion     = '1.0.0'
    GUID              = '0d9d2b8f-2f7f-4d0e-bb7e-6a8d3c1e5f22'
    RootModule        = 'TestVault.Extension.psm1'
    FunctionsToExport = @('Get-Secret', 'Get-SecretInfo', 'Set-Secret', 'Remove-Secret', 'Test-SecretVault')
}
