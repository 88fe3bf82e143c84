using System.Text.Json;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Providers.F5;

namespace LoadBalancerTools.Tests.F5
{
    /// <summary>
    /// iControl REST refusals mapped by vendor code first, then by anchored patterns, on the texts BIG-IP
    /// sends ("NNNNNNNN:S: message", as quoted in f5-ansible's tests and F5's K-articles).
    /// </summary>
    public sealed class F5ErrorMappingTests
    {
        private static LbException Map(int status, string message, string request = "PATCH /mgmt/tm/ltm/pool/~Common~web/members/~Common~10.0.0.1:80") =>
            F5Errors.Map(new ApiResponse(status, JsonSerializer.Serialize(new { code = status, message, errorStack = new string[0] }), request));

        [Theory]
        [InlineData(409, "01020066:3: The requested Pool Member (/Common/web /Common/10.0.0.1 80) already exists in partition Common.", LbErrorKind.AlreadyExists, ErrorIds.AlreadyExists)]
        [InlineData(404, "01020036:3: The requested Pool (/Common/nosuch) was not found.", LbErrorKind.NotFound, ErrorIds.PoolNotFound)]
        [InlineData(404, "01020036:3: The requested Pool Member (/Common/web /Common/10.0.0.9 80) was not found.", LbErrorKind.NotFound, ErrorIds.MemberNotFound)]
        [InlineData(400, "01070587:3: The requested pool member name (10.0.0.1) is invalid.", LbErrorKind.InvalidInput, ErrorIds.InvalidAddress)]
        [InlineData(400, "01070734:3: Configuration error: invalid ratio 0 for pool member /Common/10.0.0.1:80.", LbErrorKind.InvalidInput, ErrorIds.InvalidWeight)]
        [InlineData(400, "01070734:3: Configuration error: invalid IP address (999.1.1.1) for a new node.", LbErrorKind.InvalidInput, ErrorIds.InvalidAddress)]
        [InlineData(400, "01070734:3: Configuration error: Cannot modify the ratio of an ephemeral pool member (/Common/_auto_10.0.0.5:80).", LbErrorKind.Rejected, ErrorIds.Rejected)]
        [InlineData(400, "01070734:3: Configuration error: the address of the node is in an invalid route domain.", LbErrorKind.Rejected, ErrorIds.Rejected)]
        [InlineData(403, "Authorization failed: user=ops resource=/mgmt/tm/ltm/pool verb=PATCH", LbErrorKind.ReadOnly, ErrorIds.ApiReadOnly)]
        [InlineData(401, "Authentication required!", LbErrorKind.AuthenticationFailed, ErrorIds.AuthenticationFailed)]
        [InlineData(503, "There is an active asynchronous task executing.", LbErrorKind.Transient, ErrorIds.Transient)]
        public void Each_refusal_maps_to_its_kind_and_stable_id(int status, string message, LbErrorKind kind, string errorId)
        {
            var ex = Map(status, message);
            Assert.Equal(kind, ex.Kind);
            Assert.Equal(errorId, ex.ErrorId);
        }

        [Fact]
        public void The_word_ratio_inside_another_refusal_is_not_a_weight_error()
        {
            var ex = Map(400, "01070734:3: Configuration error: Cannot modify the ratio of an ephemeral pool member (/Common/_auto_10.0.0.5:80).");
            Assert.NotEqual(ErrorIds.InvalidWeight, ex.ErrorId);
            Assert.Equal("01070734", ex.VendorCode);
        }
    }
}
