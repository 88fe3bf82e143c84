using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Providers.F5;

namespace LoadBalancerTools.Tests.F5
{
    public class F5NamesTests
    {
        [Theory]
        [InlineData("10.0.0.1", 80, "10.0.0.1:80")]
        [InlineData("2001:db8::1", 80, "2001:db8::1.80")]
        [InlineData("[2001:db8::1]", 443, "2001:db8::1.443")]
        [InlineData("10.0.0.1%2", 80, "10.0.0.1%2:80")]
        [InlineData("2001:db8::1%3", 8080, "2001:db8::1%3.8080")]
        [InlineData("web1", 80, "web1:80")]
        public void Member_names_follow_the_address_family(string address, int port, string expected)
        {
            Assert.Equal(expected, F5Names.MemberName(address, port));
            Assert.True(F5Names.TrySplitMemberName(expected, out string node, out int back));
            Assert.Equal(port, back);
            Assert.Equal(address.Trim('[', ']'), node);
        }

        [Theory]
        [InlineData("/Common/web", "~Common~web")]
        [InlineData("/Common/10.0.0.1:80", "~Common~10.0.0.1:80")]
        [InlineData("/App1/2001:db8::1.80", "~App1~2001:db8::1.80")]
        [InlineData("/Common/10.0.0.1%2:80", "~Common~10.0.0.1%252:80")]
        [InlineData("/Common/web pool", "~Common~web%20pool")]
        public void Uri_segments_use_tilde_for_slash_and_encode_the_route_domain(string fullPath, string expected)
        {
            Assert.Equal(expected, F5Names.UriSegment(fullPath));
        }

        [Theory]
        [InlineData(null, "Common")]
        [InlineData("", "Common")]
        [InlineData("App1", "App1")]
        [InlineData("/App1/", "App1")]
        public void Partition_defaults_to_Common(string? given, string expected) => Assert.Equal(expected, F5Names.Partition(given));

        [Theory]
        [InlineData("a~b")]
        [InlineData("a/b")]
        [InlineData("a b")]
        public void Partition_names_BIG_IP_cannot_have_are_refused(string given)
        {
            var ex = Assert.Throws<LbException>(() => F5Names.Partition(given));
            Assert.Equal(LbErrorKind.InvalidInput, ex.Kind);
            Assert.Contains(given, ex.Message);
        }

        [Fact]
        public void A_pool_given_as_a_full_path_keeps_its_partition()
        {
            Assert.Equal("/Other/web", F5Names.FullPath("Common", "/Other/web"));
            Assert.Equal("/App1/web", F5Names.FullPath("App1", "web"));
        }

        [Theory]
        [InlineData("user-up", "monitor-enabled", LbMemberState.Enabled)]
        [InlineData("up", "user-enabled", LbMemberState.Enabled)]
        [InlineData("down", "monitor-enabled", LbMemberState.Enabled)]
        [InlineData("user-up", "user-disabled", LbMemberState.Disabled)]
        [InlineData("up", "user-disabled", LbMemberState.Disabled)]
        [InlineData("user-down", "user-disabled", LbMemberState.ForcedOffline)]
        public void State_is_read_from_state_and_session_together(string state, string session, LbMemberState expected)
        {
            Assert.Equal(expected, F5Provider.ReadState(state, session));
        }

        [Theory]
        [InlineData("available", "up", LbMemberHealth.Healthy)]
        [InlineData("offline", "down", LbMemberHealth.Unhealthy)]
        [InlineData("unknown", "unchecked", LbMemberHealth.Unknown)]
        [InlineData("unknown", "checking", LbMemberHealth.Checking)]
        [InlineData(null, null, LbMemberHealth.Unknown)]
        public void Health_follows_the_availability_state(string? availability, string? monitor, LbMemberHealth expected)
        {
            Assert.Equal(expected, F5Provider.ReadHealth(availability, monitor));
        }

        [Fact]
        public void Tokens_in_request_paths_are_redacted()
        {
            Assert.Equal("PATCH /mgmt/shared/authz/tokens/*** -> 200", F5Errors.Redact("PATCH /mgmt/shared/authz/tokens/ABCDEF123 -> 200"));
        }
    }
}
