using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation.Runspaces;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;

namespace LoadBalancerTools.Session
{
    /// <summary>Connections per runspace, so parallel runspaces in one process (runbooks, tests) never share a default.</summary>
    internal static class ConnectionStore
    {
        private sealed class Slot
        {
            public readonly List<LbConnection> All = new List<LbConnection>();
            public LbConnection? Default;
        }

        private static readonly ConcurrentDictionary<Guid, Slot> Slots = new ConcurrentDictionary<Guid, Slot>();

        private static Slot Current()
        {
            var runspace = Runspace.DefaultRunspace;
            Guid key = runspace?.InstanceId ?? Guid.Empty;
            return Slots.GetOrAdd(key, _ =>
            {
                if (runspace != null)
                {
                    runspace.StateChanged += (s, e) =>
                    {
                        // A closed runspace's connections can never be used again: release their providers.
                        if (e.RunspaceStateInfo.State == RunspaceState.Closed && Slots.TryRemove(key, out Slot? closed))
                        {
                            lock (closed) foreach (var connection in closed.All) ConnectionService.Forget(connection);
                        }
                    };
                }
                return new Slot();
            });
        }

        public static void Add(LbConnection connection)
        {
            var slot = Current();
            lock (slot)
            {
                slot.All.Add(connection);
                if (slot.Default != null) slot.Default.IsDefault = false;
                slot.Default = connection;
                connection.IsDefault = true;
            }
        }

        public static LbConnection? Default
        {
            get
            {
                var slot = Current();
                lock (slot) return slot.Default;
            }
        }

        public static IReadOnlyList<LbConnection> All
        {
            get
            {
                var slot = Current();
                lock (slot) return slot.All.ToList();
            }
        }

        public static void Remove(LbConnection connection)
        {
            var slot = Current();
            lock (slot)
            {
                slot.All.Remove(connection);
                connection.IsDefault = false;
                if (ReferenceEquals(slot.Default, connection))
                {
                    slot.Default = slot.All.LastOrDefault();
                    if (slot.Default != null) slot.Default.IsDefault = true;
                }
            }
        }
    }
}
