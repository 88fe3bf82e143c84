using System;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.Contract
{
    /// <summary>
    /// The behaviour every provider owes its users, run through the real PowerShell engine. A provider
    /// joins by subclassing with a target that starts its emulator or real load balancer.
    /// </summary>
    public abstract class ProviderContractTests : IAsyncLifetime
    {
        protected IContractTarget Target { get; private set; } = null!;
        protected PsSession Ps { get; private set; } = null!;

        protected abstract Task<IContractTarget> StartTargetAsync();

        public async Task InitializeAsync()
        {
            Target = await StartTargetAsync();
            Ps = new PsSession();
            var connected = Ps.Run(Target.ConnectScript + " | Out-Null");
            Assert.False(connected.HadErrors, connected.ToString());
        }

        public async Task DisposeAsync()
        {
            Ps?.Dispose();
            if (Target != null) await Target.DisposeAsync();
        }

        private string Pool => Target.Pool;
        private (string Address, int Port) New => Target.NewMembers[0];

        protected PsResult Members() => Ps.Run($"Get-LbPoolMember -Pool '{Pool}'");

        private static bool Has(PsResult r, string address, int port) =>
            r.Output.Any(o => (string)o.Properties["Address"].Value == address && (int)o.Properties["Port"].Value == port);

        [Fact]
        public void Declares_its_capabilities_on_the_connection()
        {
            // Shown by name, so ConvertTo-Json and Export-Csv write "Disable, Drain", not a number.
            var r = Ps.Run("(Get-LbConnection -Default).Capabilities");
            Assert.Equal(Target.Capabilities.ToString(), r.Output.Single().BaseObject);
        }

        [Fact]
        public void Lists_the_pool()
        {
            var r = Ps.Run("Get-LbPool");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Contains(r.Output, o => (string)o.Properties["Pool"].Value == Pool);
            Assert.All(r.Output, o => Assert.Equal("LoadBalancerTools.Model.LbPool", o.TypeNames[0]));
        }

        [Fact]
        public void Lists_members_as_typed_objects()
        {
            var r = Members();
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(Target.SeededMembers.OrderBy(m => m.Address).ThenBy(m => m.Port),
                r.Output.Select(o => ((string)o.Properties["Address"].Value, (int)o.Properties["Port"].Value)).OrderBy(m => m.Item1).ThenBy(m => m.Item2));
            Assert.All(r.Output, o =>
            {
                Assert.Equal("LoadBalancerTools.Model.LbPoolMember", o.TypeNames[0]);
                Assert.Equal(Pool, o.Properties["Pool"].Value);
                // The state by name (ConvertTo-Json writes it so), always one of the model's states.
                Assert.True(Enum.TryParse<LbMemberState>((string)o.Properties["State"].Value, out _));
            });
        }

        [Fact]
        public void Adds_a_member_once_and_a_second_add_changes_nothing()
        {
            var added = Ps.Run($"Add-LbPoolMember -Pool '{Pool}' -Address {New.Address} -Port {New.Port} -PassThru");
            Assert.False(added.HadErrors, added.ToString());
            Assert.Equal(New.Address, added.Prop<string>(0, "Address"));

            var again = Ps.Run($"Add-LbPoolMember -Pool '{Pool}' -Address {New.Address} -Port {New.Port} -Verbose");
            Assert.False(again.HadErrors, again.ToString());
            Assert.Contains(again.Verbose, v => v.Contains("already a member"));

            var members = Members();
            Assert.Single(members.Output, o => (string)o.Properties["Address"].Value == New.Address && (int)o.Properties["Port"].Value == New.Port);
            Assert.Equal(Target.SeededMembers.Count + 1, members.Output.Count);
        }

        [Fact]
        public void Removes_a_member_and_removing_it_again_is_not_an_error()
        {
            var (address, port) = Target.SeededMembers[0];
            var removed = Ps.Run($"Get-LbPoolMember -Pool '{Pool}' -Address {address} -Port {port} | Remove-LbPoolMember -Confirm:$false");
            Assert.False(removed.HadErrors, removed.ToString());
            Assert.False(Has(Members(), address, port));

            var again = Ps.Run($"Remove-LbPoolMember -Pool '{Pool}' -Address {address} -Port {port} -Confirm:$false -Verbose");
            Assert.False(again.HadErrors, again.ToString());
            Assert.Contains(again.Verbose, v => v.Contains("does not exist"));
        }

        [Fact]
        public void WhatIf_says_what_would_change_and_changes_nothing()
        {
            var r = Ps.Run($"Add-LbPoolMember -Pool '{Pool}' -Address {New.Address} -Port {New.Port} -WhatIf; " +
                           $"Remove-LbPoolMember -Pool '{Pool}' -Address {Target.SeededMembers[0].Address} -Port {Target.SeededMembers[0].Port} -WhatIf");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Contains(r.HostLines, l => l.StartsWith("What if:") && l.Contains("Add member") && l.Contains(New.Address));
            Assert.Contains(r.HostLines, l => l.StartsWith("What if:") && l.Contains("Remove") && l.Contains(Target.SeededMembers[0].Address));
            Assert.Equal(Target.SeededMembers.Count, Members().Output.Count);
        }

        [Theory]
        [InlineData("Disabled", LbCapabilities.Disable, LbMemberState.Disabled)]
        [InlineData("Drain", LbCapabilities.Drain, LbMemberState.Draining)]
        public void Changes_state_where_supported_and_refuses_clearly_where_not(string state, LbCapabilities needs, LbMemberState expected)
        {
            var (address, port) = Target.SeededMembers[0];
            var r = Ps.Run($"Set-LbPoolMember -Pool '{Pool}' -Address {address} -Port {port} -State {state} -PassThru");
            if (Target.Capabilities.HasFlag(needs))
            {
                Assert.False(r.HadErrors, r.ToString());
                var read = Ps.Run($"Get-LbPoolMember -Pool '{Pool}' -Address {address} -Port {port}");
                Assert.Equal(expected, read.Prop<LbMemberState>(0, "State"));

                var back = Ps.Run($"Set-LbPoolMember -Pool '{Pool}' -Address {address} -Port {port} -State Enabled -PassThru");
                Assert.False(back.HadErrors, back.ToString());
                Assert.Equal(LbMemberState.Enabled, Ps.Run($"Get-LbPoolMember -Pool '{Pool}' -Address {address} -Port {port}").Prop<LbMemberState>(0, "State"));
            }
            else
            {
                var error = Assert.Single(r.Errors);
                Assert.StartsWith("LbNotSupported,", error.FullyQualifiedErrorId);
                Assert.Contains("is not supported by ", error.Exception.Message);
                Assert.Equal(LbMemberState.Enabled, Ps.Run($"Get-LbPoolMember -Pool '{Pool}' -Address {address} -Port {port}").Prop<LbMemberState>(0, "State"));
            }
        }

        [Fact]
        public void Changes_weight_where_supported()
        {
            var (address, port) = Target.SeededMembers[0];
            var r = Ps.Run($"Set-LbPoolMember -Pool '{Pool}' -Address {address} -Port {port} -Weight 7 -PassThru");
            if (Target.Capabilities.HasFlag(LbCapabilities.Weight))
            {
                Assert.False(r.HadErrors, r.ToString());
                Assert.Equal(7, Ps.Run($"Get-LbPoolMember -Pool '{Pool}' -Address {address} -Port {port}").Prop<int>(0, "Weight"));
            }
            else
            {
                Assert.StartsWith("LbNotSupported,", Assert.Single(r.Errors).FullyQualifiedErrorId);
            }
        }

        [Fact]
        public void Bad_input_gives_error_records_naming_the_value_and_the_pipeline_goes_on()
        {
            var r = Ps.Run(
                $"@([pscustomobject]@{{ Address = 'not an address'; Port = 80 }}, [pscustomobject]@{{ Address = '{New.Address}'; Port = 70000 }}, " +
                $"[pscustomobject]@{{ Address = '{New.Address}'; Port = {New.Port} }}) | Add-LbPoolMember -Pool '{Pool}' -PassThru");
            Assert.Equal(2, r.Errors.Count);
            Assert.StartsWith("LbInvalidAddress,", r.Errors[0].FullyQualifiedErrorId);
            Assert.Contains("'not an address'", r.Errors[0].Exception.Message);
            Assert.StartsWith("LbInvalidPort,", r.Errors[1].FullyQualifiedErrorId);
            Assert.Contains("70000", r.Errors[1].Exception.Message);
            // The error points at what was asked, as an LbMemberSpec (never the endpoint text): scripts read $_.TargetObject.Address.
            var badAddress = Assert.IsType<LbMemberSpec>(r.Errors[0].TargetObject);
            Assert.Equal(("not an address", 80), (badAddress.Address, badAddress.Port));
            Assert.Equal(70000, Assert.IsType<LbMemberSpec>(r.Errors[1].TargetObject).Port);
            Assert.Single(r.Output); // the good row after the bad ones was still added

            // Typed, not piped: the same; and for a cmdlet that acts on an existing member.
            var typed = Ps.Run($"Add-LbPoolMember -Pool '{Pool}' -Address 'not an ip!' -Port 80");
            Assert.Equal("not an ip!", Assert.IsType<LbMemberSpec>(Assert.Single(typed.Errors).TargetObject).Address);
            var set = Ps.Run($"Set-LbPoolMember -Pool '{Pool}' -Address '{New.Address}' -Port 70000 -Weight 1 -Confirm:$false");
            Assert.Equal(70000, Assert.IsType<LbMemberSpec>(Assert.Single(set.Errors).TargetObject).Port);
        }

        [Fact]
        public void An_unknown_pool_is_an_error_naming_the_pool()
        {
            var r = Ps.Run("Get-LbPoolMember -Pool 'no-such-pool'");
            var error = Assert.Single(r.Errors);
            Assert.StartsWith("LbPoolNotFound,", error.FullyQualifiedErrorId);
            Assert.Equal(System.Management.Automation.ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
            Assert.Contains("no-such-pool", error.Exception.Message + error.TargetObject);
            // In the module's words for every vendor (HAProxy itself says only "Can't find backend."): the pool and the endpoint.
            string endpoint = Ps.Run("(Get-LbConnection -Default).Endpoint.ToString()").Output.Single().ToString();
            Assert.StartsWith("Pool 'no-such-pool' was not found on ", error.Exception.Message);
            Assert.Contains(" at " + endpoint, error.Exception.Message);
            Assert.Equal("no-such-pool", error.TargetObject);

            // Get-LbPool names a missing literal pool in the very same words (hint included), pointing at the name.
            var pools = Ps.Run("Get-LbPool -Name 'no-such-pool'");
            var poolError = Assert.Single(pools.Errors);
            Assert.StartsWith("LbPoolNotFound,", poolError.FullyQualifiedErrorId);
            Assert.Equal(error.Exception.Message, poolError.Exception.Message);
            Assert.Equal("no-such-pool", poolError.TargetObject);

            // The same words when a change names the missing pool.
            var set = Ps.Run($"Remove-LbPoolMember -Pool 'no-such-pool' -Address {New.Address} -Port {New.Port} -Confirm:$false");
            var setError = Assert.Single(set.AllErrors);
            Assert.StartsWith("LbPoolNotFound,", setError.FullyQualifiedErrorId);
            Assert.StartsWith("Pool 'no-such-pool' was not found on ", setError.Exception.Message);
        }

        /// <summary>A sample value per member option, as Add-LbPoolMember takes it (TlsCaFile needs a file on the load balancer, so it is left to the HAProxy tests).</summary>
        private static readonly (string Name, string Argument, Func<LbMemberOptions, object?> Read, object Expected)[] OptionSamples =
        {
            ("MaxConnections", "-MaxConnections 5", o => o.MaxConnections, 5),
            ("SlowStartSec", "-SlowStartSec 10", o => o.SlowStartSec, 10),
            ("MaxFails", "-MaxFails 2", o => o.MaxFails, 2),
            ("FailTimeoutSec", "-FailTimeoutSec 20", o => o.FailTimeoutSec, 20),
            ("Route", "-Route r1", o => o.Route, "r1"),
            ("Backup", "-Backup", o => o.Backup, true),
            ("PriorityGroup", "-PriorityGroup 2", o => o.PriorityGroup, 2),
            ("ConnectionLimit", "-ConnectionLimit 50", o => o.ConnectionLimit, 50),
            ("Monitor", "-Monitor /Common/http", o => o.Monitor, "/Common/http"),
            ("Tls", "-Tls", o => o.Tls, true),
            ("CheckAddress", "-CheckAddress 127.0.0.1", o => o.CheckAddress, "127.0.0.1"),
            ("CheckPort", "-CheckPort 8081", o => o.CheckPort, 8081),
        };

        [Fact]
        public void Member_options_are_applied_and_read_back_where_supported_and_refused_elsewhere()
        {
            string provider = (string)Ps.Run("(Get-LbConnection -Default).Provider").Output.Single().BaseObject;
            var supported = Providers.ProviderRegistry.SupportedOptions(provider);
            var (address, port) = New;

            foreach (var sample in OptionSamples.Where(o => !supported.Contains(o.Name)))
            {
                var refused = Ps.Run($"Add-LbPoolMember -Pool '{Pool}' -Address {address} -Port {port} {sample.Argument}");
                var e = Assert.Single(refused.Errors);
                Assert.StartsWith("LbNotSupported,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
                Assert.Contains(sample.Name, e.Exception.Message);
            }
            Assert.False(Has(Members(), address, port), "a refused add changed the pool");

            var given = OptionSamples.Where(o => supported.Contains(o.Name)).ToList();
            if (given.Count == 0) return; // Caddy, NetScaler, ELBv2 have no member options: every one was refused above.
            var add = Ps.Run($"Add-LbPoolMember -Pool '{Pool}' -Address {address} -Port {port} {string.Join(" ", given.Select(g => g.Argument))} -PassThru");
            Assert.False(add.HadErrors, add.ToString());
            var read = Members().Output.Select(o => (LbPoolMember)o.BaseObject).Single(m => m.Address == address && m.Port == port).Options!;
            foreach (var g in given) Assert.True(Equals(g.Expected, g.Read(read)), $"{g.Name}: sent {g.Expected}, read back {g.Read(read) ?? "(nothing)"}");
        }

        [Fact]
        public void Read_only_members_are_listed_as_such_and_never_changed()
        {
            var readOnly = Target.AddReadOnlyMember();
            var members = Members().Output.Select(o => (LbPoolMember)o.BaseObject).ToList();
            if (readOnly == null)
            {
                // Vendors without API-immutable members: every member can be changed.
                Assert.All(members, m => Assert.False(m.ReadOnly, $"{m} reads read-only"));
                return;
            }
            var (address, port) = readOnly.Value;
            var member = members.Single(m => m.Address == address && m.Port == port);
            Assert.True(member.ReadOnly);
            var r = Ps.Run($"Get-LbPoolMember -Pool '{Pool}' -Address {address} -Port {port} | Remove-LbPoolMember -Confirm:$false");
            Assert.StartsWith("LbNotSupported,", Assert.Single(r.Errors).FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.True(Has(Members(), address, port));
        }
    }
}
