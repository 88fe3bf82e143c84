using System;
using System.IO;
using System.Linq;
using LoadBalancerTools.Model;
using LoadBalancerTools.Providers;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.Help
{
    /// <summary>The about topic's capability matrix says what each provider declares, column by column.</summary>
    public sealed class CapabilityMatrixTests
    {
        private static LbCapabilities Declared(string provider)
        {
            var endpoint = provider switch
            {
                "HAProxy" => new Uri("tcp://127.0.0.1:1"),
                "AwsElbV2" => new Uri("https://elasticloadbalancing.us-east-1.amazonaws.com"),
                _ => new Uri("https://lb.example.invalid/api"),
            };
            var settings = new LbConnectionSettings(provider, endpoint) { Region = provider == "AwsElbV2" ? "us-east-1" : null };
            Assert.True(ProviderRegistry.TryCreate(settings, out var instance));
            using (instance) return instance!.Capabilities;
        }

        [Fact]
        public void Every_provider_row_matches_its_declared_capabilities()
        {
            var lines = File.ReadAllLines(Path.Combine(RepoPaths.Root, "docs", "about_LoadBalancerTools.md"));
            int header = Array.FindIndex(lines, l => l.StartsWith("| Provider | Disable |", StringComparison.Ordinal));
            Assert.True(header >= 0, "the capability matrix is missing");
            var columns = lines[header].Split('|').Select(c => c.Trim()).Where(c => c.Length > 0).ToArray();
            var rows = lines.Skip(header + 2).TakeWhile(l => l.StartsWith("|", StringComparison.Ordinal)).ToList();
            Assert.Equal(ProviderRegistry.Names.OrderBy(n => n), rows.Select(r => r.Split('|')[1].Trim()).OrderBy(n => n));
            foreach (var row in rows)
            {
                var cells = row.Split('|').Skip(1).Select(c => c.Trim()).ToArray();
                var declared = Declared(cells[0]);
                for (int i = 1; i < columns.Length - 1; i++)
                {
                    var flag = Enum.Parse<LbCapabilities>(columns[i]);
                    Assert.True((cells[i] == "yes") == ((declared & flag) == flag), $"{cells[0]} {columns[i]}: the matrix says {cells[i]}, the provider declares {declared}");
                }
                var also = cells[columns.Length - 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(Enum.Parse<LbCapabilities>).Aggregate(LbCapabilities.None, (a, b) => a | b);
                var listed = columns.Skip(1).Take(columns.Length - 2).Select(Enum.Parse<LbCapabilities>).Aggregate(LbCapabilities.None, (a, b) => a | b);
                Assert.Equal(declared & ~listed, also);
            }
        }
    }
}
