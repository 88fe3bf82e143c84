using System;
using System.Collections.Generic;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Tests.Contract
{
    /// <summary>A load balancer (emulated or real) prepared for the provider contract suite.</summary>
    public interface IContractTarget : IAsyncDisposable
    {
        /// <summary>PowerShell that connects and makes the connection the default (its output is discarded).</summary>
        string ConnectScript { get; }
        /// <summary>A pool that holds exactly <see cref="SeededMembers"/> when the test starts.</summary>
        string Pool { get; }
        IReadOnlyList<(string Address, int Port)> SeededMembers { get; }
        /// <summary>Members the tests may add (not in the pool at start).</summary>
        IReadOnlyList<(string Address, int Port)> NewMembers { get; }
        /// <summary>What the provider should declare on its connection.</summary>
        LbCapabilities Capabilities { get; }
        /// <summary>
        /// Makes the load balancer hold a member its API lists but will not change (NGINX Plus: created by DNS
        /// resolution; F5: ephemeral) and returns it; null where the vendor has no such members.
        /// </summary>
        (string Address, int Port)? AddReadOnlyMember() => null;
    }
}
