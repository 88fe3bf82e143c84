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

    /// <summary>
    /// Runs the real handler (the change is applied), then answers 500 in the vendor's error format: an API
    /// that failed after committing (a crash in the response path, an internal timeout after the write).
    /// </summary>
    ApplyThen500,

    /// <summary>404 in the vendor's error format; the handler never runs: an optional endpoint this build or proxy lacks.</summary>
    NotFound,

    /// <summary>Applied, then 502: a reverse proxy in front of the management API lost the upstream's answer.</summary>
    ApplyThen502,

    /// <summary>
    /// Applied, then 503: a proxy or the API's own request timeout gave up while the write completed behind it.
    /// The case that breaks the assumption "503 means the server did not act".
    /// </summary>
    ApplyThen503,
}

/// <summary>How <see cref="FaultInjector.RandomFaultRate"/> picks between 429 and 503.</summary>
public enum RandomFaultSelection
{
    /// <summary>429, 503, 429, … so both kinds appear in equal numbers.</summary>
    Alternate,

    /// <summary>A coin toss from the injector's seeded random source.</summary>
    Random,
}
