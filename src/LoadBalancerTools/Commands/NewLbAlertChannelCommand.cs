using System;
using System.Management.Automation;
using LoadBalancerTools.Alerts;
using LoadBalancerTools.Credentials;
using LoadBalancerTools.Errors;

namespace LoadBalancerTools.Commands
{
    /// <summary>Describes where remediation alerts go: Slack, Teams, PagerDuty or a generic JSON webhook; the URL or key may come from a vault.</summary>
    [Cmdlet(VerbsCommon.New, "LbAlertChannel", DefaultParameterSetName = Direct)]
    [OutputType(typeof(LbAlertChannel))]
    public sealed class NewLbAlertChannelCommand : LbCmdlet
    {
        private const string Direct = "Direct";
        private const string FromSecret = "Secret";

        [Parameter(Mandatory = true, Position = 0)]
        public LbAlertChannelType Type { get; set; }

        /// <summary>The webhook URL (Slack, Teams, Webhook); for PagerDuty, an Events API endpoint other than the public one.</summary>
        [Parameter(Position = 1)]
        public Uri? Uri { get; set; }

        /// <summary>The PagerDuty integration (routing) key.</summary>
        [Parameter(ParameterSetName = Direct)]
        public string? RoutingKey { get; set; }

        /// <summary>A SecretManagement secret holding the webhook URL (or, for PagerDuty, the routing key).</summary>
        [Parameter(Mandatory = true, ParameterSetName = FromSecret)]
        [ValidateNotNullOrEmpty]
        public string? SecretName { get; set; }

        [Parameter(ParameterSetName = FromSecret)]
        public string? Vault { get; set; }

        /// <summary>How events and messages name this channel (default: type and source, such as "Slack (Uri)").</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Name { get; set; }

        protected override void ProcessRecord()
        {
            try
            {
                string secret;
                string source;
                if (SecretName != null)
                {
                    secret = SecretManagementResolver.ResolveText(this, SecretName, Vault);
                    source = "secret " + SecretName;
                }
                else if (Type == LbAlertChannelType.PagerDuty)
                {
                    secret = RoutingKey ?? throw new LbException(LbErrorKind.InvalidInput, "A PagerDuty channel needs -RoutingKey or -SecretName.") { ErrorId = ErrorIds.InvalidEndpoint };
                    source = "RoutingKey";
                }
                else
                {
                    secret = Uri?.OriginalString ?? throw new LbException(LbErrorKind.InvalidInput, $"A {Type} channel needs -Uri or -SecretName.") { ErrorId = ErrorIds.InvalidEndpoint };
                    source = "Uri";
                }
                var endpoint = Type == LbAlertChannelType.PagerDuty ? Uri : null;
                WriteObject(LbAlertChannel.Create(Type, secret, endpoint, source, Name));
            }
            catch (LbException ex)
            {
                ThrowLbError(ex, Type);
            }
        }
    }
}
