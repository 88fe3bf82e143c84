# A SecretManagement vault extension for the tests: the vault module names its extension as a nested module.
@{
    ModuleVersion     = '1.0.0'
    GUID              = '6b0f5f6e-9a3c-4c3e-8d53-2f1b7d6a0c11'
    Author            = 'LoadBalancerTools tests'
    Description       = 'A file-backed test vault that returns secrets as Microsoft.PowerShell.SecretStore does.'
    NestedModules     = @('./TestVault.Extension')
    FunctionsToExport = @()
    CmdletsToExport   = @()
}
