using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.Tests.NginxPlus;

namespace LoadBalancerTools.Tests.Output
{
    /// <summary>
    /// What users do with the module's output in the full engine (Microsoft.PowerShell.SDK: Export-Csv,
    /// ConvertTo-Json, Select-Object, Sort-Object): clean columns, enum names, no vendor record or connection
    /// unless asked for by name, the table's column names usable as property names.
    /// </summary>
    public sealed class CleanOutputTests : NginxPlusTestBase, System.IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lbtools-output-" + Guid.NewGuid().ToString("N"));

        public CleanOutputTests() => Directory.CreateDirectory(_dir);

        public void Dispose() => Directory.Delete(_dir, true);

        /// <summary>Beside the base's 10.0.0.1 and 10.0.0.2: a draining member, a weighted one, and connections to sort by.</summary>
        private void Seed()
        {
            Nginx.AddServer("web", "10.0.0.3:80", weight: 3);
            Nginx.SetPeerState("web", "10.0.0.2:80", "draining");
            Nginx.SetActiveConnections("web", "10.0.0.1:80", 7);
            Nginx.SetActiveConnections("web", "10.0.0.2:80", 2);
            Nginx.SetActiveConnections("web", "10.0.0.3:80", 12);
        }

        private PsResult Run(string script)
        {
            var r = Ps.Run(script);
            Assert.False(r.HadErrors, r.ToString());
            return r;
        }

        [Fact]
        public void Export_Csv_of_members_has_clean_columns_with_state_names_and_no_vendor_record_or_connection()
        {
            Seed();
            string csv = Path.Combine(_dir, "members.csv");
            Run($"Get-LbPoolMember -Pool web | Export-Csv -Path '{csv}' -NoTypeInformation");
            var lines = File.ReadAllLines(csv);
            var header = lines[0].Split(',').Select(h => h.Trim('"')).ToList();
            Assert.DoesNotContain("Raw", header);
            Assert.DoesNotContain("Connection", header);
            Assert.Contains("State", header);
            Assert.Contains("Health", header);
            Assert.Contains("MemberId", header);
            Assert.All(lines.Skip(1), l => Assert.DoesNotContain("System.", l));
            // Read back as a user would: the state is its name, and rows pipe on by property name.
            var rows = Run($"Import-Csv -Path '{csv}' | Sort-Object Address | ForEach-Object {{ $_.Address + ' ' + $_.State + ' ' + $_.Weight }}");
            Assert.Equal(new[] { "10.0.0.1 Enabled 1", "10.0.0.2 Draining 1", "10.0.0.3 Enabled 3" }, rows.Output.Select(o => o.ToString()));
        }

        [Fact]
        public void ConvertTo_Json_writes_enum_names_leaves_out_Raw_and_Connection_and_stays_small()
        {
            Seed();
            var r = Run("Get-LbPoolMember -Pool web -Address 10.0.0.2 -Port 80 | ConvertTo-Json");
            string json = (string)r.Output.Single().BaseObject;
            using var doc = System.Text.Json.JsonDocument.Parse(json);
            var root = doc.RootElement;
            Assert.Equal("Draining", root.GetProperty("State").GetString());
            Assert.Equal(System.Text.Json.JsonValueKind.String, root.GetProperty("Health").ValueKind);
            Assert.False(root.TryGetProperty("Raw", out _), json);
            Assert.False(root.TryGetProperty("Connection", out _), json);
            Assert.Equal("10.0.0.2", root.GetProperty("Address").GetString());
            // Was about 4.6 KB per member with the vendor record and the connection; the measured size is in the README.
            Assert.True(Encoding.UTF8.GetByteCount(json) < 1500, $"{Encoding.UTF8.GetByteCount(json)} bytes: {json}");

            // Pools, changes and connections as well: names, not numbers; no connection.
            string pool = (string)Run("Get-LbPool -Name web | ConvertTo-Json -Compress").Output.Single().BaseObject;
            Assert.DoesNotContain("\"Raw\"", pool);
            Assert.DoesNotContain("\"Connection\"", pool);
            string connection = (string)Run("Get-LbConnection | ConvertTo-Json -Compress").Output.Single().BaseObject;
            Assert.Contains("\"Capabilities\":\"", connection);
            string channel = (string)Run("New-LbAlertChannel -Type Teams -Uri https://hooks.example.test/x | ConvertTo-Json -Compress").Output.Single().BaseObject;
            Assert.Contains("\"Type\":\"Teams\"", channel);
            Assert.DoesNotContain("hooks.example.test", channel);   // the webhook URL is a secret
        }

        [Fact]
        public void Raw_and_Connection_are_hidden_yet_read_by_name()
        {
            Seed();
            var r = Run("$m = Get-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80\n" +
                        "($m | Get-Member -Name Raw, Connection).Count\n" +
                        "($m | Get-Member -Name Raw, Connection -Force).Count\n" +
                        "$null -ne $m.Raw\n" +
                        "$m.Connection.Provider\n" +
                        "($m | Select-Object Address, Raw).Raw -ne $null\n" +
                        "($m | Select-Object *).PSObject.Properties.Name -contains 'Raw'");
            Assert.Equal(new object[] { 0, 2, true, "NginxPlus", true, false }, r.Output.Select(o => o.BaseObject).ToArray());
        }

        [Fact]
        public async System.Threading.Tasks.Task The_hidden_Connection_still_binds_down_the_pipeline()
        {
            // A second load balancer becomes the default; pools read from the first must still reach the first.
            await using var other = await LoadBalancerTools.TestKit.NginxPlusEmulator.StartAsync();
            other.AddUpstream("web");
            other.AddServer("web", "10.9.9.9:80");
            var r = Run("$first = Get-LbConnection -Default\n" +
                        $"Connect-LbController -Provider NginxPlus -Endpoint '{other.ApiBase}' | Out-Null\n" +
                        "Get-LbPool -Connection $first | Get-LbPoolMember | ForEach-Object { $_.Address + ' ' + $_.Connection.Endpoint }\n" +
                        "Get-LbPoolMember -Pool web | ForEach-Object { $_.Address + ' ' + $_.Connection.Endpoint }");
            Assert.Equal(new[] { $"10.0.0.1 {Nginx.ApiBase}", $"10.0.0.2 {Nginx.ApiBase}", $"10.9.9.9 {other.ApiBase}" }, r.Output.Select(o => o.ToString()));
        }

        [Fact]
        public void The_table_column_names_work_in_Select_Object_and_Sort_Object()
        {
            Seed();
            var pools = Run("Get-LbPool | Select-Object Pool, Members, Healthy | ForEach-Object { '{0} {1} {2}' -f $_.Pool, $_.Members, $_.Healthy }");
            Assert.Equal("web 3 2", Assert.Single(pools.Output).ToString());   // NGINX Plus counts a draining peer as not "up"
            var sorted = Run("Get-LbPoolMember -Pool web | Sort-Object Active -Descending | ForEach-Object { '{0} {1}' -f $_.Address, $_.Active }");
            Assert.Equal(new[] { "10.0.0.3 12", "10.0.0.1 7", "10.0.0.2 2" }, sorted.Output.Select(o => o.ToString()));
            var connection = Run("Get-LbConnection | Select-Object Provider, Credential, Default, Connected | ForEach-Object { '{0} {1} {2} {3}' -f $_.Provider, $_.Credential, $_.Default, $_.Connected }");
            Assert.Equal("NginxPlus None True True", Assert.Single(connection.Output).ToString());
        }

        [Fact]
        public void Enum_typed_comparisons_and_state_parameters_bind_from_the_names()
        {
            Seed();
            var r = Run("(Get-LbPoolMember -Pool web | Where-Object State -eq ([LoadBalancerTools.Model.LbMemberState]::Draining)).Address\n" +
                        "(Get-LbPoolMember -Pool web | Where-Object State -eq Draining).Address");
            Assert.Equal(new[] { "10.0.0.2", "10.0.0.2" }, r.Output.Select(o => o.ToString()));
        }

        [Fact]
        public void Draining_is_the_one_word_and_the_old_words_still_work()
        {
            Seed();
            Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -State Draining -Confirm:$false");
            Assert.True(Nginx.GetServers("web").Single(s => s.Server == "10.0.0.1:80").Drain);
            Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -State Enabled -Confirm:$false");
            Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -State Drain -Confirm:$false");   // the word of 0.1 scripts
            Assert.True(Nginx.GetServers("web").Single(s => s.Server == "10.0.0.1:80").Drain);

            Nginx.SetActiveConnections("web", "10.0.0.2:80", 0);
            var waited = Run("Wait-LbPoolMember -Pool web -Address 10.0.0.2 -Port 80 -State Draining -TimeoutSec 10 -PollIntervalSec 0.05\n" +
                             "Wait-LbPoolMember -Pool web -Address 10.0.0.2 -Port 80 -State Drained -TimeoutSec 10 -PollIntervalSec 0.05");
            Assert.Equal(2, waited.Output.Count);
            Assert.All(waited.Output, o => Assert.Equal("Draining", o.Properties["State"].Value));

            // A wrong word names the choices, as PowerShell does for an enum.
            var bad = Ps.Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -State Drainage");
            Assert.Contains("Enabled, Disabled, Draining, ForcedOffline", bad.AllErrors.Single().ToString());
        }

        [Fact]
        public void Syntax_and_help_show_the_state_names_not_nested_type_names()
        {
            Seed();
            var r = Run("Get-Command Set-LbPoolMember, Wait-LbPoolMember, Add-LbPoolMember -Syntax | Out-String -Width 1000\n" +
                        "(Get-Help Set-LbPoolMember).syntax | Out-String -Width 1000\n" +
                        "(Get-Help Wait-LbPoolMember).syntax | Out-String -Width 1000");
            // Get-Command: the model's enum types, which scripts can name; no nested cmdlet types.
            string syntax = r.Output[0].ToString();
            Assert.Contains("-State <LbMemberState>", syntax);
            Assert.Contains("-State <LbWaitCondition>", syntax);
            Assert.DoesNotContain("+", syntax);
            // Get-Help: the names to type.
            Assert.Contains("-State {Enabled | Disabled | Draining | ForcedOffline}", r.Output[1].ToString());
            Assert.Contains("-State {Healthy | Draining | Absent}", r.Output[2].ToString());
        }

        [Fact]
        public void Error_records_point_at_the_member_or_what_was_asked_for()
        {
            Seed();
            // By address: what was asked for, as an object with the address and port.
            var missing = Ps.Run("Set-LbPoolMember -Pool web -Address 10.0.0.99 -Port 80 -Weight 2 -Confirm:$false");
            var spec = Assert.IsType<LbMemberSpec>(missing.AllErrors.Single().TargetObject);
            Assert.Equal(("10.0.0.99", 80), (spec.Address, spec.Port));

            // Piped: the member object itself.
            var piped = Ps.Run("Get-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 | Set-LbPoolMember -Weight 0 -Confirm:$false");
            var error = Assert.Single(piped.AllErrors);
            var member = Assert.IsType<LbPoolMember>(error.TargetObject);
            Assert.Equal("10.0.0.1", member.Address);

            // An add: the spec.
            var add = Ps.Run("Add-LbPoolMember -Pool nosuch -Address 10.0.0.5 -Port 80 -Confirm:$false");
            Assert.Equal("10.0.0.5", Assert.IsType<LbMemberSpec>(add.AllErrors.First().TargetObject).Address);
        }

        [Fact]
        public void An_unknown_pool_is_named_in_the_module_s_words()
        {
            Seed();
            var r = Ps.Run("Get-LbPoolMember -Pool nosuch");
            var error = Assert.Single(r.AllErrors);
            Assert.StartsWith("LbPoolNotFound", error.FullyQualifiedErrorId);
            Assert.Contains("Pool 'nosuch' was not found on NginxPlus at " + Nginx.ApiBase, error.Exception.Message);
        }
    }
}
