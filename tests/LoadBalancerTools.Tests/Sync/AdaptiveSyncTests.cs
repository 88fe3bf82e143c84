using System;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.Sync
{
    /// <summary>
    /// Sync-LbPool through the real engine against the NGINX Plus emulator: the calls in flight adapt to the
    /// endpoint, and -Verbose says so when the number moves.
    /// </summary>
    public sealed class AdaptiveSyncTests : IAsyncLifetime
    {
        private static readonly Regex ConcurrencyLine = new Regex(@"^Concurrency for 127\.0\.0\.1:\d+ now (\d+)\.$");
        private NginxPlusEmulator _nginx = null!;
        private PsSession _ps = null!;

        public async Task InitializeAsync()
        {
            _nginx = await NginxPlusEmulator.StartAsync(new NginxPlusEmulatorOptions { RecordRequests = false });
            _nginx.AddUpstream("web");
            _nginx.Faults.Latency = TimeSpan.FromMilliseconds(5);
            _ps = new PsSession();
            var r = _ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{_nginx.ApiBase}' | Out-Null");
            Assert.False(r.HadErrors, r.ToString());
        }

        public async Task DisposeAsync()
        {
            _ps?.Dispose();
            if (_nginx != null) await _nginx.DisposeAsync();
        }

        private const string Desired = "$desired = foreach ($i in 1..200) { [pscustomobject]@{ Address = \"10.1.$([int][math]::Floor($i / 250)).$($i % 250)\"; Port = 80 } }; ";

        private static int[] Limits(PsResult r) =>
            r.Verbose.Select(v => ConcurrencyLine.Match(v)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();

        private void RequireConverged(int n)
        {
            var servers = _nginx.GetServers("web");
            Assert.Equal(n, servers.Count);
            Assert.Equal(n, servers.Select(s => s.Server).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        }

        [Fact]
        public void Climbs_above_the_starting_8_while_the_endpoint_keeps_up_and_reports_only_the_moves()
        {
            var r = _ps.Run(Desired + "Sync-LbPool -Pool web -Member $desired -Verbose");

            Assert.False(r.HadErrors, r.ToString());
            RequireConverged(200);
            var limits = Limits(r);
            Assert.True(limits.Length > 0 && limits.Max() > 8, "no verbose line showed the limit rising: " + string.Join(", ", limits));
            // A line when it moves by a quarter, not one per call.
            Assert.True(limits.Length < 20, $"{limits.Length} concurrency lines for 200 changes");
        }

        [Fact]
        public void Backs_off_when_the_endpoint_refuses_beyond_a_hidden_capacity_and_still_converges_without_duplicates()
        {
            _nginx.Faults.ConcurrencyLimit = 6;

            var r = _ps.Run(Desired + "Sync-LbPool -Pool web -Member $desired -Verbose");

            Assert.False(r.HadErrors, r.ToString());
            RequireConverged(200);
            Assert.True(_nginx.Faults.OverLimitCount > 0, "the hidden capacity was never reached");
            var limits = Limits(r);
            // At least one cut: a line lower than the one before it.
            Assert.Contains(limits.Skip(1).Select((l, i) => l < limits[i]), cut => cut);
        }
    }
}
