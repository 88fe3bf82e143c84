using System;
using System.Linq;
using LoadBalancerTools.Model;
using LoadBalancerTools.Tests.NginxPlus;

namespace LoadBalancerTools.Tests.VendorFidelity
{
    /// <summary>
    /// Servers NGINX Plus created by resolving a configured name carry "parent" and "host" and cannot be
    /// changed through the API (UpstreamServerImmutable): they are listed read-only, and changes to them are
    /// refused with LbNotSupported before anything is sent.
    /// </summary>
    public sealed class NginxResolvedServerTests : NginxPlusTestBase
    {
        private int _resolved;

        private void AddResolved() => _resolved = Nginx.AddResolvedServer("web", parentId: 0, host: "app.example", address: "10.0.0.7:80");

        [Fact]
        public void A_resolved_server_is_listed_read_only_with_the_reason()
        {
            AddResolved();
            var r = Ps.Run("Get-LbPoolMember -Pool web -Address 10.0.0.7");
            Assert.False(r.HadErrors, r.ToString());
            var m = (LbPoolMember)Assert.Single(r.Output).BaseObject;
            Assert.True(m.ReadOnly);
            Assert.Contains("app.example", m.ReadOnlyReason);
        }

        [Fact]
        public void Set_and_Remove_of_a_resolved_server_are_refused_before_anything_is_sent()
        {
            AddResolved();
            Nginx.ClearRequests();
            var set = Ps.Run("Get-LbPoolMember -Pool web -Address 10.0.0.7 | Set-LbPoolMember -State Disabled");
            var remove = Ps.Run("Get-LbPoolMember -Pool web -Address 10.0.0.7 | Remove-LbPoolMember -Confirm:$false");
            foreach (var r in new[] { set, remove })
            {
                var e = Assert.Single(r.Errors);
                Assert.StartsWith("LbNotSupported,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
                Assert.Contains("read-only", e.Exception.Message);
            }
            Assert.Equal(0, Nginx.Requests.Count(q => q.Method != "GET"));
            Assert.Contains(Nginx.GetServers("web"), s => s.Id == _resolved);
        }

        [Fact]
        public void The_API_refusal_itself_maps_to_LbNotSupported_when_the_listing_was_stale()
        {
            AddResolved();
            // A member object built before the server became a resolved one: the API's own answer decides.
            var r = Ps.Run($"$m = Get-LbPoolMember -Pool web -Address 10.0.0.7; $m.ReadOnlyReason = $null; $m | Set-LbPoolMember -Weight 3");
            var e = Assert.Single(r.Errors);
            Assert.StartsWith("LbNotSupported,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains("DNS", e.Exception.Message);
        }

        [Fact]
        public void Sync_prune_reports_a_resolved_server_as_skipped_and_changes_the_rest()
        {
            AddResolved();
            var r = Ps.Run("Sync-LbPool -Pool web -Member @('10.0.0.1:80') -Prune -Force -DrainTimeoutSec 0 -PassThru");
            Assert.False(r.HadErrors, r.ToString());
            var changes = r.Output.Select(o => (LbChange)o.BaseObject).ToList();
            Assert.Contains(changes, c => c.Address == "10.0.0.7" && c.Status == LbChangeStatus.Skipped && c.Error!.Contains("read-only"));
            Assert.Contains(changes, c => c.Address == "10.0.0.2" && c.Status == LbChangeStatus.Applied);
            Assert.Contains(Nginx.GetServers("web"), s => s.Id == _resolved);
        }

        [Fact]
        public void RemoveNode_is_refused_where_members_have_no_node_object()
        {
            Nginx.ClearRequests();
            var r = Ps.Run("Remove-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -RemoveNode -Confirm:$false");
            Assert.StartsWith("LbNotSupported,", Assert.Single(r.Errors).FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Empty(Nginx.Requests);
        }
    }
}
