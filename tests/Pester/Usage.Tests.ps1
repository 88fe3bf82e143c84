# The README's "Using it" lines, as an operator types them, against the NGINX Plus emulator (credentials
# from the real SecretManagement and a vault) and a real HAProxy; -WhatIf and -Confirm as PowerShell
# users expect; members and pools through Export-Csv and ConvertTo-Json and back.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force

    $password = 'Usage-Only-Pa55!'
    $stage = Start-LbStage
    Initialize-VaultSession
    $api = (Invoke-LbStage $stage /nginx).api
    $hooks = (Invoke-LbStage $stage /hooks).url
    Invoke-LbStage $stage /nginx/basic-auth -Body @{ user = 'lbtools'; password = $password }
    Set-Secret -Vault Ops -Name lb1-api -Secret @{ Username = 'lbtools'; Password = $password }
    Set-Secret -Vault Ops -Name slack-hook -Secret "${hooks}slack"

    function Get-Servers([string] $Pool) { Invoke-LbStage $stage "/nginx/upstreams/$Pool/servers" -Method Get }
    function Get-Server([string] $Pool, [string] $Address) { Get-Servers $Pool | Where-Object server -eq $Address }
    function Add-Server([string] $Pool, [string] $Address, [int] $Weight = 1) { $null = Invoke-LbStage $stage "/nginx/upstreams/$Pool/servers" -Body @{ server = $Address; weight = $Weight } }
    Push-Location $TestDrive
}

AfterAll {
    Pop-Location
    Get-LbConnection | Disconnect-LbController
    Stop-LbStage $stage
}

Describe 'The README, line by line, on NGINX Plus' {
    BeforeAll {
        $null = Invoke-LbStage $stage /nginx/upstreams/web
        $backends = foreach ($name in 'n1', 'n2', 'n3') { Invoke-LbStage $stage "/backends/$name" }
        foreach ($b in $backends) { Add-Server web $b.address }
        Add-Server web '10.0.0.7:80'
        Add-Server web '10.0.0.8:80'
    }

    It 'Connect-LbController -Provider NginxPlus -Endpoint ... -SecretName lb1-api -Vault Ops' {
        $c = Connect-LbController -Provider NginxPlus -Endpoint $api -SecretName lb1-api -Vault Ops 3>$null
        $c.CredentialSource | Should -Be 'SecretManagement'
        $c.IsDefault | Should -BeTrue
    }

    It 'Get-LbPool' {
        $pool = Get-LbPool | Where-Object Name -eq 'web'
        $pool.MemberCount | Should -Be 5
    }

    It 'Get-LbPoolMember -Pool web | Where-Object Health -eq Unhealthy | Set-LbPoolMember -State Draining' {
        Invoke-LbStage $stage /nginx/upstreams/web/servers/state -Body @{ server = '10.0.0.8:80'; state = 'unhealthy' }
        Get-LbPoolMember -Pool web | Where-Object Health -eq Unhealthy | Set-LbPoolMember -State Draining
        (Get-Server web '10.0.0.8:80').drain | Should -BeTrue
        @(Get-Servers web | Where-Object drain).Count | Should -Be 1
    }

    It 'Import-Csv new.csv | Add-LbPoolMember -Pool web' {
        Set-Content -Path new.csv -Value "Address,Port,Weight`n10.0.0.21,80,3`n10.0.0.22,8080,1"
        Import-Csv new.csv | Add-LbPoolMember -Pool web
        (Get-Server web '10.0.0.21:80').weight | Should -Be 3
        Get-Server web '10.0.0.22:8080' | Should -Not -BeNullOrEmpty
    }

    It 'Get-LbPoolMember -Pool web -Address 10.0.0.7 | Remove-LbPoolMember -Drain -DrainTimeoutSec 300' {
        Get-LbPoolMember -Pool web -Address 10.0.0.7 | Remove-LbPoolMember -Drain -DrainTimeoutSec 300 -Confirm:$false
        Get-Server web '10.0.0.7:80' | Should -BeNullOrEmpty
    }

    It 'Set-LbPoolMember -Pool web -Address 10.0.0.8 -Port 80 -Weight 5 -WhatIf' {
        Set-LbPoolMember -Pool web -Address 10.0.0.8 -Port 80 -Weight 5 -WhatIf
        (Get-Server web '10.0.0.8:80').weight | Should -Be 1
    }

    It 'Sync-LbPool -Pool web -Member (Import-Csv desired.csv) -Prune -WhatIf, then without -WhatIf' {
        $desired = @($backends | ForEach-Object { [pscustomobject]@{ Address = $_.address.Split(':')[0]; Port = $_.port; Weight = 1 } })
        $desired | Export-Csv -Path desired.csv -NoTypeInformation
        $before = @(Get-Servers web).Count
        $null = Sync-LbPool -Pool web -Member (Import-Csv desired.csv) -Prune -WhatIf
        @(Get-Servers web).Count | Should -Be $before
        $null = Sync-LbPool -Pool web -Member (Import-Csv desired.csv) -Prune -Confirm:$false
        (Get-Servers web).server | Sort-Object | Should -Be ($backends | ForEach-Object address | Sort-Object)
    }

    It 'Get-LbPoolMember -Pool web | Test-LbPoolMember -Path /healthz -ThrottleLimit 32' {
        $results = @(Get-LbPoolMember -Pool web | Test-LbPoolMember -Path /healthz -ThrottleLimit 32)
        $results.Count | Should -Be 3
        $results | ForEach-Object { $_.Success | Should -BeTrue }
    }

    It 'Invoke-LbHealthRemediation -Pool web -Path /healthz -FailureThreshold 3 -Watch -AlertChannel (New-LbAlertChannel Slack -SecretName slack-hook)' {
        Invoke-LbStage $stage /backends/n2/stop
        # -DurationSec and -IntervalSec bound the README's open-ended -Watch for the test.
        $events = @(Invoke-LbHealthRemediation -Pool web -Path /healthz -FailureThreshold 3 -Watch -AlertChannel (New-LbAlertChannel Slack -SecretName slack-hook) -IntervalSec 1 -DurationSec 4 -WarningAction SilentlyContinue)
        @($events | Where-Object { $_.Type -eq 'Ejected' -and $_.Applied }).Count | Should -Be 1
        (Get-Server web $backends[1].address).down | Should -BeTrue
        @(Invoke-LbStage $stage /hooks/received -Method Get | Where-Object { $_.path -eq '/slack' -and $_.body -match 'ejected' }).Count | Should -Be 1
    }
}

Describe 'The README on a real HAProxy' {
    BeforeAll {
        $haBackends = foreach ($name in 'h1', 'h2', 'h3', 'h4') { Invoke-LbStage $stage "/backends/$name" }
        $haproxy = Invoke-LbStage $stage /haproxy -Body @{ servers = @('h1', 'h2', 'h3') }
    }
    AfterAll { Get-LbConnection | Where-Object Provider -eq 'HAProxy' | Disconnect-LbController }

    It 'connects over tcp:// and over unix://' {
        (Connect-LbController -Provider HAProxy -Endpoint $haproxy.socket).Provider | Should -Be 'HAProxy'
        (Get-LbPoolMember -Pool web).Name | Should -Be @('h1', 'h2', 'h3')
        $c = Connect-LbController -Provider HAProxy -Endpoint $haproxy.admin
        $c.IsDefault | Should -BeTrue
    }

    It 'Import-Csv new.csv | Add-LbPoolMember -Pool web' {
        $address, $port = $haBackends[3].address.Split(':')
        Set-Content -Path ha-new.csv -Value "Address,Port,Name`n$address,$port,h4"
        Import-Csv ha-new.csv | Add-LbPoolMember -Pool web
        (Get-LbPoolMember -Pool web -Name h4).State | Should -Be 'Enabled'
    }

    It 'Get-LbPoolMember ... | Set-LbPoolMember -State Draining, then Remove-LbPoolMember -Drain' {
        Get-LbPoolMember -Pool web -Name h1 | Set-LbPoolMember -State Draining
        (Get-LbPoolMember -Pool web -Name h1).State | Should -Be 'Draining'
        Get-LbPoolMember -Pool web -Name h1 | Remove-LbPoolMember -Drain -DrainTimeoutSec 30 -Confirm:$false
        (Get-LbPoolMember -Pool web).Name | Should -Not -Contain 'h1'
    }

    It 'Set-LbPoolMember -Weight -WhatIf and Sync-LbPool -Prune -WhatIf change nothing' {
        Get-LbPoolMember -Pool web -Name h2 | Set-LbPoolMember -Weight 5 -WhatIf
        (Get-LbPoolMember -Pool web -Name h2).Weight | Should -Be 1
        $null = Sync-LbPool -Pool web -Member ([pscustomobject]@{ Address = '127.0.0.1'; Port = $haBackends[1].port }) -Prune -WhatIf
        @(Get-LbPoolMember -Pool web).Count | Should -Be 3
    }

    It 'Get-LbPoolMember -Pool web | Test-LbPoolMember -Path /healthz' {
        $results = @(Get-LbPoolMember -Pool web | Test-LbPoolMember -Path /healthz -ThrottleLimit 32)
        $results.Count | Should -Be 3
        $results | ForEach-Object { $_.Success | Should -BeTrue }
    }
}

Describe '-WhatIf and -Confirm, as pwsh shows them' {
    BeforeAll {
        $null = Invoke-LbStage $stage /nginx/upstreams/confirm
        Add-Server confirm '10.0.1.1:80'
        Add-Server confirm '10.0.1.2:80'
        # A script of its own in a fresh pwsh: What if lines and confirmation prompts go to the host.
        function Invoke-Pwsh([string] $Command) {
            $file = Join-Path $TestDrive "$([guid]::NewGuid().ToString('N')).ps1"
            Set-Content -Path $file -Value "Import-Module '$(Get-BuiltModulePath)'; `$null = Connect-LbController -Provider NginxPlus -Endpoint '$api' -SecretName lb1-api -Vault Ops 3>`$null; $Command"
            Invoke-PwshFile $file
        }
    }

    It '-WhatIf says what would be removed and removes nothing' {
        $run = Invoke-Pwsh 'Get-LbPoolMember -Pool confirm -Address 10.0.1.1 | Remove-LbPoolMember -WhatIf'
        $run.Text | Should -Match 'What if: .*10\.0\.1\.1'
        Get-Server confirm '10.0.1.1:80' | Should -Not -BeNullOrEmpty
    }

    It 'a removal asks for confirmation (high impact), so a non-interactive run without -Confirm:$false removes nothing' {
        $run = Invoke-Pwsh 'Remove-LbPoolMember -Pool confirm -Address 10.0.1.1 -Port 80'
        $run.Text | Should -Match 'NonInteractive|confirm'
        Get-Server confirm '10.0.1.1:80' | Should -Not -BeNullOrEmpty
    }

    It '-Confirm:$false removes without asking' {
        $run = Invoke-Pwsh 'Remove-LbPoolMember -Pool confirm -Address 10.0.1.1 -Port 80 -Confirm:$false'
        $run.ExitCode | Should -Be 0 -Because $run.Text
        Get-Server confirm '10.0.1.1:80' | Should -BeNullOrEmpty
    }
}

Describe 'Members and pools through Export-Csv and ConvertTo-Json' {
    BeforeAll {
        foreach ($pool in 'export', 'copy-csv', 'copy-json') { $null = Invoke-LbStage $stage "/nginx/upstreams/$pool" }
        Add-Server export '10.0.2.1:80' -Weight 2
        Add-Server export '10.0.2.2:8080' -Weight 7
    }

    It 'Get-LbPoolMember | Export-Csv, then Import-Csv | Add-LbPoolMember recreates the members elsewhere' {
        Get-LbPoolMember -Pool export | Export-Csv -Path members.csv -NoTypeInformation
        $rows = @(Import-Csv members.csv)
        $rows.Count | Should -Be 2
        ($rows | Where-Object Port -eq '8080').Weight | Should -Be '7'
        $rows | Add-LbPoolMember -Pool copy-csv
        (Get-Servers copy-csv | ForEach-Object { "$($_.server)/$($_.weight)" }) | Sort-Object | Should -Be @('10.0.2.1:80/2', '10.0.2.2:8080/7')
    }

    It 'Get-LbPoolMember | ConvertTo-Json, then ConvertFrom-Json | Add-LbPoolMember recreates the members elsewhere' {
        $json = Get-LbPoolMember -Pool export | ConvertTo-Json -Depth 3 -WarningAction SilentlyContinue
        $members = @($json | ConvertFrom-Json)
        $members.Count | Should -Be 2
        $members | Add-LbPoolMember -Pool copy-json
        (Get-Servers copy-json | ForEach-Object { "$($_.server)/$($_.weight)" }) | Sort-Object | Should -Be @('10.0.2.1:80/2', '10.0.2.2:8080/7')
    }

    It 'Get-LbPool | Export-Csv and ConvertTo-Json carry the pool names' {
        Get-LbPool | Export-Csv -Path pools.csv -NoTypeInformation
        (Import-Csv pools.csv).Name | Should -Contain 'export'
        (Get-LbPool | ConvertTo-Json -Depth 3 -WarningAction SilentlyContinue | ConvertFrom-Json).Name | Should -Contain 'export'
    }

    It 'no export holds the credential' {
        $text = (Get-Content -Raw members.csv) + (Get-Content -Raw pools.csv) +
            (Get-LbPoolMember -Pool export | ConvertTo-Json -Depth 6 -WarningAction SilentlyContinue) +
            (Get-LbPool | ConvertTo-Json -Depth 6 -WarningAction SilentlyContinue)
        $text | Should -Not -Match ([regex]::Escape($password))
    }
}

Describe 'Output a script can use as it is' {
    BeforeAll {
        $null = Invoke-LbStage $stage /nginx/upstreams/shape
        Add-Server shape '10.0.3.1:80' -Weight 3
        Add-Server shape '10.0.3.2:80' -Weight 9
    }

    It 'Export-Csv writes the shown properties only: no Raw, no Connection, states by name' {
        Get-LbPoolMember -Pool shape | Export-Csv -Path shape.csv -NoTypeInformation
        $header = (Get-Content shape.csv -TotalCount 1) -split ',' | ForEach-Object { $_.Trim('"') }
        $header | Should -Not -Contain 'Raw'
        $header | Should -Not -Contain 'Connection'
        $header | Should -Contain 'MemberId'
        (Import-Csv shape.csv).State | Should -Be @('Enabled', 'Enabled')
        (Import-Csv shape.csv).Options | Should -Not -Match 'Route'   # NGINX Plus lists route "" for none: no empty "Route " option
        Get-Content -Raw shape.csv | Should -Not -Match 'System\.Collections|LoadBalancerTools\.'
    }

    It 'ConvertTo-Json writes enums by name and leaves Raw and Connection out; the hidden ones still read by name' {
        $members = @(Get-LbPoolMember -Pool shape)
        $json = $members | ConvertTo-Json -Depth 4 -WarningAction SilentlyContinue
        $parsed = @($json | ConvertFrom-Json)
        $parsed[0].State | Should -Be 'Enabled'
        $parsed[0].PSObject.Properties.Name | Should -Not -Contain 'Raw'
        $parsed[0].PSObject.Properties.Name | Should -Not -Contain 'Connection'
        $members[0].Raw | Should -Not -BeNullOrEmpty
        $members[0].Connection.Endpoint | Should -Not -BeNullOrEmpty
    }

    It 'the table headers are property names: Select-Object and Sort-Object by what the table shows' {
        $pool = Get-LbPool -Name shape | Select-Object Pool, Members, Healthy
        $pool.Pool | Should -Be 'shape'
        $pool.Members | Should -Be 2
        @(Get-LbPoolMember -Pool shape | Sort-Object Weight -Descending | Select-Object -First 1).Weight | Should -Be 9
        $null = Invoke-LbStage $stage /nginx/upstreams/shape/servers/active -Body @{ server = '10.0.3.1:80'; active = 12 }
        (Get-LbPoolMember -Pool shape | Sort-Object Active -Descending | Select-Object -First 1).Address | Should -Be '10.0.3.1'
        (Get-LbPoolMember -Pool shape | Sort-Object Active | Select-Object -First 1).Address | Should -Be '10.0.3.2'
    }

    It 'a script names the types: typed parameters, -is, enum literals and catch [LbException]' {
        function Get-DoubleWeight([LoadBalancerTools.Model.LbPoolMember] $Member) { 2 * $Member.Weight }
        $member = Get-LbPoolMember -Pool shape -Address 10.0.3.2 -Port 80
        $member -is [LoadBalancerTools.Model.LbPoolMember] | Should -BeTrue
        Get-DoubleWeight $member | Should -Be 18
        $member.State -eq [LoadBalancerTools.Model.LbMemberState]::Enabled | Should -BeTrue
        $caught = try { Get-LbPoolMember -Pool no-such-pool -ErrorAction Stop; 'not thrown' }
                  catch [LoadBalancerTools.Errors.LbException] { $_.FullyQualifiedErrorId.Split(',')[0] }
        $caught | Should -Be 'LbPoolNotFound'
    }

    It 'an error points at the member it is about (TargetObject), not at a sentence' {
        $member = Get-LbPoolMember -Pool shape -Address 10.0.3.1 -Port 80
        $member | Remove-LbPoolMember -Confirm:$false
        $member | Set-LbPoolMember -Weight 4 -ErrorAction SilentlyContinue -ErrorVariable failed
        $failed.Count | Should -Be 1
        $failed[0].TargetObject | Should -BeOfType ([LoadBalancerTools.Model.LbPoolMember])
        $failed[0].TargetObject.Address | Should -Be '10.0.3.1'
    }
}
