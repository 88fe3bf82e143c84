using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.WriteSafety
{
    /// <summary>
    /// When a cmdlet stops (a stream write that throws under a Stop preference, or Ctrl+C), its background
    /// work is cancelled and awaited first: once the prompt is back, the load balancer sees no further change.
    /// </summary>
    public sealed class StoppedMeansStoppedTests : IAsyncLifetime
    {
        private NginxPlusEmulator _nginx = null!;
        private PsSession _ps = null!;

        public async Task InitializeAsync()
        {
            _nginx = await NginxPlusEmulator.StartAsync();
            _nginx.AddUpstream("web");
            for (int i = 1; i <= 20; i++) _nginx.AddServer("web", $"10.0.0.{i}:80");
            _ps = new PsSession();
            var r = _ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{_nginx.ApiBase}' | Out-Null");
            Assert.False(r.HadErrors, r.ToString());
            _nginx.Faults.Latency = TimeSpan.FromMilliseconds(100);
        }

        public async Task DisposeAsync()
        {
            _ps?.Dispose();
            if (_nginx != null) await _nginx.DisposeAsync();
        }

        private int Writes() => _nginx.Requests.Count(q => q.Method != "GET");

        /// <summary>Watches the emulator for a while after the cmdlet returned: any write in that window came from work left running.</summary>
        private void AssertNoWritesAfterReturn(int writesAtReturn, string[] poolAtReturn)
        {
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < TimeSpan.FromSeconds(3))
            {
                Assert.Equal(writesAtReturn, Writes());
                Thread.Sleep(100);
            }
            Assert.Equal(poolAtReturn, _nginx.GetServers("web").Select(s => s.Server).ToArray());
        }

        [Fact]
        public void A_stream_write_that_throws_stops_the_sync_before_the_prompt_is_back()
        {
            // Progress is written from the apply phase only, so the stop lands while removals are in flight.
            var r = _ps.Run("$ProgressPreference = 'Stop'; Sync-LbPool -Pool web -Member @('10.0.0.1:80') -Prune -Force -DrainTimeoutSec 0 -ThrottleLimit 1");

            int writes = Writes();
            var pool = _nginx.GetServers("web").Select(s => s.Server).ToArray();
            Assert.NotNull(r.Terminating ?? r.Errors.FirstOrDefault());
            Assert.True(pool.Length > 1, "the sync ran to the end; the stop never happened");
            AssertNoWritesAfterReturn(writes, pool);
        }

        [Fact]
        public void Ctrl_C_stops_a_sync_and_nothing_changes_after_it_returns()
        {
            using var running = _ps.Start("Sync-LbPool -Pool web -Member @('10.0.0.1:80') -Prune -Force -DrainTimeoutSec 0 -ThrottleLimit 1");
            var wait = Stopwatch.StartNew();
            while (_nginx.Requests.Count(q => q.Method == "DELETE") < 2 && wait.Elapsed < TimeSpan.FromSeconds(20)) Thread.Sleep(20);
            Assert.True(_nginx.Requests.Count(q => q.Method == "DELETE") >= 2, "the sync never started removing");

            running.Stop();

            int writes = Writes();
            var pool = _nginx.GetServers("web").Select(s => s.Server).ToArray();
            Assert.True(pool.Length > 1, "the sync ran to the end; the stop never happened");
            AssertNoWritesAfterReturn(writes, pool);
        }
    }
}
