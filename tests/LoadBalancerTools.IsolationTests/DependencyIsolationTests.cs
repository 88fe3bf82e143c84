using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.Loader;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.IsolationTests
{
    /// <summary>
    /// This process already holds Polly.Core 8.1.0 (another module's copy, say) and has no engine
    /// assembly of its own, as in pwsh. The module must import, work, and use its own Polly from
    /// Dependencies/, loaded in a separate load context.
    /// </summary>
    public class DependencyIsolationTests
    {
        [Fact]
        public async Task The_module_imports_and_works_beside_a_different_Polly_Core_and_loads_its_own_copy()
        {
            // Use the host's Polly for real, so it is loaded before the module.
            var hostPolly = typeof(Polly.ResiliencePipeline).Assembly;
            _ = new Polly.ResiliencePipelineBuilder().Build();
            Assert.Equal("8.1.0", FileVersionInfo.GetVersionInfo(hostPolly.Location).ProductVersion?.Split('+')[0]);

            await using var nginx = await NginxPlusEmulator.StartAsync();
            nginx.AddUpstream("web");
            nginx.AddServer("web", "10.0.0.1:80");
            using var ps = new PsSession();
            var r = ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{nginx.ApiBase}' | Out-Null; " +
                           "Add-LbPoolMember -Pool web -Address 10.0.0.2 -Port 80; Get-LbPoolMember -Pool web");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(2, r.Output.Count);

            var engine = AppDomain.CurrentDomain.GetAssemblies().Single(a => a.GetName().Name == "LoadBalancerTools.Engine");
            var moduleContext = AssemblyLoadContext.GetLoadContext(engine)!;
            Assert.NotSame(AssemblyLoadContext.Default, moduleContext);
            var modulePolly = moduleContext.Assemblies.Single(a => a.GetName().Name == "Polly.Core");
            Assert.NotSame(hostPolly, modulePolly);
            string dependencies = Path.Combine(Path.GetDirectoryName(RepoPaths.ModuleManifest)!, "Dependencies");
            Assert.Equal(Path.Combine(dependencies, "Polly.Core.dll"), modulePolly.Location);
            Assert.StartsWith("8.9", FileVersionInfo.GetVersionInfo(modulePolly.Location).ProductVersion);
            // The cmdlet assembly, loaded in the default context, names no third-party assembly: those resolve only inside the module's context.
            var cmdlets = AppDomain.CurrentDomain.GetAssemblies().Single(a => a.GetName().Name == "LoadBalancerTools");
            Assert.Equal(new[] { "LoadBalancerTools.Engine", "System.Management.Automation", "netstandard" },
                cmdlets.GetReferencedAssemblies().Select(a => a.Name!).OrderBy(n => n, StringComparer.Ordinal));
            // The host's copy is untouched and still the one the default context hands out.
            Assert.Same(hostPolly, AssemblyLoadContext.Default.LoadFromAssemblyName(hostPolly.GetName()));
        }
    
        [Fact]
        public async Task Remediation_with_a_Redis_store_works_beside_another_StackExchange_Redis_and_loads_its_own_copy()
        {
            // The host's Redis client (another module's, older) is loaded first.
            var hostRedis = typeof(StackExchange.Redis.ConfigurationOptions).Assembly;
            _ = StackExchange.Redis.ConfigurationOptions.Parse("127.0.0.1:1").ToString();
            Assert.StartsWith("2.8.", FileVersionInfo.GetVersionInfo(hostRedis.Location).ProductVersion);

            await using var redis = await RedisProcess.StartAsync();
            await using var nginx = await NginxPlusEmulator.StartAsync();
            nginx.AddUpstream("web");
            nginx.AddServer("web", "127.0.0.1:" + FreePort.Next());
            using var ps = new PsSession();
            var r = ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{nginx.ApiBase}' | Out-Null; " +
                           $"Invoke-LbHealthRemediation -Pool web -Protocol Tcp -ProbeTimeoutSec 1 -StateStore '{redis.Url}'");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Contains("\"ConsecutiveFailures\": 1", await redis.CommandAsync("GET lbtools:{" + nginx.ApiBase.ToString().ToLowerInvariant() + "|web}:state"));

            var engine = AppDomain.CurrentDomain.GetAssemblies().Single(a => a.GetName().Name == "LoadBalancerTools.Engine");
            var moduleRedis = AssemblyLoadContext.GetLoadContext(engine)!.Assemblies.Single(a => a.GetName().Name == "StackExchange.Redis");
            Assert.NotSame(hostRedis, moduleRedis);
            Assert.Equal(Path.Combine(Path.GetDirectoryName(RepoPaths.ModuleManifest)!, "Dependencies", "StackExchange.Redis.dll"), moduleRedis.Location);
            Assert.StartsWith("3.4", FileVersionInfo.GetVersionInfo(moduleRedis.Location).ProductVersion);
            var cmdlets = AppDomain.CurrentDomain.GetAssemblies().Single(a => a.GetName().Name == "LoadBalancerTools");
            Assert.Equal(new[] { "LoadBalancerTools.Engine", "System.Management.Automation", "netstandard" },
                cmdlets.GetReferencedAssemblies().Select(a => a.Name!).OrderBy(n => n, StringComparer.Ordinal));
            Assert.Same(hostRedis, AssemblyLoadContext.Default.LoadFromAssemblyName(hostRedis.GetName()));
        }
}
}
