using System;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.F5
{
    /// <summary>
    /// Piped Add-LbPoolMember and Remove-LbPoolMember on F5 BIG-IP go in transactions (all or nothing); a
    /// transaction the device refuses is retried member by member, so the one record it refused carries the error.
    /// </summary>
    public sealed class F5PipelineBatchTests : IAsyncLifetime
    {
        private F5Emulator _f5 = null!;
        private PsSession _ps = null!;

        public async Task InitializeAsync()
        {
            _f5 = await F5Emulator.StartAsync();
            _f5.AddPool("web");
            _ps = new PsSession();
            Assert.False(_ps.Run(F5Support.ConnectScript(_f5) + " | Out-Null").HadErrors);
        }

        public async Task DisposeAsync()
        {
            _ps?.Dispose();
            if (_f5 != null) await _f5.DisposeAsync();
        }

        [Fact]
        public void Thirty_piped_adds_are_one_transaction_and_thirty_output_objects()
        {
            var r = _ps.Run("1..30 | ForEach-Object { [pscustomobject]@{ Address = \"10.6.0.$_\"; Port = 80 } } | Add-LbPoolMember -Pool web -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(30, r.Output.Count);
            Assert.Equal(30, _f5.GetMembers("web").Count);
            Assert.Equal(1, _f5.CommittedTransactions);
        }

        [Fact]
        public void A_refused_transaction_is_retried_member_by_member_and_only_the_bad_record_fails()
        {
            // BIG-IP refuses a member whose node would be a host name ("invalid IP address ... for a new node"),
            // which fails the whole transaction at commit.
            var r = _ps.Run("@('10.6.0.1', '10.6.0.2', 'app-z.example', '10.6.0.4') | ForEach-Object { [pscustomobject]@{ Address = $_; Port = 80 } } | " +
                            "Add-LbPoolMember -Pool web -PassThru");

            var error = Assert.Single(r.Errors);
            Assert.Equal("app-z.example:80", error.TargetObject);
            Assert.Equal(3, r.Output.Count);
            Assert.Equal(new[] { "10.6.0.1", "10.6.0.2", "10.6.0.4" }, _f5.GetMembers("web").Select(m => m.Address).OrderBy(a => a, StringComparer.Ordinal));
            Assert.Equal(0, _f5.CommittedTransactions);
        }

        [Fact]
        public void Piped_removes_are_one_transaction()
        {
            Assert.False(_ps.Run("1..20 | ForEach-Object { [pscustomobject]@{ Address = \"10.6.0.$_\"; Port = 80 } } | Add-LbPoolMember -Pool web").HadErrors);
            int before = _f5.CommittedTransactions;

            var r = _ps.Run("Get-LbPoolMember -Pool web | Remove-LbPoolMember -Confirm:$false");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Empty(_f5.GetMembers("web"));
            Assert.Equal(before + 1, _f5.CommittedTransactions);
        }
    }
}
