using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;

namespace LoadBalancerTools.Tests.Emulators;

/// <summary>
/// Proves the NGINX Plus emulator honours the vendor facts (shared/VENDOR-APIS.md) and that every fault kind
/// does what providers will rely on. Plain HttpClient only: these tests check the emulator, not the module.
/// </summary>
public sealed class NginxPlusEmulatorTests : IAsyncLifetime
{
    private NginxPlusEmulator _emu = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _emu = await NginxPlusEmulator.StartAsync();
        _emu.AddUpstream("web");
        _http = new HttpClient();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _emu.DisposeAsync();
    }

    private string Url(string path) => $"{_emu.ApiBase}/9/{path}";

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static HttpRequestMessage Patch(string url, string json) => new(HttpMethod.Patch, url) { Content = Json(json) };

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpRequestMessage request)
    {
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path) => SendAsync(new HttpRequestMessage(HttpMethod.Get, Url(path)));

    private Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, string json) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, Url(path)) { Content = Json(json) });

    /// <summary>Asserts the exact nginx error shape and returns nothing else worth checking.</summary>
    private static void AssertError(HttpStatusCode actual, JsonElement body, int status, string code)
    {
        Assert.Equal(status, (int)actual);
        var names = body.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(new[] { "error", "request_id", "href" }, names);
        var error = body.GetProperty("error");
        Assert.Equal(new[] { "status", "text", "code" }, error.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal(status, error.GetProperty("status").GetInt32());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("text").GetString()));
        Assert.Matches("^[0-9a-f]{32}$", body.GetProperty("request_id").GetString());
        Assert.Equal("https://nginx.org/en/docs/http/ngx_http_api_module.html", body.GetProperty("href").GetString());
    }

    // ---------- versions and paths ----------

    [Fact]
    public async Task Root_lists_supported_versions()
    {
        var body = await _http.GetStringAsync($"{_emu.ApiBase}/");
        Assert.Equal("[1,2,3,4,5,6,7,8,9]", body);
        Assert.Equal("[1,2,3,4,5,6,7,8,9]", await _http.GetStringAsync(_emu.ApiBase));
    }

    [Fact]
    public async Task Supported_versions_are_configurable_and_others_are_UnknownVersion()
    {
        await using var old = await NginxPlusEmulator.StartAsync(new NginxPlusEmulatorOptions { SupportedVersions = new[] { 1, 2, 3, 4, 5, 6 } });
        old.AddUpstream("web");
        Assert.Equal("[1,2,3,4,5,6]", await _http.GetStringAsync($"{old.ApiBase}/"));

        using var ok = await _http.GetAsync($"{old.ApiBase}/6/http/upstreams");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        using var response = await _http.GetAsync($"{old.ApiBase}/9/http/upstreams");
        Assert.Equal("application/json", response.Content.Headers.ContentType!.ToString());
        AssertError(response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement, 404, "UnknownVersion");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(9)]
    public async Task Every_version_1_to_9_behaves_the_same(int version)
    {
        _emu.AddServer("web", "10.0.0.1:80");
        var body = await _http.GetStringAsync($"{_emu.ApiBase}/{version}/http/upstreams/web/servers");
        Assert.Contains("\"server\":\"10.0.0.1:80\"", body);
    }

    [Theory]
    [InlineData("10/http/upstreams")]
    [InlineData("0/http/upstreams")]
    [InlineData("v9/http/upstreams")]
    public async Task Unknown_versions_are_404_UnknownVersion(string path)
    {
        var (status, body) = await SendAsync(new HttpRequestMessage(HttpMethod.Get, $"{_emu.ApiBase}/{path}"));
        AssertError(status, body, 404, "UnknownVersion");
    }

    [Fact]
    public async Task Unknown_path_and_wrong_method_use_nginx_errors()
    {
        var (status, body) = await GetAsync("http/nonsense");
        AssertError(status, body, 404, "PathNotFound");

        (status, body) = await SendAsync(new HttpRequestMessage(HttpMethod.Put, Url("http/upstreams/web/servers")) { Content = Json("{}") });
        AssertError(status, body, 405, "MethodNotSupported");
    }

    [Fact]
    public async Task Nginx_endpoint_reports_version_and_honours_fields()
    {
        var (status, body) = await GetAsync("nginx?fields=version,build");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(new[] { "version", "build" }, body.EnumerateObject().Select(p => p.Name).ToArray());
    }

    // ---------- reading upstreams ----------

    [Fact]
    public async Task Upstreams_are_keyed_by_name_with_peers_and_zone()
    {
        _emu.AddServer("web", "10.0.0.1:80", weight: 5);
        _emu.AddUpstream("api");
        var (status, body) = await GetAsync("http/upstreams");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(new[] { "web", "api" }, body.EnumerateObject().Select(p => p.Name).ToArray());

        var web = body.GetProperty("web");
        Assert.Equal(new[] { "peers", "keepalive", "zombies", "zone" }, web.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal(0, web.GetProperty("keepalive").GetInt32());
        Assert.Equal(0, web.GetProperty("zombies").GetInt32());
        Assert.Equal("web", web.GetProperty("zone").GetString());

        var peer = Assert.Single(web.GetProperty("peers").EnumerateArray());
        Assert.Equal(0, peer.GetProperty("id").GetInt32());
        Assert.Equal("10.0.0.1:80", peer.GetProperty("server").GetString());
        Assert.Equal("10.0.0.1:80", peer.GetProperty("name").GetString());
        Assert.False(peer.GetProperty("backup").GetBoolean());
        Assert.Equal(5, peer.GetProperty("weight").GetInt32());
        Assert.Equal("up", peer.GetProperty("state").GetString());
        Assert.Equal(0, peer.GetProperty("active").GetInt32());
        Assert.Equal(0, peer.GetProperty("requests").GetInt32());
        Assert.Equal(0, peer.GetProperty("responses").GetProperty("total").GetInt32());
        foreach (var name in new[] { "sent", "received", "fails", "unavail", "downtime" })
            Assert.Equal(0, peer.GetProperty(name).GetInt64());
        var checks = peer.GetProperty("health_checks");
        Assert.Equal(0, checks.GetProperty("checks").GetInt32());
        Assert.Equal(0, checks.GetProperty("fails").GetInt32());
        Assert.Equal(0, checks.GetProperty("unhealthy").GetInt32());
    }

    [Fact]
    public async Task Fields_limits_each_upstream_and_empty_fields_leaves_only_names()
    {
        _emu.AddServer("web", "10.0.0.1:80");
        var (_, body) = await GetAsync("http/upstreams?fields=zone,zombies");
        Assert.Equal(new[] { "zombies", "zone" }, body.GetProperty("web").EnumerateObject().Select(p => p.Name).ToArray());

        (_, body) = await GetAsync("http/upstreams?fields=");
        Assert.Empty(body.GetProperty("web").EnumerateObject());

        (_, body) = await GetAsync("http/upstreams/web?fields=peers");
        Assert.Equal(new[] { "peers" }, body.EnumerateObject().Select(p => p.Name).ToArray());
    }

    [Fact]
    public async Task Unknown_upstream_is_404_and_static_upstream_is_400()
    {
        _emu.AddUpstream("legacy", zone: false);
        _emu.AddServer("legacy", "10.9.9.9:80");

        var (status, body) = await GetAsync("http/upstreams/nope");
        AssertError(status, body, 404, "UpstreamNotFound");
        (status, body) = await GetAsync("http/upstreams/nope/servers");
        AssertError(status, body, 404, "UpstreamNotFound");

        // Without a zone nginx cannot share the group with the API: hidden from the list, static when named.
        (_, body) = await GetAsync("http/upstreams");
        Assert.False(body.TryGetProperty("legacy", out _));
        (status, body) = await GetAsync("http/upstreams/legacy");
        AssertError(status, body, 400, "UpstreamStatic");
        (status, body) = await PostAsync("http/upstreams/legacy/servers", """{"server":"10.0.0.5:80"}""");
        AssertError(status, body, 400, "UpstreamStatic");
        (status, body) = await SendAsync(Patch(Url("http/upstreams/legacy/servers/0"), """{"down":true}"""));
        AssertError(status, body, 400, "UpstreamStatic");
        (status, body) = await SendAsync(new HttpRequestMessage(HttpMethod.Delete, Url("http/upstreams/legacy/servers/0")));
        AssertError(status, body, 400, "UpstreamStatic");
    }

    [Fact]
    public async Task Servers_list_has_the_configuration_fields_and_drain_only_when_set()
    {
        _emu.AddServer("web", "10.0.0.1:80");
        _emu.AddServer("web", "10.0.0.2:80", drain: true, backup: true);
        var (status, body) = await GetAsync("http/upstreams/web/servers");
        Assert.Equal(HttpStatusCode.OK, status);
        var servers = body.EnumerateArray().ToArray();
        Assert.Equal(2, servers.Length);

        Assert.Equal(
            new[] { "id", "server", "weight", "max_conns", "max_fails", "fail_timeout", "slow_start", "route", "backup", "down" },
            servers[0].EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal(1, servers[0].GetProperty("weight").GetInt32());
        Assert.Equal(0, servers[0].GetProperty("max_conns").GetInt32());
        Assert.Equal(1, servers[0].GetProperty("max_fails").GetInt32());
        Assert.Equal("10s", servers[0].GetProperty("fail_timeout").GetString());
        Assert.Equal("0s", servers[0].GetProperty("slow_start").GetString());
        Assert.Equal("", servers[0].GetProperty("route").GetString());

        Assert.True(servers[1].GetProperty("drain").GetBoolean());
        Assert.True(servers[1].GetProperty("backup").GetBoolean());
        Assert.False(servers[1].GetProperty("down").GetBoolean());
    }

    // ---------- POST ----------

    [Fact]
    public async Task Post_creates_a_server_and_returns_201_with_it()
    {
        _emu.AddServer("web", "10.0.0.1:80");
        var (status, body) = await PostAsync("http/upstreams/web/servers",
            """{"server":"10.0.0.2:8080","weight":3,"max_conns":10,"max_fails":2,"fail_timeout":"1m","slow_start":"30s","route":"b","down":true}""");

        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(1, body.GetProperty("id").GetInt32());
        Assert.Equal("10.0.0.2:8080", body.GetProperty("server").GetString());
        Assert.Equal(3, body.GetProperty("weight").GetInt32());
        Assert.Equal(10, body.GetProperty("max_conns").GetInt32());
        Assert.Equal(2, body.GetProperty("max_fails").GetInt32());
        Assert.Equal("60s", body.GetProperty("fail_timeout").GetString());
        Assert.Equal("30s", body.GetProperty("slow_start").GetString());
        Assert.Equal("b", body.GetProperty("route").GetString());
        Assert.True(body.GetProperty("down").GetBoolean());

        var server = _emu.GetServers("web").Single(s => s.Id == 1);
        Assert.Equal("down", server.State);
    }

    [Theory]
    [InlineData("10.0.0.7:80", "10.0.0.7:80")]
    [InlineData("10.0.0.7", "10.0.0.7:80")]
    [InlineData("backend1:8080", "backend1:8080")]
    [InlineData("Backend1.Example.com", "backend1.example.com:80")]
    [InlineData("[2001:db8::1]:80", "[2001:db8::1]:80")]
    [InlineData("[2001:DB8:0::1]", "[2001:db8::1]:80")]
    [InlineData("unix:/tmp/backend.sock", "unix:/tmp/backend.sock")]
    public async Task Addresses_are_normalised_with_port_80_by_default(string given, string stored)
    {
        var (status, body) = await PostAsync("http/upstreams/web/servers", JsonSerializer.Serialize(new { server = given }));
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(stored, body.GetProperty("server").GetString());
        Assert.Equal(stored, _emu.GetServers("web").Single().Server);
    }

    [Theory]
    [InlineData("""{"weight":2}""", 400, "UpstreamConfFormatError")]                 // missing server (per the API reference)
    [InlineData("""{"server":""}""", 400, "UpstreamBadAddress")]
    [InlineData("""{"server":"http://10.0.0.1/"}""", 400, "UpstreamBadAddress")]
    [InlineData("""{"server":"10.0.0.1:99999"}""", 400, "UpstreamBadAddress")]
    [InlineData("""{"server":"10.0.0.1:http"}""", 400, "UpstreamBadAddress")]
    [InlineData("""{"server":"300.1.1.1:80"}""", 400, "UpstreamBadAddress")]
    [InlineData("""{"server":"2001:db8::1"}""", 400, "UpstreamBadAddress")]
    [InlineData("""{"server":"bad host:80"}""", 400, "UpstreamBadAddress")]
    [InlineData("""{"server":"10.0.0.1:80","weight":0}""", 400, "UpstreamBadWeight")]
    [InlineData("""{"server":"10.0.0.1:80","weight":1001}""", 400, "UpstreamBadWeight")]
    [InlineData("""{"server":"10.0.0.1:80","weight":"5"}""", 400, "UpstreamConfFormatError")]
    [InlineData("""{"server":"10.0.0.1:80","max_conns":-1}""", 400, "UpstreamBadMaxConns")]
    [InlineData("""{"server":"10.0.0.1:80","max_fails":-1}""", 400, "UpstreamBadMaxFails")]
    [InlineData("""{"server":"10.0.0.1:80","fail_timeout":"soon"}""", 400, "UpstreamBadFailTimeout")]
    [InlineData("""{"server":"10.0.0.1:80","slow_start":"5x"}""", 400, "UpstreamBadSlowStart")]
    [InlineData("""{"server":"10.0.0.1:80","id":4}""", 400, "UpstreamConfFormatError")]
    [InlineData("""{"server":"10.0.0.1:80","colour":"red"}""", 400, "UpstreamConfFormatError")]
    [InlineData("""{"server":"10.0.0.1:80","drain":true}""", 400, "UpstreamConfFormatError")]
    [InlineData("""{"server":"10.0.0.1:80","down":"yes"}""", 400, "UpstreamConfFormatError")]
    [InlineData("""{"server":"10.0.0.1:80","route":{"a":1}}""", 400, "UpstreamConfFormatError")]
    [InlineData("""["10.0.0.1:80"]""", 400, "UpstreamConfFormatError")]
    [InlineData("""{"server":"10.0.0.1:80",""", 415, "JsonError")]
    [InlineData("", 415, "JsonError")]
    public async Task Post_validation_matches_the_vendor_codes(string json, int status, string code)
    {
        var (actual, body) = await PostAsync("http/upstreams/web/servers", json);
        AssertError(actual, body, status, code);
        Assert.Empty(_emu.GetServers("web"));
    }

    [Fact]
    public async Task Duplicate_post_creates_a_second_server_by_default()
    {
        var (s1, first) = await PostAsync("http/upstreams/web/servers", """{"server":"10.0.0.1:80"}""");
        var (s2, second) = await PostAsync("http/upstreams/web/servers", """{"server":"10.0.0.1"}""");
        Assert.Equal(HttpStatusCode.Created, s1);
        Assert.Equal(HttpStatusCode.Created, s2);
        Assert.NotEqual(first.GetProperty("id").GetInt32(), second.GetProperty("id").GetInt32());
        Assert.Equal(2, _emu.GetServers("web").Count(s => s.Server == "10.0.0.1:80"));
    }

    [Fact]
    public async Task Duplicate_post_is_409_EntryExists_under_the_reject_policy()
    {
        _emu.DuplicatePolicy = NginxDuplicatePolicy.Reject;
        _emu.AddServer("web", "10.0.0.1:80");
        var (status, body) = await PostAsync("http/upstreams/web/servers", """{"server":"10.0.0.1"}""");
        AssertError(status, body, 409, "EntryExists");
        Assert.Single(_emu.GetServers("web"));
    }

    // ---------- GET / PATCH / DELETE one server ----------

    [Fact]
    public async Task Get_one_server_and_bad_or_unknown_ids()
    {
        var id = _emu.AddServer("web", "10.0.0.1:80");
        var (status, body) = await GetAsync($"http/upstreams/web/servers/{id}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("10.0.0.1:80", body.GetProperty("server").GetString());

        (status, body) = await GetAsync("http/upstreams/web/servers/42");
        AssertError(status, body, 404, "UpstreamServerNotFound");
        (status, body) = await GetAsync("http/upstreams/web/servers/abc");
        AssertError(status, body, 400, "UpstreamBadServerId");
    }

    [Fact]
    public async Task Patch_changes_state_and_weight_and_returns_the_server()
    {
        var id = _emu.AddServer("web", "10.0.0.1:80");

        var (status, body) = await SendAsync(Patch(Url($"http/upstreams/web/servers/{id}"), """{"drain":true}"""));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(body.GetProperty("drain").GetBoolean());
        Assert.Equal("draining", _emu.GetServers("web")[0].State);

        (status, body) = await SendAsync(Patch(Url($"http/upstreams/web/servers/{id}"), """{"down":true,"weight":7,"max_conns":3}"""));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(body.GetProperty("down").GetBoolean());
        Assert.Equal(7, body.GetProperty("weight").GetInt32());
        Assert.Equal(3, body.GetProperty("max_conns").GetInt32());

        var (_, upstream) = await GetAsync("http/upstreams/web");
        Assert.Equal("down", upstream.GetProperty("peers")[0].GetProperty("state").GetString());

        (status, _) = await SendAsync(Patch(Url($"http/upstreams/web/servers/{id}"), """{"down":false,"drain":false}"""));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("up", _emu.GetServers("web")[0].State);
    }

    [Theory]
    [InlineData("""{"id":0,"down":true}""", 400, "UpstreamConfFormatError")]
    [InlineData("""{"weight":0}""", 400, "UpstreamBadWeight")]
    [InlineData("""{"backup":true}""", 400, "UpstreamConfFormatError")]
    [InlineData("""{"server":"not a host"}""", 400, "UpstreamBadAddress")]
    [InlineData("""{"down":true""", 415, "JsonError")]
    public async Task Patch_validation_matches_the_vendor_codes(string json, int status, string code)
    {
        var id = _emu.AddServer("web", "10.0.0.1:80");
        var (actual, body) = await SendAsync(Patch(Url($"http/upstreams/web/servers/{id}"), json));
        AssertError(actual, body, status, code);
        var server = _emu.GetServers("web").Single();
        Assert.False(server.Down);
        Assert.Equal(1, server.Weight);
    }

    [Fact]
    public async Task Patch_of_an_unknown_id_is_404()
    {
        var (status, body) = await SendAsync(Patch(Url("http/upstreams/web/servers/9"), """{"down":true}"""));
        AssertError(status, body, 404, "UpstreamServerNotFound");
    }

    [Fact]
    public async Task Delete_returns_the_remaining_servers_and_ids_are_not_reused()
    {
        var a = _emu.AddServer("web", "10.0.0.1:80");
        var b = _emu.AddServer("web", "10.0.0.2:80");

        var (status, body) = await SendAsync(new HttpRequestMessage(HttpMethod.Delete, Url($"http/upstreams/web/servers/{b}")));
        Assert.Equal(HttpStatusCode.OK, status);
        var remaining = Assert.Single(body.EnumerateArray());
        Assert.Equal(a, remaining.GetProperty("id").GetInt32());

        (status, body) = await SendAsync(new HttpRequestMessage(HttpMethod.Delete, Url($"http/upstreams/web/servers/{b}")));
        AssertError(status, body, 404, "UpstreamServerNotFound");

        var (_, created) = await PostAsync("http/upstreams/web/servers", """{"server":"10.0.0.3:80"}""");
        Assert.Equal(b + 1, created.GetProperty("id").GetInt32());
    }

    [Fact]
    public async Task Read_only_api_refuses_every_write_with_405_MethodDisabled()
    {
        var id = _emu.AddServer("web", "10.0.0.1:80");
        _emu.WriteEnabled = false;

        var (status, body) = await PostAsync("http/upstreams/web/servers", """{"server":"10.0.0.2:80"}""");
        AssertError(status, body, 405, "MethodDisabled");
        (status, body) = await SendAsync(Patch(Url($"http/upstreams/web/servers/{id}"), """{"down":true}"""));
        AssertError(status, body, 405, "MethodDisabled");
        (status, body) = await SendAsync(new HttpRequestMessage(HttpMethod.Delete, Url($"http/upstreams/web/servers/{id}")));
        AssertError(status, body, 405, "MethodDisabled");
        // Checked before the target exists, like nginx's write switch.
        (status, body) = await PostAsync("http/upstreams/missing/servers", """{"server":"10.0.0.2:80"}""");
        AssertError(status, body, 405, "MethodDisabled");

        (status, _) = await GetAsync("http/upstreams/web/servers");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Single(_emu.GetServers("web"));
    }

    // ---------- stream ----------

    [Fact]
    public async Task Stream_upstreams_mirror_http_and_require_a_port()
    {
        _emu.AddUpstream("dns", stream: true);
        _emu.AddServer("dns", "10.0.0.53:53", stream: true);

        var (_, list) = await GetAsync("stream/upstreams");
        var dns = list.GetProperty("dns");
        Assert.Equal(new[] { "peers", "zombies", "zone" }, dns.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal(0, dns.GetProperty("peers")[0].GetProperty("connections").GetInt32());

        // Namespaces are separate: the http "web" upstream is not a stream upstream.
        var (status, body) = await GetAsync("stream/upstreams/web");
        AssertError(status, body, 404, "UpstreamNotFound");

        (status, body) = await PostAsync("stream/upstreams/dns/servers", """{"server":"10.0.0.54"}""");
        AssertError(status, body, 400, "UpstreamBadAddress");
        (status, body) = await PostAsync("stream/upstreams/dns/servers", """{"server":"10.0.0.54:53","route":"x"}""");
        AssertError(status, body, 400, "UpstreamConfFormatError");

        (status, body) = await PostAsync("stream/upstreams/dns/servers", """{"server":"10.0.0.54:53"}""");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.False(body.TryGetProperty("route", out _));
        var id = body.GetProperty("id").GetInt32();

        (status, _) = await SendAsync(Patch(Url($"stream/upstreams/dns/servers/{id}"), """{"down":true}"""));
        Assert.Equal(HttpStatusCode.OK, status);
        (status, body) = await SendAsync(new HttpRequestMessage(HttpMethod.Delete, Url($"stream/upstreams/dns/servers/{id}")));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Single(body.EnumerateArray());
    }

    // ---------- peer state and drain ----------

    [Theory]
    [InlineData("unhealthy")]
    [InlineData("unavail")]
    [InlineData("checking")]
    [InlineData("down")]
    [InlineData("draining")]
    public async Task SetPeerState_is_reported_on_the_peer(string state)
    {
        _emu.AddServer("web", "10.0.0.1:80");
        _emu.SetPeerState("web", "10.0.0.1", state);
        var (_, body) = await GetAsync("http/upstreams/web");
        Assert.Equal(state, body.GetProperty("peers")[0].GetProperty("state").GetString());
    }

    [Fact]
    public async Task Down_and_drain_flags_win_over_the_health_state()
    {
        var id = _emu.AddServer("web", "10.0.0.1:80", drain: true);
        _emu.SetPeerState("web", id, "unhealthy");
        var (_, body) = await GetAsync("http/upstreams/web");
        var peer = body.GetProperty("peers")[0];
        Assert.Equal("draining", peer.GetProperty("state").GetString());
        Assert.Equal(1, peer.GetProperty("health_checks").GetProperty("unhealthy").GetInt32());
        Assert.False(peer.GetProperty("health_checks").GetProperty("last_passed").GetBoolean());

        await SendAsync(Patch(Url($"http/upstreams/web/servers/{id}"), """{"down":true}"""));
        (_, body) = await GetAsync("http/upstreams/web");
        Assert.Equal("down", body.GetProperty("peers")[0].GetProperty("state").GetString());
    }

    [Fact]
    public async Task Draining_peer_loses_connections_on_each_read()
    {
        var id = _emu.AddServer("web", "10.0.0.1:80");
        _emu.AddServer("web", "10.0.0.2:80");
        _emu.SetActiveConnections("web", id, 5);
        _emu.SetActiveConnections("web", "10.0.0.2:80", 4);
        _emu.DrainConnectionsPerRead = 2;

        // Not draining yet: reads change nothing.
        Assert.Equal(5, await ActiveAsync(id));
        Assert.Equal(5, await ActiveAsync(id));

        await SendAsync(Patch(Url($"http/upstreams/web/servers/{id}"), """{"drain":true}"""));
        var seen = new List<int>();
        for (var i = 0; i < 5; i++) seen.Add(await ActiveAsync(id));
        Assert.Equal(new[] { 5, 3, 1, 0, 0 }, seen);
        Assert.Equal(4, _emu.GetServers("web").Single(s => s.Server == "10.0.0.2:80").Active);

        async Task<int> ActiveAsync(int peerId)
        {
            var (_, body) = await GetAsync("http/upstreams");
            return body.GetProperty("web").GetProperty("peers").EnumerateArray()
                .Single(p => p.GetProperty("id").GetInt32() == peerId).GetProperty("active").GetInt32();
        }
    }

    // ---------- auth and request log ----------

    [Fact]
    public async Task Basic_auth_challenges_missing_or_wrong_credentials()
    {
        _emu.RequireBasicAuth("admin", "s3cret");

        using (var response = await _http.GetAsync(Url("http/upstreams")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Basic", response.Headers.WwwAuthenticate.Single().Scheme);
        }

        using (var wrong = new HttpRequestMessage(HttpMethod.Get, Url("http/upstreams")))
        {
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:nope")));
            using var response = await _http.SendAsync(wrong);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using (var right = new HttpRequestMessage(HttpMethod.Get, Url("http/upstreams")))
        {
            right.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:s3cret")));
            using var response = await _http.SendAsync(right);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task Request_log_counts_by_method_path_and_status()
    {
        await PostAsync("http/upstreams/web/servers", """{"server":"10.0.0.1:80"}""");
        await PostAsync("http/upstreams/web/servers", """{"server":"bad host"}""");
        await GetAsync("http/upstreams/web/servers");

        Assert.Equal(2, _emu.CountRequests("POST", "/servers"));
        Assert.Equal(1, _emu.CountRequests("POST", "/servers", 201));
        Assert.Equal(1, _emu.CountRequests("GET", "/api/9/http/upstreams/web/servers"));
        Assert.Contains(_emu.Requests, r => r is { Method: "POST", Status: 400 });
    }

    [Fact]
    public async Task Concurrent_posts_get_distinct_ids()
    {
        var tasks = Enumerable.Range(0, 100)
            .Select(i => PostAsync("http/upstreams/web/servers", $$"""{"server":"10.1.{{i / 250}}.{{i % 250}}:80"}"""));
        var results = await Task.WhenAll(tasks);
        Assert.All(results, r => Assert.Equal(HttpStatusCode.Created, r.Status));
        Assert.Equal(100, results.Select(r => r.Body.GetProperty("id").GetInt32()).Distinct().Count());
        Assert.Equal(100, _emu.GetServers("web").Count);
    }

    // ---------- faults ----------

    [Fact]
    public async Task TooManyRequests_carries_Retry_After_and_an_nginx_error_body()
    {
        _emu.Faults.RetryAfterSeconds = 1;
        _emu.Faults.Enqueue(FaultKind.TooManyRequests);

        using var response = await _http.GetAsync(Url("http/upstreams"));
        Assert.Equal((HttpStatusCode)429, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter!.Delta);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.ToString());
        AssertError(response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement, 429, "TooManyRequests");

        using var next = await _http.GetAsync(Url("http/upstreams"));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(1, _emu.Faults.CountOf(FaultKind.TooManyRequests));
    }

    [Fact]
    public async Task ServiceUnavailable_burst_then_recovery()
    {
        _emu.Faults.Enqueue(FaultKind.ServiceUnavailable, count: 3);
        var statuses = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            var (status, body) = await GetAsync("http/upstreams");
            statuses.Add((int)status);
            if (status == HttpStatusCode.ServiceUnavailable) AssertError(status, body, 503, "ServiceUnavailable");
        }
        Assert.Equal(new[] { 503, 503, 503, 200 }, statuses);
        Assert.Equal(3, _emu.Faults.InjectedCount);
        Assert.Equal(0, _emu.Faults.PendingCount);
    }

    [Fact]
    public async Task Queued_faults_are_consumed_in_order_and_filters_pick_their_requests()
    {
        _emu.Faults.Enqueue(FaultKind.ServiceUnavailable, when: r => r.Method == "POST");
        _emu.Faults.Enqueue(FaultKind.TooManyRequests);

        var (get1, _) = await GetAsync("http/upstreams");              // the POST-only fault is skipped
        var (post1, _) = await PostAsync("http/upstreams/web/servers", """{"server":"10.0.0.1:80"}""");
        var (get2, _) = await GetAsync("http/upstreams");

        Assert.Equal((HttpStatusCode)429, get1);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, post1);
        Assert.Equal(HttpStatusCode.OK, get2);
        Assert.Empty(_emu.GetServers("web"));
    }

    [Fact]
    public async Task Slow_delays_then_processes_normally()
    {
        _emu.Faults.SlowDelay = TimeSpan.FromMilliseconds(50);
        _emu.Faults.Enqueue(FaultKind.Slow);
        var (status, _) = await PostAsync("http/upstreams/web/servers", """{"server":"10.0.0.1:80"}""");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Single(_emu.GetServers("web"));
        Assert.Equal(1, _emu.Faults.CountOf(FaultKind.Slow));
    }

    [Fact]
    public async Task Slow_outlasts_a_client_timeout()
    {
        _emu.Faults.SlowDelay = TimeSpan.FromSeconds(30);
        _emu.Faults.Enqueue(FaultKind.Slow);
        using var impatient = new HttpClient { Timeout = TimeSpan.FromMilliseconds(200) };
        await Assert.ThrowsAnyAsync<TaskCanceledException>(() => impatient.GetAsync(Url("http/upstreams")));

        using var response = await impatient.GetAsync(Url("http/upstreams"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task DropConnection_fails_the_client_and_applies_nothing()
    {
        _emu.Faults.Enqueue(FaultKind.DropConnection);
        await Assert.ThrowsAsync<HttpRequestException>(() =>
            _http.PostAsync(Url("http/upstreams/web/servers"), Json("""{"server":"10.0.0.1:80"}""")));

        Assert.Empty(_emu.GetServers("web"));
        Assert.Equal(1, _emu.CountRequests("POST", "/servers", 0));
    }

    [Fact]
    public async Task DropAfterProcessing_applies_the_post_but_the_client_never_sees_the_answer()
    {
        // Reuse a pooled connection first: the drop must not let the client silently resend the POST.
        await GetAsync("http/upstreams");
        _emu.Faults.Enqueue(FaultKind.DropAfterProcessing, when: r => r.Method == "POST");

        await Assert.ThrowsAsync<HttpRequestException>(() =>
            _http.PostAsync(Url("http/upstreams/web/servers"), Json("""{"server":"10.0.0.1:80"}""")));

        var server = Assert.Single(_emu.GetServers("web"));
        Assert.Equal("10.0.0.1:80", server.Server);
        // The client sees the reset a moment before the emulator's request log writes its line.
        Assert.True(System.Threading.SpinWait.SpinUntil(() => _emu.CountRequests("POST", "/servers") > 0, TimeSpan.FromSeconds(5)));
        Assert.Equal(1, _emu.CountRequests("POST", "/servers"));
        Assert.Equal(1, _emu.CountRequests("POST", "/servers", 201));
        Assert.Equal(1, _emu.Faults.CountOf(FaultKind.DropAfterProcessing));
    }

    [Fact]
    public async Task MalformedBody_is_200_with_unparsable_json()
    {
        _emu.Faults.Enqueue(FaultKind.MalformedBody);
        using var response = await _http.GetAsync(Url("http/upstreams"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(text));
    }

    [Fact]
    public async Task Unauthorized_fault_is_a_401_with_the_basic_challenge_when_auth_is_on()
    {
        _emu.RequireBasicAuth("admin", "pw");
        _emu.Faults.Enqueue(FaultKind.Unauthorized);
        using var request = new HttpRequestMessage(HttpMethod.Get, Url("http/upstreams"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:pw")));
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Basic", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(1, _emu.Faults.CountOf(FaultKind.Unauthorized));
    }

    [Fact]
    public async Task Random_fault_rate_injects_about_that_fraction_of_429s_and_503s()
    {
        _emu.Faults.RandomFaultRate = 0.1;
        var counts = new Dictionary<int, int>();
        for (var i = 0; i < 1000; i++)
        {
            using var response = await _http.GetAsync(Url("http/upstreams?fields=zone"));
            var status = (int)response.StatusCode;
            counts[status] = counts.GetValueOrDefault(status) + 1;
            if (status == 429) Assert.Equal(TimeSpan.Zero, response.Headers.RetryAfter!.Delta);
        }

        var faults = counts.GetValueOrDefault(429) + counts.GetValueOrDefault(503);
        Assert.InRange(faults, 60, 140);
        Assert.Equal(faults, _emu.Faults.InjectedCount);
        Assert.Equal(1000 - faults, counts[200]);
        // Alternating selection: both kinds, within one of each other.
        Assert.InRange(counts.GetValueOrDefault(429) - counts.GetValueOrDefault(503), 0, 1);
    }

    [Fact]
    public async Task Random_faults_repeat_for_the_same_seed()
    {
        var first = await CountRandomFaultsAsync(seed: 7);
        var second = await CountRandomFaultsAsync(seed: 7);
        Assert.Equal(first, second);

        async Task<string> CountRandomFaultsAsync(int seed)
        {
            await using var emu = await NginxPlusEmulator.StartAsync(new NginxPlusEmulatorOptions { FaultSeed = seed });
            emu.AddUpstream("web");
            emu.Faults.RandomFaultRate = 0.2;
            emu.Faults.RandomFaultSelection = RandomFaultSelection.Random;
            var pattern = new StringBuilder();
            for (var i = 0; i < 200; i++)
            {
                using var response = await _http.GetAsync($"{emu.ApiBase}/9/http/upstreams");
                pattern.Append((int)response.StatusCode switch { 200 => '.', 429 => 'T', 503 => 'U', _ => '?' });
            }
            return pattern.ToString();
        }
    }

    [Fact]
    public async Task Latency_applies_to_every_request_and_can_be_reset()
    {
        _emu.Faults.Latency = TimeSpan.FromMilliseconds(20);
        var (status, _) = await GetAsync("http/upstreams");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(0, _emu.Faults.InjectedCount); // latency is not a fault

        _emu.Faults.Enqueue(FaultKind.ServiceUnavailable, count: 5);
        _emu.Faults.Reset();
        Assert.Equal(TimeSpan.Zero, _emu.Faults.Latency);
        (status, _) = await GetAsync("http/upstreams");
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public void Enqueue_rejects_nonsense()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _emu.Faults.Enqueue(FaultKind.Slow, count: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => _emu.Faults.RandomFaultRate = 1.5);
        Assert.Throws<ArgumentException>(() => _emu.SetPeerState("web", 0, "sleepy"));
    }
}
