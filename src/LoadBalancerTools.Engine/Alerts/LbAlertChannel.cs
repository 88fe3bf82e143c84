using System;

namespace LoadBalancerTools.Alerts
{
    public enum LbAlertChannelType
    {
        Slack,
        Teams,
        PagerDuty,
        Webhook,
    }

    /// <summary>
    /// Where remediation alerts go. Webhook URLs and routing keys are secrets: they live in internal
    /// members only, and the object shows where they came from, never what they are.
    /// </summary>
    public sealed class LbAlertChannel
    {
        public const string PagerDutyEventsUri = "https://events.pagerduty.com/v2/enqueue";

        internal LbAlertChannel(LbAlertChannelType type, Uri uri, string? routingKey, string source)
        {
            Type = type;
            Uri = uri;
            RoutingKey = routingKey;
            Source = source;
        }

        public LbAlertChannelType Type { get; }
        /// <summary>"Uri", "RoutingKey" or "Secret &lt;name&gt;": where the secret part came from.</summary>
        public string Source { get; }
        public string Name => $"{Type} ({Source})";

        internal Uri Uri { get; }
        internal string? RoutingKey { get; }

        public static LbAlertChannel Create(LbAlertChannelType type, string secretOrUri, Uri? endpointOverride, string source)
        {
            if (type == LbAlertChannelType.PagerDuty)
            {
                return new LbAlertChannel(type, endpointOverride ?? new Uri(PagerDutyEventsUri), secretOrUri, source);
            }
            if (!Uri.TryCreate(secretOrUri, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                // The value may be a secret webhook URL: say what is wrong, never what it was.
                throw new Errors.LbException(Errors.LbErrorKind.InvalidInput, $"The {type} webhook from {source} is not an absolute http(s) URL.") { ErrorId = Errors.ErrorIds.InvalidEndpoint };
            }
            return new LbAlertChannel(type, uri, null, source);
        }

        public override string ToString() => Name;
    }
}
