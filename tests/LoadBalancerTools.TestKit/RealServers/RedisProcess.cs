using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace LoadBalancerTools.TestKit.RealServers;

/// <summary>
/// A real redis-server (Debian's 7.x) on a free loopback port with its own temporary directory and no
/// persistence, stopped by process id. It can be stopped and started again on the same port, to play an outage.
/// </summary>
public sealed class RedisProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private readonly string? _password;
    private ManagedProcess? _process;

    private RedisProcess(int port, string workDirectory, string? password)
    {
        Port = port;
        WorkDirectory = workDirectory;
        _password = password;
    }

    public int Port { get; }

    public string WorkDirectory { get; }

    /// <summary>The address as -StateStore takes it.</summary>
    public string Url => $"redis://127.0.0.1:{Port}/0";

    public ManagedProcess Process => _process ?? throw new InvalidOperationException("redis-server is stopped.");

    public bool IsRunning => _process is { HasExited: false };

    /// <param name="password">requirepass for the server, for tests of credentials.</param>
    public static async Task<RedisProcess> StartAsync(string? password = null, CancellationToken cancellationToken = default)
    {
        var redis = new RedisProcess(FreePort.Next(), HarnessFiles.CreateWorkDirectory("redis"), password);
        try
        {
            await redis.RestartAsync(cancellationToken).ConfigureAwait(false);
            return redis;
        }
        catch
        {
            await redis.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts the server (again) on its port and waits until it answers PING.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning) return;
        _process?.Dispose();
        var arguments = new System.Collections.Generic.List<string>
        {
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", WorkDirectory,
        };
        if (_password != null) arguments.AddRange(new[] { "--requirepass", _password });
        _process = ManagedProcess.Start("redis-server", "/usr/bin/redis-server", arguments, workingDirectory: WorkDirectory);
        await _process.WaitUntilAsync(async () => (await CommandAsync("PING", cancellationToken).ConfigureAwait(false)).StartsWith("+PONG", StringComparison.Ordinal),
            StartTimeout, $"redis-server on port {Port} to answer PING", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Kills the server (an outage); RestartAsync brings it back, empty.</summary>
    public void Stop()
    {
        _process?.Dispose();
        _process = null;
    }

    /// <summary>Sends one inline command and returns the reply (+OK, :1, -ERR …, or a bulk string's content), authenticating first when the server has a password.</summary>
    public async Task<string> CommandAsync(string command, CancellationToken cancellationToken = default)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken).ConfigureAwait(false);
        var stream = client.GetStream();
        var reader = new StreamReader(stream, Encoding.UTF8);
        if (_password != null)
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes($"AUTH {_password}\r\n"), cancellationToken).ConfigureAwait(false);
            await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
        }
        await stream.WriteAsync(Encoding.UTF8.GetBytes(command + "\r\n"), cancellationToken).ConfigureAwait(false);
        string first = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) ?? "";
        if (!first.StartsWith('$') || first == "$-1") return first;
        // A bulk string may span lines (indented JSON): read exactly its length (ASCII in these tests).
        var body = new char[int.Parse(first.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture)];
        int read = 0;
        while (read < body.Length)
        {
            int n = await reader.ReadAsync(body.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (n == 0) break;
            read += n;
        }
        return new string(body, 0, read);
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        HarnessFiles.DeleteDirectory(WorkDirectory);
        return ValueTask.CompletedTask;
    }
}
