using System;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.Tests.RealServers;

/// <summary>
/// Proves the real-load-balancer harness itself: real HAProxy 2.6 and Caddy 2.6 processes with
/// real Kestrel backends on loopback, traffic through them, and clean shutdown.
/// </summary>
[Trait("Category", "RealLoadBalancer")]
public sealed class HarnessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Haproxy_round_robin_sends_traffic_to_both_backends()
    {
        await using var a = await BackendServer.StartAsync("a");
        await using var b = await BackendServer.StartAsync("b");
        var options = new HaproxyOptions();
        options.AddBackend("web").AddServer(a).AddServer(b);
        await using var haproxy = await HaproxyProcess.StartAsync(options);

        await using var traffic = TrafficGenerator.Start(haproxy.FrontendUrl, requestsPerSecond: 100);
        await haproxy.WaitUntilAsync(
            () => Task.FromResult(traffic.Snapshot() is var s && s.HitsFor("a") >= 5 && s.HitsFor("b") >= 5),
            Patience,
            "traffic to reach both backends");
        var stats = await traffic.StopAsync();

        Assert.True(stats.Failures == 0, stats.ToString());
        Assert.True(a.RequestCount > 0 && b.RequestCount > 0, $"a={a.RequestCount} b={b.RequestCount}");
        Assert.Equal(0, a.HealthCheckCount);
    }

    [Fact]
    public async Task Haproxy_runtime_api_answers_over_tcp_and_unix_socket()
    {
        await using var a = await BackendServer.StartAsync("a");
        var options = new HaproxyOptions();
        options.AddBackend("web").AddServer(a);
        await using var haproxy = await HaproxyProcess.StartAsync(options);

        Assert.Equal($"tcp://127.0.0.1:{haproxy.AdminPort}", haproxy.AdminEndpoint);
        var overTcp = await haproxy.RuntimeCommandAsync("show servers state web");
        var overUnix = await haproxy.RuntimeCommandOverUnixSocketAsync("show servers state web");
        foreach (var answer in new[] { overTcp, overUnix })
        {
            Assert.StartsWith("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state", answer);
            Assert.Contains(" web 1 a 127.0.0.1 2 0 ", answer);
        }

        // Chained commands: one connection, each answer followed by an empty line.
        var chained = await haproxy.RuntimeCommandAsync("show backend;show backend");
        Assert.Equal("# name\nweb\n\n# name\nweb\n\n", chained);
        await Assert.ThrowsAsync<ArgumentException>(() => haproxy.RuntimeCommandAsync("show backend\nshow info"));
    }

    [Fact]
    public async Task Haproxy_add_server_needs_a_dynamic_balance_algorithm()
    {
        await using var a = await BackendServer.StartAsync("a");
        await using var extra = await BackendServer.StartAsync("extra");
        var options = new HaproxyOptions();
        options.AddBackend("web").AddServer(a);
        options.AddBackend("fixed", HaproxyBalance.StaticRoundRobin).AddServer(a);
        await using var haproxy = await HaproxyProcess.StartAsync(options);

        Assert.Equal("New server registered.\n\n", await haproxy.RuntimeCommandAsync($"add server web/extra {extra.Address}"));
        Assert.Equal(
            "Backend must use a dynamic load balancing to support dynamic servers.\n",
            await haproxy.RuntimeCommandAsync($"add server fixed/extra {extra.Address}"));
        // A runtime-added server starts in maintenance.
        Assert.Equal("MAINT", await haproxy.GetServerStatusAsync("web", "extra"));
        Assert.Null(await haproxy.GetServerStatusAsync("fixed", "extra"));
    }

    [Fact]
    public async Task Haproxy_marks_a_stopped_backend_down_and_traffic_then_avoids_it()
    {
        await using var a = await BackendServer.StartAsync("a");
        await using var b = await BackendServer.StartAsync("b");
        var options = new HaproxyOptions();
        options.AddBackend("web").AddServer(a).AddServer(b).WithHealthCheck(TimeSpan.FromMilliseconds(200), fall: 2, rise: 2);
        await using var haproxy = await HaproxyProcess.StartAsync(options);
        await haproxy.WaitForServerStatusAsync("web", "a", "UP", Patience);
        await haproxy.WaitForServerStatusAsync("web", "b", "UP", Patience);
        Assert.True(b.HealthCheckCount > 0);

        await using var traffic = TrafficGenerator.Start(haproxy.FrontendUrl, requestsPerSecond: 100);
        await b.StopAsync();
        Assert.False(FreePort.IsListening(b.Port));
        await haproxy.WaitForServerStatusAsync("web", "b", "DOWN", Patience);
        var state = await haproxy.RuntimeCommandAsync("show servers state web");
        Assert.Contains(" web 2 b 127.0.0.1 0 0 ", state); // srv_op_state 0: stopped; admin state 0: not forced

        traffic.ResetCounters();
        await haproxy.WaitUntilAsync(() => Task.FromResult(traffic.Snapshot().Total >= 60), Patience, "60 requests after b went DOWN");
        var afterDown = traffic.Snapshot();
        Assert.True(afterDown.Failures == 0, afterDown.ToString());
        Assert.Equal(0, afterDown.HitsFor("b"));

        // Back on the same port, the checks bring it UP and it takes traffic again.
        await b.RestartAsync();
        await haproxy.WaitForServerStatusAsync("web", "b", "UP", Patience);
        traffic.ResetCounters();
        await haproxy.WaitUntilAsync(() => Task.FromResult(traffic.Snapshot().HitsFor("b") >= 5), Patience, "traffic to reach b again");
        var final = await traffic.StopAsync();
        Assert.True(final.Failures == 0, final.ToString());
    }

    [Fact]
    public async Task Haproxy_marks_an_unhealthy_backend_down_while_it_still_listens()
    {
        await using var a = await BackendServer.StartAsync("a");
        var options = new HaproxyOptions();
        options.AddBackend("web").AddServer(a).WithHealthCheck(TimeSpan.FromMilliseconds(200), fall: 2, rise: 1);
        await using var haproxy = await HaproxyProcess.StartAsync(options);
        await haproxy.WaitForServerStatusAsync("web", "a", "UP", Patience);

        a.Healthy = false;
        await haproxy.WaitForServerStatusAsync("web", "a", "DOWN", Patience);
        a.Healthy = true;
        await haproxy.WaitForServerStatusAsync("web", "a", "UP", Patience);
    }

    [Fact]
    public async Task Caddy_proxies_to_its_upstreams_and_its_admin_api_answers()
    {
        await using var a = await BackendServer.StartAsync("a");
        await using var b = await BackendServer.StartAsync("b");
        var options = new CaddyOptions
        {
            SelectionPolicy = "round_robin",
            PassiveHealthCheck = new CaddyPassiveHealthCheck { MaxFails = 1, FailDuration = TimeSpan.FromSeconds(5) },
        };
        options.AddUpstream(a).AddUpstream(b);
        await using var caddy = await CaddyProcess.StartAsync(options);

        await using (var traffic = TrafficGenerator.Start(caddy.FrontendUrl, requestsPerSecond: 100))
        {
            await caddy.WaitUntilAsync(
                () => Task.FromResult(traffic.Snapshot() is var s && s.HitsFor("a") >= 5 && s.HitsFor("b") >= 5),
                Patience,
                "traffic to reach both upstreams");
            var stats = await traffic.StopAsync();
            Assert.True(stats.Failures == 0, stats.ToString());
        }

        using var response = await caddy.AdminClient.GetAsync($"/id/{caddy.PoolId}/upstreams");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        var dials = JsonDocument.Parse(body).RootElement.EnumerateArray().Select(u => u.GetProperty("dial").GetString()).ToArray();
        Assert.Equal(new[] { a.Address, b.Address }, dials);
        // Caddy 2.6 announces the ETag in a Trailer header and sends it after the body.
        Assert.Contains("ETag", response.Headers.Trailer);
        Assert.False(response.Headers.Contains("ETag"));
        Assert.Contains("ETag", response.TrailingHeaders.Select(h => h.Key), StringComparer.OrdinalIgnoreCase);

        // The origin check: only the exact host:port of the listener passes.
        using var foreign = new HttpRequestMessage(HttpMethod.Get, "/config/");
        foreign.Headers.Host = "example.invalid";
        using var refused = await caddy.AdminClient.SendAsync(foreign);
        Assert.Equal(403, (int)refused.StatusCode);
    }

    [Fact]
    public async Task Disposing_stops_every_process_and_frees_its_ports()
    {
        await using var a = await BackendServer.StartAsync("a");
        var haproxyOptions = new HaproxyOptions();
        haproxyOptions.AddBackend("web").AddServer(a);
        var haproxy = await HaproxyProcess.StartAsync(haproxyOptions);
        var caddy = await CaddyProcess.StartAsync(new CaddyOptions().AddUpstream(a));
        Assert.True(FreePort.IsListening(haproxy.FrontendPort) && FreePort.IsListening(haproxy.AdminPort));
        Assert.True(FreePort.IsListening(caddy.FrontendPort) && FreePort.IsListening(caddy.AdminPort));
        Assert.Contains(ManagedProcess.LiveProcesses, p => p.Id == haproxy.Process.Id);

        await haproxy.DisposeAsync();
        await caddy.DisposeAsync();

        Assert.True(haproxy.Process.HasExited);
        Assert.True(caddy.Process.HasExited);
        Assert.False(FreePort.IsListening(haproxy.FrontendPort));
        Assert.False(FreePort.IsListening(haproxy.AdminPort));
        Assert.False(FreePort.IsListening(caddy.FrontendPort));
        Assert.False(FreePort.IsListening(caddy.AdminPort));
        Assert.False(Directory.Exists(haproxy.WorkDirectory));
        Assert.False(Directory.Exists(caddy.WorkDirectory));
        Assert.DoesNotContain(ManagedProcess.LiveProcesses, p => p.Id == haproxy.Process.Id || p.Id == caddy.Process.Id);

        // A backend "killed" and restarted: refused in between, same port after.
        var port = a.Port;
        await a.StopAsync();
        Assert.False(FreePort.IsListening(port));
        await a.RestartAsync();
        Assert.Equal(port, a.Port);
        Assert.True(FreePort.IsListening(port));
    }

    [Fact]
    public async Task A_wait_that_times_out_reports_the_process_output()
    {
        await using var a = await BackendServer.StartAsync("a");
        var options = new HaproxyOptions();
        options.AddBackend("web").AddServer(a);
        await using var haproxy = await HaproxyProcess.StartAsync(options);

        var error = await Assert.ThrowsAsync<TimeoutException>(
            () => haproxy.WaitUntilAsync(() => Task.FromResult(false), TimeSpan.FromMilliseconds(300), "the impossible"));
        Assert.Contains("the impossible", error.Message);
        Assert.Contains("--- output of haproxy ---", error.Message);
    }
}
