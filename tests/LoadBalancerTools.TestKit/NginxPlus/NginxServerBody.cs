using System.Text.Json;

namespace LoadBalancerTools.TestKit;

/// <summary>
/// The fields of a POST or PATCH server body after validation. Checks follow the API reference: wrong JSON
/// types, unknown or read-only parameters and nested values are UpstreamConfFormatError; out-of-range values
/// have their own codes (UpstreamBadWeight, …); the address is checked separately (UpstreamBadAddress).
/// </summary>
internal sealed class NginxServerBody
{
    public string? Server { get; private set; }
    public string? Service { get; private set; }
    public int? Weight { get; private set; }
    public int? MaxConns { get; private set; }
    public int? MaxFails { get; private set; }
    public int? FailTimeoutSeconds { get; private set; }
    public int? SlowStartSeconds { get; private set; }
    public string? Route { get; private set; }
    public bool? Backup { get; private set; }
    public bool? Down { get; private set; }
    public bool? Drain { get; private set; }

    /// <param name="isPost">POST creates a server: drain is refused, backup and service may be set.</param>
    public static NginxServerBody? Parse(JsonElement root, bool isPost, bool stream, out NginxApiError? error)
    {
        error = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = NginxApiError.ConfFormat("json object expected");
            return null;
        }

        var body = new NginxServerBody();
        foreach (var property in root.EnumerateObject())
        {
            var name = property.Name;
            var value = property.Value;
            if (value.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
            {
                error = NginxApiError.ConfFormat("nested object or list");
                return null;
            }

            error = name switch
            {
                // id is assigned by nginx and read-only; sending it back is the classic client mistake.
                "id" => NginxApiError.ConfFormat("unknown parameter \"id\""),
                "server" => Text(value, name, s => body.Server = s),
                "service" when !isPost => NginxApiError.ConfFormat("parameter \"service\" cannot be changed"),
                "service" => Text(value, name, s => body.Service = s) ??
                             (body.Service!.Length == 0 ? new NginxApiError(400, "service is empty", "UpstreamBadService") : null),
                "weight" => Integer(value, name, 1, 1000, "UpstreamBadWeight", v => body.Weight = v),
                "max_conns" => Integer(value, name, 0, int.MaxValue, "UpstreamBadMaxConns", v => body.MaxConns = v),
                "max_fails" => Integer(value, name, 0, int.MaxValue, "UpstreamBadMaxFails", v => body.MaxFails = v),
                "fail_timeout" => Time(value, name, "UpstreamBadFailTimeout", v => body.FailTimeoutSeconds = v),
                "slow_start" => Time(value, name, "UpstreamBadSlowStart", v => body.SlowStartSeconds = v),
                "route" when stream => NginxApiError.ConfFormat("unknown parameter \"route\""),
                "route" => Text(value, name, s => body.Route = s),
                "backup" when !isPost => NginxApiError.ConfFormat("parameter \"backup\" cannot be changed"),
                "backup" => Flag(value, name, b => body.Backup = b),
                "down" => Flag(value, name, b => body.Down = b),
                // Draining is a state of an existing server; a new one cannot start in it.
                "drain" when isPost => NginxApiError.ConfFormat("unknown parameter \"drain\""),
                "drain" => Flag(value, name, b => body.Drain = b),
                _ => NginxApiError.ConfFormat($"unknown parameter \"{name}\""),
            };
            if (error is not null) return null;
        }

        if (isPost && body.Server is null)
        {
            // The API reference lists this case under UpstreamConfFormatError, not UpstreamBadAddress.
            error = NginxApiError.ConfFormat("missing \"server\" argument");
            return null;
        }
        return body;
    }

    private static NginxApiError? Text(JsonElement value, string name, System.Action<string> set)
    {
        if (value.ValueKind != JsonValueKind.String) return Invalid(name);
        set(value.GetString()!);
        return null;
    }

    private static NginxApiError? Flag(JsonElement value, string name, System.Action<bool> set)
    {
        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) return Invalid(name);
        set(value.GetBoolean());
        return null;
    }

    private static NginxApiError? Integer(JsonElement value, string name, int min, int max, string rangeCode, System.Action<int> set)
    {
        if (value.ValueKind != JsonValueKind.Number) return Invalid(name);
        if (!value.TryGetInt64(out var number) || number < min || number > max)
            return new NginxApiError(400, $"invalid \"{name}\"", rangeCode);
        set((int)number);
        return null;
    }

    private static NginxApiError? Time(JsonElement value, string name, string rangeCode, System.Action<int> set)
    {
        if (value.ValueKind != JsonValueKind.String) return Invalid(name);
        if (!NginxTime.TryParseSeconds(value.GetString()!, out var seconds))
            return new NginxApiError(400, $"invalid \"{name}\"", rangeCode);
        set(seconds);
        return null;
    }

    private static NginxApiError Invalid(string name) => NginxApiError.ConfFormat($"invalid \"{name}\" value");
}
