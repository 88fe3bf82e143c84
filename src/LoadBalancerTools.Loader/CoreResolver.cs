using System;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace LoadBalancerTools
{
    /// <summary>
    /// PowerShell 7 only (never JIT-compiled on Windows PowerShell, which has no AssemblyLoadContext):
    /// the default context asks us for the engine, and we hand it over from our own context, where its
    /// dependencies then resolve from Dependencies/ first.
    /// </summary>
    internal static class CoreResolver
    {
        private const string EngineAssembly = "LoadBalancerTools.Engine";
        private static DependencyLoadContext? _context;

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void Register(string directory)
        {
            if (_context != null) return;
            _context = new DependencyLoadContext(directory);
            AssemblyLoadContext.Default.Resolving += ResolveEngine;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void Unregister()
        {
            AssemblyLoadContext.Default.Resolving -= ResolveEngine;
        }

        private static Assembly? ResolveEngine(AssemblyLoadContext defaultContext, AssemblyName name) =>
            _context != null && string.Equals(name.Name, EngineAssembly, StringComparison.Ordinal)
                ? _context.LoadFromAssemblyName(name)
                : null;

        private sealed class DependencyLoadContext : AssemblyLoadContext
        {
            private readonly string _directory;
            private readonly string _frameworkDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location) ?? "";

            public DependencyLoadContext(string directory)
            {
                _directory = directory;
            }

            protected override Assembly? Load(AssemblyName assemblyName)
            {
                // The model the user's scripts name lives in the default context (the manifest's RequiredAssemblies):
                // the engine must bind to that very copy, or a [LoadBalancerTools.Model.LbPoolMember] from a script
                // would be a different type from the engine's.
                if (ModuleAssemblyLoader.IsShared(assemblyName.Name)) return FromDefaultContext(assemblyName);
                string file = Path.Combine(_directory, assemblyName.Name + ".dll");
                // Not ours (System.Management.Automation, the framework): the host's copy, so types are shared.
                if (!File.Exists(file)) return null;
                // Shipped only for Windows PowerShell (System.Memory, System.Text.Json...): the runtime's own is newer and must be shared.
                if (File.Exists(Path.Combine(_frameworkDirectory, assemblyName.Name + ".dll"))) return null;
                return LoadFromAssemblyPath(file);
            }

            private static Assembly? FromDefaultContext(AssemblyName assemblyName)
            {
                foreach (var loaded in AppDomain.CurrentDomain.GetAssemblies())
                {
                    if (string.Equals(loaded.GetName().Name, assemblyName.Name, StringComparison.Ordinal) && GetLoadContext(loaded) == Default) return loaded;
                }
                // Not loaded yet (an engine type touched before the manifest's RequiredAssemblies ran): the default context loads it.
                return Default.LoadFromAssemblyName(assemblyName);
            }
        }
    }
}
