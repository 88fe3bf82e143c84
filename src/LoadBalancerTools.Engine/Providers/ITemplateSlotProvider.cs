using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Providers
{
    /// <summary>
    /// A vendor whose pools can have pre-declared member slots to fill and empty instead of creating and deleting
    /// members (HAProxy server-template: the usual scaling pattern, and the only one for static algorithms).
    /// </summary>
    public interface ITemplateSlotProvider
    {
        /// <summary>Puts the member in a free slot of the pool; NotFound (LbConflict) when no slot is free.</summary>
        Task<LbPoolMember> FillSlotAsync(string pool, LbMemberSpec spec, ILbLog log, CancellationToken cancellationToken);

        /// <summary>Takes the member out of rotation and gives its slot back (maintenance, placeholder address).</summary>
        Task ReturnSlotAsync(LbPoolMember member, ILbLog log, CancellationToken cancellationToken);
    }
}
