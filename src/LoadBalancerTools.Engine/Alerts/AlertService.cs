using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Alerts
{
    /// <summary>
    /// Sends remediation events to Slack, Teams, PagerDuty (Events API v2, with a stable dedup key so an
    /// ejection's trigger and its restore's resolve pair up) and generic JSON webhooks, over the resilient
    /// transport. A failed delivery is reported as an event; it never throws into remediation.
    /// </summary>
    public sealed class AlertService
    {
        private readonly TransportOptions _transport;
        private readonly TimeProvider _time;

        public AlertService(TransportOptions transport, TimeProvider time)
        {
            _transport = transport;
            _time = time;
        }

        public async Task<LbRemediationEvent> SendAsync(LbAlertChannel channel, LbRemediationEvent ev, string source, ILbLog log, CancellationToken cancellationToken)
        {
            var sent = new LbRemediationEvent
            {
                Timestamp = _time.GetUtcNow(),
                Type = LbRemediationEventType.AlertSent,
                Provider = ev.Provider,
                Endpoint = ev.Endpoint,
                Pool = ev.Pool,
                Address = ev.Address,
                Port = ev.Port,
                Member = ev.Member,
                Round = ev.Round,
                Channel = channel.Name,
                Reason = $"{ev.Type}: {ev.Reason}",
                Applied = true,
            };
            try
            {
                string body = Format(channel, ev, source);
                var http = ResilientHttp.For(channel.Uri, _transport);
                // Retry lines would print the webhook URL, which is a secret: they are told without it.
                string secret = channel.Uri.GetLeftPart(UriPartial.Path);
                var quiet = new RedactingLog(log, line => line.Replace(secret, channel.Name));
                // Alerts are delivered at least once: a webhook that answered 5xx is posted again, since a
                // duplicate alert costs a glance and a lost one costs the night (PagerDuty also deduplicates by key).
                var kind = RequestKind.IdempotentWrite;
                using var response = await http.SendAsync(() => new HttpRequestMessage(HttpMethod.Post, channel.Uri)
                {
                    Content = new StringContent(body, Encoding.UTF8, "application/json"),
                }, kind, quiet, cancellationToken).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    sent.Success = false;
                    sent.Error = $"{channel.Name} answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}.";
                }
            }
            catch (LbException ex)
            {
                sent.Success = false;
                sent.Error = $"{channel.Name} could not be reached ({ex.Kind}{(ex.Ambiguous ? ", may have been delivered" : "")}).";
            }
            if (!sent.Success) log.Warning($"Alert to {channel.Name} failed: {sent.Error} Remediation goes on.");
            return sent;
        }

        /// <summary>One key per member and pool, so PagerDuty folds repeats into one incident and a restore resolves it.</summary>
        public static string DedupKey(string source, LbRemediationEvent ev) =>
            $"lbtools:{source}:{ev.Pool}:{(ev.Address != null ? ev.Address + ":" + ev.Port : "pool")}";

        internal static string Title(LbRemediationEvent ev)
        {
            string who = ev.Member != null ? $"{ev.Pool}/{ev.Member}" : ev.Pool;
            if (ev.StateStore != null)
            {
                return ev.Type == LbRemediationEventType.Restored ? $"LoadBalancerTools can use the state store {ev.StateStore} again"
                    : $"LoadBalancerTools cannot use the state store {ev.StateStore} (pools left alone: {ev.Pool})";
            }
            switch (ev.Type)
            {
                case LbRemediationEventType.Ejected: return $"LoadBalancerTools ejected {who}";
                case LbRemediationEventType.Restored: return $"LoadBalancerTools restored {who}";
                case LbRemediationEventType.ApiFailure: return $"LoadBalancerTools cannot reach the load balancer for {ev.Pool}";
                case LbRemediationEventType.Skipped: return $"LoadBalancerTools did not act on {who}";
                default: return $"LoadBalancerTools {ev.Type} {who}";
            }
        }

        private static string Format(LbAlertChannel channel, LbRemediationEvent ev, string source)
        {
            string title = Title(ev);
            string reason = Util.UrlRedaction.Redact(ev.Reason);
            string text = $"{title}: {reason}";
            switch (channel.Type)
            {
                case LbAlertChannelType.Slack:
                    return JsonSerializer.Serialize(new Dictionary<string, object> { ["text"] = text });
                case LbAlertChannelType.Teams:
                    return JsonSerializer.Serialize(new Dictionary<string, object>
                    {
                        ["@type"] = "MessageCard",
                        ["@context"] = "https://schema.org/extensions",
                        ["summary"] = title,
                        ["themeColor"] = ev.Type == LbRemediationEventType.Restored ? "2EB886" : "D7000C",
                        ["title"] = title,
                        ["text"] = reason,
                    });
                case LbAlertChannelType.PagerDuty:
                    bool resolve = ev.Type == LbRemediationEventType.Restored;
                    var message = new Dictionary<string, object>
                    {
                        ["routing_key"] = channel.RoutingKey ?? "",
                        ["event_action"] = resolve ? "resolve" : "trigger",
                        ["dedup_key"] = DedupKey(source, ev),
                    };
                    if (!resolve)
                    {
                        message["payload"] = new Dictionary<string, object?>
                        {
                            ["summary"] = text.Length > 1024 ? text.Substring(0, 1024) : text,
                            ["source"] = source,
                            ["severity"] = ev.Type == LbRemediationEventType.Ejected || ev.Type == LbRemediationEventType.ApiFailure ? "error" : "warning",
                            ["component"] = ev.Member,
                            ["group"] = ev.Pool,
                            ["class"] = ev.Type.ToString(),
                            ["custom_details"] = new Dictionary<string, object?> { ["reason"] = reason, ["address"] = ev.Address, ["port"] = ev.Port, ["round"] = ev.Round },
                        };
                    }
                    return JsonSerializer.Serialize(message);
                default:
                    return JsonSerializer.Serialize(new Dictionary<string, object?>
                    {
                        ["source"] = source,
                        ["title"] = title,
                        ["event"] = Journal.ToJsonObject(ev),
                    });
            }
        }
    }
}
