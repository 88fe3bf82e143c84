namespace LoadBalancerTools.TestKit;

/// <summary>What a <see cref="FaultInjector"/> does to one request.</summary>
public enum FaultKind
{
    /// <summary>429 with a Retry-After header and the emulator's error body; the handler never runs.</summary>
    TooManyRequests,

    /// <summary>503 with the emulator's error body; the handler never runs.</summary>
    ServiceUnavailable,

    /// <summary>Waits <see cref="FaultInjector.SlowDelay"/>, then processes the request normally.</summary>
    Slow,

    /// <summary>Aborts the connection before the handler runs: nothing is applied, the client gets an I/O error.</summary>
    DropConnection,

    /// <summary>
    /// Runs the real handler (the change is applied), then aborts the connection so the client never sees
    /// the response. This is the case that catches clients which blindly retry a POST and duplicate it.
    /// </summary>
    DropAfterProcessing,

    /// <summary>200 with a JSON content type and a truncated, unparsable body; the handler never runs.</summary>
    MalformedBody,

    /// <summary>401 (with the configured challenge header, if any); for token-expiry and bad-credential paths.</summary>
    Unauthorized,
}

/// <summary>How <see cref="FaultInjector.RandomFaultRate"/> picks between 429 and 503.</summary>
public enum RandomFaultSelection
{
    /// <summary>429, 503, 429, … so both kinds appear in equal numbers.</summary>
    Alternate,

    /// <summary>A coin toss from the injector's seeded random source.</summary>
    Random,
}
