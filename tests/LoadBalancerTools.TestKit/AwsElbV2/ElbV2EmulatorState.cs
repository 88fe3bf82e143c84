using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace LoadBalancerTools.TestKit;

/// <summary>One target as the emulator holds it.</summary>
public sealed record ElbV2TargetSnapshot(string Id, int Port, string State, string? Reason, string? AvailabilityZone);

/// <summary>An answer of the emulated API: status and XML.</summary>
internal sealed record ElbV2Answer(int Status, string Xml, string? ErrorCode)
{
    public static ElbV2Answer Ok(string xml) => new(200, xml, null);
}

/// <summary>
/// Target groups and targets with the lifecycle ELBv2 documents: registered targets start "initial",
/// deregistered ones drain for the group's deregistration delay (or a number of reads), and the API's
/// validation and error codes. Thread-safe: every operation holds one lock.
/// </summary>
internal sealed partial class ElbV2EmulatorState
{
    public const string Namespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";
    private static readonly XNamespace Ns = Namespace;

    [GeneratedRegex("^i-[0-9a-f]{8}([0-9a-f]{9})?$")]
    private static partial Regex InstanceId();

    [GeneratedRegex("^[A-Za-z0-9-]{1,32}$")]
    private static partial Regex GroupName();

    private readonly object _gate = new();
    private readonly List<Group> _groups = new();
    private readonly HashSet<string> _stoppedInstances = new(StringComparer.Ordinal);
    private readonly AwsElbV2EmulatorOptions _options;
    private readonly TimeProvider _time;
    private int _nextGroup;

    public ElbV2EmulatorState(AwsElbV2EmulatorOptions options)
    {
        _options = options;
        _time = options.TimeProvider;
        DrainingReads = options.DrainingReads;
        InitialReads = options.InitialReads;
        MaxTargetsPerGroup = options.MaxTargetsPerGroup;
    }

    public int? DrainingReads { get; set; }
    public int InitialReads { get; set; }
    public int MaxTargetsPerGroup { get; set; }

    private sealed class Group
    {
        public required string Name { get; init; }
        public required string Arn { get; init; }
        public required int Port { get; init; }
        public required string Protocol { get; init; }
        public required string TargetType { get; init; }
        public required string VpcId { get; init; }
        public bool InUse { get; set; }
        public TimeSpan DeregistrationDelay { get; set; }
        public List<Target> Targets { get; } = new();
    }

    private sealed class Target
    {
        public required string Id { get; init; }
        public required int Port { get; init; }
        public string? Zone { get; set; }
        public string State { get; set; } = "initial";
        public string? Reason { get; set; }
        public string? Description { get; set; }
        public DateTimeOffset? DrainStarted { get; set; }
        public int? DrainReadsLeft { get; set; }
        public int InitialReadsLeft { get; set; }
    }

    // ---- seeding and inspection ----

    public string AddTargetGroup(string name, int port, string protocol, string targetType, bool inUse, TimeSpan? deregistrationDelay)
    {
        if (!GroupName().IsMatch(name)) throw new ArgumentException($"'{name}' is not a valid target group name.", nameof(name));
        if (targetType is not ("instance" or "ip" or "lambda")) throw new ArgumentException("The emulator models instance, ip and lambda target groups.", nameof(targetType));
        lock (_gate)
        {
            if (_groups.Any(g => g.Name == name)) throw new InvalidOperationException($"Target group '{name}' exists already.");
            int n = ++_nextGroup;
            var group = new Group
            {
                Name = name,
                Arn = $"arn:aws:elasticloadbalancing:{_options.Region}:{_options.AccountId}:targetgroup/{name}/{n:x16}",
                Port = port,
                Protocol = protocol,
                TargetType = targetType,
                VpcId = "vpc-0a1b2c3d4e5f60718",
                InUse = inUse,
                DeregistrationDelay = deregistrationDelay ?? _options.DefaultDeregistrationDelay,
            };
            _groups.Add(group);
            return group.Arn;
        }
    }

    public void AddTarget(string group, string id, int? port, string state, string? reason, string? zone)
    {
        lock (_gate)
        {
            var g = Find(group);
            // A Lambda function target has no port (API reference, TargetDescription.Port).
            int p = g.TargetType == "lambda" ? 0 : port ?? g.Port;
            if (g.Targets.Any(t => t.Id == id && t.Port == p)) throw new InvalidOperationException($"{id}:{p} is registered already.");
            var target = new Target { Id = id, Port = p, Zone = zone };
            SetHealth(target, state, reason, null);
            g.Targets.Add(target);
        }
    }

    public void SetTargetHealth(string group, string id, int port, string state, string? reason, string? description)
    {
        lock (_gate)
        {
            var target = Find(group).Targets.FirstOrDefault(t => t.Id == id && t.Port == port)
                ?? throw new InvalidOperationException($"{id}:{port} is not registered with {group}.");
            SetHealth(target, state, reason, description);
            if (state == "draining") target.DrainStarted = _time.GetUtcNow();
        }
    }

    public IReadOnlyList<ElbV2TargetSnapshot> GetTargets(string group)
    {
        lock (_gate)
        {
            var g = Find(group);
            Expire(g);
            return g.Targets.Select(t => new ElbV2TargetSnapshot(t.Id, t.Port, t.State, t.Reason, t.Zone)).ToList();
        }
    }

    public string ArnOf(string group)
    {
        lock (_gate) return Find(group).Arn;
    }

    public void DeleteTargetGroup(string group)
    {
        lock (_gate) _groups.Remove(Find(group));
    }

    public void SetInUse(string group, bool inUse)
    {
        lock (_gate) Find(group).InUse = inUse;
    }

    public void MarkInstanceNotRunning(string id)
    {
        lock (_gate) _stoppedInstances.Add(id);
    }

    /// <summary>
    /// An instance launched moments ago: its next <paramref name="refusals"/> registrations answer InvalidTarget
    /// "not in a running state" (EC2 reports it pending), then it registers (the Terraform AWS provider retries this).
    /// </summary>
    public void LaunchInstance(string id, int refusals)
    {
        lock (_gate) _pendingInstances[id] = refusals;
    }

    private readonly Dictionary<string, int> _pendingInstances = new(StringComparer.Ordinal);

    private Group Find(string nameOrArn) =>
        _groups.FirstOrDefault(g => g.Name == nameOrArn || g.Arn == nameOrArn) ?? throw new InvalidOperationException($"No target group '{nameOrArn}'.");

    // ---- the API ----

    public ElbV2Answer Handle(IReadOnlyDictionary<string, string> p)
    {
        p.TryGetValue("Action", out var action);
        if (!p.TryGetValue("Version", out var version) || version != "2015-12-01")
            return Error(400, "InvalidAction", $"Could not find operation {action} for version {version ?? "NO_VERSION_SPECIFIED"}");
        lock (_gate)
        {
            return action switch
            {
                "DescribeTargetGroups" => DescribeTargetGroups(p),
                "DescribeTargetHealth" => DescribeTargetHealth(p),
                "RegisterTargets" => RegisterTargets(p),
                "DeregisterTargets" => DeregisterTargets(p),
                _ => Error(400, "InvalidAction", $"Could not find operation {action} for version 2015-12-01"),
            };
        }
    }

    private ElbV2Answer DescribeTargetGroups(IReadOnlyDictionary<string, string> p)
    {
        var names = List(p, "Names");
        var arns = List(p, "TargetGroupArns");
        if (names.Count > 0 && arns.Count > 0)
            return Error(400, "ValidationError", "Target group names and target group ARNs cannot be specified at the same time");

        int pageSize = 400;
        if (p.TryGetValue("PageSize", out var size))
        {
            if (!int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize < 1 || pageSize > 400)
                return Error(400, "ValidationError", $"1 validation error detected: Value '{size}' at 'pageSize' failed to satisfy constraint: Member must have value between 1 and 400");
        }

        List<Group> selected;
        if (names.Count > 0 || arns.Count > 0)
        {
            selected = new List<Group>();
            foreach (var wanted in names.Concat(arns))
            {
                var g = _groups.FirstOrDefault(x => x.Name == wanted || x.Arn == wanted);
                if (g == null) return Error(400, "TargetGroupNotFound", "One or more target groups not found");
                selected.Add(g);
            }
        }
        else
        {
            selected = _groups.OrderBy(g => g.Name, StringComparer.Ordinal).ToList();
        }

        int start = 0;
        if (p.TryGetValue("Marker", out var marker))
        {
            if (!TryReadMarker(marker, out start) || start > selected.Count) return Error(400, "ValidationError", "Invalid Marker");
        }
        var page = selected.Skip(start).Take(Math.Min(pageSize, _options.MaxPageSize)).ToList();
        var result = new XElement(Ns + "DescribeTargetGroupsResult",
            new XElement(Ns + "TargetGroups", page.Select(RenderGroup)));
        if (start + page.Count < selected.Count) result.Add(new XElement(Ns + "NextMarker", WriteMarker(start + page.Count)));
        return Ok("DescribeTargetGroups", result);
    }

    private ElbV2Answer DescribeTargetHealth(IReadOnlyDictionary<string, string> p)
    {
        if (!p.TryGetValue("TargetGroupArn", out var arn))
            return Error(400, "ValidationError", "1 validation error detected: Value null at 'targetGroupArn' failed to satisfy constraint: Member must not be null");
        var g = _groups.FirstOrDefault(x => x.Arn == arn);
        if (g == null) return Error(400, "TargetGroupNotFound", $"Target groups '{arn}' not found");
        Expire(g);

        var (asked, invalid) = Targets(p, g);
        if (invalid != null) return invalid;
        var descriptions = new List<XElement>();
        var shown = new List<Target>();
        if (asked.Count == 0)
        {
            shown.AddRange(g.Targets);
        }
        else
        {
            foreach (var (id, port, _) in asked)
            {
                var t = g.Targets.FirstOrDefault(x => x.Id == id && x.Port == port);
                if (t != null) shown.Add(t);
                else descriptions.Add(RenderHealth(g, new Target { Id = id, Port = port, State = "unused", Reason = "Target.NotRegistered", Description = "Target is not registered to the target group" }));
            }
        }
        descriptions.InsertRange(0, shown.Select(t => RenderHealth(g, t)));
        Observe(shown);
        return Ok("DescribeTargetHealth", new XElement(Ns + "DescribeTargetHealthResult", new XElement(Ns + "TargetHealthDescriptions", descriptions)));
    }

    private ElbV2Answer RegisterTargets(IReadOnlyDictionary<string, string> p)
    {
        if (!p.TryGetValue("TargetGroupArn", out var arn))
            return Error(400, "ValidationError", "1 validation error detected: Value null at 'targetGroupArn' failed to satisfy constraint: Member must not be null");
        var g = _groups.FirstOrDefault(x => x.Arn == arn);
        if (g == null) return Error(400, "TargetGroupNotFound", $"Target groups '{arn}' not found");
        var (targets, invalid) = Targets(p, g);
        if (invalid != null) return invalid;
        if (targets.Count == 0) return Error(400, "ValidationError", "1 validation error detected: Value null at 'targets' failed to satisfy constraint: Member must not be null");

        // All or nothing: one bad target fails the call and registers none.
        foreach (var (id, _, zone) in targets)
        {
            if (g.TargetType == "instance" && !InstanceId().IsMatch(id))
                return Error(400, "InvalidTarget", $"The following targets are not valid instance IDs: '{id}'");
            if (g.TargetType == "ip" && !IPAddress.TryParse(id, out _))
                return Error(400, "InvalidTarget", $"The IP address '{id}' is not a valid IPv4 or IPv6 address");
            if (_stoppedInstances.Contains(id))
                return Error(400, "InvalidTarget", $"The following targets are not in a running state and cannot be registered: '{id}'");
            if (_pendingInstances.TryGetValue(id, out var refusals) && refusals > 0)
            {
                _pendingInstances[id] = refusals - 1;
                return Error(400, "InvalidTarget", $"The following targets are not in a running state and cannot be registered: '{id}'");
            }
            // ALB user guide, "Deregistration delay": an IP target must finish deregistering before the same IP
            // can be registered again.
            if (g.TargetType == "ip" && g.Targets.Any(x => x.Id == id && x.State is "draining" or "unhealthy.draining"))
                return Error(400, "InvalidTarget", $"The following targets are being deregistered and cannot be registered again until the deregistration delay ends: '{id}'");
            if (zone == "all" && g.TargetType != "ip")
                return Error(400, "ValidationError", "The Availability Zone 'all' is valid only for IP targets");
        }
        int added = targets.Count(t => !g.Targets.Any(x => x.Id == t.Id && x.Port == t.Port));
        if (g.Targets.Count + added > MaxTargetsPerGroup)
            return Error(400, "TooManyTargets", $"You have reached the maximum number of targets ({MaxTargetsPerGroup.ToString(CultureInfo.InvariantCulture)}) for this target group");

        foreach (var (id, port, zone) in targets)
        {
            var existing = g.Targets.FirstOrDefault(x => x.Id == id && x.Port == port);
            if (existing == null)
            {
                existing = new Target { Id = id, Port = port, Zone = zone };
                g.Targets.Add(existing);
                StartRegistration(g, existing);
            }
            else if (existing.State is "draining" or "unhealthy.draining")
            {
                // An instance target registered while deregistering goes back in service (IP targets were refused above).
                StartRegistration(g, existing);
            }
        }
        return Ok("RegisterTargets", new XElement(Ns + "RegisterTargetsResult"));
    }

    private ElbV2Answer DeregisterTargets(IReadOnlyDictionary<string, string> p)
    {
        if (!p.TryGetValue("TargetGroupArn", out var arn))
            return Error(400, "ValidationError", "1 validation error detected: Value null at 'targetGroupArn' failed to satisfy constraint: Member must not be null");
        var g = _groups.FirstOrDefault(x => x.Arn == arn);
        if (g == null) return Error(400, "TargetGroupNotFound", $"Target groups '{arn}' not found");
        var (targets, invalid) = Targets(p, g);
        if (invalid != null) return invalid;
        if (targets.Count == 0) return Error(400, "ValidationError", "1 validation error detected: Value null at 'targets' failed to satisfy constraint: Member must not be null");

        foreach (var (id, port, zone) in targets)
        {
            // A target that is not registered is not an error (documented). An IP target registered outside the
            // VPC (zone "all") is that target only with the same zone: without it, nothing matches and nothing happens.
            var t = g.Targets.FirstOrDefault(x => x.Id == id && x.Port == port && (x.Zone != "all" || zone == "all"));
            if (t == null || t.State is "draining" or "unhealthy.draining") continue;
            if (!g.InUse || g.DeregistrationDelay <= TimeSpan.Zero || DrainingReads == 0)
            {
                g.Targets.Remove(t); // nothing routes to it, or no delay: deregistration completes at once
                continue;
            }
            t.State = t.State == "unhealthy" ? "unhealthy.draining" : "draining";
            t.Reason = "Target.DeregistrationInProgress";
            t.Description = "Target deregistration is in progress";
            t.DrainStarted = _time.GetUtcNow();
            t.DrainReadsLeft = DrainingReads;
        }
        return Ok("DeregisterTargets", new XElement(Ns + "DeregisterTargetsResult"));
    }

    // ---- lifecycle ----

    private void StartRegistration(Group g, Target t)
    {
        t.DrainStarted = null;
        t.DrainReadsLeft = null;
        if (g.InUse)
        {
            SetHealth(t, "initial", "Elb.RegistrationInProgress", "Target registration is in progress");
            t.InitialReadsLeft = InitialReads;
        }
        else
        {
            SetHealth(t, "unused", "Target.NotInUse", "Target group is not configured to receive traffic from the load balancer");
        }
    }

    /// <summary>Removes targets whose drain has ended, by the clock or by the read count.</summary>
    private void Expire(Group g)
    {
        var now = _time.GetUtcNow();
        g.Targets.RemoveAll(t => t.DrainStarted is { } started
            && (t.DrainReadsLeft is { } left ? left <= 0 : now - started >= g.DeregistrationDelay));
    }

    /// <summary>Counts a DescribeTargetHealth response against the targets it showed.</summary>
    private static void Observe(IEnumerable<Target> shown)
    {
        foreach (var t in shown)
        {
            if (t.DrainReadsLeft is { } left) t.DrainReadsLeft = left - 1;
            if (t.State == "initial" && t.InitialReadsLeft > 0 && --t.InitialReadsLeft == 0) SetHealth(t, "healthy", null, null);
        }
    }

    private static void SetHealth(Target t, string state, string? reason, string? description)
    {
        t.State = state;
        t.Reason = reason;
        t.Description = description;
    }

    // ---- parameters ----

    private static List<string> List(IReadOnlyDictionary<string, string> p, string name)
    {
        var values = new List<string>();
        for (int i = 1; p.TryGetValue($"{name}.member.{i.ToString(CultureInfo.InvariantCulture)}", out var v); i++) values.Add(v);
        return values;
    }

    private static (List<(string Id, int Port, string? Zone)> Targets, ElbV2Answer? Invalid) Targets(IReadOnlyDictionary<string, string> p, Group g)
    {
        var targets = new List<(string, int, string?)>();
        for (int i = 1; p.TryGetValue($"Targets.member.{i.ToString(CultureInfo.InvariantCulture)}.Id", out var id); i++)
        {
            int port = g.TargetType == "lambda" ? 0 : g.Port;
            bool hasPort = p.TryGetValue($"Targets.member.{i.ToString(CultureInfo.InvariantCulture)}.Port", out var text);
            if (hasPort && g.TargetType == "lambda")
            {
                // TargetDescription.Port: "Not used if the target is a Lambda function."
                return (targets, Error(400, "ValidationError", "A port cannot be specified for a Lambda function target"));
            }
            if (hasPort && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port < 1 || port > 65535))
            {
                return (targets, Error(400, "ValidationError", $"1 validation error detected: Value '{text}' at 'targets.{i}.member.port' failed to satisfy constraint: Member must have value between 1 and 65535"));
            }
            p.TryGetValue($"Targets.member.{i.ToString(CultureInfo.InvariantCulture)}.AvailabilityZone", out var zone);
            targets.Add((id, port, zone));
        }
        return (targets, null);
    }

    private static string WriteMarker(int index) => Convert.ToBase64String(Encoding.UTF8.GetBytes("tg-page:" + index.ToString(CultureInfo.InvariantCulture)));

    private static bool TryReadMarker(string marker, out int index)
    {
        index = 0;
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(marker));
            return text.StartsWith("tg-page:", StringComparison.Ordinal)
                && int.TryParse(text.AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture, out index);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    // ---- XML ----

    private XElement RenderGroup(Group g) => new(Ns + "member",
        new XElement(Ns + "TargetGroupArn", g.Arn),
        new XElement(Ns + "TargetGroupName", g.Name),
        new XElement(Ns + "Protocol", g.Protocol),
        g.TargetType == "lambda" ? null : new XElement(Ns + "Port", g.Port),
        new XElement(Ns + "VpcId", g.VpcId),
        new XElement(Ns + "HealthCheckProtocol", g.Protocol),
        new XElement(Ns + "HealthCheckPort", "traffic-port"),
        new XElement(Ns + "HealthCheckEnabled", "true"),
        new XElement(Ns + "HealthCheckIntervalSeconds", 30),
        new XElement(Ns + "HealthCheckTimeoutSeconds", 5),
        new XElement(Ns + "HealthyThresholdCount", 5),
        new XElement(Ns + "UnhealthyThresholdCount", 2),
        new XElement(Ns + "HealthCheckPath", "/"),
        new XElement(Ns + "Matcher", new XElement(Ns + "HttpCode", "200")),
        new XElement(Ns + "LoadBalancerArns", g.InUse
            ? new XElement(Ns + "member", $"arn:aws:elasticloadbalancing:{_options.Region}:{_options.AccountId}:loadbalancer/app/front/50dc6c495c0c9188")
            : null),
        new XElement(Ns + "TargetType", g.TargetType),
        new XElement(Ns + "IpAddressType", "ipv4"));

    private static XElement RenderHealth(Group g, Target t)
    {
        var target = new XElement(Ns + "Target", new XElement(Ns + "Id", t.Id));
        if (t.Port > 0) target.Add(new XElement(Ns + "Port", t.Port));
        if (t.Zone != null) target.Add(new XElement(Ns + "AvailabilityZone", t.Zone));
        var health = new XElement(Ns + "TargetHealth", new XElement(Ns + "State", t.State));
        if (t.Reason != null) health.Add(new XElement(Ns + "Reason", t.Reason));
        if (t.Description != null) health.Add(new XElement(Ns + "Description", t.Description));
        return new XElement(Ns + "member", target, new XElement(Ns + "HealthCheckPort", t.Port), health);
    }

    private static ElbV2Answer Ok(string action, XElement result) => ElbV2Answer.Ok(new XElement(Ns + action + "Response",
        result,
        new XElement(Ns + "ResponseMetadata", new XElement(Ns + "RequestId", Guid.NewGuid().ToString()))).ToString(SaveOptions.DisableFormatting));

    /// <summary>The Query API's error document; the type is Sender for 4xx and Receiver for 5xx.</summary>
    public static ElbV2Answer Error(int status, string code, string message) => new(status, new XElement(Ns + "ErrorResponse",
        new XElement(Ns + "Error",
            new XElement(Ns + "Type", status >= 500 ? "Receiver" : "Sender"),
            new XElement(Ns + "Code", code),
            new XElement(Ns + "Message", message)),
        new XElement(Ns + "RequestId", Guid.NewGuid().ToString())).ToString(SaveOptions.DisableFormatting), code);
}
