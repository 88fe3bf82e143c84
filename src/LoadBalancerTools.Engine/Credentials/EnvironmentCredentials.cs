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
    /// A .env file is read only when asked for (-EnvFile, or the LBTOOLS_ENV_FILE variable), never found by
    /// looking in the current folder, and on Unix only when the current user owns it and no one else can
    /// write it. Process variables win over the file; the file's values never enter the process environment.
    /// </summary>
    public static class EnvironmentCredentials
    {
        public const string EnvFileVariable = "LBTOOLS_ENV_FILE";

        public static IReadOnlyList<string> VariableNames(string provider) => new[]
        {
            $"LBTOOLS_{provider.ToUpperInvariant()}_USERNAME", $"LBTOOLS_{provider.ToUpperInvariant()}_PASSWORD",
            "LBTOOLS_USERNAME", "LBTOOLS_PASSWORD",
        };

        /// <summary>The .env file asked for: <paramref name="envFile"/>, else LBTOOLS_ENV_FILE, else none.</summary>
        public static string? RequestedFile(string? envFile, string currentDirectory)
        {
            string? file = !string.IsNullOrEmpty(envFile) ? envFile : Environment.GetEnvironmentVariable(EnvFileVariable);
            return string.IsNullOrEmpty(file) ? null : Path.GetFullPath(Path.Combine(currentDirectory, file));
        }

        /// <summary>The credential, where it came from ("Environment" or "DotEnv") and the file, or null when none is set.</summary>
        public static (NetworkCredential Credential, string Source, string? File)? Find(string provider, string? envFile)
        {
            var fromProcess = FindIn(provider, name => Environment.GetEnvironmentVariable(name));
            if (fromProcess != null) return (fromProcess, "Environment", null);
            if (envFile == null) return null;
            if (!File.Exists(envFile))
            {
                throw new LbException(LbErrorKind.InvalidInput, $"The .env file '{envFile}' does not exist.") { ErrorId = ErrorIds.SecretNotFound };
            }
            UnixFileTrust.Require(envFile, ".env file");
            Dictionary<string, string> values;
            try
            {
                values = DotNetEnv.Env.NoEnvVars().Load(envFile).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Last().Value);
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException))
            {
                // The parser's message may quote the offending line, which may hold a secret: say where, not what.
                throw new LbException(LbErrorKind.InvalidInput, $"The .env file '{envFile}' could not be parsed; check its syntax (KEY=value per line).") { ErrorId = ErrorIds.SecretUnusable };
            }
            var fromFile = FindIn(provider, name => values.TryGetValue(name, out var v) ? v : null);
            return fromFile == null ? ((NetworkCredential, string, string?)?)null : (fromFile, "DotEnv", envFile);
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
