using LoadBalancerTools.Errors;
using LoadBalancerTools.Util;

namespace LoadBalancerTools.Tests.Services
{
    public class MemberAddressTests
    {
        [Theory]
        [InlineData("10.0.0.1", "10.0.0.1")]
        [InlineData(" 10.0.0.1 ", "10.0.0.1")]
        [InlineData("2001:DB8::1", "2001:db8::1")]
        [InlineData("[2001:db8::1]", "2001:db8::1")]
        [InlineData("Backend-1.example.com", "backend-1.example.com")]
        [InlineData("10.0.0.1%2", "10.0.0.1%2")]
        [InlineData("2001:DB8::1%12", "2001:db8::1%12")]
        public void Valid_addresses_are_normalized(string input, string expected) => Assert.Equal(expected, MemberAddress.Normalize(input));

        [Theory]
        [InlineData("")]
        [InlineData("10.0.0")]
        [InlineData("10.0.0.256")]
        [InlineData("not an address")]
        [InlineData("-bad-.example")]
        [InlineData("10.0.0.1:80")]
        [InlineData("10.0.0.1%")]
        [InlineData("10.0.0%2")]
        public void Invalid_addresses_are_rejected_naming_the_value(string input)
        {
            var ex = Assert.Throws<LbException>(() => MemberAddress.Normalize(input));
            Assert.Equal(ErrorIds.InvalidAddress, ex.ErrorId);
            Assert.Contains($"'{input}'", ex.Message);
        }

        [Theory]
        [InlineData("10.0.0.1:8080", "10.0.0.1", 8080)]
        [InlineData("[2001:db8::1]:443", "2001:db8::1", 443)]
        [InlineData("backend", "backend", 80)]
        [InlineData("2001:db8::1", "2001:db8::1", 80)]
        public void Vendor_endpoints_split_into_address_and_port(string endpoint, string address, int port) =>
            Assert.Equal((address, port), MemberAddress.SplitEndpoint(endpoint, 80));

        [Theory]
        [InlineData(0)]
        [InlineData(65536)]
        public void Ports_outside_1_to_65535_are_rejected(int port)
        {
            var ex = Assert.Throws<LbException>(() => MemberAddress.ValidatePort(port));
            Assert.Equal(ErrorIds.InvalidPort, ex.ErrorId);
            Assert.Contains(port.ToString(), ex.Message);
        }
    }
}
