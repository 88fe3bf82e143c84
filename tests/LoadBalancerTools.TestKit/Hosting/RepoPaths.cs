using System;
using System.IO;

namespace LoadBalancerTools.TestKit.Hosting
{
    /// <summary>Finds the repository root (where LbTools.sln is) from the test's bin folder.</summary>
    public static class RepoPaths
    {
        public static string Root { get; } = FindRoot();

        /// <summary>The module the build assembled; tests import exactly what users import.</summary>
        public static string ModuleManifest => Path.Combine(Root, "out", "LoadBalancerTools", "LoadBalancerTools.psd1");

        private static string FindRoot()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "LbTools.sln"))) return dir.FullName;
            }
            throw new InvalidOperationException("LbTools.sln not found above " + AppContext.BaseDirectory);
        }
    }
}
