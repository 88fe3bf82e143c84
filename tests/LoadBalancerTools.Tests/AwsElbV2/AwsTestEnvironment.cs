using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;

namespace LoadBalancerTools.Tests.AwsElbV2
{
    /// <summary>
    /// Set before any test runs, because the AWS SDK reads some of these once per process: the SDK's
    /// credential chain must never reach for the EC2 instance-metadata address (tests send traffic only
    /// to loopback), and never read the real ~/.aws of whoever runs the tests.
    /// </summary>
    internal static class AwsTestEnvironment
    {
        public static string Directory { get; } = Path.Combine(Path.GetTempPath(), "lbtools-aws-tests-" + Environment.ProcessId);

        /// <summary>The shared credentials file the SDK was pointed at for this process (absent unless a test writes it).</summary>
        public static string CredentialsFile { get; } = Path.Combine(Directory, "credentials");

        [ModuleInitializer]
        internal static void Initialize()
        {
            System.IO.Directory.CreateDirectory(Directory);
            Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
            Environment.SetEnvironmentVariable("AWS_SHARED_CREDENTIALS_FILE", CredentialsFile);
            Environment.SetEnvironmentVariable("AWS_CONFIG_FILE", Path.Combine(Directory, "config"));
        }

        /// <summary>Sets environment variables for the length of a test and puts the old values back.</summary>
        public static IDisposable With(IDictionary<string, string?> variables)
        {
            var saved = new Dictionary<string, string?>();
            foreach (var kv in variables)
            {
                saved[kv.Key] = Environment.GetEnvironmentVariable(kv.Key);
                Environment.SetEnvironmentVariable(kv.Key, kv.Value);
            }
            return new Restore(saved);
        }

        private sealed class Restore : IDisposable
        {
            private readonly Dictionary<string, string?> _saved;
            public Restore(Dictionary<string, string?> saved) => _saved = saved;
            public void Dispose()
            {
                foreach (var kv in _saved) Environment.SetEnvironmentVariable(kv.Key, kv.Value);
            }
        }
    }

    /// <summary>Tests that change process environment variables run alone, after the parallel ones.</summary>
    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class AwsEnvironmentCollection
    {
        public const string Name = "AWS environment variables";
    }
}
