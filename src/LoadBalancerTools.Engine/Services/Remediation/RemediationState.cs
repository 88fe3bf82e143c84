using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using LoadBalancerTools.Model;
using System.Text.Json;
using System.Text.Json.Serialization;
using LoadBalancerTools.Errors;

namespace LoadBalancerTools.Services.Remediation
{
    /// <summary>What one member has shown lately, and what remediation did to it.</summary>
    public sealed class MemberRecord
    {
        public string Address { get; set; } = "";
        public int Port { get; set; }
        public string Name { get; set; } = "";
        /// <summary>The vendor's identity of the member (see LbPoolMember.MemberId); empty in files written before it existed.</summary>
        public string? MemberId { get; set; }
        public int ConsecutiveFailures { get; set; }
        public int ConsecutiveSuccesses { get; set; }
        /// <summary>Set while the member is out of rotation because of us (never for what an operator did).</summary>
        public string? EjectedWith { get; set; }
        public DateTimeOffset? EjectedAt { get; set; }
        /// <summary>Weight to restore with, when the member was removed.</summary>
        public int? Weight { get; set; }
        /// <summary>True after a Skipped alert for this member was sent, so a cap does not alert every round.</summary>
        public bool SkipAlerted { get; set; }
        public string? LastError { get; set; }
        /// <summary>
        /// Write-ahead: the ejection about to be sent (Disable, Drain or Remove), stored before the API call and
        /// cleared after it, so a run killed in between leaves a record the next round reconciles with the pool.
        /// </summary>
        public string? PendingEject { get; set; }
        public DateTimeOffset? PendingAt { get; set; }

        [JsonIgnore]
        public bool Ejected => EjectedWith != null;

        [JsonIgnore]
        public string Key => Keys.Of(MemberId, Address, Port);
    }

    /// <summary>Records are keyed by the member's identity, so two members at one address never share a record.</summary>
    internal static class Keys
    {
        public static string Of(string address, int port) => address.ToLowerInvariant() + "|" + port;

        public static string Of(string? memberId, string address, int port) => string.IsNullOrEmpty(memberId) ? Of(address, port) : "id:" + memberId;

        public static string Of(LbPoolMember m) => Of(m.MemberId, m.Address, m.Port);
    }

    /// <summary>
    /// Remediation memory for one pool, kept between runs (-StatePath) so that a scheduled task run
    /// every minute counts consecutive failures across runs and restores what it ejected.
    /// </summary>
    public sealed class RemediationState
    {
        public int Version { get; set; } = 1;
        public string Pool { get; set; } = "";
        public string Endpoint { get; set; } = "";
        public int Round { get; set; }
        /// <summary>True while every member is failing at once (a suspected partition on our side).</summary>
        public bool PartitionSuspected { get; set; }
        /// <summary>True while the load balancer's API keeps failing, so the failure alerts once, not every round.</summary>
        public bool ApiFailing { get; set; }
        public Dictionary<string, MemberRecord> Members { get; set; } = new Dictionary<string, MemberRecord>();

        private static readonly JsonSerializerOptions Json = new JsonSerializerOptions { WriteIndented = true };

        public MemberRecord For(LbPoolMember member)
        {
            string key = Keys.Of(member);
            if (!Members.TryGetValue(key, out var record))
            {
                record = new MemberRecord { Address = member.Address, Port = member.Port, Name = member.Name, MemberId = NullIfEmpty(member.MemberId) };
                Members[key] = record;
            }
            if (member.Name.Length > 0) record.Name = member.Name;
            return record;
        }

        /// <summary>
        /// Gives records from before member identity (keyed by address and port) the identity of the one member
        /// now at that address, so an upgrade never forgets an ejection. Where several members share the
        /// address, the record stays as it is (and is matched by address for a restore).
        /// </summary>
        public void AdoptIdentities(IReadOnlyList<LbPoolMember> members)
        {
            foreach (var rec in Members.Values.Where(r => string.IsNullOrEmpty(r.MemberId)).ToList())
            {
                var same = members.Where(m => m.Matches(rec.Address, rec.Port) && m.MemberId.Length > 0).ToList();
                if (same.Count != 1) continue;
                Members.Remove(rec.Key);
                rec.MemberId = same[0].MemberId;
                if (!Members.ContainsKey(rec.Key)) Members[rec.Key] = rec;
            }
        }

        private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;

        /// <summary>The schema this code writes and reads; a file with another version is refused, never guessed at.</summary>
        public const int CurrentVersion = 1;

        /// <summary>
        /// Reads the state file; a missing file is a fresh start. Everything in it is checked like user input
        /// (schema version, pool and endpoint, each record's address, port, weight and action); anything
        /// invalid is LbStateFileInvalid naming the record, and the file is left as it is.
        /// </summary>
        public static RemediationState Load(string? path, string pool, string endpoint)
        {
            if (path == null || !File.Exists(path)) return new RemediationState { Pool = pool, Endpoint = endpoint };
            StateFileLock.RefuseLink(path);
            return Parse(File.ReadAllText(path), $"state file '{path}'", pool, endpoint);
        }

        /// <summary>
        /// Reads state from any store (a file, a Redis key) and checks it like user input; <paramref name="source"/>
        /// names where it came from in the error ("state file '/x'", "state in Redis key 'k'").
        /// </summary>
        public static RemediationState Parse(string text, string source, string pool, string endpoint)
        {
            RemediationState? state;
            try
            {
                state = JsonSerializer.Deserialize<RemediationState>(text, Json);
            }
            catch (JsonException ex)
            {
                throw Invalid(source, $"is not valid remediation state ({ex.Message})");
            }
            if (state == null) throw Invalid(source, "holds no state (null)");
            if (state.Version != CurrentVersion) throw Invalid(source, $"has schema version {state.Version}; this version of the module reads version {CurrentVersion}");
            if (!string.Equals(state.Pool, pool, StringComparison.Ordinal) || !string.Equals(state.Endpoint, endpoint, StringComparison.OrdinalIgnoreCase))
            {
                throw new LbException(LbErrorKind.InvalidInput,
                    $"The {source} belongs to pool '{state.Pool}' at {state.Endpoint}, not '{pool}' at {endpoint}; use one state file per pool.") { ErrorId = ErrorIds.StateFileInvalid };
            }
            if (state.Members == null) throw Invalid(source, "has no Members object");
            foreach (var entry in state.Members)
            {
                var rec = entry.Value ?? throw Invalid(source, $"has an empty record '{entry.Key}'");
                string problem = Validate(rec);
                if (problem.Length > 0) throw Invalid(source, $"has an invalid record '{entry.Key}': {problem}");
                if (!string.Equals(entry.Key, rec.Key, StringComparison.Ordinal)) throw Invalid(source, $"has a record filed as '{entry.Key}' that describes '{rec.Key}'");
            }
            return state;
        }

        /// <summary>The state as the stores keep it (the file's content, the Redis value).</summary>
        public string ToJson() => JsonSerializer.Serialize(this, Json);

        private static readonly string[] Actions = { nameof(RemediationAction.Disable), nameof(RemediationAction.Drain), nameof(RemediationAction.Remove) };

        /// <summary>What is wrong with a record read from a file, or "" when it may be used (restores act on it).</summary>
        private static string Validate(MemberRecord rec)
        {
            try { Util.MemberAddress.Normalize(rec.Address); }
            catch (LbException) { return $"address '{rec.Address}' is not an address"; }
            if (rec.Port < 0 || rec.Port > 65535) return $"port {rec.Port} is out of range";
            if (rec.Weight is int w && (w < 0 || w > 65535)) return $"weight {w} is out of range";
            if (rec.EjectedWith != null && Array.IndexOf(Actions, rec.EjectedWith) < 0) return $"action '{rec.EjectedWith}' is not Disable, Drain or Remove";
            if (rec.PendingEject != null && Array.IndexOf(Actions, rec.PendingEject) < 0) return $"pending action '{rec.PendingEject}' is not Disable, Drain or Remove";
            if (rec.Name.Any(char.IsControl) || (rec.MemberId ?? "").Any(char.IsControl)) return "a name holds a control character";
            if (rec.ConsecutiveFailures < 0 || rec.ConsecutiveSuccesses < 0) return "a count is negative";
            return "";
        }

        private static LbException Invalid(string source, string problem) =>
            new LbException(LbErrorKind.InvalidInput, $"The {source} {problem}. It was left as it is; fix it, or move it aside to start fresh.") { ErrorId = ErrorIds.StateFileInvalid };

        /// <summary>
        /// Writes atomically: a temporary file created new and exclusively in the same folder (never an existing
        /// file or link), owner-only, then renamed over the state. A crash mid-write never leaves half a state,
        /// and two writers never share a temporary file.
        /// </summary>
        public void Save(string? path)
        {
            if (path == null) return;
            string full = Path.GetFullPath(path);
            string? dir = Path.GetDirectoryName(full);
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            StateFileLock.RefuseLink(full);
            string temp = Path.Combine(dir ?? ".", "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N") + ".tmp");
            try
            {
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    StateFileSecurity.OwnerOnly(temp);
                    var bytes = System.Text.Encoding.UTF8.GetBytes(ToJson());
                    stream.Write(bytes, 0, bytes.Length);
                    stream.Flush(true);
                }
                if (File.Exists(full)) File.Replace(temp, full, null);
                else File.Move(temp, full);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
        }
    }
}
