using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace LoadBalancerTools.TestKit;

/// <summary>
/// Routes <c>/api/…</c> requests. One catch-all endpoint with its own dispatch, rather than one endpoint per
/// route, because nginx's own answers for a wrong version, path or method (UnknownVersion, PathNotFound,
/// MethodNotSupported, MethodDisabled, each with an nginx error body) have to win over ASP.NET's defaults.
/// </summary>
internal sealed class NginxPlusApi(NginxPlusState state, NginxPlusEmulatorOptions options)
{
    private static readonly byte[] RootEndpoints = NginxPlusState.RenderStrings(
        new[] { "nginx", "processes", "connections", "slabs", "http", "stream", "resolvers", "ssl", "workers" });
    private static readonly byte[] HttpEndpoints = NginxPlusState.RenderStrings(
        new[] { "requests", "server_zones", "location_zones", "caches", "limit_conns", "limit_reqs", "keyvals", "upstreams" });
    private static readonly byte[] StreamEndpoints = NginxPlusState.RenderStrings(
        new[] { "server_zones", "limit_conns", "keyvals", "upstreams", "zone_sync" });

    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 16 };

    private readonly HashSet<int> _versions = new(options.SupportedVersions);
    private readonly byte[] _versionList = NginxPlusState.RenderNumbers(options.SupportedVersions);
    private readonly DateTimeOffset _loaded = DateTimeOffset.UtcNow;

    public async Task HandleAsync(HttpContext context)
    {
        var response = await DispatchAsync(context).ConfigureAwait(false);
        await WriteAsync(context.Response, response).ConfigureAwait(false);
    }

    public static Task WriteErrorAsync(HttpResponse response, NginxApiError error) =>
        WriteAsync(response, NginxResponse.Fail(error));

    private async Task<NginxResponse> DispatchAsync(HttpContext context)
    {
        var method = context.Request.Method;
        var segments = Segments(context.Request.Path.Value);

        // segments[0] is "api"; the rest is the version and the endpoint path.
        if (segments.Length == 1)
            return IsGet(method) ? NginxResponse.Ok(_versionList) : NginxResponse.Fail(NginxApiError.MethodNotSupported());

        if (!int.TryParse(segments[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version)
            || !_versions.Contains(version))
            return NginxResponse.Fail(NginxApiError.UnknownVersion());

        var path = segments[2..];
        var fields = Fields(context.Request);

        if (path.Length == 0) return GetOnly(method, RootEndpoints);
        if (path.Length == 1 && path[0] == "nginx")
            return IsGet(method)
                ? NginxResponse.Ok(NginxPlusState.RenderNginx(options.NginxVersion, options.Build, _loaded, fields))
                : NginxResponse.Fail(NginxApiError.MethodNotSupported());

        var stream = path[0] == "stream";
        if (!stream && path[0] != "http") return NginxResponse.Fail(NginxApiError.PathNotFound());
        if (path.Length == 1) return GetOnly(method, stream ? StreamEndpoints : HttpEndpoints);
        if (path[1] != "upstreams") return NginxResponse.Fail(NginxApiError.PathNotFound());

        switch (path.Length)
        {
            case 2:
                return IsGet(method) ? state.ListUpstreams(stream, fields) : NginxResponse.Fail(NginxApiError.MethodNotSupported());

            case 3:
                if (IsGet(method)) return state.GetUpstream(stream, path[2], fields);
                if (method == HttpMethods.Delete) return Writable() ?? state.ResetUpstream(stream, path[2]);
                return NginxResponse.Fail(NginxApiError.MethodNotSupported());

            case 4 when path[3] == "servers":
                if (IsGet(method)) return state.ListServers(stream, path[2]);
                if (method == HttpMethods.Post)
                    return Writable() ?? state.AddServer(stream, path[2], await ReadBodyAsync(context.Request).ConfigureAwait(false));
                return NginxResponse.Fail(NginxApiError.MethodNotSupported());

            case 5 when path[3] == "servers":
                if (IsGet(method)) return state.GetServer(stream, path[2], path[4]);
                if (method == HttpMethods.Patch)
                    return Writable() ?? state.PatchServer(stream, path[2], path[4], await ReadBodyAsync(context.Request).ConfigureAwait(false));
                if (method == HttpMethods.Delete) return Writable() ?? state.DeleteServer(stream, path[2], path[4]);
                return NginxResponse.Fail(NginxApiError.MethodNotSupported());

            default:
                return NginxResponse.Fail(NginxApiError.PathNotFound());
        }
    }

    // api write=off: nginx refuses every modifying method with 405 MethodDisabled, before looking at the target.
    private NginxResponse? Writable() => state.WriteEnabled ? null : NginxResponse.Fail(NginxApiError.MethodDisabled());

    private static bool IsGet(string method) => method == HttpMethods.Get || method == HttpMethods.Head;

    private static NginxResponse GetOnly(string method, byte[] body) =>
        IsGet(method) ? NginxResponse.Ok(body) : NginxResponse.Fail(NginxApiError.MethodNotSupported());

    private static string[] Segments(string? path) =>
        (path ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);

    private static IReadOnlySet<string>? Fields(HttpRequest request)
    {
        if (!request.Query.TryGetValue("fields", out var values)) return null;
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in values)
            if (value is not null)
                foreach (var name in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    set.Add(name);
        return set;
    }

    private static async Task<NginxBody> ReadBodyAsync(HttpRequest request)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, JsonOptions, request.HttpContext.RequestAborted).ConfigureAwait(false);
            // Clone: the element must outlive the pooled document.
            return new NginxBody(document.RootElement.Clone(), true);
        }
        catch (JsonException)
        {
            return new NginxBody(default, false);
        }
    }

    private static async Task WriteAsync(HttpResponse response, NginxResponse result)
    {
        response.StatusCode = result.Status;
        var body = result.Error is { } error ? NginxPlusState.RenderError(error) : result.Json;
        if (body is null) return;
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        if (HttpMethods.IsHead(response.HttpContext.Request.Method)) return;
        await response.Body.WriteAsync(body, response.HttpContext.RequestAborted).ConfigureAwait(false);
    }
}
