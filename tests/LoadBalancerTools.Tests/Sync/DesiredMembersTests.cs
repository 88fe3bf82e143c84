using System;
using System.Collections.Generic;
using System.Linq;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;

namespace LoadBalancerTools.Tests.Sync
{
    /// <summary>Desired rows as they arrive from objects, CSV (all strings) and hashtables: converted, or refused naming the row and value.</summary>
    public class DesiredMembersTests
    {
        private static (List<DesiredMember> Members, List<DesiredRowError> Errors) Parse(params Dictionary<string, object?>?[] rows) =>
            DesiredMembers.Parse(rows.Select(r => ((object?)r, (IReadOnlyDictionary<string, object?>?)(r == null ? null : new Dictionary<string, object?>(r, StringComparer.OrdinalIgnoreCase)))).ToList());

        private static Dictionary<string, object?> Row(params (string Key, object? Value)[] values) => values.ToDictionary(v => v.Key, v => v.Value);

        [Fact]
        public void Strings_numbers_and_enums_all_convert_and_empty_cells_mean_not_given()
        {
            var (members, errors) = Parse(
                Row(("Address", " 10.0.0.1 "), ("Port", "80"), ("Weight", "5"), ("State", "disabled")),
                Row(("IPAddress", "2001:DB8::1"), ("Port", 8080L), ("Weight", ""), ("State", "")),
                Row(("Host", "web-01.example"), ("Port", 443), ("State", LbMemberState.Draining), ("Name", "web01")),
                Row(("Address", "[2001:db8::2]"), ("Port", 80.0), ("State", "Drain")));

            Assert.Empty(errors);
            Assert.Equal(("10.0.0.1", 80, (int?)5, (LbMemberState?)LbMemberState.Disabled), (members[0].Address, members[0].Port, members[0].Weight, members[0].State));
            Assert.Equal(("2001:db8::1", 8080, (int?)null, (LbMemberState?)null), (members[1].Address, members[1].Port, members[1].Weight, members[1].State));
            Assert.Equal(("web-01.example", "web01", LbMemberState.Draining), (members[2].Address, members[2].Name, members[2].State!.Value));
            Assert.Equal(("2001:db8::2", LbMemberState.Draining), (members[3].Address, members[3].State!.Value));
            Assert.Equal(new[] { 1, 2, 3, 4 }, members.Select(m => m.Row));
        }

        [Theory]
        [InlineData("Address", "999.1.1.1", "Port", "80", ErrorIds.InvalidAddress, "'999.1.1.1'")]
        [InlineData("Address", "10.0.0.1", "Port", "http", ErrorIds.InvalidPort, "Port 'http'")]
        [InlineData("Address", "10.0.0.1", "Port", "70000", ErrorIds.InvalidPort, "Port '70000'")]
        [InlineData("Address", "10.0.0.1", "Weight", "-1", ErrorIds.SyncInvalidMember, "has no Port")]
        [InlineData("Port", "80", "Weight", "1", ErrorIds.SyncInvalidMember, "has no Address")]
        public void A_bad_row_is_refused_naming_the_row_and_the_value(string k1, string v1, string k2, string v2, string errorId, string named)
        {
            var (members, errors) = Parse(Row(("Address", "10.0.0.9"), ("Port", "80")), Row((k1, v1), (k2, v2)));

            Assert.Single(members);
            var error = Assert.Single(errors);
            Assert.Equal(2, error.Row);
            Assert.Equal(errorId, error.Error.ErrorId);
            Assert.StartsWith("Desired member row 2", error.Error.Message);
            Assert.Contains(named, error.Error.Message);
        }

        [Fact]
        public void Bad_weight_and_state_name_the_value()
        {
            var (_, errors) = Parse(
                Row(("Address", "10.0.0.1"), ("Port", "80"), ("Weight", "heavy")),
                Row(("Address", "10.0.0.2"), ("Port", "80"), ("State", "Sideways")),
                Row(("Address", "10.0.0.3"), ("Port", "80"), ("State", "3")));

            Assert.Equal(new[] { ErrorIds.InvalidWeight, ErrorIds.InvalidState, ErrorIds.InvalidState }, errors.Select(e => e.Error.ErrorId));
            Assert.Contains("Weight 'heavy'", errors[0].Error.Message);
            Assert.Contains("State 'Sideways'", errors[1].Error.Message);
            Assert.Contains("10.0.0.2:80", errors[1].Error.Message);
        }

        [Fact]
        public void The_same_member_twice_is_refused_naming_both_rows()
        {
            var (_, errors) = Parse(Row(("Address", "10.0.0.1"), ("Port", "80")), Row(("Address", "10.0.0.2"), ("Port", "80")), Row(("Address", "10.0.0.1"), ("Port", 80)));
            var error = Assert.Single(errors);
            Assert.Equal(ErrorIds.SyncDuplicateMember, error.Error.ErrorId);
            Assert.Contains("rows 1 and 3", error.Error.Message);
        }

        [Fact]
        public void A_row_that_is_not_a_record_is_refused()
        {
            var (_, errors) = Parse(new Dictionary<string, object?>?[] { null });
            Assert.Equal(ErrorIds.SyncInvalidMember, Assert.Single(errors).Error.ErrorId);
            Assert.Contains("row 1 is empty", errors[0].Error.Message);
        }
    }
}
