using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;
using LoadBalancerTools.Errors;

namespace LoadBalancerTools.Services.Remediation
{
    /// <summary>
    /// An exclusive lock on a state file for a whole run (the sibling file STATE.lock, held open without sharing),
    /// so two overlapping runs never both decide on one pool. The holder writes who it is into the lock file; a
    /// second run waits up to its timeout and then stops with LbStateLocked naming the holder.
    /// </summary>
    public sealed class StateFileLock : IDisposable
    {
        private FileStream? _stream;

        private StateFileLock(FileStream stream) => _stream = stream;

        public static StateFileLock Acquire(string statePath, TimeSpan timeout)
        {
            string full = Path.GetFullPath(statePath);
            string? dir = Path.GetDirectoryName(full);
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            string lockPath = full + ".lock";
            RefuseLink(lockPath);
            var watch = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    var stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                    StateFileSecurity.OwnerOnly(lockPath);
                    // Who holds it goes in a sibling file: a file opened without sharing cannot be read by the waiter.
                    string holder = string.Format(CultureInfo.InvariantCulture, "host {0}, pid {1}, since {2:u}", Environment.MachineName,
                        Process.GetCurrentProcess().Id, DateTimeOffset.UtcNow);
                    try
                    {
                        RefuseLink(lockPath + ".holder");
                        File.WriteAllText(lockPath + ".holder", holder, new UTF8Encoding(false));
                        StateFileSecurity.OwnerOnly(lockPath + ".holder");
                    }
                    catch (IOException) { /* only informative */ }
                    return new StateFileLock(stream);
                }
                catch (IOException) when (watch.Elapsed < timeout)
                {
                    Thread.Sleep(100);
                }
                catch (IOException)
                {
                    throw new LbException(LbErrorKind.Conflict,
                        $"The state file '{full}' is in use by another run ({Holder(lockPath)}); waited {timeout.TotalSeconds:0.#} s. Nothing was changed. Let that run finish, or give -LockTimeoutSec more time.")
                    { ErrorId = ErrorIds.StateLocked };
                }
            }
        }

        private static string Holder(string lockPath)
        {
            try
            {
                string holder = File.ReadAllText(lockPath + ".holder").Trim();
                return holder.Length > 0 ? holder : "holder unknown";
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return "holder unknown";
            }
        }

        /// <summary>A state, lock or journal path that is a symbolic link is refused: writing through it would change another file.</summary>
        internal static void RefuseLink(string path)
        {
            if (File.Exists(path) && (File.GetAttributes(path) & FileAttributes.ReparsePoint) != 0)
            {
                throw new LbException(LbErrorKind.InvalidInput, $"'{path}' is a symbolic link; remediation files are never written through links.") { ErrorId = ErrorIds.StateFileInvalid };
            }
        }

        public void Dispose() => Interlocked.Exchange(ref _stream, null)?.Dispose();
    }

    /// <summary>Owner-only permissions for remediation files (0600 on Unix); on Windows the user's profile folder already is.</summary>
    internal static class StateFileSecurity
    {
        public static void OwnerOnly(string path)
        {
            // File.SetUnixFileMode exists on .NET 7 and later (PowerShell 7.4+), not in netstandard2.0's surface.
            var modeType = typeof(File).Assembly.GetType("System.IO.UnixFileMode");
            var set = modeType == null ? null : typeof(File).GetMethod("SetUnixFileMode", new[] { typeof(string), modeType });
            if (set == null || System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Windows)) return;
            set.Invoke(null, new object[] { path, Enum.ToObject(modeType!, 0x180) }); // UserRead | UserWrite
        }
    }
}
