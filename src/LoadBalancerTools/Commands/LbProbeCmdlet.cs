using System.Management.Automation;
using LoadBalancerTools.Services;

namespace LoadBalancerTools.Commands
{
    /// <summary>The probe options shared by Test-LbPoolMember and Invoke-LbHealthRemediation.</summary>
    public abstract class LbProbeCmdlet : LbConnectedCmdlet
    {
        [Parameter]
        public ProbeProtocol Protocol { get; set; } = ProbeProtocol.Http;

        /// <summary>The path an HTTP(S) probe requests.</summary>
        [Parameter]
        [Alias("HealthPath")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "/";

        /// <summary>Status codes that count as healthy; 200-399 when omitted.</summary>
        [Parameter]
        [ValidateRange(100, 599)]
        public int[]? ExpectedStatus { get; set; }

        /// <summary>A regular expression the response body must match.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? BodyMatch { get; set; }

        [Parameter]
        [ValidateRange(1, 300)]
        public int ProbeTimeoutSec { get; set; } = 5;

        /// <summary>Probe this port instead of each member's own (a separate health port).</summary>
        [Parameter]
        [ValidateRange(1, 65535)]
        public int? ProbePort { get; set; }

        [Parameter]
        public string? HostHeader { get; set; }

        [Parameter]
        public SwitchParameter SkipCertificateCheck { get; set; }

        /// <summary>How many probes run at once.</summary>
        [Parameter]
        [ValidateRange(1, 256)]
        public int ThrottleLimit { get; set; } = 16;

        protected ProbeOptions ProbeOptions()
        {
            if (BodyMatch != null)
            {
                try { _ = new System.Text.RegularExpressions.Regex(BodyMatch); }
                catch (System.ArgumentException ex)
                {
                    ThrowTerminatingError(new ErrorRecord(new PSArgumentException($"-BodyMatch '{BodyMatch}' is not a valid regular expression: {ex.Message}"),
                        Errors.ErrorIds.InvalidState, ErrorCategory.InvalidArgument, BodyMatch));
                }
            }
            return new ProbeOptions
            {
                Protocol = Protocol,
                Path = Path,
                ExpectedStatus = ExpectedStatus ?? System.Array.Empty<int>(),
                BodyMatch = BodyMatch,
                Timeout = System.TimeSpan.FromSeconds(ProbeTimeoutSec),
                Port = ProbePort,
                HostHeader = HostHeader,
                SkipCertificateCheck = SkipCertificateCheck,
                ThrottleLimit = ThrottleLimit,
            };
        }
    }
}
