using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Model;

namespace LoadBalancerTools.Services
{
    public enum ProbeProtocol
    {
        Http,
        Https,
        Tcp,
    }

    /// <summary>How to probe a member from the outside.</summary>
    public sealed class ProbeOptions
    {
        public ProbeProtocol Protocol { get; set; } = ProbeProtocol.Http;
        public string Path { get; set; } = "/";
        /// <summary>Status codes that count as healthy; empty means 200–399.</summary>
        public IReadOnlyCollection<int> ExpectedStatus { get; set; } = Array.Empty<int>();
        /// <summary>A regular expression the body must match, when given.</summary>
        public string? BodyMatch { get; set; }
        public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
        /// <summary>Probe this port instead of the member's (a separate health port).</summary>
        public int? Port { get; set; }
        public string? HostHeader { get; set; }
        public bool SkipCertificateCheck { get; set; }
        public int ThrottleLimit { get; set; } = 16;
    }

    /// <summary>
    /// Probes members directly (not through the load balancer), with bounded parallelism. A probe is a
    /// measurement, so it is never retried: a failure is the answer.
    /// </summary>
    public sealed class ProbeService
    {
        private static readonly HttpClient Strict = CreateClient(false);
        private static readonly HttpClient Lax = CreateClient(true);
        private readonly TimeProvider _time;

        public ProbeService() : this(TimeProvider.System) { }

        public ProbeService(TimeProvider time) => _time = time;

        /// <param name="sharedGate">Bounds probes across several calls (remediation of many pools shares one -ThrottleLimit); null for a gate of this call's own.</param>
        public async Task<IReadOnlyList<LbProbeResult>> ProbeAllAsync(IReadOnlyList<LbPoolMember> members, ProbeOptions options, CancellationToken cancellationToken, SemaphoreSlim? sharedGate = null)
        {
            using var own = sharedGate == null ? new SemaphoreSlim(Math.Max(1, options.ThrottleLimit)) : null;
            var gate = sharedGate ?? own!;
            var tasks = members.Select(async m =>
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try { return await ProbeAsync(m, options, cancellationToken).ConfigureAwait(false); }
                finally { gate.Release(); }
            });
            return await Task.WhenAll(tasks).ConfigureAwait(false);
        }

        public async Task<LbProbeResult> ProbeAsync(LbPoolMember member, ProbeOptions options, CancellationToken cancellationToken)
        {
            int port = options.Port ?? member.Port;
            string host = LbPoolMember.FormatEndpoint(member.Address, port);
            var result = new LbProbeResult
            {
                Pool = member.Pool,
                Address = member.Address,
                Port = member.Port,
                Name = member.Name,
                Connection = member.Connection,
                Timestamp = _time.GetUtcNow(),
            };
            long start = Stopwatch.GetTimestamp();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Timeout);
            try
            {
                if (options.Protocol == ProbeProtocol.Tcp)
                {
                    result.Target = "tcp://" + host;
                    await ConnectAsync(member.Address, port, timeout.Token).ConfigureAwait(false);
                    result.Success = true;
                }
                else
                {
                    string scheme = options.Protocol == ProbeProtocol.Https ? "https" : "http";
                    string path = options.Path.StartsWith("/", StringComparison.Ordinal) ? options.Path : "/" + options.Path;
                    string url = $"{scheme}://{host}{path}";
                    // The probe result (and every event, journal line and alert built from it) shows the URL without its query.
                    result.Target = Util.UrlRedaction.Redact(url);
                    using var request = new HttpRequestMessage(HttpMethod.Get, url);
                    if (options.HostHeader != null) request.Headers.Host = options.HostHeader;
                    var client = options.SkipCertificateCheck ? Lax : Strict;
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
                    result.StatusCode = (int)response.StatusCode;
                    bool statusOk = options.ExpectedStatus.Count == 0
                        ? result.StatusCode >= 200 && result.StatusCode < 400
                        : options.ExpectedStatus.Contains(result.StatusCode.Value);
                    if (!statusOk)
                    {
                        result.Error = string.Format(CultureInfo.InvariantCulture, "HTTP {0}, expected {1}", result.StatusCode,
                            options.ExpectedStatus.Count == 0 ? "200-399" : string.Join(",", options.ExpectedStatus));
                    }
                    else if (options.BodyMatch != null)
                    {
                        string body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                        if (!Regex.IsMatch(body, options.BodyMatch, RegexOptions.None, TimeSpan.FromSeconds(1)))
                        {
                            result.Error = $"body does not match '{options.BodyMatch}'";
                        }
                    }
                    result.Success = result.Error == null;
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                result.Error = $"no answer within {options.Timeout.TotalSeconds:0.#} s";
            }
            catch (Exception ex) when (ex is HttpRequestException || ex is SocketException || ex is System.IO.IOException)
            {
                result.Error = Innermost(ex).Message;
            }
            result.LatencyMs = Math.Round((Stopwatch.GetTimestamp() - start) * 1000.0 / Stopwatch.Frequency, 2);
            return result;
        }

        private static async Task ConnectAsync(string address, int port, CancellationToken cancellationToken)
        {
            using var client = new TcpClient();
            using (cancellationToken.Register(() => client.Dispose()))
            {
                try
                {
                    await client.ConnectAsync(address, port).ConfigureAwait(false);
                }
                catch (ObjectDisposedException) when (cancellationToken.IsCancellationRequested)
                {
                    throw new OperationCanceledException(cancellationToken);
                }
            }
        }

        private static Exception Innermost(Exception ex)
        {
            while (ex.InnerException != null) ex = ex.InnerException;
            return ex;
        }

        private static HttpClient CreateClient(bool skipCertificateCheck)
        {
            var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
            if (skipCertificateCheck) handler.ServerCertificateCustomValidationCallback = (_, _, _, _) => true;
            return new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        }
    }
}
