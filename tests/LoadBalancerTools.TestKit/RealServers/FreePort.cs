using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;

namespace LoadBalancerTools.TestKit.RealServers;

/// <summary>Free TCP ports on 127.0.0.1, never a fixed or default one.</summary>
public static class FreePort
{
    private static readonly object Gate = new();
    // Ports handed out lately: a port released by us is free again for the kernel, so two quick
    // calls (a frontend and an admin port) could otherwise get the same number.
    private static readonly Queue<int> Recent = new();
    private static readonly HashSet<int> RecentSet = new();
    private const int RecentLimit = 256;

    /// <summary>Binds 127.0.0.1:0, reads the port the kernel chose and releases it.</summary>
    public static int Next()
    {
        lock (Gate)
        {
            for (var attempt = 0; ; attempt++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (RecentSet.Contains(port) && attempt < 20)
                {
                    continue;
                }

                Recent.Enqueue(port);
                RecentSet.Add(port);
                if (Recent.Count > RecentLimit)
                {
                    RecentSet.Remove(Recent.Dequeue());
                }

                return port;
            }
        }
    }

    /// <summary>True when something accepts TCP connections on 127.0.0.1:<paramref name="port"/>.</summary>
    public static bool IsListening(int port)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            client.Connect(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
