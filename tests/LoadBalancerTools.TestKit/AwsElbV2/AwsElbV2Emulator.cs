using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancerTools.TestKit;

/// <summary>One request the emulator saw: its action, final status, error code, signing key and parameters.</summary>
public sealed record ElbV2RequestRecord(string? Action, int Status, string? ErrorCode, string? AccessKeyId, IReadOnlyDictionary<string, string> Parameters);

/// <summary>
/// An in-process AWS Elastic Load Balancing v2 Query API (target groups and targets) on 127.0.0.1 with a
/// random port, following shared/VENDOR-APIS.md: form-encoded POST /, XML answers and error documents,
/// DescribeTargetGroups paging, target health states, deregistration that drains, throttling with
/// 400 Throttling. Every request's SigV4 signature is recomputed with the known secret and refused with
/// AWS's 403 codes when wrong.
/// </summary>
/// <remarks>Pipeline: request log → faults → signature → throttling → API.</remarks>
public sealed class AwsElbV2Emulator : IAsyncDisposable
{
    public const string DefaultAccessKeyId = "AKIAEMULATOR00000001";
    public const string DefaultSecretKey = "emuSecret/0000000000/NotARealKey/00000000";
    public const string SigningService = "elasticloadbalancing";

    private static readonly object CallKey = new();

    private readonly ElbV2EmulatorState _state;
    private readonly Dictionary<string, (string Secret, string? Token)> _keys = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private readonly List<ElbV2RequestRecord> _log = new();
    private readonly List<(string? Action, string Code, int Remaining)> _throttles = new();
    private WebApplication? _app;
    private int _disposed;

    private AwsElbV2Emulator(AwsElbV2EmulatorOptions options)
    {
        Options = options;
        _state = new ElbV2EmulatorState(options);
        _keys[DefaultAccessKeyId] = (DefaultSecretKey, null);
        foreach (var kv in options.Credentials) _keys[kv.Key] = (kv.Value, null);
        Faults = new FaultInjector(options.FaultSeed, (status, text, code) => ("text/xml", ElbV2EmulatorState.Error(status, code, text).Xml));
        Endpoint = new Uri("http://127.0.0.1/");
    }

    /// <summary>Starts the emulator on 127.0.0.1 with a free port.</summary>
    public static async Task<AwsElbV2Emulator> StartAsync(AwsElbV2EmulatorOptions? options = null)
    {
        var emulator = new AwsElbV2Emulator(options ?? new AwsElbV2EmulatorOptions());
        var (app, port) = await LoopbackServer.StartAsync(app =>
        {
            app.Use(emulator.RecordAsync);
            app.UseFaults(emulator.Faults);
            app.Use(emulator.AuthenticateAsync);
            app.Use(emulator.ThrottleAsync);
            app.Run(emulator.HandleAsync);
        }).ConfigureAwait(false);
        emulator.Endpoint = new Uri($"http://127.0.0.1:{port}/");
        emulator._app = app;
        return emulator;
    }

    public AwsElbV2EmulatorOptions Options { get; }

    /// <summary>http://127.0.0.1:PORT/ — pass it as -Endpoint.</summary>
    public Uri Endpoint { get; private set; }

    public string Region => Options.Region;

    /// <summary>Network-level faults (503 bursts, drops, latency); their bodies are ELBv2 error XML.</summary>
    public FaultInjector Faults { get; }

    /// <summary>See <see cref="AwsElbV2EmulatorOptions.DrainingReads"/>.</summary>
    public int? DrainingReads { get => _state.DrainingReads; set => _state.DrainingReads = value; }

    /// <summary>See <see cref="AwsElbV2EmulatorOptions.MaxTargetsPerGroup"/>.</summary>
    public int MaxTargetsPerGroup { get => _state.MaxTargetsPerGroup; set => _state.MaxTargetsPerGroup = value; }

    // ---- seeding and inspection ----

    /// <summary>Accepts another key pair; with a session token, requests must carry (and sign) it.</summary>
    public void AddCredentials(string accessKeyId, string secretKey, string? sessionToken = null)
    {
        lock (_gate) _keys[accessKeyId] = (secretKey, sessionToken);
    }

    /// <summary>Creates a target group and returns its ARN. <paramref name="inUse"/> false: no load balancer routes to it, so targets are "unused" and deregister at once.</summary>
    public string AddTargetGroup(string name, int port = 80, string protocol = "HTTP", string targetType = "instance", bool inUse = true, TimeSpan? deregistrationDelay = null) =>
        _state.AddTargetGroup(name, port, protocol, targetType, inUse, deregistrationDelay);

    /// <summary>Registers a target as if it had been there all along, in the given health state.</summary>
    public void AddTarget(string group, string id, int? port = null, string state = "healthy", string? reason = null, string? availabilityZone = null) =>
        _state.AddTarget(group, id, port, state, reason, availabilityZone);

    /// <summary>Sets what DescribeTargetHealth reports for a target ("draining" starts its deregistration clock).</summary>
    public void SetTargetHealth(string group, string id, int port, string state, string? reason = null, string? description = null) =>
        _state.SetTargetHealth(group, id, port, state, reason, description);

    /// <summary>The group's targets now, draining ones included until their drain ends.</summary>
    public IReadOnlyList<ElbV2TargetSnapshot> GetTargets(string group) => _state.GetTargets(group);

    public string ArnOf(string group) => _state.ArnOf(group);

    public void SetInUse(string group, bool inUse) => _state.SetInUse(group, inUse);

    /// <summary>Deletes a target group; adding one with the same name later gives it a new ARN.</summary>
    public void DeleteTargetGroup(string group) => _state.DeleteTargetGroup(group);

    /// <summary>RegisterTargets then refuses this instance with InvalidTarget (not running).</summary>
    public void MarkInstanceNotRunning(string instanceId) => _state.MarkInstanceNotRunning(instanceId);

    /// <summary>An instance launched moments ago: its next <paramref name="refusals"/> registrations answer InvalidTarget "not in a running state".</summary>
    public void LaunchInstance(string instanceId, int refusals) => _state.LaunchInstance(instanceId, refusals);

    /// <summary>The next <paramref name="count"/> signed requests (of <paramref name="action"/>, or any) get 400 with this code and "Rate exceeded".</summary>
    public void Throttle(int count, string? action = null, string code = "Throttling")
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count));
        lock (_gate) _throttles.Add((action, code, count));
    }

    /// <summary>The next <paramref name="count"/> requests of <paramref name="action"/> meet <paramref name="kind"/> (ApplyThen500: applied, then answered 500; ServiceUnavailable: refused).</summary>
    public void Fault(string action, FaultKind kind, int count = 1) =>
        Faults.Enqueue(kind, count, request => request.HttpContext.Items[CallKey] is Call call && call.Parameters.TryGetValue("Action", out var a) && a == action);

    public IReadOnlyList<ElbV2RequestRecord> Requests
    {
        get { lock (_gate) return _log.ToArray(); }
    }

    /// <summary>Requests of one action, optionally with one final status.</summary>
    public int Count(string action, int? status = null)
    {
        lock (_gate) return _log.Count(r => r.Action == action && (status == null || r.Status == status));
    }

    public void ClearRequests()
    {
        lock (_gate) _log.Clear();
    }

    // ---- pipeline ----

    private sealed class Call
    {
        public required Dictionary<string, string> Parameters { get; init; }
        public required byte[] Body { get; init; }
        public string? AccessKeyId { get; set; }
        public string? ErrorCode { get; set; }
    }

    private async Task RecordAsync(HttpContext context, RequestDelegate next)
    {
        context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        var body = buffer.ToArray();
        var call = new Call { Parameters = ParseForm(context.Request.QueryString.Value, body), Body = body };
        context.Items[CallKey] = call;
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            var status = FaultInjector.GetInjectedFault(context) == FaultKind.DropConnection ? 0 : context.Response.StatusCode;
            call.Parameters.TryGetValue("Action", out var action);
            lock (_gate) _log.Add(new ElbV2RequestRecord(action, status, call.ErrorCode, call.AccessKeyId, call.Parameters));
        }
    }

    private Task AuthenticateAsync(HttpContext context, RequestDelegate next)
    {
        var call = (Call)context.Items[CallKey]!;
        if (!Options.RequireSignature) return next(context);
        var request = new SigV4Request(
            context.Request.Method,
            context.Request.Path.Value ?? "/",
            ParsePairs(context.Request.QueryString.Value?.TrimStart('?') ?? ""),
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.Select(v => v ?? "").ToArray(), StringComparer.OrdinalIgnoreCase),
            call.Body);
        var (parsed, failure) = SigV4Verifier.Verify(request, Options.Region, SigningService, Lookup, Options.TimeProvider.GetUtcNow(), Options.MaxClockSkew);
        call.AccessKeyId = parsed?.AccessKeyId;
        if (failure == null) return next(context);
        return WriteAsync(context, call, ElbV2EmulatorState.Error(failure.Status, failure.Code, failure.Message));
    }

    private (string Secret, string? SessionToken)? Lookup(string accessKeyId)
    {
        lock (_gate) return _keys.TryGetValue(accessKeyId, out var key) ? key : null;
    }

    private Task ThrottleAsync(HttpContext context, RequestDelegate next)
    {
        var call = (Call)context.Items[CallKey]!;
        call.Parameters.TryGetValue("Action", out var action);
        string? code = null;
        lock (_gate)
        {
            int i = _throttles.FindIndex(t => t.Action == null || t.Action == action);
            if (i >= 0)
            {
                var t = _throttles[i];
                code = t.Code;
                if (t.Remaining <= 1) _throttles.RemoveAt(i);
                else _throttles[i] = (t.Action, t.Code, t.Remaining - 1);
            }
        }
        return code == null ? next(context) : WriteAsync(context, call, ElbV2EmulatorState.Error(400, code, "Rate exceeded"));
    }

    private Task HandleAsync(HttpContext context)
    {
        var call = (Call)context.Items[CallKey]!;
        if (!HttpMethods.IsPost(context.Request.Method) && !HttpMethods.IsGet(context.Request.Method))
            return WriteAsync(context, call, ElbV2EmulatorState.Error(400, "InvalidAction", "Only GET and POST are supported"));
        return WriteAsync(context, call, _state.Handle(call.Parameters));
    }

    private static Task WriteAsync(HttpContext context, Call call, ElbV2Answer answer)
    {
        call.ErrorCode = answer.ErrorCode;
        context.Response.StatusCode = answer.Status;
        context.Response.ContentType = "text/xml";
        return context.Response.WriteAsync(answer.Xml, context.RequestAborted);
    }

    /// <summary>Query string and form body together, as the Query protocol accepts either.</summary>
    private static Dictionary<string, string> ParseForm(string? query, byte[] body)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in ParsePairs(query?.TrimStart('?') ?? "")) result[k] = v;
        foreach (var (k, v) in ParsePairs(Encoding.UTF8.GetString(body))) result[k] = v;
        return result;
    }

    private static List<KeyValuePair<string, string>> ParsePairs(string text) =>
        text.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair =>
            {
                int eq = pair.IndexOf('=');
                string key = eq < 0 ? pair : pair.Substring(0, eq);
                string value = eq < 0 ? "" : pair.Substring(eq + 1);
                return new KeyValuePair<string, string>(Unescape(key), Unescape(value));
            })
            .ToList();

    private static string Unescape(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || _app is null) return;
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            await _app.StopAsync(cts.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
