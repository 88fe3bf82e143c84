using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using LoadBalancerTools.Providers;

namespace LoadBalancerTools.Completers
{
    /// <summary>Completes -Provider from the registered providers.</summary>
    public sealed class ProviderNameCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
            ProviderRegistry.Names
                .Where(n => n.StartsWith(wordToComplete.Trim('\'', '"'), StringComparison.OrdinalIgnoreCase))
                .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));
    }
}
