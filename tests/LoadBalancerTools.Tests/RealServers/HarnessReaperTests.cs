using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using LoadBalancerTools.TestKit.RealServers;

namespace LoadBalancerTools.Tests.RealServers
{
    /// <summary>
    /// The harness reaper kills a recorded child only when the record sits in an owner-only folder, the pid
    /// still runs the very process started (start tick) and the same program, and that program is one the
    /// harness starts. A record planted for someone else's process kills nothing.
    /// </summary>
    // Unix only: the reaper guards an owner-only Unix folder.
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public sealed class HarnessReaperTests : IDisposable
    {
        private readonly string _root = Path.Combine(Path.GetTempPath(), "lbtools-reaper-" + Guid.NewGuid().ToString("N"));
        private readonly string _bin;
        private Process? _victim;

        public HarnessReaperTests()
        {
            Directory.CreateDirectory(_root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            _bin = Path.Combine(_root, "bin");
            Directory.CreateDirectory(_bin);
        }

        public void Dispose()
        {
            try { if (_victim is { HasExited: false }) _victim.Kill(); } catch (InvalidOperationException) { }
            _victim?.Dispose();
            Directory.Delete(_root, recursive: true);
        }

        /// <summary>Starts a long sleep from a copy of sleep named <paramref name="program"/>, and returns its pid.</summary>
        private int Start(string program)
        {
            string exe = Path.Combine(_bin, program);
            File.Copy("/usr/bin/sleep", exe, overwrite: true);
            File.SetUnixFileMode(exe, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            _victim = Process.Start(exe, "60");
            return _victim.Id;
        }

        /// <summary>A record as a dead test process would have left it (its owner pid no longer runs).</summary>
        private void Record(int pid, string exe)
        {
            string children = Path.Combine(_root, "children");
            Directory.CreateDirectory(children, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.WriteAllText(Path.Combine(children, pid.ToString()), $"999999999 gone {HarnessFiles.ProcessIdentity(pid)} {exe}");
        }

        private bool Runs(int pid) => HarnessFiles.ProcessIdentity(pid) != null;

        private bool WaitGone(int pid)
        {
            var watch = Stopwatch.StartNew();
            while (Runs(pid) && watch.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(20);
            return !Runs(pid);
        }

        [Fact]
        public void An_orphaned_harness_child_is_reaped()
        {
            int pid = Start("haproxy");
            Record(pid, HarnessFiles.Executable(pid)!);

            HarnessFiles.ReapOrphans(_root);

            Assert.True(WaitGone(pid), "the orphan still runs");
        }

        [Fact]
        public void A_record_naming_a_process_that_runs_another_program_kills_nothing()
        {
            int pid = Start("haproxy");
            Record(pid, "/usr/sbin/haproxy"); // a forged program path: the pid runs a different file

            HarnessFiles.ReapOrphans(_root);

            Assert.True(Runs(pid));
        }

        [Fact]
        public void A_record_for_a_program_the_harness_never_starts_kills_nothing()
        {
            int pid = Start("sshd");
            Record(pid, HarnessFiles.Executable(pid)!);

            HarnessFiles.ReapOrphans(_root);

            Assert.True(Runs(pid));
        }

        [Fact]
        public void Records_in_a_folder_others_can_write_are_never_acted_on()
        {
            int pid = Start("haproxy");
            Record(pid, HarnessFiles.Executable(pid)!);
            File.SetUnixFileMode(Path.Combine(_root, "children"), (UnixFileMode)Convert.ToInt32("777", 8));

            HarnessFiles.ReapOrphans(_root);

            Assert.True(Runs(pid));
            Assert.True(File.Exists(Path.Combine(_root, "children", pid.ToString())), "an untrusted record was touched");
        }
    }
}
