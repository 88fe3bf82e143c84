using System;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.Sync
{
    /// <summary>Wait-LbPoolMember through the real engine (short real intervals; the poll loop itself is tested on a fake clock).</summary>
    public sealed class WaitLbPoolMemberTests : IAsyncLifetime
    {
        private NginxPlusEmulator _nginx = null!;
        private PsSession _ps = null!;

        public async Task InitializeAsync()
        {
            _nginx = await NginxPlusEmulator.StartAsync();
            _nginx.AddUpstream("web");
            _nginx.AddServer("web", "10.0.0.1:80");
            _nginx.AddServer("web", "10.0.0.2:80");
            _ps = new PsSession();
            var r = _ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{_nginx.ApiBase}' | Out-Null");
            Assert.False(r.HadErrors, r.ToString());
        }

        public async Task DisposeAsync()
        {
            _ps?.Dispose();
            if (_nginx != null) await _nginx.DisposeAsync();
        }

        [Fact]
        public void Waits_for_piped_members_and_reports_a_timeout_naming_the_member_and_the_condition()
        {
            // Healthy already: both come back at once, as last read.
            var healthy = _ps.Run("Get-LbPoolMember -Pool web | Wait-LbPoolMember -State Healthy -TimeoutSec 10");
            Assert.False(healthy.HadErrors, healthy.ToString());
            Assert.Equal(new[] { "10.0.0.1", "10.0.0.2" }, healthy.Output.Select(o => (string)o.Properties["Address"].Value));
            Assert.All(healthy.Output, o => Assert.Equal("LoadBalancerTools.Model.LbPoolMember", o.TypeNames[0]));

            // Drained once set to drain with no connections left; the other member is still in rotation.
            _nginx.SetActiveConnections("web", "10.0.0.1:80", 2);
            _nginx.DrainConnectionsPerRead = 1;
            var drained = _ps.Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -State Drain; " +
                                  "Wait-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -State Drained -TimeoutSec 10 -PollIntervalSec 0.05");
            Assert.False(drained.HadErrors, drained.ToString());
            Assert.Equal(0L, Assert.Single(drained.Output).Properties["ActiveConnections"].Value);

            var timedOut = _ps.Run("Wait-LbPoolMember -Pool web -Address 10.0.0.2 -Port 80 -State Absent -TimeoutSec 1 -PollIntervalSec 0.2");
            var error = Assert.Single(timedOut.AllErrors);
            Assert.Equal("LbWaitTimeout,LoadBalancerTools.Commands.WaitLbPoolMemberCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.OperationTimeout, error.CategoryInfo.Category);
            Assert.Contains("10.0.0.2:80", error.Exception.Message);
            Assert.Contains("to be Absent", error.Exception.Message);
            Assert.Contains("still in the pool", error.Exception.Message);
            Assert.Empty(timedOut.Output);
            Assert.Contains(timedOut.Progress, p => p.RecordType == ProgressRecordType.Completed);

            // A drain that does not finish is named in -State's own word, never the old "Drained".
            _nginx.DrainConnectionsPerRead = 0; // its connections stay, so the drain cannot finish
            _nginx.SetActiveConnections("web", "10.0.0.2:80", 5);
            var stillDraining = _ps.Run("Set-LbPoolMember -Pool web -Address 10.0.0.2 -Port 80 -State Draining; " +
                                        "Wait-LbPoolMember -Pool web -Address 10.0.0.2 -Port 80 -State Draining -TimeoutSec 1 -PollIntervalSec 0.2");
            var drainError = Assert.Single(stillDraining.AllErrors);
            Assert.StartsWith("LbWaitTimeout,", drainError.FullyQualifiedErrorId);
            Assert.Contains("to be Draining (drained: out of rotation with no active connections): it has state Draining", drainError.Exception.Message);
            Assert.DoesNotContain("Drained", drainError.Exception.Message);
        }
    }
}
