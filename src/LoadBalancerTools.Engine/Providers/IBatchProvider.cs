using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Providers
{
    /// <summary>
    /// A provider that adds or removes many members per API call (it declares
    /// <see cref="LbCapabilities.BatchChanges"/>). One member the vendor refuses comes back as that
    /// member's error and does not fail the others; what fails the whole pool (not found, credentials,
    /// throttling that outlasts the retries) is thrown. Idempotence stays with the caller, as for single calls.
    /// </summary>
    public interface IBatchProvider
    {
        /// <summary>Most members one API call carries; longer lists are split into calls of this size.</summary>
        int MaxBatchSize { get; }

        Task<IReadOnlyList<LbBatchResult>> AddMembersAsync(string pool, IReadOnlyList<LbMemberSpec> specs, ILbLog log, CancellationToken cancellationToken);

        Task<IReadOnlyList<LbBatchResult>> RemoveMembersAsync(string pool, IReadOnlyList<LbPoolMember> members, ILbLog log, CancellationToken cancellationToken);
    }

    /// <summary>What happened to one member of a batch.</summary>
    public sealed class LbBatchResult
    {
        public LbBatchResult(string address, int port, LbException? error = null)
        {
            Address = address;
            Port = port;
            Error = error;
        }

        public string Address { get; }
        public int Port { get; }
        /// <summary>Null when the change was applied.</summary>
        public LbException? Error { get; }
        public bool Succeeded => Error == null;

        public override string ToString() => LbPoolMember.FormatEndpoint(Address, Port) + (Error == null ? " ok" : " failed: " + Error.Message);
    }
}
