using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.NetScaler;

/// <summary>
/// Proves the NetScaler emulator honours the NITRO facts in shared/VENDOR-APIS.md and that its session,
/// graceful-disable and fault controls do what the provider tests rely on. Plain HttpClient only.
/// </summary>
public sealed class NetScalerEmulatorTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private NetScalerEmulator _emu = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _emu = await NetScalerEmulator.StartAsync(new NetScalerEmulatorOptions { UserName = "ops", Password = "pw1", TimeProvider = _clock });
        _emu.AddServiceGroup("web");
        _emu.AddMember("web", "10.0.0.1", 80);
        _http = new HttpClient { BaseAddress = _emu.ConfigBase };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _emu.DisposeAsync();
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<(int Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(HttpMethod method, string path, string? json = null, string? session = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = json == null ? null : Json(json) };
        if (session != null) request.Headers.Add("Cookie", "NITRO_AUTH_TOKEN=" + session);
        var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone(), response);
    }

    private async Task<string> LoginAsync(int? timeout = null)
    {
        string t = timeout.HasValue ? ",\"timeout\":" + timeout.Value : "";
        var (status, body, _) = await SendAsync(HttpMethod.Post, "login", "{\"login\":{\"username\":\"ops\",\"password\":\"pw1\"" + t + "}}");
        Assert.Equal(201, status);
        return body.GetProperty("sessionid").GetString()!;
    }

    private static void AssertError(int status, JsonElement body, int expectedStatus, int code)
    {
        Assert.Equal(expectedStatus, status);
        Assert.Equal(new[] { "errorcode", "message", "severity" }, body.EnumerateObject().Select(p => p.Name).Take(3).ToArray());
        Assert.Equal(code, body.GetProperty("errorcode").GetInt32());
        Assert.Equal("ERROR", body.GetProperty("severity").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Login_returns_201_with_a_session_id_and_the_cookie_and_counts_it()
    {
        var (status, body, response) = await SendAsync(HttpMethod.Post, "login", "{\"login\":{\"username\":\"ops\",\"password\":\"pw1\",\"timeout\":60}}");
        Assert.Equal(201, status);
        Assert.Equal(0, body.GetProperty("errorcode").GetInt32());
        string id = body.GetProperty("sessionid").GetString()!;
        Assert.StartsWith("##", id);
        Assert.Contains(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith("NITRO_AUTH_TOKEN=" + id));
        Assert.Equal(1, _emu.LoginCount);
        Assert.Equal(1, _emu.LiveSessionCount);
    }

    [Fact]
    public async Task A_wrong_password_is_401_errorcode_354_and_the_password_is_never_logged()
    {
        var (status, body, _) = await SendAsync(HttpMethod.Post, "login", "{\"login\":{\"username\":\"ops\",\"password\":\"not-it-77\"}}");
        AssertError(status, body, 401, 354);
        Assert.Equal(0, _emu.LoginCount);
        Assert.DoesNotContain(_emu.Requests, r => (r.Body ?? "").Contains("not-it-77"));
    }

    [Fact]
    public async Task Config_calls_need_a_session_or_per_call_credentials()
    {
        var (status, body, _) = await SendAsync(HttpMethod.Get, "servicegroup");
        AssertError(status, body, 401, 1026);

        var request = new HttpRequestMessage(HttpMethod.Get, "servicegroup");
        request.Headers.Add("X-NITRO-USER", "ops");
        request.Headers.Add("X-NITRO-PASS", "pw1");
        Assert.Equal(HttpStatusCode.OK, (await _http.SendAsync(request)).StatusCode);
    }

    [Theory]
    [InlineData(444)]
    [InlineData(1027)]
    public async Task Expired_sessions_answer_401_with_the_configured_code(int code)
    {
        _emu.SessionExpiredCode = code;
        string session = await LoginAsync();
        Assert.Equal(200, (await SendAsync(HttpMethod.Get, "servicegroup", session: session)).Status);

        _emu.ExpireAllSessions();
        var (status, body, _) = await SendAsync(HttpMethod.Get, "servicegroup", session: session);
        AssertError(status, body, 401, code);
        Assert.Equal(0, _emu.LiveSessionCount);
        Assert.Equal(1, _emu.ExpiredCount);
    }

    [Fact]
    public async Task Sessions_expire_after_a_request_count_and_after_the_idle_timeout()
    {
        string session = await LoginAsync(timeout: 60);
        _emu.ExpireSessionsAfter(2);
        Assert.Equal(200, (await SendAsync(HttpMethod.Get, "servicegroup", session: session)).Status);
        Assert.Equal(200, (await SendAsync(HttpMethod.Get, "servicegroup", session: session)).Status);
        Assert.Equal(401, (await SendAsync(HttpMethod.Get, "servicegroup", session: session)).Status);

        string idle = await LoginAsync(timeout: 60);
        _clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(200, (await SendAsync(HttpMethod.Get, "servicegroup", session: idle)).Status); // use resets the idle clock
        _clock.Advance(TimeSpan.FromSeconds(61));
        var (status, body, _) = await SendAsync(HttpMethod.Get, "servicegroup", session: idle);
        AssertError(status, body, 401, 444);
    }

    [Fact]
    public async Task Logout_ends_the_session()
    {
        string session = await LoginAsync();
        Assert.Equal(201, (await SendAsync(HttpMethod.Post, "logout", "{\"logout\":{}}", session)).Status);
        Assert.Equal(1, _emu.LogoutCount);
        Assert.Equal(0, _emu.LiveSessionCount);
        Assert.Equal(401, (await SendAsync(HttpMethod.Get, "servicegroup", session: session)).Status);
    }

    [Fact]
    public async Task Bindings_are_listed_added_once_and_removed_once_with_NITRO_errors()
    {
        string s = await LoginAsync();
        var (status, body, _) = await SendAsync(HttpMethod.Get, "servicegroup_servicegroupmember_binding/web", session: s);
        Assert.Equal(200, status);
        var member = body.GetProperty("servicegroup_servicegroupmember_binding").EnumerateArray().Single();
        Assert.Equal("10.0.0.1", member.GetProperty("ip").GetString());
        Assert.Equal(80, member.GetProperty("port").GetInt32());
        Assert.Equal("1", member.GetProperty("weight").GetString());
        Assert.Equal("ENABLED", member.GetProperty("state").GetString());
        Assert.Equal("UP", member.GetProperty("svrstate").GetString());

        const string bind = "{\"servicegroup_servicegroupmember_binding\":{\"servicegroupname\":\"web\",\"ip\":\"2001:db8::5\",\"port\":80}}";
        Assert.Equal(201, (await SendAsync(HttpMethod.Post, "servicegroup_servicegroupmember_binding", bind, s)).Status);
        (status, body, _) = await SendAsync(HttpMethod.Post, "servicegroup_servicegroupmember_binding", bind, s);
        AssertError(status, body, 409, 273);

        (status, body, _) = await SendAsync(HttpMethod.Delete, "servicegroup_servicegroupmember_binding/web?args=ip:2001%3Adb8%3A%3A5,port:80", session: s);
        Assert.Equal(200, status);
        (status, body, _) = await SendAsync(HttpMethod.Delete, "servicegroup_servicegroupmember_binding/web?args=ip:2001%3Adb8%3A%3A5,port:80", session: s);
        AssertError(status, body, 404, 258);

        (status, body, _) = await SendAsync(HttpMethod.Get, "servicegroup_servicegroupmember_binding/nope", session: s);
        AssertError(status, body, 404, 258);
        Assert.Contains("servicegroupName, nope", body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task An_empty_group_lists_no_key_and_bulkbindings_lists_every_group()
    {
        _emu.AddServiceGroup("empty");
        string s = await LoginAsync();
        var (_, body, _) = await SendAsync(HttpMethod.Get, "servicegroup_servicegroupmember_binding/empty", session: s);
        Assert.False(body.TryGetProperty("servicegroup_servicegroupmember_binding", out _));
        (_, body, _) = await SendAsync(HttpMethod.Get, "servicegroup_servicegroupmember_binding?bulkbindings=yes", session: s);
        Assert.Single(body.GetProperty("servicegroup_servicegroupmember_binding").EnumerateArray());
    }

    [Fact]
    public async Task A_graceful_disable_with_a_delay_goes_out_of_service_when_the_delay_passes()
    {
        string s = await LoginAsync(timeout: 3600);
        var (status, _, _) = await SendAsync(HttpMethod.Post, "servicegroup?action=disable",
            "{\"servicegroup\":{\"servicegroupname\":\"web\",\"servername\":\"10.0.0.1\",\"port\":80,\"delay\":30,\"graceful\":\"YES\"}}", s);
        Assert.Equal(200, status);
        var m = _emu.GetMembers("web").Single();
        Assert.Equal(("DISABLED", "GOING OUT OF SERVICE", "YES", 30), (m.State, m.SvrState, m.Graceful, m.Delay));

        _clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal("GOING OUT OF SERVICE", _emu.GetMembers("web").Single().SvrState);
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("OUT OF SERVICE", _emu.GetMembers("web").Single().SvrState);

        await SendAsync(HttpMethod.Post, "servicegroup?action=enable", "{\"servicegroup\":{\"servicegroupname\":\"web\",\"servername\":\"10.0.0.1\",\"port\":80}}", s);
        Assert.Equal("UP", _emu.GetMembers("web").Single().SvrState);
    }

    [Fact]
    public async Task CompleteGracefulDisables_ends_the_delay_without_waiting()
    {
        string s = await LoginAsync();
        await SendAsync(HttpMethod.Post, "servicegroup?action=disable",
            "{\"servicegroup\":{\"servicegroupname\":\"web\",\"servername\":\"10.0.0.1\",\"port\":80,\"delay\":600,\"graceful\":\"YES\"}}", s);
        _emu.SetMemberHealth("web", "10.0.0.1", 80, "DOWN");
        Assert.Equal("DOWN WHEN GOING OUT OF SERVICE", _emu.GetMembers("web").Single().SvrState);
        Assert.Equal(1, _emu.CompleteGracefulDisables());
        Assert.Equal("OUT OF SERVICE", _emu.GetMembers("web").Single().SvrState);
    }

    [Fact]
    public async Task A_bulk_bind_with_one_failure_is_207_errorcode_1243_with_one_result_per_operation()
    {
        string s = await LoginAsync();
        var request = new HttpRequestMessage(HttpMethod.Post, "servicegroup_servicegroupmember_binding")
        {
            Content = Json("{\"servicegroup_servicegroupmember_binding\":[{\"servicegroupname\":\"web\",\"ip\":\"10.0.0.1\",\"port\":80},{\"servicegroupname\":\"web\",\"ip\":\"10.0.0.7\",\"port\":80}]}"),
        };
        request.Headers.Add("Cookie", "NITRO_AUTH_TOKEN=" + s);
        request.Headers.Add("X-NITRO-ONERROR", "continue");
        var response = await _http.SendAsync(request);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(207, (int)response.StatusCode);
        Assert.Equal(1243, body.GetProperty("errorcode").GetInt32());
        var results = body.GetProperty("response").EnumerateArray().Select(r => r.GetProperty("errorcode").GetInt32()).ToArray();
        Assert.Equal(new[] { 273, 0 }, results);
        Assert.Equal(2, _emu.GetMembers("web").Count);
    }

    [Fact]
    public async Task Faults_use_NITRO_bodies_for_401_and_a_plain_page_for_503()
    {
        string s = await LoginAsync();
        _emu.Faults.Enqueue(FaultKind.Unauthorized);
        var (status, body, _) = await SendAsync(HttpMethod.Get, "servicegroup", session: s);
        AssertError(status, body, 401, 444);

        _emu.Faults.Enqueue(FaultKind.ServiceUnavailable);
        var response = await _http.GetAsync("servicegroup");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.StartsWith("<html>", await response.Content.ReadAsStringAsync());
    }
}
