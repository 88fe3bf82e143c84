using System;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Model;
using LoadBalancerTools.Providers.NetScaler;

namespace LoadBalancerTools.Tests.NetScaler;

/// <summary>The NITRO error, state and health tables, and where the API lives; pure functions.</summary>
public sealed class NetScalerMappingTests
{
    private static ApiResponse Nitro(int status, int code, string message, string request = "POST /nitro/v1/config/servicegroup_servicegroupmember_binding") =>
        new(status, $"{{\"errorcode\":{code},\"message\":\"{message}\",\"severity\":\"ERROR\"}}", request);

    [Theory]
    [InlineData(404, 258, "No such resource [servicegroupName, web]", LbErrorKind.NotFound, ErrorIds.PoolNotFound)]
    [InlineData(404, 258, "No such resource", LbErrorKind.NotFound, ErrorIds.MemberNotFound)]
    [InlineData(409, 273, "Resource already exists", LbErrorKind.AlreadyExists, ErrorIds.AlreadyExists)]
    [InlineData(401, 354, "Invalid username or password", LbErrorKind.AuthenticationFailed, ErrorIds.AuthenticationFailed)]
    [InlineData(401, 444, "Session expired or killed. Please login again", LbErrorKind.AuthenticationFailed, ErrorIds.AuthenticationFailed)]
    [InlineData(401, 2138, "Not authorized to execute this command", LbErrorKind.ReadOnly, ErrorIds.ApiReadOnly)]
    [InlineData(599, 445, "Session limit exceeded", LbErrorKind.Throttled, ErrorIds.Throttled)]
    [InlineData(599, 1097, "Invalid argument value [weight, value 0]", LbErrorKind.InvalidInput, ErrorIds.InvalidWeight)]
    [InlineData(400, 1095, "Required argument missing [port]", LbErrorKind.InvalidInput, ErrorIds.InvalidPort)]
    [InlineData(599, 257, "Operation not permitted", LbErrorKind.Rejected, ErrorIds.Rejected)]
    public void NITRO_error_codes_map_to_kinds_and_stable_ids(int status, int code, string message, LbErrorKind kind, string errorId)
    {
        var ex = NetScalerErrors.Map(Nitro(status, code, message));
        Assert.Equal(kind, ex.Kind);
        Assert.Equal(errorId, ex.ErrorId);
        Assert.Equal(code.ToString(), ex.VendorCode);
        Assert.Equal(status, ex.StatusCode);
    }

    [Fact]
    public void A_command_policy_denial_of_a_read_is_Rejected_not_ReadOnly()
    {
        var ex = NetScalerErrors.Map(Nitro(401, 2138, "Not authorized to execute this command", "GET /nitro/v1/config/servicegroup"));
        Assert.Equal(LbErrorKind.Rejected, ex.Kind);
        Assert.Contains("command policy", ex.Message);
    }

    [Theory]
    [InlineData(401, 444, true)]
    [InlineData(401, 1027, true)]
    [InlineData(403, 444, true)]
    [InlineData(401, 354, false)]
    [InlineData(404, 258, false)]
    public void Only_444_and_1027_mean_log_in_again(int status, int code, bool expired)
    {
        Assert.Equal(expired, NetScalerErrors.IsSessionExpired(Nitro(status, code, "x")));
    }

    [Fact]
    public void A_207_bulk_partial_failure_names_each_failed_operation_and_what_was_applied()
    {
        var response = new ApiResponse(207,
            "{\"errorcode\":1243,\"message\":\"Bulk operation failed\",\"severity\":\"ERROR\",\"response\":[" +
            "{\"errorcode\":0,\"message\":\"Done\",\"severity\":\"NONE\"}," +
            "{\"errorcode\":273,\"message\":\"Resource already exists\",\"severity\":\"ERROR\"}," +
            "{\"errorcode\":0,\"message\":\"Done\",\"severity\":\"NONE\"}]}",
            "POST /nitro/v1/config/servicegroup_servicegroupmember_binding");
        Assert.True(NetScalerErrors.IsFailure(response)); // a 2xx that is not a success
        var ex = NetScalerErrors.Map(response);
        Assert.Equal("1243", ex.VendorCode);
        Assert.Equal(LbErrorKind.AlreadyExists, ex.Kind); // every failure was "exists"
        Assert.Contains("1 operation(s) failed", ex.Message);
        Assert.Contains("#2: Resource already exists (errorcode 273)", ex.Message);
        Assert.Contains("2 reported Done and were applied", ex.Message);
    }

    [Fact]
    public void A_bulk_failure_of_mixed_kinds_is_Rejected()
    {
        var response = new ApiResponse(207,
            "{\"errorcode\":1243,\"message\":\"Bulk operation failed\",\"severity\":\"ERROR\",\"response\":[" +
            "{\"errorcode\":273,\"message\":\"Resource already exists\",\"severity\":\"ERROR\"}," +
            "{\"errorcode\":258,\"message\":\"No such resource [servicegroupName, x]\",\"severity\":\"ERROR\"}]}", "POST /x");
        var ex = NetScalerErrors.Map(response);
        Assert.Equal(LbErrorKind.Rejected, ex.Kind);
        Assert.Equal(ErrorIds.Rejected, ex.ErrorId);
    }

    [Fact]
    public void A_success_status_with_an_error_code_is_a_failure_and_a_plain_page_falls_back_to_the_status()
    {
        Assert.True(NetScalerErrors.IsFailure(Nitro(200, 1097, "Invalid argument value")));
        Assert.False(NetScalerErrors.IsFailure(new ApiResponse(200, "{\"errorcode\":0,\"message\":\"Done\",\"severity\":\"NONE\"}", "GET /x")));

        var html = NetScalerErrors.Map(new ApiResponse(503, "<html>503 Service Unavailable</html>", "GET /x"));
        Assert.Equal(LbErrorKind.Transient, html.Kind);
    }

    [Theory]
    [InlineData("ENABLED", "UP", LbMemberState.Enabled, LbMemberHealth.Healthy)]
    [InlineData("ENABLED", "BUSY", LbMemberState.Enabled, LbMemberHealth.Healthy)]
    [InlineData("ENABLED", "DOWN", LbMemberState.Enabled, LbMemberHealth.Unhealthy)]
    [InlineData("ENABLED", "UNKNOWN", LbMemberState.Enabled, LbMemberHealth.Unknown)]
    [InlineData("ENABLED", "OUT OF SERVICE", LbMemberState.Enabled, LbMemberHealth.Unhealthy)]
    [InlineData("ENABLED", "GOING OUT OF SERVICE", LbMemberState.Draining, LbMemberHealth.Healthy)]
    [InlineData("DISABLED", "GOING OUT OF SERVICE", LbMemberState.Draining, LbMemberHealth.Healthy)]
    [InlineData("DISABLED", "DOWN WHEN GOING OUT OF SERVICE", LbMemberState.Draining, LbMemberHealth.Unhealthy)]
    [InlineData("DISABLED", "OUT OF SERVICE", LbMemberState.Disabled, LbMemberHealth.Unknown)]
    [InlineData("DISABLED", "DISABLED", LbMemberState.Disabled, LbMemberHealth.Unknown)]
    [InlineData("DISABLED", "NS_EMPTY_STR", LbMemberState.Disabled, LbMemberHealth.Unknown)]
    [InlineData(null, null, LbMemberState.Enabled, LbMemberHealth.Unknown)]
    public void State_and_health_come_from_state_and_svrstate(string? state, string? svrstate, LbMemberState expectedState, LbMemberHealth expectedHealth)
    {
        Assert.Equal(expectedState, NetScalerStates.State(state, svrstate));
        Assert.Equal(expectedHealth, NetScalerStates.Health(state, svrstate));
    }

    [Theory]
    [InlineData(LbMemberState.Enabled, null, "enable", null, null)]
    [InlineData(LbMemberState.Disabled, null, "disable", "YES", null)]
    [InlineData(LbMemberState.Disabled, 30, "disable", "YES", 30)]
    [InlineData(LbMemberState.Draining, null, "disable", "YES", 300)]
    [InlineData(LbMemberState.Draining, 45, "disable", "YES", 45)]
    [InlineData(LbMemberState.ForcedOffline, 45, "disable", "NO", null)]
    public void Requested_states_are_written_as_enable_or_graceful_or_immediate_disable(LbMemberState target, int? timeout, string action, string? graceful, int? delay)
    {
        var (a, body) = NetScalerStates.StateChange("web", "10.0.0.1", 80, target, timeout);
        Assert.Equal(action, a);
        Assert.Equal(("web", "10.0.0.1", 80), ((string)body["servicegroupname"], (string)body["servername"], (int)body["port"]));
        Assert.Equal(graceful, body.TryGetValue("graceful", out var g) ? (string)g : null);
        Assert.Equal(delay, body.TryGetValue("delay", out var d) ? (int?)d : null);
    }

    [Theory]
    [InlineData("https://ns1.example.com", "https://ns1.example.com/nitro/v1/config/")]
    [InlineData("https://ns1.example.com:8443/", "https://ns1.example.com:8443/nitro/v1/config/")]
    [InlineData("https://ns1.example.com/nitro/v1", "https://ns1.example.com/nitro/v1/config/")]
    [InlineData("https://ns1.example.com/nitro/v1/config/", "https://ns1.example.com/nitro/v1/config/")]
    [InlineData("https://gw.example.com/adc1/nitro/v1/config", "https://gw.example.com/adc1/nitro/v1/config/")]
    public void The_endpoint_may_name_the_host_or_the_NITRO_path(string endpoint, string expected)
    {
        Assert.Equal(new Uri(expected), NetScalerProvider.ApiBase(new Uri(endpoint)));
    }
}
