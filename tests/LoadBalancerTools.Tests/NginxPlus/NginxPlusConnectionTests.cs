using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.NginxPlus
{
    /// <summary>Connecting, negotiating, TLS and the vendor's refusals, through the engine.</summary>
    public sealed class NginxPlusConnectionTests
    {
        [Fact]
        public async Task Negotiates_the_highest_supported_api_version_up_to_9()
        {
            await using var nginx = await NginxPlusEmulator.StartAsync(new NginxPlusEmulatorOptions { SupportedVersions = new[] { 4, 5, 6, 7, 8 } });
            nginx.AddUpstream("web");
            using var ps = new PsSession();
            var r = ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{nginx.ApiBase}'; Get-LbPool | Out-Null");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal("8", r.Prop<string>(0, "ApiVersion"));
            Assert.True(nginx.CountRequests("GET", "/api/8/http/upstreams") > 0);
            Assert.True(r.Prop<bool>(0, "IsDefault"));
        }

        [Fact]
        public void An_endpoint_carrying_a_password_is_refused_without_echoing_it()
        {
            using var ps = new PsSession();
            var r = ps.Run("Connect-LbController -Provider NginxPlus -Endpoint 'http://admin:Hunter2-Secret@127.0.0.1:9/api'");
            var e = Assert.Single(r.AllErrors);
            Assert.StartsWith("LbInvalidEndpoint,", e.FullyQualifiedErrorId);
            Assert.Contains("-Credential", e.Exception.Message);
            Assert.DoesNotContain("Hunter2-Secret", r.AllText());
        }

        [Fact]
        public async Task Members_piped_from_one_load_balancer_are_added_to_the_one_the_command_line_names()
        {
            await using var source = await NginxPlusEmulator.StartAsync();
            await using var target = await NginxPlusEmulator.StartAsync();
            foreach (var n in new[] { source, target }) n.AddUpstream("web");
            source.AddServer("web", "10.9.0.1:80");
            source.AddServer("web", "10.9.0.2:80");
            using var ps = new PsSession();
            var r = ps.Run($"$a = Connect-LbController -Provider NginxPlus -Endpoint '{source.ApiBase}'; $b = Connect-LbController -Provider NginxPlus -Endpoint '{target.ApiBase}'; " +
                           "Get-LbPoolMember -Connection $a -Pool web | Add-LbPoolMember -Pool web"); // $b, the last connected, is the default
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(2, target.GetServers("web").Count);
            Assert.Equal(2, source.GetServers("web").Count);
        }

        [Fact]
        public void An_unreachable_endpoint_is_a_clear_terminating_connection_error()
        {
            using var ps = new PsSession();
            var r = ps.Run("Connect-LbController -Provider NginxPlus -Endpoint http://127.0.0.1:9/api -MaxRetries 0");
            var e = Assert.Single(r.AllErrors);
            Assert.StartsWith("LbConnectFailed,", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ConnectionError, e.CategoryInfo.Category);
            Assert.Contains("connection refused", e.Exception.Message);
            Assert.Empty(ps.Run("Get-LbConnection").Output);
        }

        [Fact]
        public async Task Certificates_are_validated_unless_skipped_and_skipping_warns()
        {
            await using var nginx = await NginxPlusEmulator.StartAsync(new NginxPlusEmulatorOptions { Https = true });
            nginx.AddUpstream("web");
            using var ps = new PsSession();

            var strict = ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{nginx.ApiBase}' -MaxRetries 0");
            var e = Assert.Single(strict.AllErrors);
            Assert.StartsWith("LbConnectFailed,", e.FullyQualifiedErrorId);

            var lax = ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{nginx.ApiBase}' -SkipCertificateCheck | Out-Null; Get-LbPool");
            Assert.False(lax.HadErrors, lax.ToString());
            Assert.Contains(lax.Warnings, w => w.Contains("TLS certificate validation is off"));
            Assert.Single(lax.Output);
        }

        [Fact]
        public async Task A_read_only_api_a_static_upstream_and_a_malformed_body_each_give_a_clear_error_and_change_nothing()
        {
            await using var nginx = await NginxPlusEmulator.StartAsync();
            nginx.AddUpstream("web");
            nginx.AddUpstream("legacy", zone: false);
            using var ps = new PsSession();
            ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{nginx.ApiBase}' | Out-Null");

            nginx.WriteEnabled = false;
            var readOnly = ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.5 -Port 80");
            var e = Assert.Single(readOnly.Errors);
            Assert.StartsWith("LbApiReadOnly,", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.PermissionDenied, e.CategoryInfo.Category);
            Assert.Contains("api write=on", e.Exception.Message);
            Assert.Equal("10.0.0.5:80", Assert.IsType<LbMemberSpec>(e.TargetObject).Endpoint);
            nginx.WriteEnabled = true;

            var stat = ps.Run("Add-LbPoolMember -Pool legacy -Address 10.0.0.5 -Port 80");
            e = Assert.Single(stat.Errors);
            Assert.StartsWith("LbRejected,", e.FullyQualifiedErrorId);
            Assert.Contains("zone", e.Exception.Message);

            nginx.Faults.Enqueue(FaultKind.MalformedBody, 1, req => req.Method == "GET");
            var malformed = ps.Run("Get-LbPoolMember -Pool web; Get-LbPoolMember -Pool web");
            e = Assert.Single(malformed.Errors);
            Assert.StartsWith("LbMalformedResponse,", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidResult, e.CategoryInfo.Category);
            Assert.Empty(malformed.Output); // the pool is empty, and the second read after the bad one still worked without error

            Assert.Empty(nginx.GetServers("web"));
        }

        [Fact]
        public async Task A_slow_api_times_out_within_the_connection_budget()
        {
            await using var nginx = await NginxPlusEmulator.StartAsync();
            nginx.AddUpstream("web");
            using var ps = new PsSession();
            ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{nginx.ApiBase}' -TimeoutSec 1 -MaxRetries 0 | Out-Null");
            nginx.Faults.SlowDelay = TimeSpan.FromSeconds(5);
            nginx.Faults.Enqueue(FaultKind.Slow, 1);
            var r = ps.Run("Get-LbPoolMember -Pool web");
            var e = Assert.Single(r.Errors);
            Assert.StartsWith("LbTransient,", e.FullyQualifiedErrorId);
            Assert.Contains("timed out", e.Exception.Message);
        }
    }
}
