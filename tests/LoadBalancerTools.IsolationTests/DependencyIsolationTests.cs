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
            Assert.Equal(new[] { "LoadBalancerTools.Engine", "LoadBalancerTools.Model", "System.Management.Automation", "netstandard" },
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
            Assert.Equal(new[] { "LoadBalancerTools.Engine", "LoadBalancerTools.Model", "System.Management.Automation", "netstandard" },
                cmdlets.GetReferencedAssemblies().Select(a => a.Name!).OrderBy(n => n, StringComparer.Ordinal));
            Assert.Same(hostRedis, AssemblyLoadContext.Default.LoadFromAssemblyName(hostRedis.GetName()));
        }

        [Fact]
        public async Task Scripts_name_the_model_and_error_types_and_the_engine_shares_that_one_default_context_copy()
        {
            await using var nginx = await NginxPlusEmulator.StartAsync();
            nginx.AddUpstream("web");
            nginx.AddServer("web", "10.0.0.1:80");
            using var ps = new PsSession();
            var r = ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{nginx.ApiBase}' | Out-Null\n" +
                           // A typed script parameter, -is and a type literal, as a runbook would write them.
                           "function Get-Weight([LoadBalancerTools.Model.LbPoolMember] $Member) { $Member.Weight }\n" +
                           "$m = Get-LbPoolMember -Pool web\n" +
                           "$m -is [LoadBalancerTools.Model.LbPoolMember]\n" +
                           "Get-Weight $m\n" +
                           "[LoadBalancerTools.Model.LbMemberState]::Draining.ToString()\n" +
                           "try { Get-LbPoolMember -Pool nosuch -ErrorAction Stop; 'not thrown' }\n" +
                           "catch [LoadBalancerTools.Errors.LbException] { 'caught ' + $_.Exception.Kind + ' ' + $_.FullyQualifiedErrorId.Split(',')[0] }\n" +
                           "[LoadBalancerTools.Model.LbPoolMember].Assembly.Location\n" +
                           "(New-LbAlertChannel -Type Slack -Uri https://hooks.example.test/x) -is [LoadBalancerTools.Alerts.LbAlertChannel]\n" +
                           "[LoadBalancerTools.Errors.ErrorIds]::PoolNotFound");
            Assert.Null(r.Terminating);
            Assert.Equal(new object[] { true, 1, "Draining", "caught NotFound LbPoolNotFound" }, r.Output.Take(4).Select(o => o.BaseObject).ToArray());

            // The model loads in the default context from the module root, not from Dependencies/ ...
            string moduleRoot = Path.GetDirectoryName(RepoPaths.ModuleManifest)!;
            var model = AppDomain.CurrentDomain.GetAssemblies().Single(a => a.GetName().Name == "LoadBalancerTools.Model");
            Assert.Same(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(model));
            Assert.Equal(Path.Combine(moduleRoot, "LoadBalancerTools.Model.dll"), model.Location);
            Assert.Equal(model.Location, r.Output[4].BaseObject);
            Assert.Equal(new object[] { true, "LbPoolNotFound" }, r.Output.Skip(5).Select(o => o.BaseObject).ToArray());
            // ... and the isolated engine binds to that same copy: one LbPoolMember type in the process.
            var engine = AppDomain.CurrentDomain.GetAssemblies().Single(a => a.GetName().Name == "LoadBalancerTools.Engine");
            var engineContext = AssemblyLoadContext.GetLoadContext(engine)!;
            Assert.NotSame(AssemblyLoadContext.Default, engineContext);
            var engineView = engine.GetType("LoadBalancerTools.Services.PoolService", throwOnError: true)!
                .GetMethod("GetPoolsAsync")!.ReturnType.GetGenericArguments()[0].GetGenericArguments()[0];
            Assert.Same(model.GetType("LoadBalancerTools.Model.LbPool"), engineView);
            Assert.Same(model, engineContext.LoadFromAssemblyName(model.GetName()));
            Assert.DoesNotContain(engineContext.Assemblies, a => a.GetName().Name == "LoadBalancerTools.Model");

            // The model names no third-party assembly, only the framework and the host's PowerShell (for its type data's
            // code properties), so it can never pull one into the default context ...
            Assert.Equal(new[] { "System.Management.Automation", "netstandard" },
                model.GetReferencedAssemblies().Select(a => a.Name!).OrderBy(n => n, StringComparer.Ordinal));
            // ... and nothing from Dependencies/ reached the default context.
            string dependencies = Path.Combine(moduleRoot, "Dependencies");
            Assert.DoesNotContain(AssemblyLoadContext.Default.Assemblies, a => !a.IsDynamic && a.Location.StartsWith(dependencies, StringComparison.Ordinal));
            Assert.Contains(engineContext.Assemblies, a => a.GetName().Name == "Polly.Core");
        }
    }
}
