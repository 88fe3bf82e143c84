using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Providers
{
    /// <summary>
    /// One vendor's management API. Maps vendor records to the model and vendor errors to
    /// <see cref="Errors.LbException"/> kinds. Providers do one API operation per call; idempotence,
    /// draining and verification live in the services above them.
    /// </summary>
    public interface ILbProvider : IDisposable
    {
        string ProviderName { get; }
        /// <summary>The API version negotiated at connect, when the vendor has one.</summary>
        string? ApiVersion { get; }
        LbCapabilities Capabilities { get; }

        /// <summary>Authenticates and negotiates; fails with AuthenticationFailed or Unreachable.</summary>
        Task ConnectAsync(ILbLog log, CancellationToken cancellationToken);
        /// <summary>Releases server-side sessions or tokens.</summary>
        Task DisconnectAsync(ILbLog log, CancellationToken cancellationToken);

        Task<IReadOnlyList<LbPool>> GetPoolsAsync(ILbLog log, CancellationToken cancellationToken);
        /// <summary>Members with state and health; NotFound when the pool does not exist.</summary>
        Task<IReadOnlyList<LbPoolMember>> GetMembersAsync(string pool, ILbLog log, CancellationToken cancellationToken);
        /// <summary>Creates the member; AlreadyExists when the vendor says so. Ambiguous failures are thrown as such, never retried here.</summary>
        Task<LbPoolMember> AddMemberAsync(string pool, LbMemberSpec spec, ILbLog log, CancellationToken cancellationToken);
        /// <summary>Deletes the member; NotFound when it is already gone.</summary>
        Task RemoveMemberAsync(LbPoolMember member, ILbLog log, CancellationToken cancellationToken);
        /// <summary>Applies state and weight changes; NotSupported for what the vendor cannot do.</summary>
        Task<LbPoolMember> UpdateMemberAsync(LbPoolMember member, LbMemberUpdate update, ILbLog log, CancellationToken cancellationToken);
    }
}
