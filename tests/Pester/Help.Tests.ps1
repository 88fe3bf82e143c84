# Help and tab completion as pwsh gives them to a user of the built module: Get-Help of every cmdlet and
# of about_LoadBalancerTools, Connect-LbController for every provider, no stale text in the docs, and
# TabExpansion2 completing providers, pools and member addresses from a live connection.
BeforeDiscovery {
    # The test cases are the module's cmdlets and the repository's documents.
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module (Get-BuiltModulePath)
    $documents = @(Get-ChildItem (Get-RepoPath 'docs') -Filter *.md | ForEach-Object FullName) + @(Get-RepoPath 'README.md') + @(Get-ChildItem (Get-RepoPath 'examples') | ForEach-Object FullName)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module (Get-BuiltModulePath)
    $cmdlets = @(Get-Command -Module LoadBalancerTools -CommandType Cmdlet)
    $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
}

Describe 'Get-Help of every cmdlet' {
    It 'the module exports its cmdlets' {
        $cmdlets.Count | Should -BeGreaterOrEqual 14
    }

    It '<_> has a synopsis, a description, examples and every parameter documented' -ForEach @(Get-Command -Module LoadBalancerTools -CommandType Cmdlet | ForEach-Object Name) {
        $help = Get-Help -Name $_ -Full
        $help.Synopsis.Trim() | Should -Not -BeNullOrEmpty
        $help.Synopsis.Trim() | Should -Not -BeLike "$_ *"    # the generated syntax line stands in when help is missing
        ($help.description | Out-String).Trim() | Should -Not -BeNullOrEmpty
        @($help.examples.example).Count | Should -BeGreaterOrEqual 2
        $declared = (Get-Command -Name $_).Parameters.Keys | Where-Object { $_ -notin $common }
        $described = @($help.parameters.parameter | Where-Object { (($_.description | ForEach-Object Text) -join '').Trim() } | ForEach-Object name)
        @($declared | Where-Object { $_ -notin $described }) | Should -BeNullOrEmpty
    }

    It 'about_LoadBalancerTools is found by Get-Help and covers the capability matrix, retries and security' {
        $about = Get-Help about_LoadBalancerTools | Out-String
        $about | Should -Match 'about_LoadBalancerTools'
        $about | Should -Match 'NginxPlus'
        $about | Should -Match 'HAProxy'
        $about | Should -Match 'Retry-After'
        $about | Should -Match 'SecretManagement'
    }
}

Describe 'Connect-LbController help covers every provider' {
    BeforeAll {
        $help = Get-Help Connect-LbController -Full
        $examples = @($help.examples.example | ForEach-Object { $_.code -join "`n" })
    }

    It 'has an example for <Name>' -ForEach @(
        @{ Name = 'HAProxy over tcp://'; Pattern = '-Provider HAProxy -Endpoint tcp://' }
        @{ Name = 'HAProxy over unix://'; Pattern = '-Provider HAProxy -Endpoint unix://' }
        @{ Name = 'the Caddy admin API'; Pattern = '-Provider Caddy -Endpoint http://127\.0\.0\.1:2019' }
        @{ Name = 'F5 with a partition'; Pattern = '-Provider F5 .*-Partition ' }
        @{ Name = 'NetScaler'; Pattern = '-Provider NetScaler ' }
        @{ Name = 'AWS with a region and a profile'; Pattern = '-Provider AwsElbV2 .*-Region .*-ProfileName ' }
        @{ Name = 'NGINX Plus'; Pattern = '-Provider NginxPlus ' }
    ) {
        @($examples | Where-Object { $_ -match $Pattern }).Count | Should -BeGreaterOrEqual 1
    }

    It '-Endpoint documents tcp:// and unix://' {
        $endpoint = ($help.parameters.parameter | Where-Object name -eq Endpoint).description.Text -join ' '
        $endpoint | Should -Match 'tcp://'
        $endpoint | Should -Match 'unix://'
    }

    It '-Provider names every provider without "being added" text' {
        $provider = ($help.parameters.parameter | Where-Object name -eq Provider).description.Text -join ' '
        foreach ($name in 'NginxPlus', 'HAProxy', 'Caddy', 'F5', 'NetScaler', 'AwsElbV2') { $provider | Should -Match $name }
    }
}

Describe 'No stale text in the documentation' {
    It '<_> says nothing is "being added", "available now" or "where available", and needs no LbHost' -ForEach $documents {
        $text = Get-Content -Raw -Path $_
        $text | Should -Not -Match 'being added|available now|where available|tools/LbHost'
    }
}

Describe 'Tab completion through TabExpansion2' {
    BeforeAll {
        $stage = Start-LbStage
        $api = (Invoke-LbStage $stage /nginx).api
        foreach ($pool in 'web', 'webapi', 'static') { $null = Invoke-LbStage $stage "/nginx/upstreams/$pool" }
        $null = Invoke-LbStage $stage /nginx/upstreams/web/servers -Body @{ server = '10.0.3.1:80' }
        $null = Invoke-LbStage $stage /nginx/upstreams/web/servers -Body @{ server = '10.0.3.2:80' }
        $null = Connect-LbController -Provider NginxPlus -Endpoint $api
        function Complete([string] $Line) { (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches | ForEach-Object CompletionText }
    }
    AfterAll {
        Get-LbConnection | Disconnect-LbController
        Stop-LbStage $stage
    }

    It 'completes provider names' {
        Complete 'Connect-LbController -Provider ' | Should -Contain 'HAProxy'
        Complete 'Connect-LbController -Provider Aw' | Should -Be @('AwsElbV2')
    }

    It 'completes pool names from the connected load balancer' {
        Complete 'Get-LbPoolMember -Pool we' | Sort-Object | Should -Be @('web', 'webapi')
        Complete 'Set-LbPoolMember -Pool st' | Should -Be @('static')
    }

    It 'completes member addresses of the pool already given' {
        Complete 'Get-LbPoolMember -Pool web -Address 10.0.3.' | Sort-Object | Should -Be @('10.0.3.1', '10.0.3.2')
    }
}
