using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using LoadBalancerTools.Errors;

namespace LoadBalancerTools.Credentials
{
    /// <summary>
    /// Credentials for local development from the environment or a .env file, read only when no
    /// -Credential or -SecretName was given. Names, most specific first:
    /// LBTOOLS_&lt;PROVIDER&gt;_USERNAME / _PASSWORD, then LBTOOLS_USERNAME / LBTOOLS_PASSWORD.
    /// The .env file is LBTOOLS_ENV_FILE if set, else ./.env; process variables win over the file,
    /// and the file's values are never copied into the process environment.
    /// </summary>
    public static class EnvironmentCredentials
    {
        public const string EnvFileVariable = "LBTOOLS_ENV_FILE";

        public static IReadOnlyList<string> VariableNames(string provider) => new[]
        {
            $"LBTOOLS_{provider.ToUpperInvariant()}_USERNAME", $"LBTOOLS_{provider.ToUpperInvariant()}_PASSWORD",
            "LBTOOLS_USERNAME", "LBTOOLS_PASSWORD",
        };

        /// <summary>The credential and where it came from ("Environment" or "DotEnv"), or null when none is set.</summary>
        public static (NetworkCredential Credential, string Source)? Find(string provider, string currentDirectory)
        {
            var fromProcess = FindIn(provider, name => Environment.GetEnvironmentVariable(name));
            if (fromProcess != null) return (fromProcess, "Environment");

            string? file = Environment.GetEnvironmentVariable(EnvFileVariable);
            if (string.IsNullOrEmpty(file)) file = Path.Combine(currentDirectory, ".env");
            if (!File.Exists(file)) return null;
            Dictionary<string, string> values;
            try
            {
                values = DotNetEnv.Env.NoEnvVars().Load(file).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Last().Value);
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException))
            {
                // The parser's message may quote the offending line, which may hold a secret: say where, not what.
                throw new LbException(LbErrorKind.InvalidInput, $"The .env file '{file}' could not be parsed; check its syntax (KEY=value per line).") { ErrorId = ErrorIds.SecretUnusable };
            }
            var fromFile = FindIn(provider, name => values.TryGetValue(name, out var v) ? v : null);
            return fromFile == null ? ((NetworkCredential, string)?)null : (fromFile, "DotEnv");
        }

        private static NetworkCredential? FindIn(string provider, Func<string, string?> read)
        {
            var names = VariableNames(provider);
            for (int i = 0; i < names.Count; i += 2)
            {
                string? user = read(names[i]);
                string? password = read(names[i + 1]);
                if (!string.IsNullOrEmpty(user) && password != null) return new NetworkCredential(user, password);
            }
            return null;
        }
    }
}
