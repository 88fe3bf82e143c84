using System;
using System.Collections.Concurrent;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Logging;

namespace LoadBalancerTools.Providers.HAProxy
{
    /// <summary>
    /// The HAProxy Runtime API over TCP (tcp://host:port) or a unix socket (unix:///path): one connection
    /// per batch of commands separated by ';', answered in plain text until HAProxy closes the connection.
    /// </summary>
    internal sealed class HaproxyRuntimeClient
    {
        private static readonly ConcurrentDictionary<string, ResilientPipeline<string>> Pipelines = new ConcurrentDictionary<string, ResilientPipeline<string>>();
        private readonly Uri _endpoint;
        private readonly ResilientPipeline<string> _pipeline;

        public HaproxyRuntimeClient(Uri endpoint, TransportOptions options)
        {
            if (endpoint.Scheme != "tcp" && endpoint.Scheme != "unix")
            {
                throw new LbException(LbErrorKind.InvalidInput,
                    $"-Endpoint '{endpoint}' is not a Runtime API address: use tcp://127.0.0.1:9999 or unix:///run/haproxy/admin.sock.") { ErrorId = ErrorIds.InvalidEndpoint };
            }
            if (endpoint.Scheme == "tcp" && endpoint.Port <= 0)
            {
                throw new LbException(LbErrorKind.InvalidInput, $"-Endpoint '{endpoint}' has no port: use tcp://host:port.") { ErrorId = ErrorIds.InvalidEndpoint };
            }
            _endpoint = endpoint;
            _pipeline = Pipelines.GetOrAdd(options.CacheKey(endpoint) + endpoint.AbsolutePath, _ => new ResilientPipeline<string>(options, new ResiliencePolicy<string>
            {
                // A refused connection never reached HAProxy; a connection lost mid-answer may have applied a change.
                ShouldRetry = (o, kind) => o.Exception is SocketException se && se.SocketErrorCode == SocketError.ConnectionRefused
                                           || (o.Exception is IOException || o.Exception is SocketException) && kind == RequestKind.Read,
                IsFailure = o => o.Exception is IOException || o.Exception is SocketException,
            }, options.SharedLimiter(endpoint)));
        }

        /// <summary>Runs the commands (joined by ';') and returns HAProxy's whole answer.</summary>
        public async Task<string> SendAsync(string commands, RequestKind kind, ILbLog log, CancellationToken cancellationToken)
        {
            string first = commands.Split(' ')[0];
            log.Debug("runtime API: " + commands);
            try
            {
                return await _pipeline.ExecuteAsync($"'{Shorten(commands)}' on {_endpoint}", kind, log, ct => ExchangeAsync(commands, ct), cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                bool refused = ex.SocketErrorCode == SocketError.ConnectionRefused || ex.SocketErrorCode == SocketError.AddressNotAvailable;
                throw new LbException(LbErrorKind.Unreachable,
                    $"Cannot reach the HAProxy Runtime API at {_endpoint} ({ex.SocketErrorCode}). Is 'stats socket … level admin' configured and HAProxy running?", inner: ex)
                { Ambiguous = !refused && kind != RequestKind.Read };
            }
            catch (IOException ex)
            {
                throw new LbException(LbErrorKind.Transient, $"The HAProxy Runtime API at {_endpoint} closed the connection during '{first}': {ex.Message}", inner: ex)
                { Ambiguous = kind != RequestKind.Read };
            }
        }

        private static string Shorten(string s) => s.Length <= 80 ? s : s.Substring(0, 77) + "...";

        private async Task<string> ExchangeAsync(string commands, CancellationToken cancellationToken)
        {
            using var socket = _endpoint.Scheme == "unix"
                ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                : new Socket(SocketType.Stream, ProtocolType.Tcp);
            using (cancellationToken.Register(() => socket.Dispose()))
            {
                try
                {
                    await socket.ConnectAsync(EndPoint()).ConfigureAwait(false);
                    byte[] request = Encoding.ASCII.GetBytes(commands + "\n");
                    await socket.SendAsync(new ArraySegment<byte>(request), SocketFlags.None).ConfigureAwait(false);
                    var answer = new StringBuilder();
                    var buffer = new byte[16384];
                    while (true)
                    {
                        int read = await socket.ReceiveAsync(new ArraySegment<byte>(buffer), SocketFlags.None).ConfigureAwait(false);
                        if (read == 0) break;
                        answer.Append(Encoding.UTF8.GetString(buffer, 0, read));
                    }
                    return answer.ToString();
                }
                catch (ObjectDisposedException) when (cancellationToken.IsCancellationRequested)
                {
                    throw new OperationCanceledException(cancellationToken);
                }
            }
        }

        private EndPoint EndPoint()
        {
            if (_endpoint.Scheme == "tcp")
            {
                return IPAddress.TryParse(_endpoint.Host.Trim('[', ']'), out var ip)
                    ? new IPEndPoint(ip, _endpoint.Port)
                    : (EndPoint)new DnsEndPoint(_endpoint.Host, _endpoint.Port);
            }
            // UnixDomainSocketEndPoint exists on PowerShell 7's runtime but not in netstandard2.0's surface.
            var type = Type.GetType("System.Net.Sockets.UnixDomainSocketEndPoint, System.Net.Sockets")
                ?? throw new LbException(LbErrorKind.NotSupported, "Unix sockets need PowerShell 7; use a tcp:// Runtime API address on Windows PowerShell.");
            return (EndPoint)Activator.CreateInstance(type, Uri.UnescapeDataString(_endpoint.AbsolutePath))!;
        }
    }
}
