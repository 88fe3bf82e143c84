using System;
using System.Net;
using LoadBalancerTools.Http;
using LoadBalancerTools.Providers;
using LoadBalancerTools.Providers.F5;
using LoadBalancerTools.TestKit;

namespace LoadBalancerTools.Tests.F5
{
    internal static class F5Support
    {
        /// <summary>PowerShell that builds a credential with core-language .NET only (no Security module in the test engine).</summary>
        public static string Credential(string user, string password) =>
            $"([pscredential]::new('{user}', ([System.Net.NetworkCredential]::new('', '{password.Replace("'", "''")}')).SecurePassword))";

        public static string ConnectScript(F5Emulator emulator, string user = "admin", string password = "admin", string? partition = null, string extra = "") =>
            $"Connect-LbController -Provider F5 -Endpoint '{emulator.BaseAddress}' -Credential {Credential(user, password)}" +
            (partition == null ? "" : $" -Partition {partition}") + (extra.Length == 0 ? "" : " " + extra);

        /// <summary>A provider straight on the engine, with quick retries so busy/503 paths do not wait long.</summary>
        public static F5Provider Provider(F5Emulator emulator, string? partition = null, string user = "admin", string password = "admin",
            Action<TransportOptions>? transport = null)
        {
            var options = new TransportOptions { BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(5), TotalTimeout = TimeSpan.FromSeconds(30) };
            transport?.Invoke(options);
            var settings = new LbConnectionSettings("F5", emulator.BaseAddress)
            {
                Credential = new NetworkCredential(user, password),
                Partition = partition,
                Transport = options,
            };
            return new F5Provider(settings);
        }
    }
}
