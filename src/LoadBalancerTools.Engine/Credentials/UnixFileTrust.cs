using System;
using System.Globalization;
using System.Runtime.InteropServices;
using LoadBalancerTools.Errors;

namespace LoadBalancerTools.Credentials
{
    /// <summary>
    /// Whether a file that supplies a credential can be trusted on Unix: owned by the current user and not
    /// writable by group or others (as ssh does for its keys and config). Otherwise anyone who can write the
    /// file chooses the credential, or the load balancer it is sent to.
    /// </summary>
    /// <remarks>
    /// .NET has no API for a file's owner. Tmds.LibC has <c>stat</c>, but only as RID-specific assemblies, and
    /// the module ships one RID-neutral Dependencies folder; so <c>stat</c> is called directly and two fields
    /// are read at their glibc offsets for x86-64 and AArch64 (the Linux machines PowerShell 7 runs on).
    /// Elsewhere only the mode is checked, through .NET's File.GetUnixFileMode.
    /// </remarks>
    public static class UnixFileTrust
    {
        private const int GroupWrite = 0x10; // S_IWGRP
        private const int OtherWrite = 0x02; // S_IWOTH

        public static void Require(string path, string what)
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) return;
            var (mode, owner) = Stat(path);
            uint me = geteuid();
            if (owner.HasValue && owner.Value != me)
            {
                throw new LbException(LbErrorKind.InvalidInput, string.Format(CultureInfo.InvariantCulture,
                    "The {0} '{1}' is owned by user id {2}, not by you ({3}): another user could choose the credential it supplies. Use a file you own (chmod 600).",
                    what, path, owner.Value, me)) { ErrorId = ErrorIds.SecretUnusable };
            }
            if (mode.HasValue && (mode.Value & (GroupWrite | OtherWrite)) != 0)
            {
                throw new LbException(LbErrorKind.InvalidInput, string.Format(CultureInfo.InvariantCulture,
                    "The {0} '{1}' can be written by other users (mode {2}): anyone who can write it chooses the credential. Run: chmod 600 '{1}'",
                    what, path, Convert.ToString(mode.Value & 0xFFF, 8))) { ErrorId = ErrorIds.SecretUnusable };
            }
        }

        private static (int? Mode, uint? Owner) Stat(string path)
        {
            var arch = RuntimeInformation.ProcessArchitecture;
            bool linux = RuntimeInformation.IsOSPlatform(OSPlatform.Linux);
            if (linux && (arch == Architecture.X64 || arch == Architecture.Arm64))
            {
                // struct stat: x86-64 has st_mode at 24 and st_uid at 28; AArch64 (asm-generic) at 16 and 24.
                int modeOffset = arch == Architecture.X64 ? 24 : 16, uidOffset = arch == Architecture.X64 ? 28 : 24;
                var buffer = Marshal.AllocHGlobal(256);
                try
                {
                    if (stat(path, buffer) != 0)
                    {
                        throw new LbException(LbErrorKind.InvalidInput, $"Cannot read the file '{path}' (errno {Marshal.GetLastWin32Error()}).") { ErrorId = ErrorIds.SecretUnusable };
                    }
                    return (Marshal.ReadInt32(buffer, modeOffset), (uint)Marshal.ReadInt32(buffer, uidOffset));
                }
                catch (EntryPointNotFoundException)
                {
                    // glibc before 2.33 exports stat only as __xstat: fall back to the mode alone.
                }
                finally
                {
                    Marshal.FreeHGlobal(buffer);
                }
            }
            return (ModeFromRuntime(path), null);
        }

        /// <summary>File.GetUnixFileMode exists on .NET 7 and later (PowerShell 7.4+), not in netstandard2.0's surface.</summary>
        private static int? ModeFromRuntime(string path)
        {
            var method = typeof(System.IO.File).GetMethod("GetUnixFileMode", new[] { typeof(string) });
            return method == null ? (int?)null : Convert.ToInt32(method.Invoke(null, new object[] { path }), CultureInfo.InvariantCulture);
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int stat(string path, IntPtr buffer);

        [DllImport("libc")]
        private static extern uint geteuid();
    }
}
