using System.Reflection;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;
using NetArchTest.Rules;

namespace LoadBalancerTools.Tests.Architecture
{
    /// <summary>
    /// The layering of the design ("Layers"), as rules over the built assemblies: data flows from cmdlets
    /// down to model, services, providers and transport, never back up, and the model stands alone.
    /// </summary>
    public sealed class LayeringTests
    {
        private static readonly Assembly Engine = typeof(PoolService).Assembly;
        private static readonly Assembly Model = typeof(LbPoolMember).Assembly;
        private static readonly Assembly Cmdlets = Assembly.LoadFrom(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(TestKit.Hosting.RepoPaths.ModuleManifest)!, "LoadBalancerTools.dll"));

        private static void Holds(ConditionList rule, string why)
        {
            var result = rule.GetResult();
            Assert.True(result.IsSuccessful, why + ": " + string.Join(", ", result.FailingTypeNames ?? new string[0]));
        }

        [Fact]
        public void Providers_and_services_never_see_cmdlet_types_or_PowerShell()
        {
            Holds(Types.InAssembly(Engine).That().ResideInNamespace("LoadBalancerTools.Providers").Or().ResideInNamespace("LoadBalancerTools.Services")
                    .ShouldNot().HaveDependencyOnAny("LoadBalancerTools.Commands", "LoadBalancerTools.Completers", "LoadBalancerTools.Session", "System.Management.Automation"),
                "providers and services depend on the cmdlet layer");
        }

        [Fact]
        public void The_model_depends_on_nothing_else_in_the_engine()
        {
            Holds(Types.InAssembly(Model).ShouldNot().HaveDependencyOnAny(
                    "LoadBalancerTools.Services", "LoadBalancerTools.Providers", "LoadBalancerTools.Http", "LoadBalancerTools.Credentials",
                    "LoadBalancerTools.Alerts.AlertService", "LoadBalancerTools.Alerts.Journal", "LoadBalancerTools.Logging", "LoadBalancerTools.Util",
                    "LoadBalancerTools.Commands", "Polly", "Amazon", "DotNetEnv"),
                "model types depend on the engine or a third-party library");
            Assert.DoesNotContain(Model.GetReferencedAssemblies(), a => a.Name!.StartsWith("LoadBalancerTools", System.StringComparison.Ordinal));
        }

        [Fact]
        public void Transport_never_sees_providers()
        {
            Holds(Types.InAssembly(Engine).That().ResideInNamespace("LoadBalancerTools.Http").ShouldNot().HaveDependencyOn("LoadBalancerTools.Providers"),
                "transport types depend on providers");
        }

        [Fact]
        public void Cmdlets_never_see_transport_or_a_provider_instance()
        {
            // Connect, Disconnect and the completers reach providers only through ConnectionService and PoolService.
            Holds(Types.InAssembly(Cmdlets).That().ResideInNamespace("LoadBalancerTools.Commands").Or().ResideInNamespace("LoadBalancerTools.Completers")
                    .ShouldNot().HaveDependencyOnAny("LoadBalancerTools.Http", "LoadBalancerTools.Providers.ILbProvider",
                        "LoadBalancerTools.Providers.NginxPlus.NginxPlusProvider", "LoadBalancerTools.Providers.HAProxy.HaproxyProvider",
                        "LoadBalancerTools.Providers.HAProxy.HaproxyRuntimeClient", "LoadBalancerTools.Providers.Caddy.CaddyProvider",
                        "LoadBalancerTools.Providers.F5.F5Provider", "LoadBalancerTools.Providers.NetScaler.NetScalerProvider",
                        "LoadBalancerTools.Providers.AwsElbV2.AwsElbV2Provider"),
                "cmdlets build transport or call a provider directly");
        }
    }
}
