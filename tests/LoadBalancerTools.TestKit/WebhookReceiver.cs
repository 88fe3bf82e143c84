using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancerTools.TestKit
{
    /// <summary>
    /// A local stand-in for Slack, Teams, PagerDuty and generic webhooks: records every POST by path
    /// and answers with the status set for that path (202 by default), so tests assert what alerts said.
    /// </summary>
    public sealed class WebhookReceiver : IAsyncDisposable
    {
        private readonly List<(string Path, string Body)> _received = new List<(string, string)>();
        private readonly Dictionary<string, int> _status = new Dictionary<string, int>(StringComparer.Ordinal);
        private WebApplication _app = null!;

        public Uri BaseUrl { get; private set; } = null!;

        public Uri Url(string path) => new Uri(BaseUrl, path.TrimStart('/'));

        public static async Task<WebhookReceiver> StartAsync()
        {
            var receiver = new WebhookReceiver();
            var (app, port) = await LoopbackServer.StartAsync(a => a.Run(async context =>
            {
                using var reader = new StreamReader(context.Request.Body);
                string body = await reader.ReadToEndAsync();
                string path = context.Request.Path.Value ?? "/";
                int status;
                lock (receiver._received)
                {
                    receiver._received.Add((path, body));
                    status = receiver._status.TryGetValue(path, out var s) ? s : 202;
                }
                context.Response.StatusCode = status;
                await context.Response.WriteAsync(status < 300 ? "{\"status\":\"success\"}" : "{\"status\":\"error\"}");
            }));
            receiver.BaseUrl = new Uri($"http://127.0.0.1:{port}/");
            receiver._app = app;
            return receiver;
        }

        /// <summary>Makes the receiver answer this status for a path (e.g. 500 to prove a failed alert is reported and does not stop remediation).</summary>
        public void Respond(string path, int status)
        {
            lock (_received) _status[path] = status;
        }

        public IReadOnlyList<(string Path, string Body)> Received
        {
            get { lock (_received) return _received.ToList(); }
        }

        public IReadOnlyList<JsonElement> Json(string path) =>
            Received.Where(r => r.Path == path).Select(r => JsonDocument.Parse(r.Body).RootElement.Clone()).ToList();

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
