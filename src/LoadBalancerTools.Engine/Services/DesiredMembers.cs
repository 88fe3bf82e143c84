using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Util;

namespace LoadBalancerTools.Services
{
    /// <summary>One member of the desired state, validated. Null Weight or State means "leave it as it is".</summary>
    public sealed class DesiredMember
    {
        public DesiredMember(int row, string address, int port)
        {
            Row = row;
            Address = address;
            Port = port;
        }

        /// <summary>1-based position in the desired list, for messages.</summary>
        public int Row { get; }
        public string Address { get; }
        public int Port { get; }
        public string? Name { get; set; }
        public int? Weight { get; set; }
        public LbMemberState? State { get; set; }
        /// <summary>Vendor options the row gives (MaxConnections, PriorityGroup, Tls...); empty when none.</summary>
        public LbMemberOptions Options { get; set; } = new LbMemberOptions();
        /// <summary>The row as the user gave it.</summary>
        public object? Source { get; set; }

        public string Endpoint => LbPoolMember.FormatEndpoint(Address, Port);
        internal string Key => DesiredMembers.Key(Address, Port);
    }

    /// <summary>A desired row that cannot be used, with the reason.</summary>
    public sealed class DesiredRowError
    {
        public DesiredRowError(int row, object? source, LbException error)
        {
            Row = row;
            Source = source;
            Error = error;
        }

        public int Row { get; }
        public object? Source { get; }
        public LbException Error { get; }
    }

    /// <summary>
    /// Turns loosely typed rows (objects, CSV rows whose values are all strings, hashtables) into validated
    /// desired members. Every row is checked before anything is used, so a bad list changes nothing.
    /// </summary>
    public static class DesiredMembers
    {
        private static readonly string[] AddressNames = { "Address", "IPAddress", "Host" };

        /// <summary>
        /// Validates every row. <paramref name="rows"/> gives each row's source object and its properties by
        /// name (case-insensitive), or null properties for a row that is not a record at all.
        /// </summary>
        public static (List<DesiredMember> Members, List<DesiredRowError> Errors) Parse(IReadOnlyList<(object? Source, IReadOnlyDictionary<string, object?>? Properties)> rows)
        {
            var members = new List<DesiredMember>();
            var errors = new List<DesiredRowError>();
            var seen = new Dictionary<string, DesiredMember>(StringComparer.Ordinal);
            for (int i = 0; i < rows.Count; i++)
            {
                int row = i + 1;
                var (source, props) = rows[i];
                try
                {
                    var member = ParseRow(row, source, props);
                    if (seen.TryGetValue(member.Key, out var first))
                    {
                        throw new LbException(LbErrorKind.InvalidInput,
                            $"Desired member rows {first.Row} and {row} both name {member.Endpoint}; give each member once.") { ErrorId = ErrorIds.SyncDuplicateMember };
                    }
                    seen.Add(member.Key, member);
                    members.Add(member);
                }
                catch (LbException ex)
                {
                    errors.Add(new DesiredRowError(row, source, ex));
                }
            }
            return (members, errors);
        }

        /// <summary>The identity of a member within a pool: address (case-insensitive) and port.</summary>
        internal static string Key(string address, int port) => address.ToLowerInvariant() + "|" + port.ToString(CultureInfo.InvariantCulture);

        private static DesiredMember ParseRow(int row, object? source, IReadOnlyDictionary<string, object?>? props)
        {
            if (props == null)
            {
                throw Invalid(ErrorIds.SyncInvalidMember, row, null,
                    source == null ? "is empty" : $"('{source}') is not a member: give objects or hashtables with Address and Port, or 'address:port' strings");
            }
            string? rawAddress = AddressNames.Select(n => Text(Get(props, n))).FirstOrDefault(v => v != null);
            string? rawPort = Text(Get(props, "Port"));
            string shown = rawAddress != null ? rawAddress + (rawPort != null ? ":" + rawPort : "") : "";
            if (rawAddress == null) throw Invalid(ErrorIds.SyncInvalidMember, row, shown, "has no Address");
            if (rawPort == null) throw Invalid(ErrorIds.SyncInvalidMember, row, shown, "has no Port");

            if (!TryInt(Get(props, "Port"), out int port) || port < 1 || port > 65535)
            {
                throw Invalid(ErrorIds.InvalidPort, row, shown, $"Port '{rawPort}' is not a whole number from 1 to 65535.");
            }

            string address;
            try { address = MemberAddress.Normalize(rawAddress, port); }
            catch (LbException ex) { throw Invalid(ex.ErrorId ?? ErrorIds.InvalidAddress, row, shown, ex.Message); }
            try { MemberAddress.RefuseControlCharacters(Text(Get(props, "Name")), "member name", ErrorIds.InvalidName); }
            catch (LbException ex) { throw Invalid(ErrorIds.InvalidName, row, shown, ex.Message); }

            var member = new DesiredMember(row, address, port) { Source = source, Name = Text(Get(props, "Name")) };

            object? weight = Get(props, "Weight");
            if (Text(weight) is string weightText)
            {
                if (!TryInt(weight, out int w) || w < 0 || w > 65535)
                {
                    throw Invalid(ErrorIds.InvalidWeight, row, shown, $"Weight '{weightText}' is not a whole number from 0 to 65535.");
                }
                member.Weight = w;
            }

            member.Options = ParseOptions(props, row, shown);

            object? state = Get(props, "State");
            if (Text(state) is string stateText)
            {
                member.State = ParseState(state!, stateText) ?? throw Invalid(ErrorIds.InvalidState, row, shown,
                    $"State '{stateText}' is not one of Enabled, Disabled, Draining (or Drain), ForcedOffline.");
            }
            return member;
        }

        private static LbMemberState? ParseState(object value, string text)
        {
            if (value is LbMemberState s) return s;
            if (string.Equals(text, "Drain", StringComparison.OrdinalIgnoreCase)) return LbMemberState.Draining;
            // Names only: Enum.TryParse would also take "7" or "1,2".
            foreach (LbMemberState candidate in Enum.GetValues(typeof(LbMemberState)))
            {
                if (string.Equals(text, candidate.ToString(), StringComparison.OrdinalIgnoreCase)) return candidate;
            }
            return null;
        }

        private static object? Get(IReadOnlyDictionary<string, object?> props, string name) =>
            props.TryGetValue(name, out var value) ? value : null;

        /// <summary>The value as text; null for a missing value or an empty CSV cell.</summary>
        private static string? Text(object? value)
        {
            if (value == null) return null;
            string text = (Convert.ToString(value, CultureInfo.InvariantCulture) ?? "").Trim();
            return text.Length == 0 ? null : text;
        }

        private static bool TryInt(object? value, out int result)
        {
            result = 0;
            switch (value)
            {
                case int i: result = i; return true;
                case long l when l >= int.MinValue && l <= int.MaxValue: result = (int)l; return true;
                case short sh: result = sh; return true;
                case byte b: result = b; return true;
                case uint ui when ui <= int.MaxValue: result = (int)ui; return true;
                case double d when d == Math.Floor(d) && d >= int.MinValue && d <= int.MaxValue: result = (int)d; return true;
                case decimal m when m == decimal.Floor(m) && m >= int.MinValue && m <= int.MaxValue: result = (int)m; return true;
                case string s: return int.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out result);
                default: return false;
            }
        }

        /// <summary>The member option columns a row gives; a value of the wrong kind names the row and the column.</summary>
        private static LbMemberOptions ParseOptions(IReadOnlyDictionary<string, object?> props, int row, string shown)
        {
            int? Number(string name)
            {
                object? value = Get(props, name);
                if (Text(value) is not string text) return null;
                if (!TryInt(value, out int n)) throw Invalid(ErrorIds.InvalidInput, row, shown, $"{name} '{text}' is not a whole number.");
                return n;
            }
            bool? Flag(string name)
            {
                object? value = Get(props, name);
                if (value is bool b) return b;
                if (Text(value) is not string text) return null;
                if (bool.TryParse(text, out bool parsed)) return parsed;
                throw Invalid(ErrorIds.InvalidInput, row, shown, $"{name} '{text}' is not True or False.");
            }
            return new LbMemberOptions
            {
                Backup = Flag("Backup"),
                MaxConnections = Number("MaxConnections"),
                SlowStartSec = Number("SlowStartSec"),
                MaxFails = Number("MaxFails"),
                FailTimeoutSec = Number("FailTimeoutSec"),
                Route = Text(Get(props, "Route")),
                PriorityGroup = Number("PriorityGroup"),
                ConnectionLimit = Number("ConnectionLimit"),
                Monitor = Text(Get(props, "Monitor")),
                Tls = Flag("Tls"),
                TlsCaFile = Text(Get(props, "TlsCaFile")),
                CheckAddress = Text(Get(props, "CheckAddress")),
                CheckPort = Number("CheckPort"),
            };
        }

        private static LbException Invalid(string errorId, int row, string? shown, string problem)
        {
            string subject = string.IsNullOrEmpty(shown) ? $"Desired member row {row}" : $"Desired member row {row} ({shown})";
            string separator = problem.StartsWith("is ", StringComparison.Ordinal) || problem.StartsWith("has ", StringComparison.Ordinal) || problem.StartsWith("(", StringComparison.Ordinal) ? " " : ": ";
            string message = subject + separator + problem;
            if (!message.EndsWith(".", StringComparison.Ordinal)) message += ".";
            return new LbException(LbErrorKind.InvalidInput, message) { ErrorId = errorId };
        }
    }
}
