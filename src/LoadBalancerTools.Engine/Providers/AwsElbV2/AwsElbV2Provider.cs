using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using System.Xml.Linq;
using Amazon;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Providers.AwsElbV2
{
    /// <summary>
    /// AWS Elastic Load Balancing v2: pools are target groups (by name or ARN), members are targets
    /// (instance id or IP address, and port). ELBv2 has no administrative state besides registered and
    /// deregistering, so Disable, ForcedOffline and Weight are not supported, and draining is
    /// deregistration: <see cref="LbCapabilities.DrainOnRemove"/>.
    /// </summary>
    public sealed class AwsElbV2Provider : ILbProvider, IBatchProvider
    {
        public const string Name = "AwsElbV2";

        // Region names such as us-east-1, us-gov-west-1, eusc-de-east-1, cn-north-1.
        private static readonly Regex RegionName = new Regex(@"^[a-z]{2,5}(-[a-z]+)+-[0-9]{1,2}$", RegexOptions.CultureInvariant);

        private readonly LbConnectionSettings _settings;
        private readonly string _region;
        private readonly ElbV2QueryClient _api;
        private readonly ConcurrentDictionary<string, TargetGroup> _groups = new ConcurrentDictionary<string, TargetGroup>(StringComparer.Ordinal);

        public AwsElbV2Provider(LbConnectionSettings settings)
        {
            _settings = settings;
            _region = RequireRegion(settings.Region);
            settings.Transport.IsThrottled = ElbV2Errors.IsThrottled;
            _api = new ElbV2QueryClient(settings.Endpoint, _region, settings.Transport);
        }

        public string ProviderName => Name;
        public string? ApiVersion => ElbV2QueryClient.ApiVersion;
        public LbCapabilities Capabilities => LbCapabilities.BatchChanges | LbCapabilities.DrainOnRemove;

        /// <summary>
        /// Targets per RegisterTargets or DeregisterTargets call. The API documents no maximum (ELBv2 API
        /// reference, RegisterTargets: "Targets.member.N ... Type: Array of TargetDescription objects", with no
        /// length constraint, unlike DescribeTargetGroups' PageSize of 1 to 400; the quota that applies is targets
        /// per target group, answered TooManyTargets); a moderate size keeps one refused target (which fails its
        /// whole call) from costing a large retry. Piped Add-/Remove-LbPoolMember records are batched to this size.
        /// </summary>
        public int MaxBatchSize { get; internal set; } = 100;

        /// <summary>DescribeTargetGroups page size (the API allows 1 to 400).</summary>
        internal int PageSize { get; set; } = 400;

        /// <summary>Concurrent DescribeTargetHealth calls when listing pools with their counts.</summary>
        internal int ListConcurrency { get; set; } = 4;

        /// <summary>The region's public endpoint: https://elasticloadbalancing.REGION.DNS-SUFFIX/ (amazonaws.com, amazonaws.com.cn...).</summary>
        public static Uri DefaultEndpoint(string? region)
        {
            string name = RequireRegion(region);
            string suffix = RegionEndpoint.GetBySystemName(name).PartitionDnsSuffix;
            if (string.IsNullOrEmpty(suffix)) suffix = "amazonaws.com";
            return new Uri($"https://elasticloadbalancing.{name}.{suffix}/");
        }

        /// <summary>For Connect-LbController: the endpoint given, or the region's; the region is required either way (requests are signed for it).</summary>
        public static Uri ResolveEndpoint(Uri? endpoint, string? region)
        {
            RequireRegion(region);
            return endpoint ?? DefaultEndpoint(region);
        }

        internal static string RequireRegion(string? region)
        {
            if (string.IsNullOrWhiteSpace(region))
            {
                throw new LbException(LbErrorKind.InvalidInput,
                    "The AwsElbV2 provider needs -Region (for example -Region eu-west-1): requests are signed for one region, and the endpoint is derived from it unless -Endpoint is given.")
                    { ErrorId = ErrorIds.RegionRequired };
            }
            string name = region!.Trim().ToLowerInvariant();
            if (!RegionName.IsMatch(name))
            {
                throw new LbException(LbErrorKind.InvalidInput, $"-Region '{region}' is not an AWS region name such as eu-west-1 or us-east-1.") { ErrorId = ErrorIds.RegionRequired };
            }
            return name;
        }

        public async Task ConnectAsync(ILbLog log, CancellationToken cancellationToken)
        {
            var (credentials, source) = await AwsCredentialChain.ResolveAsync(_settings, cancellationToken).ConfigureAwait(false);
            _api.Credentials = credentials;
            // One cheap signed read proves the endpoint, the signature and the Describe permission.
            await _api.CallAsync("DescribeTargetGroups", new[] { P("PageSize", "1") }, RequestKind.Read, null, log, cancellationToken).ConfigureAwait(false);
            log.Verbose($"ELBv2 in {_region} answered; requests are signed with AWS credentials from {source}.");
        }

        public Task DisconnectAsync(ILbLog log, CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task<IReadOnlyList<LbPool>> GetPoolsAsync(ILbLog log, CancellationToken cancellationToken)
        {
            var groups = await DescribeAllTargetGroupsAsync(log, cancellationToken).ConfigureAwait(false);
            // Counts need one DescribeTargetHealth per group; a few at a time keeps a large account under its rate.
            using var gate = new SemaphoreSlim(Math.Max(1, ListConcurrency));
            var pools = await Task.WhenAll(groups.Select(async group =>
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    IReadOnlyList<LbPoolMember> members;
                    try
                    {
                        members = await MembersOfAsync(group, log, cancellationToken).ConfigureAwait(false);
                    }
                    catch (LbException ex) when (ex.ErrorId == ErrorIds.PoolNotFound)
                    {
                        log.Verbose($"Target group '{group.Name}' was deleted while the list was read; it is left out.");
                        Forget(group);
                        return null;
                    }
                    return new LbPool
                    {
                        Provider = Name,
                        Pool = group.Name,
                        MemberCount = members.Count,
                        HealthyCount = members.Count(m => m.Health == LbMemberHealth.Healthy),
                        Description = group.Describe(),
                        Raw = group.Raw,
                    };
                }
                finally
                {
                    gate.Release();
                }
            })).ConfigureAwait(false);
            return pools.Where(p => p != null).ToList()!;
        }

        public Task<IReadOnlyList<LbPoolMember>> GetMembersAsync(string pool, ILbLog log, CancellationToken cancellationToken) =>
            WithGroupAsync(pool, group => MembersOfAsync(group, log, cancellationToken), log, cancellationToken);

        public Task<LbPoolMember> AddMemberAsync(string pool, LbMemberSpec spec, ILbLog log, CancellationToken cancellationToken)
        {
            RequireRegistrable(spec);
            return WithGroupAsync(pool, async group =>
            {
                if (IsIpGroup(group) && await ReadTargetAsync(group, spec.Address, spec.Port, log, cancellationToken).ConfigureAwait(false) is { State: LbMemberState.Draining } draining)
                {
                    // Re-adding an IP target that is still draining: the IP is registrable only after its delay.
                    await WaitUntilDeregisteredAsync(group, draining, log, cancellationToken).ConfigureAwait(false);
                }
                await RegisterAsync(group, new[] { (spec.Address, spec.Port, spec.AvailabilityZone) }, log, cancellationToken, waitUntilRunning: true).ConfigureAwait(false);
                return await ReadTargetAsync(group, spec.Address, spec.Port, log, cancellationToken).ConfigureAwait(false)
                       ?? Synthesized(group, spec.Address, spec.Port, "initial", "Elb.RegistrationInProgress");
            }, log, cancellationToken);
        }

        public Task RemoveMemberAsync(LbPoolMember member, ILbLog log, CancellationToken cancellationToken) =>
            WithGroupAsync(member.Pool, async group =>
            {
                await DeregisterAsync(group, new[] { (member.VendorId ?? member.Address, member.Port, member.AvailabilityZone) }, log, cancellationToken).ConfigureAwait(false);
                log.Verbose($"Deregistered {member}: ELBv2 drains it for the target group's deregistration delay, then it leaves the group.");
                return true;
            }, log, cancellationToken);

        public Task<LbPoolMember> UpdateMemberAsync(LbPoolMember member, LbMemberUpdate update, ILbLog log, CancellationToken cancellationToken)
        {
            if (update.Weight.HasValue)
            {
                throw new LbException(LbErrorKind.NotSupported,
                    "ELBv2 targets have no weight; weights apply between target groups, in a listener rule's forward action.") { ErrorId = ErrorIds.NotSupported };
            }
            if (update.State.HasValue && update.State != LbMemberState.Enabled)
            {
                throw new LbException(LbErrorKind.NotSupported,
                    $"ELBv2 cannot set a target {update.State}: the only way out of rotation is deregistration, which drains the target and then removes it. Use Remove-LbPoolMember -Drain.")
                    { ErrorId = ErrorIds.NotSupported };
            }
            return WithGroupAsync(member.Pool, async group =>
            {
                if (update.State == LbMemberState.Enabled && member.State == LbMemberState.Draining)
                {
                    if (IsIpGroup(group))
                    {
                        // ALB user guide, "Deregistration delay": a target registered by IP must finish its
                        // deregistration delay before the same IP can be registered again.
                        await WaitUntilDeregisteredAsync(group, member, log, cancellationToken).ConfigureAwait(false);
                    }
                    // An instance target registered while deregistering goes back in service.
                    await RegisterAsync(group, new[] { (member.VendorId ?? member.Address, member.Port, member.AvailabilityZone) }, log, cancellationToken).ConfigureAwait(false);
                    log.Verbose($"Registered {member} again.");
                }
                return await ReadTargetAsync(group, member.Address, member.Port, log, cancellationToken).ConfigureAwait(false) ?? member;
            }, log, cancellationToken);
        }

        public Task<IReadOnlyList<LbBatchResult>> AddMembersAsync(string pool, IReadOnlyList<LbMemberSpec> specs, ILbLog log, CancellationToken cancellationToken)
        {
            var results = new List<LbBatchResult>();
            var valid = new List<(string Id, int Port, string? Zone)>();
            foreach (var spec in specs)
            {
                try
                {
                    RequireRegistrable(spec);
                    valid.Add((spec.Address, spec.Port, spec.AvailabilityZone));
                }
                catch (LbException ex)
                {
                    results.Add(new LbBatchResult(spec.Address, spec.Port, ex));
                }
            }
            return WithGroupAsync(pool, async group =>
            {
                results.AddRange(await InBatchesAsync(valid, t => (t.Id, t.Port), "Registering targets with " + group.Name,
                    batch => RegisterAsync(group, batch, log, cancellationToken), log, cancellationToken).ConfigureAwait(false));
                return (IReadOnlyList<LbBatchResult>)results;
            }, log, cancellationToken);
        }

        public Task<IReadOnlyList<LbBatchResult>> RemoveMembersAsync(string pool, IReadOnlyList<LbPoolMember> members, ILbLog log, CancellationToken cancellationToken)
        {
            var targets = members.Select(m => (Id: m.VendorId ?? m.Address, m.Port, Zone: m.AvailabilityZone)).ToList();
            return WithGroupAsync(pool, async group => (IReadOnlyList<LbBatchResult>)await InBatchesAsync(targets, t => (t.Id, t.Port), "Deregistering targets from " + group.Name,
                batch => DeregisterAsync(group, batch, log, cancellationToken), log, cancellationToken).ConfigureAwait(false), log, cancellationToken);
        }

        public void Dispose() { }

        private static bool IsIpGroup(TargetGroup group) => string.Equals(group.TargetType, "ip", StringComparison.OrdinalIgnoreCase);

        /// <summary>
        /// Waits (with progress, bounded by the connection's -TimeoutSec) until a draining IP target has left the
        /// group; LbConflict naming the rule when it is still draining at the end.
        /// </summary>
        private async Task WaitUntilDeregisteredAsync(TargetGroup group, LbPoolMember member, ILbLog log, CancellationToken cancellationToken)
        {
            var time = _settings.Transport.TimeProvider;
            var limit = _settings.Transport.TotalTimeout;
            long start = time.GetTimestamp();
            const int progressId = 52;
            string activity = $"Waiting for {member} to finish draining before it is registered again";
            var pause = TimeSpan.FromMilliseconds(500);
            log.Verbose($"{member} is still draining; ELBv2 registers an IP target again only after its deregistration delay ends. Waiting up to {limit.TotalSeconds:0} s.");
            while (true)
            {
                var now = await ReadTargetAsync(group, member.VendorId ?? member.Address, member.Port, log, cancellationToken).ConfigureAwait(false);
                var elapsed = time.GetElapsedTime(start);
                if (now == null || now.State != LbMemberState.Draining)
                {
                    log.Progress(progressId, activity, "drained", 100, completed: true);
                    return;
                }
                if (elapsed >= limit)
                {
                    log.Progress(progressId, activity, "timed out", 100, completed: true);
                    throw new LbException(LbErrorKind.Conflict, string.Format(CultureInfo.InvariantCulture,
                        "{0} is still draining after {1:0} s: ELBv2 registers an IP target again only after the target group's deregistration delay (deregistration_delay.timeout_seconds) has run out. Run the command again when it has, or give the connection a longer -TimeoutSec.",
                        member, elapsed.TotalSeconds)) { ErrorId = ErrorIds.Conflict };
                }
                log.Progress(progressId, activity, $"draining, {elapsed.TotalSeconds:0} of {limit.TotalSeconds:0} s", (int)Math.Min(99, 100 * elapsed.TotalSeconds / Math.Max(1, limit.TotalSeconds)));
                pause = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(10).Ticks, pause.Ticks * 2));
                await time.Delay(limit - elapsed < pause ? limit - elapsed : pause, cancellationToken).ConfigureAwait(false);
            }
        }

        // ---- target groups ----

        internal async Task<List<TargetGroup>> DescribeAllTargetGroupsAsync(ILbLog log, CancellationToken cancellationToken)
        {
            var groups = new List<TargetGroup>();
            var markers = new HashSet<string>(StringComparer.Ordinal);
            string? marker = null;
            do
            {
                var parameters = new List<KeyValuePair<string, string>> { P("PageSize", PageSize.ToString(CultureInfo.InvariantCulture)) };
                if (marker != null) parameters.Add(P("Marker", marker));
                var result = await _api.CallAsync("DescribeTargetGroups", parameters, RequestKind.Read, null, log, cancellationToken).ConfigureAwait(false);
                foreach (var element in result.Members("TargetGroups"))
                {
                    var group = TargetGroup.FromXml(element);
                    if (group == null) continue;
                    groups.Add(group);
                    Remember(group);
                }
                marker = result.Text("NextMarker");
                if (marker != null && !markers.Add(marker))
                {
                    throw new LbException(LbErrorKind.MalformedResponse, "ELBv2 DescribeTargetGroups returned the same NextMarker twice; stopped paging rather than loop.");
                }
            }
            while (marker != null);
            return groups;
        }

        /// <summary>
        /// Runs an operation on a target group found by name or ARN. Names are resolved once per
        /// connection; if the cached group has vanished (deleted and perhaps recreated under the same
        /// name, with a new ARN), it is looked up again once.
        /// </summary>
        private async Task<T> WithGroupAsync<T>(string pool, Func<TargetGroup, Task<T>> operation, ILbLog log, CancellationToken cancellationToken)
        {
            if (string.IsNullOrWhiteSpace(pool))
            {
                throw new LbException(LbErrorKind.InvalidInput, "Give a target group name or ARN as -Pool.") { ErrorId = ErrorIds.PoolNotFound };
            }
            bool cached = _groups.TryGetValue(pool, out var group);
            if (!cached) group = await ResolveAsync(pool, log, cancellationToken).ConfigureAwait(false);
            try
            {
                return await operation(group!).ConfigureAwait(false);
            }
            catch (LbException ex) when (cached && ex.ErrorId == ErrorIds.PoolNotFound)
            {
                Forget(group!);
                log.Verbose($"Target group '{pool}' is no longer at {group!.Arn}; looking it up again.");
                return await operation(await ResolveAsync(pool, log, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
            }
        }

        private async Task<TargetGroup> ResolveAsync(string pool, ILbLog log, CancellationToken cancellationToken)
        {
            bool isArn = pool.StartsWith("arn:", StringComparison.Ordinal);
            var result = await _api.CallAsync("DescribeTargetGroups", new[] { P(isArn ? "TargetGroupArns.member.1" : "Names.member.1", pool) },
                RequestKind.Read, pool, log, cancellationToken).ConfigureAwait(false);
            var group = result.Members("TargetGroups").Select(TargetGroup.FromXml).FirstOrDefault(g => g != null)
                ?? throw new LbException(LbErrorKind.NotFound, $"Target group '{pool}' was not found in {_region}.") { ErrorId = ErrorIds.PoolNotFound };
            Remember(group);
            _groups[pool] = group;
            return group;
        }

        private void Remember(TargetGroup group)
        {
            _groups[group.Name] = group;
            _groups[group.Arn] = group;
        }

        private void Forget(TargetGroup group)
        {
            foreach (var entry in _groups.Where(e => ReferenceEquals(e.Value, group)).ToList()) _groups.TryRemove(entry.Key, out _);
        }

        // ---- targets ----

        private async Task<IReadOnlyList<LbPoolMember>> MembersOfAsync(TargetGroup group, ILbLog log, CancellationToken cancellationToken)
        {
            var result = await _api.CallAsync("DescribeTargetHealth", new[] { P("TargetGroupArn", group.Arn) }, RequestKind.Read, group.Name, log, cancellationToken).ConfigureAwait(false);
            return result.Members("TargetHealthDescriptions").Select(d => ToMember(group, d)).Where(m => m != null).ToList()!;
        }

        /// <summary>One target's current record, or null when it is not registered.</summary>
        private async Task<LbPoolMember?> ReadTargetAsync(TargetGroup group, string id, int port, ILbLog log, CancellationToken cancellationToken)
        {
            var parameters = new List<KeyValuePair<string, string>> { P("TargetGroupArn", group.Arn) };
            parameters.AddRange(TargetParameters(new[] { (id, port, (string?)null) }));
            var result = await _api.CallAsync("DescribeTargetHealth", parameters, RequestKind.Read, group.Name, log, cancellationToken).ConfigureAwait(false);
            return result.Members("TargetHealthDescriptions").Select(d => ToMember(group, d)).FirstOrDefault(m => m != null && m.Matches(TargetHealthMap.NormalizeId(id), port));
        }

        /// <param name="waitUntilRunning">
        /// For a single add: an instance launched seconds ago is "not in a running state" for a while, and the
        /// registration is tried again (bounded by -TimeoutSec). Batches do not wait: one stopped instance must not
        /// hold up the rest, and its own error says what to do.
        /// </param>
        private async Task RegisterAsync(TargetGroup group, IReadOnlyList<(string Id, int Port, string? Zone)> targets, ILbLog log, CancellationToken cancellationToken,
            bool waitUntilRunning = false)
        {
            var parameters = new List<KeyValuePair<string, string>> { P("TargetGroupArn", group.Arn) };
            parameters.AddRange(TargetParameters(targets));
            var time = _settings.Transport.TimeProvider;
            long start = time.GetTimestamp();
            var wait = TimeSpan.FromSeconds(1);
            while (true)
            {
                try
                {
                    // Registering a registered target changes nothing, so a retry after a lost response is safe.
                    await _api.CallAsync("RegisterTargets", parameters, RequestKind.IdempotentWrite, group.Name, log, cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (LbException ex) when (waitUntilRunning && IsNotYetRunning(ex) && time.GetElapsedTime(start) + wait <= _settings.Transport.TotalTimeout)
                {
                    // An instance launched seconds ago is "not in a running state" for a while; the Terraform AWS
                    // provider retries this InvalidTarget too. Bounded by the connection's -TimeoutSec.
                    log.Verbose($"ELBv2 says a target is not running yet ({ex.Message}); registering again in {wait.TotalSeconds:0} s.");
                    await time.Delay(wait, cancellationToken).ConfigureAwait(false);
                    wait = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(15).Ticks, wait.Ticks * 2));
                }
            }
        }

        private static bool IsNotYetRunning(LbException ex) =>
            ex.VendorCode == "InvalidTarget" && ex.Message.IndexOf("not in a running state", StringComparison.OrdinalIgnoreCase) >= 0;

        /// <remarks>
        /// The zone a target was registered with goes with its deregistration: an IP target outside the VPC
        /// (AvailabilityZone "all") deregistered without it is not found, and DeregisterTargets answers success
        /// for a target that is not registered, so the target would stay without a word (ELBv2 API reference).
        /// </remarks>
        private Task DeregisterAsync(TargetGroup group, IReadOnlyList<(string Id, int Port, string? Zone)> targets, ILbLog log, CancellationToken cancellationToken)
        {
            var parameters = new List<KeyValuePair<string, string>> { P("TargetGroupArn", group.Arn) };
            parameters.AddRange(TargetParameters(targets));
            return _api.CallAsync("DeregisterTargets", parameters, RequestKind.IdempotentWrite, group.Name, log, cancellationToken);
        }

        /// <summary>
        /// Sends the targets in batches of <see cref="MaxBatchSize"/>. A batch the API refuses because of
        /// one target fails whole, so it is retried target by target to say which one; failures of the
        /// group itself (not found, credentials, throttling past the retries) are thrown.
        /// </summary>
        private async Task<List<LbBatchResult>> InBatchesAsync<T>(IReadOnlyList<T> targets, Func<T, (string Id, int Port)> key, string activity,
            Func<IReadOnlyList<T>, Task> send, ILbLog log, CancellationToken cancellationToken)
        {
            var results = new List<LbBatchResult>();
            const int progressId = 51;
            int size = Math.Max(1, MaxBatchSize);
            for (int offset = 0; offset < targets.Count; offset += size)
            {
                var batch = targets.Skip(offset).Take(size).ToList();
                log.Progress(progressId, activity, $"{offset} of {targets.Count}", 100 * offset / targets.Count);
                try
                {
                    await send(batch).ConfigureAwait(false);
                    results.AddRange(batch.Select(t => new LbBatchResult(key(t).Id, key(t).Port)));
                }
                catch (LbException ex) when (IsPerTarget(ex) && batch.Count > 1)
                {
                    log.Verbose($"ELBv2 refused a batch of {batch.Count} ({ex.VendorCode}); sending them one by one to find which.");
                    foreach (var target in batch)
                    {
                        try
                        {
                            await send(new[] { target }).ConfigureAwait(false);
                            results.Add(new LbBatchResult(key(target).Id, key(target).Port));
                        }
                        catch (LbException one) when (IsPerTarget(one))
                        {
                            results.Add(new LbBatchResult(key(target).Id, key(target).Port, one));
                        }
                    }
                }
                catch (LbException ex) when (IsPerTarget(ex))
                {
                    results.Add(new LbBatchResult(key(batch[0]).Id, key(batch[0]).Port, ex));
                }
            }
            log.Progress(progressId, activity, $"{targets.Count} of {targets.Count}", 100, completed: true);
            return results;
        }

        private static bool IsPerTarget(LbException ex) =>
            ex.VendorCode == "InvalidTarget" || ex.VendorCode == "TooManyRegistrationsForTargetId" || ex.VendorCode == "ValidationError";

        private static IEnumerable<KeyValuePair<string, string>> TargetParameters(IReadOnlyList<(string Id, int Port, string? Zone)> targets)
        {
            for (int i = 0; i < targets.Count; i++)
            {
                string prefix = "Targets.member." + (i + 1).ToString(CultureInfo.InvariantCulture) + ".";
                yield return P(prefix + "Id", targets[i].Id);
                // Lambda targets have no port (ELBv2 API reference, TargetDescription.Port: "not used if the target is a Lambda function").
                if (targets[i].Port > 0) yield return P(prefix + "Port", targets[i].Port.ToString(CultureInfo.InvariantCulture));
                if (!string.IsNullOrEmpty(targets[i].Zone)) yield return P(prefix + "AvailabilityZone", targets[i].Zone!);
            }
        }

        private static void RequireRegistrable(LbMemberSpec spec)
        {
            if (spec.Weight.HasValue)
            {
                throw new LbException(LbErrorKind.NotSupported,
                    "ELBv2 targets have no weight; weights apply between target groups, in a listener rule's forward action.") { ErrorId = ErrorIds.NotSupported };
            }
            if (spec.State.HasValue && spec.State != LbMemberState.Enabled)
            {
                throw new LbException(LbErrorKind.NotSupported,
                    $"ELBv2 registers targets in service; it cannot add one {spec.State}.") { ErrorId = ErrorIds.NotSupported };
            }
        }

        private LbPoolMember? ToMember(TargetGroup group, XElement description)
        {
            var target = description.Child("Target");
            var health = description.Child("TargetHealth");
            string? id = target.Text("Id");
            if (id == null) return null;
            string? state = health.Text("State");
            string? reason = health.Text("Reason");
            if (TargetHealthMap.IsNotRegistered(state, reason)) return null;
            int port = target.Int("Port") ?? group.Port ?? 0;
            var raw = ElbV2Xml.ToRaw(description) as Dictionary<string, object?> ?? new Dictionary<string, object?>();
            raw["TargetGroupArn"] = group.Arn;
            var member = Member(group, id, port, state, reason, health.Text("Description"), raw);
            member.AvailabilityZone = target.Text("AvailabilityZone");
            return member;
        }

        private LbPoolMember Synthesized(TargetGroup group, string id, int port, string state, string reason) =>
            Member(group, id, port, state, reason, null, new Dictionary<string, object?> { ["TargetGroupArn"] = group.Arn });

        private LbPoolMember Member(TargetGroup group, string id, int port, string? state, string? reason, string? description, object raw)
        {
            var (memberState, memberHealth) = TargetHealthMap.Map(state);
            string address = TargetHealthMap.NormalizeId(id);
            return new LbPoolMember
            {
                Provider = Name,
                Pool = group.Name,
                Address = address,
                Port = port,
                Name = LbPoolMember.FormatEndpoint(address, port),
                State = memberState,
                Health = memberHealth,
                HealthReason = reason == null ? state : description == null ? reason : reason + ": " + description,
                VendorId = id,
                // A target is its id and port (the same instance may be registered on several ports).
                MemberId = id + ":" + port.ToString(CultureInfo.InvariantCulture),
                Raw = raw,
            };
        }

        private static KeyValuePair<string, string> P(string key, string value) => new KeyValuePair<string, string>(key, value);
    }
}
