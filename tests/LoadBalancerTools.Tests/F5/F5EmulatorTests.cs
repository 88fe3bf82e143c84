using System;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.F5
{
    /// <summary>The emulator itself, over raw HTTP: it must behave as VENDOR-APIS says for the provider tests to mean anything.</summary>
    public sealed class F5EmulatorTests : IAsyncLifetime
    {
        private readonly FakeTimeProvider _clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        private readonly HttpClient _http = new HttpClient();
        private F5Emulator _f5 = null!;

        public async Task InitializeAsync()
        {
            _f5 = await F5Emulator.StartAsync(new F5EmulatorOptions { TimeProvider = _clock, MaxTokensPerUser = 3 });
            _f5.AddPool("web");
            _f5.AddMember("web", "10.0.0.1", 80);
            _http.BaseAddress = _f5.BaseAddress;
        }

        public async Task DisposeAsync()
        {
            _http.Dispose();
            await _f5.DisposeAsync();
        }

        private async Task<(int Status, JsonElement Body)> SendAsync(string method, string path, string? body = null, string? token = null, string? transaction = null)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (body != null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            if (token != null) request.Headers.Add(F5Emulator.TokenHeader, token);
            if (transaction != null) request.Headers.Add(F5Emulator.CoordinationHeader, transaction);
            using var response = await _http.SendAsync(request);
            string text = await response.Content.ReadAsStringAsync();
            return ((int)response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
        }

        private async Task<string> LoginAsync()
        {
            var (status, body) = await SendAsync("POST", "/mgmt/shared/authn/login", "{\"username\":\"admin\",\"password\":\"admin\",\"loginProviderName\":\"tmos\"}");
            Assert.Equal(200, status);
            return body.GetProperty("token").GetProperty("token").GetString()!;
        }

        [Fact]
        public async Task Errors_use_the_iControl_shape()
        {
            string token = await LoginAsync();
            var (status, body) = await SendAsync("GET", "/mgmt/tm/ltm/pool/~Common~nope/members", token: token);
            Assert.Equal(404, status);
            Assert.Equal(404, body.GetProperty("code").GetInt32());
            Assert.Contains("01020036:3: The requested Pool (/Common/nope) was not found.", body.GetProperty("message").GetString());
            Assert.Equal(JsonValueKind.Array, body.GetProperty("errorStack").ValueKind);
            Assert.True(body.TryGetProperty("apiError", out _));
        }

        [Fact]
        public async Task A_duplicate_member_is_409_with_01020066()
        {
            string token = await LoginAsync();
            var (status, body) = await SendAsync("POST", "/mgmt/tm/ltm/pool/~Common~web/members", "{\"name\":\"10.0.0.1:80\",\"partition\":\"Common\"}", token);
            Assert.Equal(409, status);
            Assert.StartsWith("01020066:3: The requested Pool Member (/Common/web /Common/10.0.0.1 80) already exists", body.GetProperty("message").GetString());
        }

        [Fact]
        public async Task Tokens_expire_can_be_extended_up_to_the_maximum_and_deleted()
        {
            string token = await LoginAsync();
            Assert.Equal(406, (await SendAsync("PATCH", "/mgmt/shared/authz/tokens/" + token, "{\"timeout\":36001}", token)).Status);
            Assert.Equal(200, (await SendAsync("PATCH", "/mgmt/shared/authz/tokens/" + token, "{\"timeout\":36000}", token)).Status);

            _clock.Advance(TimeSpan.FromSeconds(35999));
            Assert.Equal(200, (await SendAsync("GET", "/mgmt/tm/ltm/pool", token: token)).Status);
            _clock.Advance(TimeSpan.FromSeconds(2));
            var (expired, body) = await SendAsync("GET", "/mgmt/tm/ltm/pool", token: token);
            Assert.Equal(401, expired);
            Assert.Equal("X-F5-Auth-Token does not exist.", body.GetProperty("message").GetString());

            string second = await LoginAsync();
            Assert.Equal(200, (await SendAsync("DELETE", "/mgmt/shared/authz/tokens/" + second, token: second)).Status);
            Assert.Equal(401, (await SendAsync("GET", "/mgmt/tm/ltm/pool", token: second)).Status);
            Assert.Equal(0, _f5.LiveTokenCount());
        }

        [Fact]
        public async Task The_token_cap_refuses_logins_beyond_it()
        {
            for (int i = 0; i < 3; i++) await LoginAsync();
            var (status, body) = await SendAsync("POST", "/mgmt/shared/authn/login", "{\"username\":\"admin\",\"password\":\"admin\",\"loginProviderName\":\"tmos\"}");
            Assert.Equal(400, status);
            Assert.Contains("has reached maximum active login tokens", body.GetProperty("message").GetString());
            Assert.Equal(3, _f5.LoginCount);
        }

        [Fact]
        public async Task A_failed_login_does_not_echo_the_password()
        {
            var (status, body) = await SendAsync("POST", "/mgmt/shared/authn/login", "{\"username\":\"admin\",\"password\":\"s3cr3t-xyz\",\"loginProviderName\":\"tmos\"}");
            Assert.Equal(401, status);
            Assert.Equal("Authentication failed.", body.GetProperty("message").GetString());
            Assert.DoesNotContain("s3cr3t-xyz", body.GetRawText());
        }

        [Fact]
        public async Task Requests_without_credentials_are_401()
        {
            Assert.Equal(401, (await SendAsync("GET", "/mgmt/tm/ltm/pool")).Status);
            Assert.Equal(401, (await SendAsync("GET", "/mgmt/tm/ltm/pool", token: "NOSUCHTOKEN")).Status);
        }

        [Fact]
        public async Task Queued_transaction_calls_apply_only_at_commit()
        {
            string token = await LoginAsync();
            var (_, tx) = await SendAsync("POST", "/mgmt/tm/transaction", "{}", token);
            string id = tx.GetProperty("transId").GetRawText();
            Assert.Equal("STARTED", tx.GetProperty("state").GetString());

            Assert.Equal(200, (await SendAsync("POST", "/mgmt/tm/ltm/pool/~Common~web/members", "{\"name\":\"10.0.0.2:80\",\"partition\":\"Common\"}", token, id)).Status);
            Assert.Single(_f5.GetMembers("web")); // queued, not applied

            var (status, done) = await SendAsync("PATCH", "/mgmt/tm/transaction/" + id, "{\"state\":\"VALIDATING\"}", token);
            Assert.Equal(200, status);
            Assert.Equal("COMPLETED", done.GetProperty("state").GetString());
            Assert.Equal(2, _f5.GetMembers("web").Count);
        }

        [Fact]
        public async Task A_route_domain_sent_without_percent_encoding_is_a_different_name()
        {
            _f5.AddMember("web", "10.0.0.1%12", 80);
            string token = await LoginAsync();
            Assert.Equal(200, (await SendAsync("GET", "/mgmt/tm/ltm/pool/~Common~web/members/~Common~10.0.0.1%2512:80", token: token)).Status);
            // "%12" unencoded decodes to a control character: no such member.
            Assert.Equal(404, (await SendAsync("GET", "/mgmt/tm/ltm/pool/~Common~web/members/~Common~10.0.0.1%12:80", token: token)).Status);
        }

        [Fact]
        public async Task Injected_503s_say_an_asynchronous_task_is_executing()
        {
            string token = await LoginAsync();
            _f5.Faults.Enqueue(FaultKind.ServiceUnavailable);
            var (status, body) = await SendAsync("GET", "/mgmt/tm/ltm/pool", token: token);
            Assert.Equal(503, status);
            Assert.Contains("active asynchronous task executing", body.GetProperty("message").GetString());
        }
    }
}
