using System;

namespace LoadBalancerTools.Errors
{
    /// <summary>The small set of failures every provider maps its vendor errors to.</summary>
    public enum LbErrorKind
    {
        NotFound,
        AlreadyExists,
        Conflict,
        AuthenticationFailed,
        Throttled,
        Transient,
        Rejected,
        NotSupported,
        InvalidInput,
        Unreachable,
        MalformedResponse,
        ReadOnly,
    }

    /// <summary>A load-balancer operation failed. Messages never carry secrets: they are built from status codes, vendor error text and names.</summary>
    public class LbException : Exception
    {
        public LbException(LbErrorKind kind, string message, string? vendorCode = null, int? statusCode = null, Exception? inner = null)
            : base(message, inner)
        {
            Kind = kind;
            VendorCode = vendorCode;
            StatusCode = statusCode;
        }

        public LbErrorKind Kind { get; }
        /// <summary>The vendor's own error code (UpstreamNotFound, 01020066, 273...).</summary>
        public string? VendorCode { get; }
        public int? StatusCode { get; }
        /// <summary>True when a write may or may not have been applied (timeout or dropped connection after sending).</summary>
        public bool Ambiguous { get; set; }
        /// <summary>
        /// Whether a write that failed like this may still have been applied: anything but a clear refusal.
        /// Only a refused connection, a 429 and a vendor answer documented as "not applied" (4xx refusals such as
        /// not found, already exists, invalid, forbidden) prove that nothing happened; a 5xx, a timeout or a
        /// connection lost after sending do not.
        /// </summary>
        public bool MayHaveBeenApplied => Ambiguous || StatusCode >= 500 || Kind == LbErrorKind.Transient || Kind == LbErrorKind.MalformedResponse;
        /// <summary>A more specific stable error id than the kind gives (see <see cref="ErrorIds"/>).</summary>
        public string? ErrorId { get; set; }
    }
}
