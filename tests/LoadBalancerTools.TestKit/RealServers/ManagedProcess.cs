using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace LoadBalancerTools.TestKit.RealServers;

/// <summary>
/// An external process (a load balancer) owned by the test process. Every live instance sits in a
/// static registry that kills it on <see cref="Dispose"/> and on <see cref="AppDomain.ProcessExit"/>,
/// so a failed or aborted test never leaves a listener behind. Output is kept, bounded, for the
/// message of a failed wait.
/// </summary>
public sealed class ManagedProcess : IDisposable, IAsyncDisposable
{
    private static readonly ConcurrentDictionary<int, ManagedProcess> Live = new();
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);

    private readonly Process _process;
    private readonly BoundedOutput _output = new(headLines: 60, tailLines: 400);
    private int _disposed;

    static ManagedProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            KillAll();
            HarnessFiles.DeleteOwnDirectories();
        };
        // A test host killed outright (SIGKILL, a crashed runner) runs no handler: its children are
        // recorded on disk and reaped by the next test process that uses the harness.
        HarnessFiles.ReapOrphans();
    }

    private ManagedProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int Id { get; private set; }

    public bool HasExited
    {
        get
        {
            try
            {
                return _process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
    }

    public int? ExitCode => HasExited ? SafeExitCode() : null;

    /// <summary>What the process wrote to stdout and stderr (first and last lines when long).</summary>
    public string Output => _output.ToString();

    /// <summary>Processes started by this harness in this test process and not yet disposed.</summary>
    public static IReadOnlyCollection<ManagedProcess> LiveProcesses => Live.Values.ToArray();

    public static ManagedProcess Start(
        string name,
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // A child that reads stdin must see EOF, not the test runner's console.
            RedirectStandardInput = true,
            CreateNoWindow = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var managed = new ManagedProcess(name, process);
        process.OutputDataReceived += (_, e) => managed.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => managed.OnLine(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {fileName}.");
        }

        managed.Id = process.Id;
        Live[managed.Id] = managed;
        HarnessFiles.RecordChild(managed.Id);
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return managed;
    }

    /// <summary>
    /// Polls <paramref name="condition"/> until it holds, failing fast if the process exits and
    /// with its output on timeout. A condition that throws counts as not yet true.
    /// </summary>
    public async Task WaitUntilAsync(
        Func<Task<bool>> condition,
        TimeSpan timeout,
        string? description = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var what = description ?? "condition";
        var clock = Stopwatch.StartNew();
        var delay = TimeSpan.FromMilliseconds(20);
        Exception? lastError = null;
        var attempts = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (HasExited)
            {
                throw new InvalidOperationException(
                    $"{Name} (pid {Id}) exited with code {SafeExitCode()} while waiting for {what}.{Describe(lastError)}");
            }

            attempts++;
            try
            {
                if (await condition().ConfigureAwait(false))
                {
                    return;
                }

                lastError = null;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                lastError = ex;
            }

            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException(
                    $"{what} did not hold within {timeout.TotalSeconds:0.###} s ({attempts} checks) for {Name} (pid {Id}).{Describe(lastError)}");
            }

            await Task.Delay(delay < left ? delay : left, cancellationToken).ConfigureAwait(false);
            // Quick at first (a start takes tens of ms), then gentler on the target.
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 200));
        }
    }

    /// <summary>Kills the process and its children and waits (bounded) until they are gone.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already exited, or never started.
        }
        catch (Win32Exception)
        {
            // Exited between the check and the kill.
        }

        try
        {
            _process.WaitForExit((int)KillWait.TotalMilliseconds);
        }
        catch (InvalidOperationException)
        {
        }
        catch (SystemException)
        {
        }
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return HasExited;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Kill();
        Live.TryRemove(Id, out _);
        HarnessFiles.ForgetChild(Id);
        _process.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        // Kill waits a few seconds at most; run it off the caller's thread.
        return _disposed != 0 ? ValueTask.CompletedTask : new ValueTask(Task.Run(Dispose));
    }

    public override string ToString() => $"{Name} (pid {Id})";

    private static void KillAll()
    {
        foreach (var process in Live.Values)
        {
            try
            {
                process.Dispose();
            }
            catch
            {
                // Shutting down: keep going with the others.
            }
        }
    }

    private void OnLine(string? line)
    {
        if (line is not null)
        {
            _output.Add(line);
        }
    }

    private int? SafeExitCode()
    {
        try
        {
            return _process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private string Describe(Exception? lastError)
    {
        var text = new StringBuilder();
        if (lastError is not null)
        {
            text.Append(" Last check failed: ").Append(lastError.GetType().Name).Append(": ").Append(lastError.Message);
        }

        text.AppendLine().Append("--- output of ").Append(Name).AppendLine(" ---");
        text.Append(Output);
        return text.ToString();
    }

    /// <summary>First and last lines of a stream; the middle is counted, not kept.</summary>
    private sealed class BoundedOutput
    {
        private readonly int _headLines;
        private readonly int _tailLines;
        private readonly List<string> _head = new();
        private readonly Queue<string> _tail = new();
        private long _dropped;

        public BoundedOutput(int headLines, int tailLines)
        {
            _headLines = headLines;
            _tailLines = tailLines;
        }

        public void Add(string line)
        {
            // Some processes log very long JSON lines; keep each bounded too.
            if (line.Length > 2000)
            {
                line = line.Substring(0, 2000) + "…";
            }

            lock (_tail)
            {
                if (_head.Count < _headLines)
                {
                    _head.Add(line);
                    return;
                }

                _tail.Enqueue(line);
                if (_tail.Count > _tailLines)
                {
                    _tail.Dequeue();
                    _dropped++;
                }
            }
        }

        public override string ToString()
        {
            lock (_tail)
            {
                var text = new StringBuilder();
                foreach (var line in _head)
                {
                    text.AppendLine(line);
                }

                if (_dropped > 0)
                {
                    text.Append("… ").Append(_dropped).AppendLine(" lines left out …");
                }

                foreach (var line in _tail)
                {
                    text.AppendLine(line);
                }

                return text.ToString();
            }
        }
    }
}

/// <summary>
/// The harness's scratch space: one temp directory per started load balancer, and a record of
/// every child process, so a later test process can clean up after one that was killed outright.
/// </summary>
public static class HarnessFiles
{
    // Under the user's own data folder (never the shared temp folder), created owner-only: a record in a
    // folder others can write, or could have created first, would let them choose what the reaper kills.
    private static readonly string Root = Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "lbtools-realservers");
    private static string ChildRecords => Path.Combine(Root, "children");
    private static readonly string OwnerIdentity = ProcessIdentity(Environment.ProcessId) ?? "?";
    private static readonly ConcurrentDictionary<string, bool> OwnDirectories = new(StringComparer.Ordinal);

    /// <summary>A new empty directory named after this test process, so orphans can be told apart.</summary>
    public static string CreateWorkDirectory(string kind)
    {
        if (kind.Contains('-'))
        {
            throw new ArgumentException("The kind is part of a '-'-separated name.", nameof(kind));
        }

        // Short names: a unix socket path inside must stay under the 108-byte sun_path limit.
        var unique = Guid.NewGuid().ToString("N").Substring(0, 12);
        EnsurePrivateRoot();
        var path = Path.Combine(Root, $"{kind}-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{unique}");
        Directory.CreateDirectory(path);
        OwnDirectories[path] = true;
        return path;
    }

    /// <summary>At process exit: the directories of load balancers nobody disposed.</summary>
    public static void DeleteOwnDirectories()
    {
        foreach (var path in OwnDirectories.Keys)
        {
            DeleteDirectory(path);
        }
    }

    public static void DeleteDirectory(string path)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }

                OwnDirectories.TryRemove(path, out _);
                return;
            }
            catch (IOException)
            {
                Thread.Sleep(50);
            }
            catch (UnauthorizedAccessException)
            {
                Thread.Sleep(50);
            }
        }
    }

    /// <summary>
    /// Creates the harness folder owner-only (0700) and checks it is ours and writable by no one else;
    /// refuses otherwise, rather than trusting records someone else could have written.
    /// </summary>
    public static void EnsurePrivateRoot() => EnsurePrivateRoot(Root);

    private static void EnsurePrivateRoot(string root)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(root);
            return;
        }
        string records = Path.Combine(root, "children");
        Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(records, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var dir in new[] { root, records })
        {
            if ((File.GetUnixFileMode(dir) & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            {
                throw new UnauthorizedAccessException($"The test harness folder '{dir}' can be written by other users; its process records are not trusted. Remove it or chmod 700 it.");
            }
        }
    }

    public static void RecordChild(int pid)
    {
        try
        {
            EnsurePrivateRoot();
            var child = ProcessIdentity(pid) ?? "?";
            File.WriteAllText(
                Path.Combine(ChildRecords, pid.ToString(CultureInfo.InvariantCulture)),
                string.Join(' ', Environment.ProcessId.ToString(CultureInfo.InvariantCulture), OwnerIdentity, child, Executable(pid) ?? "?"));
        }
        catch (IOException)
        {
            // Best effort: the in-process registry still kills it.
        }
    }

    public static void ForgetChild(int pid)
    {
        try
        {
            File.Delete(Path.Combine(ChildRecords, pid.ToString(CultureInfo.InvariantCulture)));
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// Kills children whose owning test process is gone, but only when the pid still belongs to the
    /// very process recorded (same start time): a reused pid is left alone.
    /// </summary>
    public static void ReapOrphans() => ReapOrphans(Root);

    /// <summary>As above, for the harness folder <paramref name="root"/> (tests of the reaper use their own).</summary>
    public static void ReapOrphans(string root)
    {
        try
        {
            // Records are trusted only in our own owner-only folder; anything else is never acted on.
            try { EnsurePrivateRoot(root); }
            catch (UnauthorizedAccessException) { return; }
            string records = Path.Combine(root, "children");
            if (Directory.Exists(records))
            {
                foreach (var file in Directory.GetFiles(records))
                {
                    ReapRecord(file);
                }
            }

            if (Directory.Exists(root))
            {
                foreach (var dir in Directory.GetDirectories(root))
                {
                    var parts = Path.GetFileName(dir).Split('-');
                    if (parts.Length == 3 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var owner)
                        && ProcessIdentity(owner) is null)
                    {
                        DeleteDirectory(dir);
                    }
                }
            }
        }
        catch (Exception)
        {
            // Cleanup of earlier runs must never break this one.
        }
    }

    private static void ReapRecord(string file)
    {
        if (!int.TryParse(Path.GetFileName(file), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return;
        }

        var fields = File.ReadAllText(file).Split(' ');
        if (fields.Length != 4 || !int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var owner))
        {
            File.Delete(file);
            return;
        }

        var ownerNow = ProcessIdentity(owner);
        if (ownerNow is not null && ownerNow == fields[1])
        {
            return; // Its owner is alive: not an orphan.
        }

        // Killed only when the pid is still the very process started (same start tick) running the same
        // program (haproxy, caddy, redis-server...): a reused pid, or a record naming someone else's
        // process, is left alone.
        var childNow = ProcessIdentity(pid);
        if (childNow is not null && fields[2] != "?" && childNow == fields[2] && fields[3] != "?" && Executable(pid) == fields[3]
            && Path.GetFileName(fields[3]) is "haproxy" or "caddy" or "redis-server")
        {
            try
            {
                using var orphan = Process.GetProcessById(pid);
                orphan.Kill(entireProcessTree: true);
                // Its new parent may never reap it, so wait for "gone or zombie", not for exit.
                for (var i = 0; i < 40 && ProcessIdentity(pid) == fields[2]; i++)
                {
                    Thread.Sleep(50);
                }
            }
            catch (Exception)
            {
                // Gone already, or not ours to kill.
            }
        }

        File.Delete(file);
    }

    /// <summary>The program a live pid runs (/proc/PID/exe), or null.</summary>
    public static string? Executable(int pid)
    {
        try
        {
            return OperatingSystem.IsLinux() ? new FileInfo($"/proc/{pid}/exe").LinkTarget : null;
        }
        catch (Exception)
        {
            return null;
        }
    }

    /// <summary>
    /// A stable identity for a live pid (its start time), or null when no such process runs.
    /// On Linux the kernel's start tick from /proc is exact; elsewhere the start time to the second.
    /// </summary>
    public static string? ProcessIdentity(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (OperatingSystem.IsLinux())
        {
            try
            {
                var text = File.ReadAllText(stat);
                // The command name is in parentheses and may hold spaces: count fields after it.
                var rest = text.Substring(text.LastIndexOf(')') + 2).Split(' ');
                // Field 3 (state) is rest[0]; field 22 (starttime) is rest[19]. Zombies count as gone.
                return rest[0] == "Z" ? null : rest[19];
            }
            catch (Exception)
            {
                return null;
            }
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited
                ? null
                : (process.StartTime.ToUniversalTime().Ticks / TimeSpan.TicksPerSecond).ToString(CultureInfo.InvariantCulture);
        }
        catch (Exception)
        {
            return null;
        }
    }
}
