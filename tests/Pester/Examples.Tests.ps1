# The runbooks in examples/, run as a scheduler runs them (pwsh -File) against the NGINX Plus emulator
# whose members are real local backends; what they change is read back from the emulator, not from their
# own output. Each test uses its own pool.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-Module (Get-BuiltModulePath)
    $stage = Start-LbStage
    $api = (Invoke-LbStage $stage /nginx).api
    $hooks = (Invoke-LbStage $stage /hooks).url
    $script:poolNumber = 0

    function Script([string] $Name) { Get-RepoPath "examples/$Name" }
    function New-Pool {
        $script:poolNumber++
        $pool = "web$script:poolNumber"
        $null = Invoke-LbStage $stage "/nginx/upstreams/$pool"
        $pool
    }
    function Get-Servers([string] $Pool) { Invoke-LbStage $stage "/nginx/upstreams/$Pool/servers" -Method Get }
    function Get-Server([string] $Pool, [string] $Address) { Get-Servers $Pool | Where-Object server -eq $Address }
    function Get-RequestCount([string] $Method, [string] $Path) { (Invoke-LbStage $stage "/nginx/requests?method=$Method&path=$([uri]::EscapeDataString($Path))" -Method Get).count }
    function Add-Server([string] $Pool, [string] $Address, [int] $Weight = 1) { $null = Invoke-LbStage $stage "/nginx/upstreams/$Pool/servers" -Body @{ server = $Address; weight = $Weight } }
    function New-Backends([string] $Pool, [int] $Count) {
        foreach ($i in 1..$Count) {
            $backend = Invoke-LbStage $stage "/backends/$Pool-b$i"
            Add-Server $Pool $backend.address
            $backend
        }
    }
    function New-Csv([string] $Text) {
        $path = Join-Path $TestDrive "$([guid]::NewGuid().ToString('N')).csv"
        Set-Content -Path $path -Value $Text -NoNewline
        $path
    }
    $connect = @('-Provider', 'NginxPlus', '-Endpoint', $api)
}

AfterAll { Stop-LbStage $stage }

Describe 'The runbooks run on Windows PowerShell 5.1 and PowerShell 7' {
    # Every script in examples/, so a new runbook is held to the same rules without editing this list.
    It '<_> uses no syntax that only PowerShell 7 knows' -ForEach @(Get-ChildItem -Path (Join-Path $PSScriptRoot '../../examples') -Filter *.ps1 | ForEach-Object Name) {
        $tokens = $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile((Script $_), [ref] $tokens, [ref] $errors)
        $errors | Should -BeNullOrEmpty
        $sevenOnly = $ast.FindAll({
                param($node)
                $node -is [System.Management.Automation.Language.TernaryExpressionAst] -or
                $node -is [System.Management.Automation.Language.PipelineChainAst] -or
                ($node -is [System.Management.Automation.Language.BinaryExpressionAst] -and $node.Operator -eq 'QuestionQuestion') -or
                ($node -is [System.Management.Automation.Language.AssignmentStatementAst] -and $node.Operator -eq 'QuestionQuestionEquals') -or
                ($node -is [System.Management.Automation.Language.MemberExpressionAst] -and $node.NullConditional) -or
                ($node -is [System.Management.Automation.Language.CommandAst] -and $node.GetCommandName() -in 'ForEach-Object', '%', 'foreach' -and
                    @($node.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] -and 'Parallel' -like "$($_.ParameterName)*" }).Count -gt 0)
            }, $true)
        @($sevenOnly | ForEach-Object { "line $($_.Extent.StartLineNumber): $($_.Extent.Text)" }) | Should -BeNullOrEmpty
    }

    # Every runbook (the dot-sourced support file and the demo are not run by users with -?).
    It '<_> says so in its help, and documents every parameter with two examples' -ForEach @(Get-ChildItem -Path (Join-Path $PSScriptRoot '../../examples') -Filter *.ps1 | Where-Object Name -notin 'ExampleSupport.ps1', 'demo-3am.ps1' | ForEach-Object Name) {
        $path = Script $_
        $help = Get-Help -Name $path -Full
        $help.Synopsis.Trim() | Should -Not -BeLike "$_*"
        @($help.examples.example).Count | Should -BeGreaterOrEqual 2
        ($help.description | Out-String) | Should -Match 'Windows PowerShell 5\.1 and PowerShell 7'
        $declared = (Get-Command -Name $path).Parameters.Keys | Where-Object { $_ -notin [System.Management.Automation.PSCmdlet]::CommonParameters -and $_ -notin [System.Management.Automation.PSCmdlet]::OptionalCommonParameters }
        $described = @($help.parameters.parameter | Where-Object { ($_.description | ForEach-Object Text) -join '' } | ForEach-Object name)
        @($declared | Where-Object { $_ -notin $described }) | Should -BeNullOrEmpty
    }
}

Describe 'Add-MembersFromCsv.ps1' {
    It 'adds every row with its weight and state, and a second run changes nothing' {
        $pool = New-Pool
        $csv = New-Csv "# new web servers`r`nAddress,Port,Weight,Name,State`r`n10.0.0.31,8080,5,web31,Enabled`r`n`r`n`"10.0.0.32`",8080,,,`r`n10.0.0.33,8081,2,`"web, 33`",Disabled`r`n"
        $run = Invoke-PwshFile (Script 'Add-MembersFromCsv.ps1') (@('-Path', $csv, '-Pool', $pool) + $connect)
        $run.ExitCode | Should -Be 0 -Because $run.Text
        (Get-Server $pool '10.0.0.31:8080').weight | Should -Be 5
        (Get-Server $pool '10.0.0.31:8080').down | Should -BeFalse
        (Get-Server $pool '10.0.0.32:8080').weight | Should -Be 1
        (Get-Server $pool '10.0.0.33:8081').weight | Should -Be 2
        (Get-Server $pool '10.0.0.33:8081').down | Should -BeTrue
        $run.Text | Should -Match '10\.0\.0\.33'

        $posts = Get-RequestCount POST "/upstreams/$pool/servers"
        $again = Invoke-PwshFile (Script 'Add-MembersFromCsv.ps1') (@('-Path', $csv, '-Pool', $pool) + $connect)
        $again.ExitCode | Should -Be 0 -Because $again.Text
        Get-RequestCount POST "/upstreams/$pool/servers" | Should -Be $posts
        @(Get-Servers $pool).Count | Should -Be 3
    }

    It '-WhatIf shows each add and adds nothing' {
        $pool = New-Pool
        $csv = New-Csv "address;port`n10.0.0.41;80`n10.0.0.42;80`n"
        $run = Invoke-PwshFile (Script 'Add-MembersFromCsv.ps1') (@('-Path', $csv, '-Pool', $pool, '-Delimiter', ';', '-WhatIf') + $connect)
        $run.ExitCode | Should -Be 0 -Because $run.Text
        ([regex]::Matches($run.Text, 'What if: .*Add member 10\.0\.0\.4')).Count | Should -Be 2
        @(Get-Servers $pool).Count | Should -Be 0
    }

    It 'reports a bad row by number (CsvRowInvalid), adds the others and exits 1' {
        $pool = New-Pool
        $csv = New-Csv "Host,Port`n10.0.0.51,80`n10.0.0.52,http`n10.0.0.53,80`n"
        $run = Invoke-PwshFile (Script 'Add-MembersFromCsv.ps1') (@('-Path', $csv, '-Pool', $pool) + $connect)
        $run.ExitCode | Should -Be 1
        $run.Text | Should -Match 'row 2: a row needs an Address and a numeric Port'
        (Get-Servers $pool).server | Should -Be @('10.0.0.51:80', '10.0.0.53:80')

        $c = Connect-LbController -Provider NginxPlus -Endpoint $api
        try {
            $null = & (Script 'Add-MembersFromCsv.ps1') -Path $csv -Pool $pool -Connection $c -ErrorAction Continue -ErrorVariable problems 2>$null
            $problems[0].FullyQualifiedErrorId | Should -BeLike 'CsvRowInvalid*'
        }
        finally { Disconnect-LbController -Connection $c }
    }
}

Describe 'Get-PoolDriftReport.ps1' {
    It 'reports missing, unexpected, different and in-sync members, writes the CSV report and exits 1' {
        $pool = New-Pool
        Add-Server $pool '10.0.0.1:80'   # in sync
        Add-Server $pool '10.0.0.2:80'   # weight drifted
        Add-Server $pool '10.0.0.3:80'   # should be disabled
        Add-Server $pool '10.0.0.9:80'   # nobody asked for it
        $csv = New-Csv "ADDRESS,port,weight,state`n10.0.0.1,80,1,Enabled`n10.0.0.2,80,5,`n10.0.0.3,80,,Disabled`n10.0.0.4,80,2,`n"
        $report = Join-Path $TestDrive "reports/$pool-drift.csv"

        $run = Invoke-PwshFile (Script 'Get-PoolDriftReport.ps1') (@('-Path', $csv, '-Pool', $pool, '-ReportPath', $report, '-FailOnDrift') + $connect)
        $run.ExitCode | Should -Be 1 -Because $run.Text
        (Get-Content -Path $report -TotalCount 1) | Should -BeLike '"Pool","Address","Port","Name","Status",*'
        # Address, Status, DesiredState, ActualState, DesiredWeight, ActualWeight, as the CSV report has them.
        $expected = @(
            '10.0.0.1|InSync|Enabled|Enabled|1|1'
            '10.0.0.2|Different||Enabled|5|1'
            '10.0.0.3|Different|Disabled|Enabled||1'
            '10.0.0.9|Unexpected||Enabled||1'
            '10.0.0.4|Missing|||2|'
        )
        $rows = @(Import-Csv -Path $report)
        $rows | ForEach-Object { $_.Address, $_.Status, $_.DesiredState, $_.ActualState, $_.DesiredWeight, $_.ActualWeight -join '|' } | Should -Be $expected
        ($rows | Where-Object Address -eq '10.0.0.2').Detail | Should -Match 'Weight 5 expected, is 1'
        @(Get-Servers $pool).Count | Should -Be 4   # a report changes nothing
    }

    It 'exits 0 for a pool in sync, comparing addresses as the module does' {
        $pool = New-Pool
        Add-Server $pool '10.0.0.1:80' -Weight 3
        Add-Server $pool '10.0.0.2:80'
        $csv = New-Csv "Address,Port,Weight`n 10.0.0.1 ,80,3`n[10.0.0.2],80,`n"
        $run = Invoke-PwshFile (Script 'Get-PoolDriftReport.ps1') (@('-Path', $csv, '-Pool', $pool, '-FailOnDrift') + $connect)
        $run.ExitCode | Should -Be 0 -Because $run.Text
        ([regex]::Matches($run.Text, 'InSync')).Count | Should -Be 2
    }
}

Describe 'Invoke-RollingDeployment.ps1' {
    BeforeAll {
        # The deployment of one member, as a script file: records what the pool looked like at that moment,
        # restarts the member's real backend (the new version), and breaks the ones listed in $env:LBTOOLS_TEST_BROKEN.
        $deploy = Join-Path $TestDrive 'Deploy-Member.ps1'
        Set-Content -Path $deploy -Value @'
param($Member)
$self = Get-LbPoolMember -Pool $Member.Pool -Address $Member.Address -Port $Member.Port
$others = @(Get-LbPoolMember -Pool $Member.Pool | Where-Object { $_.Port -ne $Member.Port -and $_.State -ne 'Enabled' })
Add-Content -Path $env:LBTOOLS_TEST_LOG -Value ('{0} {1} active={2} othersOut={3}' -f $Member.Port, $self.State, $self.ActiveConnections, $others.Count)
$name = "$($Member.Pool)-b$($env:LBTOOLS_TEST_PORTS.Split(',').IndexOf([string] $Member.Port) + 1)"
Invoke-RestMethod -Method Post -Uri "$($env:LBTOOLS_TEST_STAGE)backends/$name/restart" | Out-Null
if ($env:LBTOOLS_TEST_BROKEN.Split(',') -contains [string] $Member.Port) { Invoke-RestMethod -Method Post -Uri "$($env:LBTOOLS_TEST_STAGE)backends/$name/healthy/false" | Out-Null }
'@
        $env:LBTOOLS_TEST_STAGE = $stage.Control
        $rolling = @('-HealthPath', '/healthz', '-ProbeTimeoutSec', '1', '-PollIntervalSec', '0.05', '-DrainTimeoutSec', '10', '-DeployScript', $deploy)
        function Set-DeployContext($Backends, [int[]] $Broken = @()) {
            $env:LBTOOLS_TEST_LOG = Join-Path $TestDrive "$([guid]::NewGuid().ToString('N')).log"
            $env:LBTOOLS_TEST_PORTS = ($Backends | ForEach-Object port) -join ','
            $env:LBTOOLS_TEST_BROKEN = $Broken -join ','
        }
        function Get-DeployLog { if (Test-Path $env:LBTOOLS_TEST_LOG) { @(Get-Content -Path $env:LBTOOLS_TEST_LOG) } else { @() } }
    }
    AfterAll { Remove-Item Env:LBTOOLS_TEST_* }

    It 'drains, deploys, probes and re-enables each member in order, one at a time' {
        $pool = New-Pool
        $backends = @(New-Backends $pool 3)
        foreach ($b in $backends) { Invoke-LbStage $stage "/nginx/upstreams/$pool/servers/active" -Body @{ server = $b.address; active = 3 } }
        Invoke-LbStage $stage /nginx/drain-per-read/1   # connections finish as the script polls
        Set-DeployContext $backends

        $run = Invoke-PwshFile (Script 'Invoke-RollingDeployment.ps1') (@('-Pool', $pool, '-HealthTimeoutSec', '5') + $rolling + $connect)
        $run.ExitCode | Should -Be 0 -Because $run.Text
        # Each member was deployed while draining with no connections left, and while every other member was in rotation.
        Get-DeployLog | Should -Be @($backends | ForEach-Object { "$($_.port) Draining active=0 othersOut=0" })
        ([regex]::Matches($run.Text, 'Deployed')).Count | Should -BeGreaterOrEqual 3
        Get-Servers $pool | ForEach-Object { $_.down -or $_.drain | Should -BeFalse -Because $_.server }
        $backends | ForEach-Object { (Invoke-LbStage $stage "/backends/$($_.name)" -Method Get).healthCheckCount | Should -BeGreaterOrEqual 2 }
    }

    It 'stops at a member that does not come back healthy and leaves the rest untouched' {
        $pool = New-Pool
        $backends = @(New-Backends $pool 3)
        Set-DeployContext $backends -Broken $backends[1].port

        $run = Invoke-PwshFile (Script 'Invoke-RollingDeployment.ps1') (@('-Pool', $pool, '-HealthTimeoutSec', '1') + $rolling + $connect)
        $run.ExitCode | Should -Be 1 -Because $run.Text
        $run.Text | Should -Match 'HTTP 503'
        @(Get-DeployLog).Count | Should -Be 2   # the third member was never deployed
        (Get-Server $pool $backends[0].address).drain | Should -BeFalse   # done: back in rotation
        (Get-Server $pool $backends[1].address).drain | Should -BeTrue    # failed: left out of rotation
        $untouched = Get-Server $pool $backends[2].address
        $untouched.drain -or $untouched.down | Should -BeFalse
        Get-RequestCount PATCH "/upstreams/$pool/servers/$($untouched.id)" | Should -Be 0
    }

    It '-WhatIf lists the plan and changes nothing' {
        $pool = New-Pool
        $backends = @(New-Backends $pool 2)
        Set-DeployContext $backends
        $run = Invoke-PwshFile (Script 'Invoke-RollingDeployment.ps1') (@('-Pool', $pool, '-WhatIf') + $rolling + $connect)
        $run.ExitCode | Should -Be 0 -Because $run.Text
        ([regex]::Matches($run.Text, 'What if: .*Take out of rotation \(Draining\), deploy')).Count | Should -Be 2
        Get-DeployLog | Should -BeNullOrEmpty
        Get-RequestCount PATCH "/upstreams/$pool/servers" | Should -Be 0
    }

    It 'refuses to run without a deployment, naming both ways to give one' {
        $pool = New-Pool
        $run = Invoke-PwshFile (Script 'Invoke-RollingDeployment.ps1') (@('-Pool', $pool) + $connect)
        $run.ExitCode | Should -Not -Be 0
        $run.Text | Should -Match '-Deploy .*-DeployScript'
    }
}

Describe 'Invoke-SelfHealing.ps1' {
    BeforeAll {
        $env:LBTOOLS_ALERT_SLACK_URI = "${hooks}slack"
        function Invoke-Heal([string] $Pool, [string] $StateDirectory, [string[]] $Extra = @()) {
            Invoke-PwshFile (Script 'Invoke-SelfHealing.ps1') (@('-Provider', 'NginxPlus', '-Endpoint', $api, '-Pool', $Pool, '-HealthPath', '/healthz', '-ProbeTimeoutSec', '1',
                    '-FailureThreshold', '3', '-RecoveryThreshold', '2', '-StateDirectory', $StateDirectory) + $Extra)
        }
        function Get-SlackAlerts { @(Invoke-LbStage $stage /hooks/received -Method Get | Where-Object path -eq '/slack') }
        # A pool of four real backends, one of them stopped, and two scheduled runs behind it (one short of ejection).
        function New-FailingPool([int] $Down) {
            $pool = New-Pool
            $dir = Join-Path $TestDrive $pool
            $backends = @(New-Backends $pool 4)
            $null = Invoke-LbStage $stage "/backends/$($backends[$Down].name)/stop"
            $runs = @(Invoke-Heal $pool $dir; Invoke-Heal $pool $dir)
            [pscustomobject]@{ Pool = $pool; Directory = $dir; Backends = $backends; Runs = $runs }
        }
    }
    AfterAll { Remove-Item Env:LBTOOLS_ALERT_SLACK_URI }

    It 'ejects on the third scheduled run through its state file and restores after two good runs' {
        $alertsBefore = @(Get-SlackAlerts).Count
        $failing = New-FailingPool -Down 2
        $pool = $failing.Pool
        $dir = $failing.Directory
        $backends = $failing.Backends
        foreach ($result in $failing.Runs) {
            $result.ExitCode | Should -Be 0 -Because $result.Text
            $result.Text | Should -Match 'Detected'
        }
        (Get-Server $pool $backends[2].address).down | Should -BeFalse
        $third = Invoke-Heal $pool $dir
        $third.ExitCode | Should -Be 0 -Because $third.Text
        (Get-Server $pool $backends[2].address).down | Should -BeTrue
        $alerts = @(Get-SlackAlerts | Select-Object -Skip $alertsBefore)
        @($alerts | Where-Object { ($_.body | ConvertFrom-Json).text -match 'ejected' }).Count | Should -Be 1

        $state = @(Get-ChildItem -Path $dir -Filter "$pool.*.state.json")
        $journal = @(Get-ChildItem -Path $dir -Filter "$pool.*.journal.jsonl")
        $state.Count | Should -Be 1
        @(Get-Content -Path $journal[0].FullName | ForEach-Object { ConvertFrom-Json -InputObject $_ } | Where-Object type -eq 'Detected').Count | Should -Be 3

        Invoke-LbStage $stage "/backends/$($backends[2].name)/restart"
        $null = Invoke-Heal $pool $dir
        (Get-Server $pool $backends[2].address).down | Should -BeTrue
        $restored = Invoke-Heal $pool $dir
        $restored.Text | Should -Match 'Restored'
        (Get-Server $pool $backends[2].address).down | Should -BeFalse
    }

    It '-WhatIf starts from the real counts but never adds to them' {
        $failing = New-FailingPool -Down 0
        $pool = $failing.Pool
        $dir = $failing.Directory
        $backends = $failing.Backends
        $state = (Get-ChildItem -Path $dir -Filter "$pool.*.state.json").FullName
        $journal = (Get-ChildItem -Path $dir -Filter "$pool.*.journal.jsonl").FullName
        $stateBefore = Get-Content -Raw $state
        $journalBefore = Get-Content -Raw $journal
        $alertsBefore = @(Get-SlackAlerts).Count

        $trial = Invoke-Heal $pool $dir -Extra '-WhatIf'
        $trial.Text | Should -Match 'What if: .*Eject \(Disable\)'
        (Get-Server $pool $backends[0].address).down | Should -BeFalse
        Get-Content -Raw $state | Should -Be $stateBefore
        Get-Content -Raw $journal | Should -Be $journalBefore
        @(Get-SlackAlerts).Count | Should -Be $alertsBefore

        $null = Invoke-Heal $pool $dir   # the trial did not count: this is the third real run
        (Get-Server $pool $backends[0].address).down | Should -BeTrue
    }

    It 'exits 1 when an alert cannot be delivered, never shows the webhook URL, and skips a run while another holds the lock' {
        Invoke-LbStage $stage '/hooks/respond/500?path=/slack'
        try {
            $failing = New-FailingPool -Down 3
            $pool = $failing.Pool
            $dir = $failing.Directory
            $backends = $failing.Backends
            $failedAlert = Invoke-Heal $pool $dir
            (Get-Server $pool $backends[3].address).down | Should -BeTrue
            $failedAlert.ExitCode | Should -Be 1
            $failedAlert.Text | Should -Not -Match ([regex]::Escape($hooks))
        }
        finally { Invoke-LbStage $stage '/hooks/respond/202?path=/slack' }

        $state = (Get-ChildItem -Path $dir -Filter "$pool.*.state.json").FullName
        $reads = Get-RequestCount GET "/upstreams/$pool"
        $lock = [System.IO.File]::Open("$state.run.lock", 'OpenOrCreate', 'ReadWrite', 'None')
        try {
            $skipped = Invoke-Heal $pool $dir
            $skipped.ExitCode | Should -Be 0
            $skipped.Text | Should -Match "Another run for pool '$pool'"
        }
        finally { $lock.Dispose() }
        Get-RequestCount GET "/upstreams/$pool" | Should -Be $reads
    }
}
