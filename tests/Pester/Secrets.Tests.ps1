# Credentials from the real Microsoft.PowerShell.SecretManagement 1.1.2 and a vault that returns secrets as
# SecretStore does, against emulators that accept only the right user and password (NGINX Plus basic auth)
# or access key (AWS SigV4). No secret may appear in any stream.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force

    $user = 'lbadmin'
    $password = 'Sup3r-S3cret-Pa55!'
    $awsKey = 'AKIAVAULT00000000001'
    $awsSecret = 'vaultSecret/44444444444444/NotReal/44444'
    $slackUrl = 'https://hooks.slack.example/services/T000/B000/vaultOnlyToken42'
    $securePassword = ConvertTo-SecureString $password -AsPlainText -Force

    $stage = Start-LbStage
    Initialize-VaultSession
    $api = (Invoke-LbStage $stage /nginx).api
    Invoke-LbStage $stage /nginx/upstreams/web
    Invoke-LbStage $stage /nginx/basic-auth -Body @{ user = $user; password = $password }
    $aws = (Invoke-LbStage $stage /aws).endpoint
    Invoke-LbStage $stage /aws/credentials -Body @{ user = $awsKey; password = $awsSecret }
    Invoke-LbStage $stage '/aws/targetgroups/web?target=i-0aaaaaaaaaaaaaaa1'

    Set-Secret -Vault Ops -Name lb-credential -Secret ([pscredential]::new($user, $securePassword))
    Set-Secret -Vault Ops -Name lb-securestring -Secret $securePassword
    Set-Secret -Vault Ops -Name lb-string -Secret $password
    Set-Secret -Vault Ops -Name lb-table -Secret @{ Username = $user; Password = $password }
    Set-Secret -Vault Ops -Name lb-table-nouser -Secret @{ Password = $password }
    Set-Secret -Vault Ops -Name elb-keys -Secret @{ AccessKeyId = $awsKey; SecretAccessKey = $awsSecret }
    Set-Secret -Vault Ops -Name ops-slack -Secret $slackUrl
}

AfterAll {
    Get-LbConnection | Disconnect-LbController
    Stop-LbStage $stage
}

Describe 'The test vault behaves like SecretStore' {
    It 'returns every string value of a hashtable as a SecureString' {
        $table = Get-Secret -Vault Ops -Name lb-table
        $table.Username | Should -BeOfType [securestring]
        $table.Password | Should -BeOfType [securestring]
    }
}

Describe 'Connect-LbController -SecretName with the real SecretManagement' {
    It 'connects with a <Shape> secret' -ForEach @(
        @{ Shape = 'PSCredential'; Secret = 'lb-credential'; Extra = @{} }
        @{ Shape = 'SecureString and -UserName'; Secret = 'lb-securestring'; Extra = @{ UserName = 'lbadmin' } }
        @{ Shape = 'string and -UserName'; Secret = 'lb-string'; Extra = @{ UserName = 'lbadmin' } }
        @{ Shape = 'hashtable of SecureStrings (Username and Password)'; Secret = 'lb-table'; Extra = @{} }
    ) {
        $run = Invoke-Captured {
            $DebugPreference = 'Continue'
            $c = Connect-LbController -Provider NginxPlus -Endpoint $api -SecretName $Secret -Vault Ops @Extra -Verbose
            $c
            Get-LbPool -Connection $c -Verbose
            $c | Format-List * | Out-String
            Disconnect-LbController -Connection $c
        }
        $run.Errors | Should -BeNullOrEmpty
        $run.Output[0].CredentialSource | Should -Be 'SecretManagement'
        $run.Output[0].UserName | Should -Be $user
        $run.Output | ForEach-Object Name | Should -Contain 'web'   # the emulator answered only because the password was right
        $run.Text | Should -Not -Match ([regex]::Escape($password))
    }

    It 'reads the SecureString user name of a hashtable instead of asking for -UserName' {
        $c = Connect-LbController -Provider NginxPlus -Endpoint $api -SecretName lb-table -Vault Ops
        try { $c.UserName | Should -Be $user } finally { Disconnect-LbController -Connection $c }
    }

    It 'refuses a password-only hashtable without -UserName, saying how to give one' {
        $run = Invoke-Captured { Connect-LbController -Provider NginxPlus -Endpoint $api -SecretName lb-table-nouser -Vault Ops }
        $run.Errors.Count | Should -Be 1
        $run.Errors[0].FullyQualifiedErrorId | Should -BeLike 'LbSecretUnusable,*'
        $run.Errors[0].Exception.Message | Should -Match '-UserName'
        $run.Text | Should -Not -Match ([regex]::Escape($password))
    }

    It 'names the missing secret and its vault, in its own words' {
        $run = Invoke-Captured { Connect-LbController -Provider NginxPlus -Endpoint $api -SecretName nope -Vault Ops }
        $run.Errors.Count | Should -Be 1
        $run.Errors[0].FullyQualifiedErrorId | Should -BeLike 'LbSecretNotFound,*'
        $run.Errors[0].Exception.Message | Should -Be "The secret 'nope' was not found in the vault 'Ops'."
        $run.Text | Should -Not -Match 'preference variable'
    }

    It 'names a vault that is not registered' {
        $run = Invoke-Captured { Connect-LbController -Provider NginxPlus -Endpoint $api -SecretName lb-table -Vault Nowhere }
        $run.Errors[0].FullyQualifiedErrorId | Should -BeLike 'LbSecretNotFound,*'
        $run.Errors[0].Exception.Message | Should -Match "'lb-table'"
        $run.Errors[0].Exception.Message | Should -Match "'Nowhere'"
        $run.Text | Should -Not -Match 'preference variable'
    }

    It 'signs AWS requests with the AccessKeyId and SecretAccessKey of a hashtable' {
        $run = Invoke-Captured {
            $DebugPreference = 'Continue'
            $c = Connect-LbController -Provider AwsElbV2 -Region us-east-1 -Endpoint $aws -SecretName elb-keys -Vault Ops -Verbose
            Get-LbPoolMember -Pool web -Connection $c -Verbose
            Disconnect-LbController -Connection $c
        }
        $run.Errors | Should -BeNullOrEmpty
        $run.Output | ForEach-Object Address | Should -Contain 'i-0aaaaaaaaaaaaaaa1'
        $requests = @(Invoke-LbStage $stage /aws/requests -Method Get)
        $requests.Count | Should -BeGreaterThan 0
        $requests | ForEach-Object { $_.accessKeyId | Should -Be $awsKey; $_.status | Should -Be 200 }
        $run.Text | Should -Not -Match ([regex]::Escape($awsSecret))
    }

    It 'reads a webhook URL for New-LbAlertChannel and never shows it' {
        $run = Invoke-Captured { New-LbAlertChannel Slack -SecretName ops-slack -Vault Ops -Verbose | Format-List * | Out-String }
        $run.Errors | Should -BeNullOrEmpty
        $run.Text | Should -Not -Match 'vaultOnlyToken42'
    }

}

Describe 'SecretManagement from ForEach-Object -Parallel' {
    It 'resolves -SecretName in eight parallel runspaces at once (lookups take turns)' {
        # Unserialized, SecretManagement's single runspace makes most of these fail.
        $results = 1..8 | ForEach-Object -ThrottleLimit 8 -Parallel {
            Import-Module $using:PWD/out/LoadBalancerTools/LoadBalancerTools.psd1
            try {
                $c = Connect-LbController -Provider NginxPlus -Endpoint $using:api -SecretName lb-table -Vault Ops -ErrorAction Stop
                $pools = @(Get-LbPool -Connection $c -ErrorAction Stop)
                Disconnect-LbController -Connection $c
                "ok $($pools.Count)"
            }
            catch { "failed: $_" }
        }
        $results | Should -Be (@('ok 1') * 8)
    }

    It 'shares one connection resolved before the loop, as the help recommends' {
        $c = Connect-LbController -Provider NginxPlus -Endpoint $api -SecretName lb-table -Vault Ops
        try {
            $results = 1..4 | ForEach-Object -ThrottleLimit 4 -Parallel {
                Import-Module $using:PWD/out/LoadBalancerTools/LoadBalancerTools.psd1
                (Get-LbPool -Connection $using:c -ErrorAction Stop).Name
            }
            $results | Should -Be (@('web') * 4)
        }
        finally { Disconnect-LbController -Connection $c }
    }
}

# Last: it adds a pool to the shared emulator, which the tests above count.
Describe 'The Redis state store with the real SecretManagement' {
    It 'opens a password-protected Redis state store with -StateSecretName and never shows the password' {
        $redisPassword = 'Redis-Vault-Pa55-7'
        $redis = (Invoke-LbStage $stage /redis -Body @{ user = 'default'; password = $redisPassword }).url
        Set-Secret -Vault Ops -Name redis-state -Secret $redisPassword
        $null = Invoke-LbStage $stage /nginx/upstreams/heal
        # A port nothing listens on (taken and given back), so every probe fails.
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start(); $closedPort = $listener.LocalEndpoint.Port; $listener.Stop()
        $null = Invoke-LbStage $stage /nginx/upstreams/heal/servers -Body @{ server = "127.0.0.1:$closedPort"; weight = 1 }
        $connection = Connect-LbController -Provider NginxPlus -Endpoint $api -SecretName lb-table -Vault Ops
        $run = Invoke-Captured { Invoke-LbHealthRemediation -Connection $connection -Pool heal -Protocol Tcp -ProbeTimeoutSec 1 -StateStore $redis -StateSecretName redis-state -StateVault Ops -Verbose -Debug }
        $run.Errors | Should -BeNullOrEmpty
        $key = 'lbtools:{' + $api.ToLowerInvariant() + '|heal}:state'
        (Invoke-LbStage $stage "/redis/get?key=$([uri]::EscapeDataString($key))" -Method Get).value | Should -Match '"ConsecutiveFailures": 1'
        $run.Text | Should -Not -Match ([regex]::Escape($redisPassword))
    }
}
