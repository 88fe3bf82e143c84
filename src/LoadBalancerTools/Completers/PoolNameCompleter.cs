using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Threading;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;
using LoadBalancerTools.Session;

namespace LoadBalancerTools.Completers
{
    /// <summary>Completes -Pool from the live pool list of -Connection or the default connection; stays quiet when the API is slow or down.</summary>
    public sealed class PoolNameCompleter : IArgumentCompleter
    {
        private static readonly TimeSpan Budget = TimeSpan.FromSeconds(5);

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var connection = CompleterConnection.From(fakeBoundParameters);
            if (connection == null) return Array.Empty<CompletionResult>();
            string prefix = wordToComplete.Trim('\'', '"');
            try
            {
                using var budget = new CancellationTokenSource(Budget);
                var pools = new PoolService().GetPoolsAsync(connection, NullLog.Instance, budget.Token).GetAwaiter().GetResult();
                return pools
                    .Where(p => p.Pool.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                    .OrderBy(p => p.Pool, StringComparer.OrdinalIgnoreCase)
                    .Select(p => new CompletionResult(CompleterConnection.Quote(p.Pool), p.Pool, CompletionResultType.ParameterValue, $"{p.Pool} ({p.MemberCount} members)"))
                    .ToList();
            }
            catch (Exception)
            {
                // Completion must never throw at the user's prompt.
                return Array.Empty<CompletionResult>();
            }
        }
    }

    /// <summary>Completes -Address from the members of the pool already typed.</summary>
    public sealed class MemberAddressCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
            CompleterConnection.FromPoolMembers(fakeBoundParameters, wordToComplete, members => members
                .Select(m => (m.Address, Tip: m.Address)));
    }

    /// <summary>Completes -Name from the member names of the pool already typed (narrowed by -Address and -Port when given).</summary>
    public sealed class MemberNameCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            string? address = fakeBoundParameters["Address"] as string;
            int? port = fakeBoundParameters["Port"] is int p ? p : (int?)null;
            return CompleterConnection.FromPoolMembers(fakeBoundParameters, wordToComplete, members => members
                .Where(m => (string.IsNullOrEmpty(address) || string.Equals(m.Address, address, StringComparison.OrdinalIgnoreCase)) && (port == null || m.Port == port))
                .Where(m => !string.IsNullOrEmpty(m.Name))
                .Select(m => (m.Name, Tip: LbPoolMember.Label(m.Name, m.Address, m.Port, quote: false))));
        }
    }

    internal static class CompleterConnection
    {
        public static LbConnection? From(IDictionary fakeBoundParameters)
        {
            object? bound = fakeBoundParameters["Connection"];
            if (bound is PSObject ps) bound = ps.BaseObject;
            return bound as LbConnection ?? ConnectionStore.Default;
        }

        /// <summary>
        /// Completions taken from the members of the one pool typed (-Pool; a single name, no wildcard): each value once,
        /// those starting with what was typed. Quiet when the API is slow or down: completion must never throw at the prompt.
        /// </summary>
        public static IEnumerable<CompletionResult> FromPoolMembers(IDictionary fakeBoundParameters, string wordToComplete,
            Func<IReadOnlyList<LbPoolMember>, IEnumerable<(string Value, string Tip)>> values)
        {
            var connection = From(fakeBoundParameters);
            object? bound = fakeBoundParameters["Pool"];
            string? pool = bound as string ?? (bound is IList list && list.Count == 1 ? list[0] as string : null);
            if (connection == null || string.IsNullOrEmpty(pool) || WildcardPattern.ContainsWildcardCharacters(pool)) return Array.Empty<CompletionResult>();
            string prefix = wordToComplete.Trim('\'', '"');
            try
            {
                using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                var members = new PoolService().GetMembersAsync(connection, pool!, NullLog.Instance, budget.Token).GetAwaiter().GetResult();
                var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                return values(members)
                    .Where(v => v.Value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && seen.Add(v.Value))
                    .Select(v => new CompletionResult(Quote(v.Value), v.Value, CompletionResultType.ParameterValue, v.Tip))
                    .ToList();
            }
            catch (Exception)
            {
                return Array.Empty<CompletionResult>();
            }
        }

        public static string Quote(string value) =>
            value.IndexOfAny(new[] { ' ', '$', '\'', '"', '`', ';', '(', ')', '{', '}', '@', '#' }) >= 0 ? "'" + value.Replace("'", "''") + "'" : value;
    }
}
