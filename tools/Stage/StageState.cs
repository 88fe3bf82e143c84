using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.RealServers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LoadBalancerTools.Stage;

/// <summary>What the stage started, and the control API over it (JSON in and out, names chosen by the caller).</summary>
internal sealed class StageState : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, BackendServer> _backends = new(StringComparer.OrdinalIgnoreCase);
    private NginxPlusEmulator? _nginx;
    private AwsElbV2Emulator? _aws;
    private HaproxyProcess? _haproxy;
    private WebhookReceiver? _hooks;
    private TrafficGenerator? _traffic;
    private RedisProcess? _redis;

    private AwsElbV2Emulator Aws => _aws ?? throw new InvalidOperationException("POST /aws first.");

    private NginxPlusEmulator Nginx => _nginx ?? throw new InvalidOperationException("POST /nginx first.");

    private BackendServer Backend(string name) =>
        _backends.TryGetValue(name, out var b) ? b : throw new InvalidOperationException($"No backend '{name}'.");

    public void Map(WebApplication app)
    {
        // Failures come back as 500 with the message, so a test sees what went wrong with the stage.
        app.Use(async (context, next) =>
        {
            try { await next(context); }
            catch (Exception ex) when (!context.Response.HasStarted)
            {
                context.Response.StatusCode = 500;
                await context.Response.WriteAsync(ex.Message);
            }
        });

        // Real HTTP backends: /healthz answers 200 (503 when unhealthy), everything else names the backend.
        app.MapPost("/backends/{name}", async (string name) =>
        {
            if (!_backends.TryGetValue(name, out var b)) _backends[name] = b = await BackendServer.StartAsync(name);
            return Results.Json(Describe(b));
        });
        app.MapGet("/backends/{name}", (string name) => Results.Json(Describe(Backend(name))));
        app.MapPost("/backends/{name}/stop", async (string name) => { await Backend(name).StopAsync(); return Results.Ok(); });
        app.MapPost("/backends/{name}/restart", async (string name) => { await Backend(name).RestartAsync(); return Results.Ok(); });
        app.MapPost("/backends/{name}/healthy/{value:bool}", (string name, bool value) => { Backend(name).Healthy = value; return Results.Ok(); });

        // The NGINX Plus emulator, seeded and read back independently of the module.
        app.MapPost("/nginx", async () =>
        {
            _nginx ??= await NginxPlusEmulator.StartAsync();
            return Results.Json(new { api = _nginx.ApiBase.ToString() });
        });
        app.MapPost("/nginx/upstreams/{upstream}", (string upstream) => { Nginx.AddUpstream(upstream); return Results.Ok(); });
        app.MapPost("/nginx/upstreams/{upstream}/servers", (string upstream, ServerSeed s) =>
            Results.Json(new { id = Nginx.AddServer(upstream, s.Server, s.Weight ?? 1, s.Down) }));
        app.MapGet("/nginx/upstreams/{upstream}/servers", (string upstream) => Results.Json(Nginx.GetServers(upstream)));
        app.MapPost("/nginx/upstreams/{upstream}/servers/active", (string upstream, ServerSeed s) =>
        {
            Nginx.SetActiveConnections(upstream, s.Server, s.Active);
            return Results.Ok();
        });
        app.MapPost("/nginx/upstreams/{upstream}/servers/state", (string upstream, ServerSeed s) =>
        {
            Nginx.SetPeerState(upstream, s.Server, s.State ?? "up");
            return Results.Ok();
        });
        app.MapPost("/nginx/drain-per-read/{count:int}", (int count) => { Nginx.DrainConnectionsPerRead = count; return Results.Ok(); });
        app.MapPost("/nginx/basic-auth", (Login login) => { Nginx.RequireBasicAuth(login.User, login.Password); return Results.Ok(); });
        app.MapGet("/nginx/requests", (string method, string path) => Results.Json(new { count = Nginx.CountRequests(method, path) }));

        // The AWS ELBv2 emulator: key pairs it accepts, target groups, and which key signed each request.
        app.MapPost("/aws", async () =>
        {
            _aws ??= await AwsElbV2Emulator.StartAsync();
            return Results.Json(new { endpoint = _aws.Endpoint.ToString() });
        });
        app.MapPost("/aws/credentials", (Login key) => { Aws.AddCredentials(key.User, key.Password); return Results.Ok(); });
        app.MapPost("/aws/targetgroups/{group}", (string group, string target) =>
        {
            Aws.AddTargetGroup(group);
            Aws.AddTarget(group, target, 80);
            return Results.Ok();
        });
        app.MapGet("/aws/requests", () => Results.Json(Aws.Requests.Select(r => new { r.Action, r.Status, r.AccessKeyId })));

        // A real HAProxy whose backend "web" holds the named backends (its own checks off: the module heals).
        app.MapPost("/haproxy", async (HaproxySeed seed) =>
        {
            if (_haproxy == null)
            {
                var options = new HaproxyOptions();
                var pool = options.AddBackend("web");
                foreach (var name in seed.Servers) pool.AddServer(Backend(name));
                foreach (var s in pool.Servers) s.Check = false;
                pool.ExtraLines.Add("retries 0");
                _haproxy = await HaproxyProcess.StartAsync(options);
            }
            return Results.Json(new { admin = _haproxy.AdminEndpoint, socket = "unix://" + _haproxy.AdminSocketPath, frontend = _haproxy.FrontendUrl.ToString() });
        });

        // Steady client traffic through HAProxy, and what it saw.
        app.MapPost("/traffic", () =>
        {
            var haproxy = _haproxy ?? throw new InvalidOperationException("POST /haproxy first.");
            _traffic ??= TrafficGenerator.Start(haproxy.FrontendUrl, requestsPerSecond: 40, concurrency: 2, maxDuration: TimeSpan.FromMinutes(5));
            return Results.Ok();
        });
        app.MapPost("/traffic/reset", () => { _traffic?.ResetCounters(); return Results.Ok(); });
        app.MapGet("/traffic", () =>
        {
            var s = (_traffic ?? throw new InvalidOperationException("POST /traffic first.")).Snapshot();
            return Results.Json(new { s.Total, s.Successes, s.Failures, s.HitsByBackend });
        });

        // A real redis-server that asks for a password (the shared state store), and a key read back independently.
        app.MapPost("/redis", async (Login login) =>
        {
            _redis ??= await RedisProcess.StartAsync(login.Password);
            return Results.Json(new { url = _redis.Url });
        });
        app.MapGet("/redis/get", async (string key) =>
            Results.Json(new { value = await (_redis ?? throw new InvalidOperationException("POST /redis first.")).CommandAsync("GET " + key) }));

        // The alert receiver (Slack, PagerDuty, webhooks): what arrived, and a status to answer per path.
        app.MapPost("/hooks", async () =>
        {
            _hooks ??= await WebhookReceiver.StartAsync();
            return Results.Json(new { url = _hooks.BaseUrl.ToString() });
        });
        app.MapGet("/hooks/received", () => Results.Json((_hooks?.Received ?? []).Select(r => new { r.Path, r.Body })));
        app.MapPost("/hooks/respond/{status:int}", (int status, string path) => { _hooks?.Respond(path, status); return Results.Ok(); });
    }

    private static object Describe(BackendServer b) =>
        new { b.Name, b.Address, b.Port, Url = b.Url.ToString(), b.IsRunning, b.RequestCount, b.HealthCheckCount };

    public async ValueTask DisposeAsync()
    {
        if (_traffic != null) await _traffic.DisposeAsync();
        if (_haproxy != null) await _haproxy.DisposeAsync();
        if (_hooks != null) await _hooks.DisposeAsync();
        if (_nginx != null) await _nginx.DisposeAsync();
        if (_aws != null) await _aws.DisposeAsync();
        if (_redis != null) await _redis.DisposeAsync();
        foreach (var b in _backends.Values) await b.DisposeAsync();
    }

    internal sealed record ServerSeed(string Server, int? Weight, bool Down, int Active, string? State);

    internal sealed record Login(string User, string Password);

    internal sealed record HaproxySeed(string[] Servers);
}
