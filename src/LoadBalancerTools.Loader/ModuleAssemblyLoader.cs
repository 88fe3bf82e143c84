using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;

namespace LoadBalancerTools
{
    /// <summary>
    /// Imported as a nested module ahead of the cmdlet assembly (the model assembly, LoadBalancerTools.Model, is already
    /// loaded in the default context by the manifest's RequiredAssemblies). Loads the engine and its third-party assemblies (Polly and the rest) from Dependencies/, in
    /// isolation from whatever versions the host process already holds: PowerShell's documented
    /// resolver pattern. On PowerShell 7 the engine lives in its own AssemblyLoadContext; on Windows
    /// PowerShell an AssemblyResolve handler finds the files. It must run before PowerShell lists the
    /// cmdlet assembly's types, which name engine types; hence a separate assembly, imported first.
    /// </summary>
    public sealed class ModuleAssemblyLoader : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        internal static readonly string ModuleDirectory = Path.GetDirectoryName(typeof(ModuleAssemblyLoader).Assembly.Location) ?? ".";
        internal static readonly string DependencyDirectory = Path.Combine(ModuleDirectory, "Dependencies");

        /// <summary>
        /// Assemblies in the module root that the default context loads (the manifest's RequiredAssemblies) and the
        /// engine shares: the model and error types users name in scripts. They reference nothing third-party.
        /// </summary>
        internal static bool IsShared(string? assemblyName) => string.Equals(assemblyName, "LoadBalancerTools.Model", StringComparison.Ordinal);

        private static readonly bool IsDesktop =
            RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.OrdinalIgnoreCase);

        public void OnImport()
        {
            if (IsDesktop) AppDomain.CurrentDomain.AssemblyResolve += ResolveOnDesktop;
            else CoreResolver.Register(DependencyDirectory);
        }

        public void OnRemove(PSModuleInfo psModuleInfo)
        {
            if (IsDesktop) AppDomain.CurrentDomain.AssemblyResolve -= ResolveOnDesktop;
            else CoreResolver.Unregister();
        }

        private static Assembly? ResolveOnDesktop(object? sender, ResolveEventArgs args)
        {
            string? name = new AssemblyName(args.Name).Name;
            // The shared model comes from the module root, where RequiredAssemblies loaded it (LoadFrom returns that copy).
            string file = Path.Combine(IsShared(name) ? ModuleDirectory : DependencyDirectory, name + ".dll");
            return File.Exists(file) ? Assembly.LoadFrom(file) : null;
        }
    }
}
