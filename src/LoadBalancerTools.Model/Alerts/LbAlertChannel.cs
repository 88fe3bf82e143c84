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

        internal LbAlertChannel(LbAlertChannelType type, Uri uri, string? routingKey, string source, string? label = null)
        {
            Type = type;
            Uri = uri;
            RoutingKey = routingKey;
            Source = source;
            Label = label;
        }

        /// <summary>The name given with New-LbAlertChannel -Name, if any.</summary>
        public string? Label { get; }

        // Internal: PowerShell shows it by name through the type data (LbTypeData), as for the model's enums.
        internal LbAlertChannelType Type { get; }
        /// <summary>"Uri", "RoutingKey" or "Secret &lt;name&gt;": where the secret part came from.</summary>
        public string Source { get; }
        /// <summary>How events and messages name the channel: its -Name, else type and source.</summary>
        public string Name => Label ?? $"{Type} ({Source})";

        /// <summary>The same channel under another name (two channels of one type must be told apart in events).</summary>
        public LbAlertChannel WithName(string name) => new LbAlertChannel(Type, Uri, RoutingKey, Source, name);

        /// <summary>The channels with distinct names: repeated names get " #1", " #2"... in the order given.</summary>
        public static LbAlertChannel[] Distinct(LbAlertChannel[] channels)
        {
            var result = (LbAlertChannel[])channels.Clone();
            foreach (var group in System.Linq.Enumerable.GroupBy(System.Linq.Enumerable.Range(0, channels.Length), i => channels[i].Name, StringComparer.OrdinalIgnoreCase))
            {
                int n = 0;
                var indexes = System.Linq.Enumerable.ToList(group);
                if (indexes.Count < 2) continue;
                foreach (int i in indexes) result[i] = channels[i].WithName($"{channels[i].Name} #{++n}");
            }
            return result;
        }

        internal Uri Uri { get; }
        internal string? RoutingKey { get; }

        public static LbAlertChannel Create(LbAlertChannelType type, string secretOrUri, Uri? endpointOverride, string source, string? name = null)
        {
            if (type == LbAlertChannelType.PagerDuty)
            {
                return new LbAlertChannel(type, endpointOverride ?? new Uri(PagerDutyEventsUri), secretOrUri, source, name);
            }
            if (!Uri.TryCreate(secretOrUri, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                // The value may be a secret webhook URL: say what is wrong, never what it was.
                throw new Errors.LbException(Errors.LbErrorKind.InvalidInput, $"The {type} webhook from {source} is not an absolute http(s) URL.") { ErrorId = Errors.ErrorIds.InvalidEndpoint };
            }
            return new LbAlertChannel(type, uri, null, source, name);
        }

        public override string ToString() => Name;
    }
}
