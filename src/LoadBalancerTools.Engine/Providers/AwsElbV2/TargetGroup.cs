using System;
using System.Linq;
using System.Net;
using System.Xml.Linq;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Providers.AwsElbV2
{
    /// <summary>What the provider keeps of a target group: enough to address it and describe it.</summary>
    internal sealed class TargetGroup
    {
        public TargetGroup(string arn, string name)
        {
            Arn = arn;
            Name = name;
        }

        public string Arn { get; }
        public string Name { get; }
        public string? Protocol { get; set; }
        public int? Port { get; set; }
        /// <summary>instance, ip, lambda or alb.</summary>
        public string? TargetType { get; set; }
        public int LoadBalancerCount { get; set; }
        public object? Raw { get; set; }

        public static TargetGroup? FromXml(XElement element)
        {
            string? arn = element.Text("TargetGroupArn");
            string? name = element.Text("TargetGroupName");
            if (arn == null || name == null) return null;
            return new TargetGroup(arn, name)
            {
                Protocol = element.Text("Protocol"),
                Port = element.Int("Port"),
                TargetType = element.Text("TargetType"),
                LoadBalancerCount = element.Members("LoadBalancerArns").Count(),
                Raw = ElbV2Xml.ToRaw(element),
            };
        }

        public string Describe() =>
            $"{TargetType ?? "instance"} targets, {Protocol ?? "?"}:{(Port.HasValue ? Port.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-")}" +
            (LoadBalancerCount == 0 ? ", not used by a load balancer" : "") + ", " + Arn;
    }

    /// <summary>How ELBv2 target health maps to the model.</summary>
    internal static class TargetHealthMap
    {
        /// <summary>
        /// The target's state decides both fields: ELBv2 has no administrative state besides registered
        /// and deregistering (draining). "unused" (registered, but the group serves no load balancer, or the
        /// instance is stopped) stays Enabled: the target is in the group and takes traffic once it can;
        /// its health is Unknown because nothing checks it.
        /// </summary>
        public static (LbMemberState State, LbMemberHealth Health) Map(string? state)
        {
            switch (state)
            {
                case "healthy": return (LbMemberState.Enabled, LbMemberHealth.Healthy);
                case "unhealthy": return (LbMemberState.Enabled, LbMemberHealth.Unhealthy);
                case "initial": return (LbMemberState.Enabled, LbMemberHealth.Checking);
                case "draining": return (LbMemberState.Draining, LbMemberHealth.Unknown);
                case "unhealthy.draining": return (LbMemberState.Draining, LbMemberHealth.Unhealthy);
                default: return (LbMemberState.Enabled, LbMemberHealth.Unknown); // unused, unavailable, anything new
            }
        }

        /// <summary>A target that DescribeTargetHealth reports only because it was asked about: not a member.</summary>
        public static bool IsNotRegistered(string? state, string? reason) =>
            state == "unused" && reason == "Target.NotRegistered";

        /// <summary>IP targets in the canonical form the cmdlets use; instance ids and ARNs as they are.</summary>
        public static string NormalizeId(string id) =>
            (id.IndexOf('.') >= 0 || id.IndexOf(':') >= 0) && IPAddress.TryParse(id, out var ip) ? ip.ToString().ToLowerInvariant() : id;
    }
}
