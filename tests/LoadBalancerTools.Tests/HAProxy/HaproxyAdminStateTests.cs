using LoadBalancerTools.Model;
using LoadBalancerTools.Providers.HAProxy;

namespace LoadBalancerTools.Tests.HAProxy
{
    /// <summary>
    /// srv_admin_state bits as include/haproxy/server-t.h defines them: 0x01 forced, 0x02 inherited, 0x04 from
    /// resolution and 0x20 from configuration are maintenance; 0x08 and 0x10 are drain; 0x40
    /// (SRV_ADMF_FQDN_CHANGED, set and never cleared once a server's FQDN changed) says nothing about traffic.
    /// HAProxy 2.6 here does not show 0x40 in "show servers state" after "set server ... fqdn" (checked on the
    /// real server), but later versions and server-state files may: it must not read as Disabled.
    /// </summary>
    public sealed class HaproxyAdminStateTests
    {
        [Theory]
        [InlineData(0x00, LbMemberState.Enabled)]
        [InlineData(0x40, LbMemberState.Enabled)]
        [InlineData(0x01, LbMemberState.Disabled)]
        [InlineData(0x02, LbMemberState.Disabled)]
        [InlineData(0x04, LbMemberState.Disabled)]
        [InlineData(0x20, LbMemberState.Disabled)]
        [InlineData(0x41, LbMemberState.Disabled)]
        [InlineData(0x08, LbMemberState.Draining)]
        [InlineData(0x10, LbMemberState.Draining)]
        [InlineData(0x48, LbMemberState.Draining)]
        public void Admin_state_bits_map_to_the_member_state(int admin, LbMemberState expected) =>
            Assert.Equal(expected, HaproxyProvider.AdminState(admin));
    }
}
