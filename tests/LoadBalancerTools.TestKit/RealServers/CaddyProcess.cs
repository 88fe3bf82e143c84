using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net.Http;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;

namespace LoadBalancerTools.TestKit.RealServers;

/// <summary><c>health_checks.passive</c> of the reverse_proxy handler.</summary>
public sealed class CaddyPassiveHealthCheck
{
    public int MaxFails { get; set; } = 1;

    public TimeSpan FailDuration { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary><c>health_checks.active</c> of the reverse_proxy handler.</summary>
public sealed class CaddyActiveHealthCheck
{
    public string Uri { get; set; } = "/healthz";

    public TimeSpan Interval { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(1);
}

public sealed class CaddyOptions
{
    public string ExecutablePath { get; set; } = "/usr/bin/caddy";

    /// <summary>The handler's <c>@id</c>: the admin API addresses it as <c>/id/&lt;PoolId&gt;</c>.</summary>
    public string PoolId { get; set; } = "web";

    /// <summary>Dial addresses (host:port), e.g. <see cref="BackendServer.Address"/>.</summary>
    public List<string> Upstreams { get; } = new();

    public CaddyPassiveHealthCheck? PassiveHealthCheck { get; set; }

    public CaddyActiveHealthCheck? ActiveHealthCheck { get; set; }

    /// <summary><c>load_balancing.selection_policy.policy</c>, e.g. "round_robin"; Caddy's default (random) when null.</summary>
    public string? SelectionPolicy { get; set; }

    /// <summary><c>load_balancing.try_duration</c>: how long a request may retry other upstreams.</summary>
    public TimeSpan? TryDuration { get; set; }

    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(20);

    public CaddyOptions AddUpstream(BackendServer backend)
    {
        Upstreams.Add(backend.Address);
        return this;
    }
}

/// <summary>
/// A real Caddy 2.6 (<c>caddy run</c>) from a JSON config: admin API and one HTTP server on free
/// loopback ports, one reverse_proxy route. HOME and the XDG dirs point into a private temp directory
/// (and autosave is off), so nothing lands in the machine's Caddy state; disposal deletes it.
/// </summary>
public sealed class CaddyProcess : IAsyncDisposable
{
    private int _disposed;

    private CaddyProcess(ManagedProcess process, string workDirectory, string configPath, string configJson, int adminPort, int frontendPort, string poolId)
    {
        Process = process;
        WorkDirectory = workDirectory;
        ConfigPath = configPath;
        ConfigJson = configJson;
        AdminPort = adminPort;
        FrontendPort = frontendPort;
        PoolId = poolId;
        // No proxy: an environment proxy must never see loopback admin calls.
        AdminClient = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = AdminUrl,
            Timeout = TimeSpan.FromSeconds(10),
        };
    }

    public ManagedProcess Process { get; }

    public string WorkDirectory { get; }

    public string ConfigPath { get; }

    public string ConfigJson { get; }

    public int AdminPort { get; }

    /// <summary><c>http://127.0.0.1:PORT</c>. Caddy accepts only a Host of exactly 127.0.0.1:PORT, localhost:PORT or [::1]:PORT here.</summary>
    public Uri AdminUrl => new($"http://127.0.0.1:{AdminPort}");

    public int FrontendPort { get; }

    public Uri FrontendUrl => new($"http://127.0.0.1:{FrontendPort}/");

    public string PoolId { get; }

    /// <summary>A client for the admin API (base address <see cref="AdminUrl"/>), disposed with this.</summary>
    public HttpClient AdminClient { get; }

    public static async Task<CaddyProcess> StartAsync(CaddyOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.PoolId))
        {
            throw new ArgumentException("The pool needs an @id.", nameof(options));
        }

        const int attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            var workDirectory = HarnessFiles.CreateWorkDirectory("caddy");
            var adminPort = FreePort.Next();
            var frontendPort = FreePort.Next();
            var configPath = Path.Combine(workDirectory, "caddy.json");
            var json = BuildConfig(options, adminPort, frontendPort);
            await File.WriteAllTextAsync(configPath, json, cancellationToken).ConfigureAwait(false);

            var environment = new Dictionary<string, string>
            {
                ["HOME"] = workDirectory,
                ["XDG_CONFIG_HOME"] = Path.Combine(workDirectory, "config"),
                ["XDG_DATA_HOME"] = Path.Combine(workDirectory, "data"),
            };

            ManagedProcess? process = null;
            CaddyProcess? caddy = null;
            try
            {
                process = ManagedProcess.Start("caddy", options.ExecutablePath, new[] { "run", "--config", configPath }, environment, workDirectory);
                caddy = new CaddyProcess(process, workDirectory, configPath, json, adminPort, frontendPort, options.PoolId);
                var client = caddy.AdminClient;
                await process.WaitUntilAsync(
                    async () =>
                    {
                        using var response = await client.GetAsync("/config/", cancellationToken).ConfigureAwait(false);
                        return response.IsSuccessStatusCode;
                    },
                    options.StartTimeout,
                    $"the Caddy admin API at {caddy.AdminUrl} to answer GET /config/",
                    cancellationToken).ConfigureAwait(false);
                return caddy;
            }
            catch (Exception) when (attempt < attempts && process is not null && IsBindFailure(process))
            {
                caddy?.AdminClient.Dispose();
                process.Dispose();
                HarnessFiles.DeleteDirectory(workDirectory);
            }
            catch
            {
                caddy?.AdminClient.Dispose();
                process?.Dispose();
                HarnessFiles.DeleteDirectory(workDirectory);
                throw;
            }
        }
    }

    public Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string? description = null, CancellationToken cancellationToken = default)
        => Process.WaitUntilAsync(condition, timeout, description, cancellationToken);

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        AdminClient.Dispose();
        return new ValueTask(Task.Run(() =>
        {
            Process.Dispose();
            HarnessFiles.DeleteDirectory(WorkDirectory);
        }));
    }

    internal static string BuildConfig(CaddyOptions options, int adminPort, int frontendPort)
    {
        var upstreams = new JsonArray();
        foreach (var dial in options.Upstreams)
        {
            upstreams.Add(new JsonObject { ["dial"] = dial });
        }

        var handler = new JsonObject
        {
            ["handler"] = "reverse_proxy",
            ["@id"] = options.PoolId,
            ["upstreams"] = upstreams,
        };

        var healthChecks = new JsonObject();
        if (options.PassiveHealthCheck is { } passive)
        {
            healthChecks["passive"] = new JsonObject
            {
                ["max_fails"] = passive.MaxFails,
                ["fail_duration"] = Duration(passive.FailDuration),
            };
        }

        if (options.ActiveHealthCheck is { } active)
        {
            healthChecks["active"] = new JsonObject
            {
                ["uri"] = active.Uri,
                ["interval"] = Duration(active.Interval),
                ["timeout"] = Duration(active.Timeout),
            };
        }

        if (healthChecks.Count > 0)
        {
            handler["health_checks"] = healthChecks;
        }

        if (options.SelectionPolicy is not null || options.TryDuration is not null)
        {
            var loadBalancing = new JsonObject();
            if (options.SelectionPolicy is { } policy)
            {
                loadBalancing["selection_policy"] = new JsonObject { ["policy"] = policy };
            }

            if (options.TryDuration is { } tryDuration)
            {
                loadBalancing["try_duration"] = Duration(tryDuration);
            }

            handler["load_balancing"] = loadBalancing;
        }

        var config = new JsonObject
        {
            ["admin"] = new JsonObject
            {
                ["listen"] = $"127.0.0.1:{adminPort.ToString(CultureInfo.InvariantCulture)}",
                // No autosave.json: each run starts from the file it was given.
                ["config"] = new JsonObject { ["persist"] = false },
            },
            ["apps"] = new JsonObject
            {
                ["http"] = new JsonObject
                {
                    ["servers"] = new JsonObject
                    {
                        ["lbtools"] = new JsonObject
                        {
                            ["listen"] = new JsonArray($"127.0.0.1:{frontendPort.ToString(CultureInfo.InvariantCulture)}"),
                            // Plain HTTP on loopback: no certificates, no redirects.
                            ["automatic_https"] = new JsonObject { ["disable"] = true },
                            ["routes"] = new JsonArray(new JsonObject
                            {
                                ["handle"] = new JsonArray(handler),
                            }),
                        },
                    },
                },
            },
        };

        return config.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    // Caddy durations are Go duration strings; milliseconds keep sub-second intervals exact.
    private static string Duration(TimeSpan value) => ((long)value.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";

    private static bool IsBindFailure(ManagedProcess process)
    {
        return process.HasExited
            && process.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase);
    }
}
