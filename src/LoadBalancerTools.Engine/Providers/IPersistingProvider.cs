using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Logging;

namespace LoadBalancerTools.Providers
{
    /// <summary>
    /// A vendor whose API changes the running configuration only, with a separate step that makes changes last:
    /// NetScaler's save (nsconfig?action=save) and F5's config-sync to a device group. Run once per cmdlet
    /// invocation that changed something, never per member.
    /// </summary>
    public interface IPersistingProvider
    {
        /// <summary>What <see cref="PersistAsync"/> does on this connection ("save the running configuration"), or null when it is switched off.</summary>
        string? PersistAction { get; }

        Task PersistAsync(ILbLog log, CancellationToken cancellationToken);
    }
}
