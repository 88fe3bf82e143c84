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
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var connection = CompleterConnection.From(fakeBoundParameters);
            string? pool = fakeBoundParameters["Pool"] as string;
            if (connection == null || string.IsNullOrEmpty(pool) || WildcardPattern.ContainsWildcardCharacters(pool)) return Array.Empty<CompletionResult>();
            string prefix = wordToComplete.Trim('\'', '"');
            try
            {
                using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                var members = new PoolService().GetMembersAsync(connection, pool!, NullLog.Instance, budget.Token).GetAwaiter().GetResult();
                return members
                    .Select(m => m.Address)
                    .Distinct(StringComparer.OrdinalIgnoreCase)
                    .Where(a => a.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                    .Select(a => new CompletionResult(CompleterConnection.Quote(a), a, CompletionResultType.ParameterValue, a))
                    .ToList();
            }
            catch (Exception)
            {
                return Array.Empty<CompletionResult>();
            }
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

        public static string Quote(string value) =>
            value.IndexOfAny(new[] { ' ', '$', '\'', '"', '`', ';', '(', ')', '{', '}', '@', '#' }) >= 0 ? "'" + value.Replace("'", "''") + "'" : value;
    }
}
