using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Providers
{
    /// <summary>
    /// A vendor whose members sit on separate node objects that outlive them (F5 BIG-IP): removing a member
    /// leaves its node behind unless it is deleted too.
    /// </summary>
    public interface INodeProvider
    {
        /// <summary>Deletes the member's node when nothing else uses it; returns false (and says why) when it is kept.</summary>
        Task<bool> RemoveNodeIfUnusedAsync(LbPoolMember member, ILbLog log, CancellationToken cancellationToken);
    }
}
