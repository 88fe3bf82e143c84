using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace LoadBalancerTools.TestKit.RealServers;

/// <summary>Balance algorithms as HAProxy 2.6 spells them.</summary>
public static class HaproxyBalance
{
    /// <summary>Dynamic: accepts <c>add server</c> at run time.</summary>
    public const string RoundRobin = "roundrobin";

    /// <summary>Dynamic: accepts <c>add server</c> at run time.</summary>
    public const string LeastConn = "leastconn";

    /// <summary>
    /// Static: HAProxy 2.6 refuses <c>add server</c> with "Backend must use a dynamic load balancing
    /// to support dynamic servers." So do the map-based hashes (<c>source</c>, <c>uri</c>,
    /// <c>hdr(...)</c> without <c>hash-type consistent</c>); <c>first</c> and <c>random</c> accept it.
    /// </summary>
    public const string StaticRoundRobin = "static-rr";
}

/// <summary>Active HTTP checks: <c>option httpchk GET path</c> plus <c>check inter fall rise</c> per server.</summary>
public sealed class HaproxyHealthCheck
{
    public string Path { get; set; } = "/healthz";

    public TimeSpan Interval { get; set; } = TimeSpan.FromMilliseconds(200);

    public int Fall { get; set; } = 2;

    public int Rise { get; set; } = 2;
}

public sealed class HaproxyServer
{
    public HaproxyServer(string name, string address)
    {
        Name = name;
        Address = address;
    }

    public string Name { get; }

    /// <summary>host:port, e.g. a <see cref="BackendServer.Address"/>.</summary>
    public string Address { get; }

    public int? Weight { get; set; }

    /// <summary>False to leave this one server unchecked in a backend that has checks.</summary>
    public bool Check { get; set; } = true;
}

public sealed class HaproxyBackend
{
    public HaproxyBackend(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public string Balance { get; set; } = HaproxyBalance.RoundRobin;

    public List<HaproxyServer> Servers { get; } = new();

    /// <summary>Null: servers are not checked (HAProxy shows "no check").</summary>
    public HaproxyHealthCheck? HealthCheck { get; set; }

    /// <summary>Written verbatim inside the backend section (e.g. "option redispatch", "retries 3").</summary>
    public List<string> ExtraLines { get; } = new();

    public HaproxyBackend AddServer(string name, string address, int? weight = null)
    {
        Servers.Add(new HaproxyServer(name, address) { Weight = weight });
        return this;
    }

    public HaproxyBackend AddServer(BackendServer backend) => AddServer(backend.Name, backend.Address);

    public HaproxyBackend WithHealthCheck(TimeSpan? interval = null, int fall = 2, int rise = 2, string path = "/healthz")
    {
        HealthCheck = new HaproxyHealthCheck
        {
            Path = path,
            Interval = interval ?? TimeSpan.FromMilliseconds(200),
            Fall = fall,
            Rise = rise,
        };
        return this;
    }
}

public sealed class HaproxyOptions
{
    public string ExecutablePath { get; set; } = "/usr/sbin/haproxy";

    public List<HaproxyBackend> Backends { get; } = new();

    /// <summary>The frontend's default_backend; the first backend when null.</summary>
    public string? DefaultBackend { get; set; }

    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(20);

    public TimeSpan ServerTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Written verbatim inside the defaults section.</summary>
    public List<string> ExtraDefaultsLines { get; } = new();

    public HaproxyBackend AddBackend(string name, string balance = HaproxyBalance.RoundRobin)
    {
        var backend = new HaproxyBackend(name) { Balance = balance };
        Backends.Add(backend);
        return backend;
    }
}

/// <summary>
/// A real HAProxy 2.6 in the foreground (<c>-db</c>) on free loopback ports: one HTTP frontend and
/// the runtime API on both a TCP socket and a unix socket (level admin). Config and socket live in a
/// private temp directory that disposal deletes.
/// </summary>
public sealed class HaproxyProcess : IAsyncDisposable
{
    public const string FrontendName = "fe_main";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(10);
    private static readonly Regex NamePattern = new("^[A-Za-z0-9_.:-]+$", RegexOptions.CultureInvariant);
    private int _disposed;

    private HaproxyProcess(ManagedProcess process, string workDirectory, string configPath, string configText, int frontendPort, int adminPort, string adminSocketPath)
    {
        Process = process;
        WorkDirectory = workDirectory;
        ConfigPath = configPath;
        ConfigText = configText;
        FrontendPort = frontendPort;
        AdminPort = adminPort;
        AdminSocketPath = adminSocketPath;
    }

    public ManagedProcess Process { get; }

    public string WorkDirectory { get; }

    public string ConfigPath { get; }

    public string ConfigText { get; }

    public int FrontendPort { get; }

    public Uri FrontendUrl => new($"http://127.0.0.1:{FrontendPort}/");

    public int AdminPort { get; }

    /// <summary>The runtime API over TCP, as a provider would be configured: <c>tcp://127.0.0.1:PORT</c>.</summary>
    public string AdminEndpoint => $"tcp://127.0.0.1:{AdminPort}";

    public string AdminSocketPath { get; }

    public static async Task<HaproxyProcess> StartAsync(HaproxyOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);

        // A port found free can be taken before HAProxy binds it; then start again on new ports.
        const int attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            var workDirectory = HarnessFiles.CreateWorkDirectory("haproxy");
            var frontendPort = FreePort.Next();
            var adminPort = FreePort.Next();
            var socketPath = Path.Combine(workDirectory, "admin.sock");
            var configPath = Path.Combine(workDirectory, "haproxy.cfg");
            if (Encoding.UTF8.GetByteCount(socketPath) >= 104 || socketPath.Any(char.IsWhiteSpace))
            {
                HarnessFiles.DeleteDirectory(workDirectory);
                throw new InvalidOperationException($"Unix socket path unusable (too long or has spaces): {socketPath}. Point TMPDIR at a short directory.");
            }

            var config = BuildConfig(options, frontendPort, adminPort, socketPath);
            await File.WriteAllTextAsync(configPath, config, cancellationToken).ConfigureAwait(false);

            ManagedProcess? process = null;
            try
            {
                // -db: foreground, no daemon, so the kill reaches HAProxy itself.
                process = ManagedProcess.Start("haproxy", options.ExecutablePath, new[] { "-db", "-f", configPath }, workingDirectory: workDirectory);
                var haproxy = new HaproxyProcess(process, workDirectory, configPath, config, frontendPort, adminPort, socketPath);
                await process.WaitUntilAsync(
                    async () => (await haproxy.RuntimeCommandAsync("show info", cancellationToken).ConfigureAwait(false)).Contains("Name: HAProxy", StringComparison.Ordinal),
                    options.StartTimeout,
                    $"the HAProxy runtime API on {haproxy.AdminEndpoint} to answer 'show info'",
                    cancellationToken).ConfigureAwait(false);
                return haproxy;
            }
            catch (Exception) when (attempt < attempts && process is not null && IsBindFailure(process))
            {
                process.Dispose();
                HarnessFiles.DeleteDirectory(workDirectory);
            }
            catch
            {
                process?.Dispose();
                HarnessFiles.DeleteDirectory(workDirectory);
                throw;
            }
        }
    }

    /// <summary>
    /// Sends one runtime API command over TCP and returns the whole response: HAProxy closes the
    /// connection after answering in non-interactive mode. Several commands may be joined with ';'.
    /// </summary>
    public Task<string> RuntimeCommandAsync(string command, CancellationToken cancellationToken = default)
        => SendAsync(new IPEndPoint(IPAddress.Loopback, AdminPort), command, cancellationToken);

    /// <summary>The same over the unix socket in <see cref="AdminSocketPath"/>.</summary>
    public Task<string> RuntimeCommandOverUnixSocketAsync(string command, CancellationToken cancellationToken = default)
        => SendAsync(new UnixDomainSocketEndPoint(AdminSocketPath), command, cancellationToken);

    /// <summary>Rows of <c>show stat</c>, keyed by the CSV header (pxname, svname, status, weight, check_status…).</summary>
    public async Task<IReadOnlyList<IReadOnlyDictionary<string, string>>> ShowStatAsync(CancellationToken cancellationToken = default)
    {
        var text = await RuntimeCommandAsync("show stat", cancellationToken).ConfigureAwait(false);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0 || !lines[0].StartsWith("# ", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("Unexpected 'show stat' answer: " + text);
        }

        var header = lines[0].Substring(2).Split(',');
        var rows = new List<IReadOnlyDictionary<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            var row = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < header.Length && i < cells.Length; i++)
            {
                if (header[i].Length > 0)
                {
                    row[header[i]] = cells[i];
                }
            }

            rows.Add(row);
        }

        return rows;
    }

    /// <summary>The <c>status</c> column of one server (UP, DOWN, MAINT, DRAIN, "UP 1/2", "no check"…), or null if absent.</summary>
    public async Task<string?> GetServerStatusAsync(string backend, string server, CancellationToken cancellationToken = default)
    {
        var rows = await ShowStatAsync(cancellationToken).ConfigureAwait(false);
        var row = rows.FirstOrDefault(r => r.TryGetValue("pxname", out var px) && px == backend && r.TryGetValue("svname", out var sv) && sv == server);
        return row is not null && row.TryGetValue("status", out var status) ? status : null;
    }

    public Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string? description = null, CancellationToken cancellationToken = default)
        => Process.WaitUntilAsync(condition, timeout, description, cancellationToken);

    /// <summary>Waits until <c>show stat</c> reports <paramref name="expectedStatus"/> (exact) for the server.</summary>
    public Task WaitForServerStatusAsync(string backend, string server, string expectedStatus, TimeSpan timeout, CancellationToken cancellationToken = default)
        => WaitUntilAsync(
            async () => await GetServerStatusAsync(backend, server, cancellationToken).ConfigureAwait(false) == expectedStatus,
            timeout,
            $"{backend}/{server} to be {expectedStatus} in 'show stat'",
            cancellationToken);

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        return new ValueTask(Task.Run(() =>
        {
            Process.Dispose();
            HarnessFiles.DeleteDirectory(WorkDirectory);
        }));
    }

    internal static string BuildConfig(HaproxyOptions options, int frontendPort, int adminPort, string socketPath)
    {
        var inv = CultureInfo.InvariantCulture;
        var cfg = new StringBuilder();
        cfg.AppendLine("# Written by the LoadBalancerTools test harness; loopback only.");
        cfg.AppendLine("global");
        // No daemon, user, chroot or syslog: a plain foreground child of the test process.
        cfg.AppendLine(inv, $"    stats socket ipv4@127.0.0.1:{adminPort} level admin");
        cfg.AppendLine(inv, $"    stats socket {socketPath} mode 600 level admin");
        cfg.AppendLine("    stats timeout 30s");
        cfg.AppendLine();
        cfg.AppendLine("defaults");
        cfg.AppendLine("    mode http");
        cfg.AppendLine("    timeout connect 1s");
        cfg.AppendLine("    timeout client 30s");
        cfg.AppendLine(inv, $"    timeout server {(long)options.ServerTimeout.TotalMilliseconds}ms");
        cfg.AppendLine("    timeout check 1s");
        foreach (var line in options.ExtraDefaultsLines)
        {
            cfg.Append("    ").AppendLine(line);
        }

        cfg.AppendLine();
        cfg.AppendLine(inv, $"frontend {FrontendName}");
        cfg.AppendLine(inv, $"    bind 127.0.0.1:{frontendPort}");
        cfg.AppendLine(inv, $"    default_backend {options.DefaultBackend ?? options.Backends[0].Name}");

        foreach (var backend in options.Backends)
        {
            cfg.AppendLine();
            cfg.AppendLine(inv, $"backend {backend.Name}");
            cfg.AppendLine(inv, $"    balance {backend.Balance}");
            var check = backend.HealthCheck;
            if (check is not null)
            {
                cfg.AppendLine(inv, $"    option httpchk GET {check.Path}");
            }

            foreach (var line in backend.ExtraLines)
            {
                cfg.Append("    ").AppendLine(line);
            }

            foreach (var server in backend.Servers)
            {
                cfg.Append(inv, $"    server {server.Name} {server.Address}");
                if (server.Weight is int weight)
                {
                    cfg.Append(inv, $" weight {weight}");
                }

                if (check is not null && server.Check)
                {
                    cfg.Append(inv, $" check inter {(long)check.Interval.TotalMilliseconds}ms fall {check.Fall} rise {check.Rise}");
                }

                cfg.AppendLine();
            }
        }

        return cfg.ToString();
    }

    private static void Validate(HaproxyOptions options)
    {
        if (options.Backends.Count == 0)
        {
            throw new ArgumentException("HAProxy needs at least one backend.", nameof(options));
        }

        foreach (var backend in options.Backends)
        {
            RequireName(backend.Name, "backend");
            RequireName(backend.Balance.Replace("(", "", StringComparison.Ordinal).Replace(")", "", StringComparison.Ordinal), "balance");
            foreach (var server in backend.Servers)
            {
                RequireName(server.Name, "server");
                RequireName(server.Address, "server address");
            }
        }

        if (options.DefaultBackend is { } chosen && options.Backends.All(b => b.Name != chosen))
        {
            throw new ArgumentException($"Default backend '{chosen}' is not among the backends.", nameof(options));
        }
    }

    private static void RequireName(string value, string what)
    {
        // Keeps a name from smuggling config lines or arguments into the file.
        if (string.IsNullOrEmpty(value) || !NamePattern.IsMatch(value))
        {
            throw new ArgumentException($"Invalid HAProxy {what} '{value}'.");
        }
    }

    private static bool IsBindFailure(ManagedProcess process)
    {
        var output = process.Output;
        return process.HasExited
            && (output.Contains("cannot bind", StringComparison.OrdinalIgnoreCase)
                || output.Contains("Address already in use", StringComparison.OrdinalIgnoreCase));
    }

    private static async Task<string> SendAsync(EndPoint endPoint, string command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (command.IndexOfAny(new[] { '\r', '\n' }) >= 0)
        {
            // HAProxy would run the next line as another command; chain with ';' instead.
            throw new ArgumentException("One command line only; join several with ';'.", nameof(command));
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(CommandTimeout);
        var protocol = endPoint is UnixDomainSocketEndPoint ? ProtocolType.Unspecified : ProtocolType.Tcp;
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, protocol);
        await socket.ConnectAsync(endPoint, cts.Token).ConfigureAwait(false);
        await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\n"), SocketFlags.None, cts.Token).ConfigureAwait(false);

        // Non-interactive mode: the answer ends when HAProxy closes the connection.
        using var answer = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            answer.Write(buffer, 0, read);
        }

        return Encoding.UTF8.GetString(answer.GetBuffer(), 0, (int)answer.Length);
    }
}
