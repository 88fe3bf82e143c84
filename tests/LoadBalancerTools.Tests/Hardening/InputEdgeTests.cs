using System;
using System.Linq;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Tests.NginxPlus;
using LoadBalancerTools.Util;

namespace LoadBalancerTools.Tests.Hardening
{
    /// <summary>Odd input at the edges: refused with a stable id naming the value, and nothing sent.</summary>
    public sealed class InputEdgeTests : NginxPlusTestBase
    {
        private int Writes() => Nginx.Requests.Count(q => q.Method != "GET");

        [Theory]
        [InlineData("\"[host`n]\"")]
        [InlineData("\"10.0.0.9`t\"")]
        [InlineData("\"web`r`nsrv\"")]
        public void Control_characters_in_an_address_are_refused(string address)
        {
            Nginx.ClearRequests();
            var r = Ps.Run($"Add-LbPoolMember -Pool web -Address {address} -Port 80");
            var e = Assert.Single(r.Errors);
            Assert.StartsWith("LbInvalidAddress,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains("control character", e.Exception.Message);
            Assert.Equal(0, Writes());
        }

        [Fact]
        public void A_port_given_twice_is_taken_when_it_agrees_and_refused_when_it_differs()
        {
            var differs = Ps.Run("Add-LbPoolMember -Pool web -Address '[::1]:8080' -Port 9002");
            var e = Assert.Single(differs.Errors);
            Assert.StartsWith("LbInvalidPort,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains("8080", e.Exception.Message);
            Assert.Contains("9002", e.Exception.Message);

            var agrees = Ps.Run("Add-LbPoolMember -Pool web -Address '[::1]:8080' -Port 8080");
            Assert.False(agrees.HadErrors, agrees.ToString());
            Assert.Contains(Nginx.GetServers("web"), s => s.Server == "[::1]:8080");
        }

        [Fact]
        public void Zone_identifiers_stay_text_and_route_domains_take_only_ascii_digits()
        {
            Assert.Equal("fe80::1%eth0", MemberAddress.Normalize("fe80::1%eth0"));
            Assert.Equal("10.0.0.1%2", MemberAddress.Normalize("10.0.0.1%2"));
            var ex = Assert.Throws<LbException>(() => MemberAddress.Normalize("10.0.0.1%\u0663"));
            Assert.Equal(ErrorIds.InvalidAddress, ex.ErrorId);
        }

        [Theory]
        [InlineData(".")]
        [InlineData("..")]
        public void Pool_names_dot_and_dot_dot_are_refused_for_reads_and_writes(string pool)
        {
            Nginx.ClearRequests();
            var get = Ps.Run($"Get-LbPoolMember -Pool '{pool}'");
            var add = Ps.Run($"Add-LbPoolMember -Pool '{pool}' -Address 10.0.0.9 -Port 80");
            foreach (var r in new[] { get, add })
            {
                var e = Assert.Single(r.Errors);
                Assert.StartsWith("LbInvalidName,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
                Assert.Contains($"'{pool}'", e.Exception.Message);
            }
            Assert.Empty(Nginx.Requests);
        }

        [Fact]
        public void A_weight_is_bounded_by_the_vendor_not_by_the_parameter()
        {
            // NGINX Plus weights have no upper bound below a 32-bit integer: 70000 binds and is planned.
            var r = Ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.9 -Port 80 -Weight 70000 -WhatIf");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Contains(r.HostLines, l => l.StartsWith("What if:", StringComparison.Ordinal) && l.Contains("weight 70000"));
        }

        [Fact]
        public void A_weight_outside_the_vendors_range_is_refused_naming_the_range()
        {
            Nginx.ClearRequests();
            var set = Ps.Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -Weight 0");
            var e = Assert.Single(set.Errors);
            Assert.StartsWith("LbInvalidWeight,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains("1 to", e.Exception.Message);
            var sync = Ps.Run("Sync-LbPool -Pool web -Member @(@{ Address = '10.0.0.1'; Port = 80; Weight = 0 }, '10.0.0.2:80')");
            Assert.Contains(sync.AllErrors, x => x.FullyQualifiedErrorId.StartsWith("LbInvalidWeight,", StringComparison.Ordinal));
            Assert.Equal(0, Writes());
            Assert.All(Nginx.GetServers("web"), s => Assert.Equal(1, s.Weight));
        }

        [Fact]
        public void Adding_an_existing_member_with_another_weight_names_the_difference_and_changes_nothing()
        {
            Nginx.ClearRequests();
            var r = Ps.Run("Add-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -Weight 5");
            Assert.False(r.HadErrors, r.ToString());
            var w = Assert.Single(r.Warnings);
            Assert.Contains("weight 1 (asked: 5)", w);
            Assert.Contains("Set-LbPoolMember", w);
            Assert.Equal(0, Writes());
        }
    }
}
