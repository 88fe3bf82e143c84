using System;
using System.Collections.Generic;

namespace LoadBalancerTools.TestKit;

/// <summary>Start-up settings of an <see cref="AwsElbV2Emulator"/>.</summary>
public sealed class AwsElbV2EmulatorOptions
{
    /// <summary>The region requests must be signed for.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>The account in the ARNs the emulator makes.</summary>
    public string AccountId { get; set; } = "123456789012";

    /// <summary>
    /// The emulator's clock: deregistration delays and the signature's age are measured on it. Pass a
    /// fake one to run a 300 s drain without waiting 300 s.
    /// </summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>How far X-Amz-Date may be from the emulator's clock (AWS allows 15 minutes); null skips the check.</summary>
    public TimeSpan? MaxClockSkew { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Verify every request's SigV4 signature. Off only for tests of the emulator's API alone.</summary>
    public bool RequireSignature { get; set; } = true;

    /// <summary>Key pairs the emulator accepts, besides <see cref="AwsElbV2Emulator.DefaultAccessKeyId"/>.</summary>
    public IDictionary<string, string> Credentials { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Deregistration delay of target groups added without one (AWS default 300 s).</summary>
    public TimeSpan DefaultDeregistrationDelay { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>
    /// When set, a deregistered target is reported as draining by this many DescribeTargetHealth
    /// responses and is gone from the next one, whatever the clock says: drains driven by request count,
    /// for end-to-end tests that cannot move a fake clock. 0 removes deregistered targets at once.
    /// </summary>
    public int? DrainingReads { get; set; }

    /// <summary>A newly registered target is "initial" for this many DescribeTargetHealth responses, then "healthy".</summary>
    public int InitialReads { get; set; } = 1;

    /// <summary>Targets one group may hold; beyond it RegisterTargets fails with TooManyTargets.</summary>
    public int MaxTargetsPerGroup { get; set; } = 1000;

    /// <summary>Most target groups one DescribeTargetGroups page holds, whatever PageSize asks: makes paging visible with a few groups.</summary>
    public int MaxPageSize { get; set; } = 400;

    /// <summary>Seed of the fault injector's random source.</summary>
    public int FaultSeed { get; set; }
}
