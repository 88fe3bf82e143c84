using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LoadBalancerTools.TestKit.RealServers;

/// <summary>
/// A real HTTP backend on 127.0.0.1 for the load balancers under test. <c>GET /</c> names the
/// backend (body and <c>X-Backend</c> header) so traffic can be attributed; <c>GET /healthz</c>
/// answers 200 or 503 after <see cref="Healthy"/>. <see cref="StopAsync"/> closes the listener, so
/// new connections are refused like a killed process; <see cref="RestartAsync"/> brings it back on
/// the same port.
/// </summary>
public sealed class BackendServer : IAsyncDisposable
{
    public const string BackendHeader = "X-Backend";
    public const string BodyPrefix = "backend ";

    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RebindTimeout = TimeSpan.FromSeconds(10);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private WebApplication? _app;
    private long _requestCount;
    private long _healthCheckCount;
    private volatile bool _healthy = true;
    private long _responseDelayTicks;
    private bool _disposed;

    private BackendServer(string name)
    {
        Name = name;
    }

    public string Name { get; }

    /// <summary>The port, fixed at the first start so a restart comes back on the same one.</summary>
    public int Port { get; private set; }

    public string Address => $"127.0.0.1:{Port}";

    public Uri Url => new($"http://127.0.0.1:{Port}/");

    public bool IsRunning => Volatile.Read(ref _app) is not null;

    /// <summary>When false, <c>/healthz</c> answers 503 while <c>/</c> still serves.</summary>
    public bool Healthy
    {
        get => _healthy;
        set => _healthy = value;
    }

    /// <summary>Delay before <c>/</c> answers: keeps connections open for drain tests.</summary>
    public TimeSpan ResponseDelay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _responseDelayTicks));
        set => Interlocked.Exchange(ref _responseDelayTicks, value.Ticks);
    }

    /// <summary>Counts requests on <c>/</c> in flight, shared by every backend given the same meter.</summary>
    public ConcurrencyMeter? Meter { get; set; }

    /// <summary>Requests served on <c>/</c> (health checks excluded).</summary>
    public long RequestCount => Interlocked.Read(ref _requestCount);

    public long HealthCheckCount => Interlocked.Read(ref _healthCheckCount);

    public static async Task<BackendServer> StartAsync(string name, int port = 0)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("A backend needs a name.", nameof(name));
        }

        var server = new BackendServer(name);
        await server.StartListeningAsync(port).ConfigureAwait(false);
        return server;
    }

    public void ResetCounters()
    {
        Interlocked.Exchange(ref _requestCount, 0);
        Interlocked.Exchange(ref _healthCheckCount, 0);
    }

    /// <summary>Stops listening: new connections are refused, open ones are closed.</summary>
    public async Task StopAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await StopCoreAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Listens again on the same port (stopping first if still running).</summary>
    public async Task RestartAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            await StopCoreAsync().ConfigureAwait(false);
            await StartCoreAsync(Port).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            await StopCoreAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public override string ToString() => $"{Name} ({Address})";

    private async Task StartListeningAsync(int port)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await StartCoreAsync(port).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task StartCoreAsync(int port)
    {
        var deadline = DateTime.UtcNow + RebindTimeout;
        while (true)
        {
            var app = Build(port);
            try
            {
                await app.StartAsync().ConfigureAwait(false);
                Port = ReadBoundPort(app);
                Volatile.Write(ref _app, app);
                return;
            }
            catch (Exception ex) when (port != 0 && IsAddressInUse(ex) && DateTime.UtcNow < deadline)
            {
                // A restart can race the old socket's teardown (or a lingering client); the port is
                // ours, so wait for it briefly instead of failing the test.
                await app.DisposeAsync().ConfigureAwait(false);
                await Task.Delay(100).ConfigureAwait(false);
            }
            catch
            {
                await app.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    private async Task StopCoreAsync()
    {
        var app = Interlocked.Exchange(ref _app, null);
        if (app is null)
        {
            return;
        }

        // A short grace: in-flight requests may finish, then Kestrel aborts what is left, like a
        // process that is killed rather than drained.
        using (var cts = new CancellationTokenSource(StopGrace))
        {
            try
            {
                await app.StopAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await app.DisposeAsync().ConfigureAwait(false);
    }

    private WebApplication Build(int port)
    {
        // The empty builder reads no configuration files or environment and registers no logger
        // providers: Kestrel stays silent and the test process's settings cannot move the port.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(BackendServer).Assembly.GetName().Name,
            EnvironmentName = Environments.Production,
        });
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, port);
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = StopGrace);

        var app = builder.Build();
        app.Run(HandleAsync);
        return app;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        if (path == "/healthz")
        {
            Interlocked.Increment(ref _healthCheckCount);
            var healthy = _healthy;
            context.Response.StatusCode = healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers[BackendHeader] = Name;
            await WriteTextAsync(context, healthy ? "ok" : "unhealthy").ConfigureAwait(false);
            return;
        }

        if (path != "/")
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        Interlocked.Increment(ref _requestCount);
        var meter = Meter;
        meter?.Enter();
        try
        {
            var delay = ResponseDelay;
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, context.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }
        finally
        {
            meter?.Exit();
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.Headers[BackendHeader] = Name;
        await WriteTextAsync(context, BodyPrefix + Name).ConfigureAwait(false);
    }

    private static Task WriteTextAsync(HttpContext context, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.ContentLength = bytes.Length;
        return context.Response.Body.WriteAsync(bytes, 0, bytes.Length, context.RequestAborted);
    }

    private static int ReadBoundPort(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        var first = addresses?.FirstOrDefault()
            ?? throw new InvalidOperationException("Kestrel reported no bound address.");
        return new Uri(first).Port;
    }

    private static bool IsAddressInUse(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
            {
                return true;
            }

            if (e is IOException && e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>How many requests were in flight at once, across the backends that share it.</summary>
public sealed class ConcurrencyMeter
{
    private int _current;
    private int _max;

    public int Max => Volatile.Read(ref _max);

    internal void Enter()
    {
        int now = Interlocked.Increment(ref _current);
        int seen;
        while (now > (seen = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, now, seen) != seen)
        {
        }
    }

    internal void Exit() => Interlocked.Decrement(ref _current);
}
