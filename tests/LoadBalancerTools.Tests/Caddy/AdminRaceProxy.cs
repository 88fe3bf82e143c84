using System;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using LoadBalancerTools.TestKit;

namespace LoadBalancerTools.Tests.Caddy
{
    /// <summary>
    /// Forwards requests to Caddy's admin API; before the first POST to a path it makes a write of its
    /// own, as a concurrent writer would. Caddy 2.6 sends the ETag as a trailer; the proxy hands it on
    /// as a header, which the module accepts as well.
    /// </summary>
    internal sealed class AdminRaceProxy : IAsyncDisposable
    {
        private WebApplication _app = null!;
        private int _interventions;

        public Uri Url { get; private set; } = null!;
        public int Interventions => Volatile.Read(ref _interventions);

        public static async Task<AdminRaceProxy> StartAsync(Uri admin, string racedPath, string competingBody)
        {
            var proxy = new AdminRaceProxy();
            var client = new HttpClient { BaseAddress = admin };
            var (app, port) = await LoopbackServer.StartAsync(a => a.Run(async context =>
            {
                string path = context.Request.Path + context.Request.QueryString;
                if (context.Request.Method == "POST" && context.Request.Path == racedPath && Interlocked.CompareExchange(ref proxy._interventions, 1, 0) == 0)
                {
                    using var competing = await client.PostAsync(racedPath, new StringContent(competingBody, Encoding.UTF8, "application/json"));
                    competing.EnsureSuccessStatusCode();
                }
                using var forward = new HttpRequestMessage(new HttpMethod(context.Request.Method), path);
                if (context.Request.ContentLength > 0 || context.Request.Headers.ContainsKey("Transfer-Encoding"))
                {
                    var body = new System.IO.MemoryStream();
                    await context.Request.Body.CopyToAsync(body);
                    forward.Content = new ByteArrayContent(body.ToArray());
                    forward.Content.Headers.TryAddWithoutValidation("Content-Type", context.Request.ContentType ?? "application/json");
                }
                if (context.Request.Headers.TryGetValue("If-Match", out var ifMatch)) forward.Headers.TryAddWithoutValidation("If-Match", ifMatch.ToString());
                using var response = await client.SendAsync(forward);
                byte[] payload = await response.Content.ReadAsByteArrayAsync();
                context.Response.StatusCode = (int)response.StatusCode;
                var etag = response.Headers.ETag?.ToString() ?? (response.TrailingHeaders.TryGetValues("ETag", out var t) ? t.First() : null);
                if (etag != null) context.Response.Headers.ETag = etag;
                context.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
                await context.Response.Body.WriteAsync(payload);
            }));
            proxy._app = app;
            proxy.Url = new Uri($"http://127.0.0.1:{port}/");
            return proxy;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
