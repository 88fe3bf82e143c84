using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Logging;

namespace LoadBalancerTools.Http
{
    /// <summary>A JSON API at one base address, over the endpoint's resilient pipeline.</summary>
    public sealed class JsonApiClient
    {

        private readonly Uri _base;
        private readonly ResilientHttp _http;
        private readonly Action<HttpRequestMessage>? _authenticate;
        private readonly Func<ApiResponse, LbException> _mapError;
        private SessionAuth? _session;

        /// <param name="baseUri">Ends with '/'; relative paths are resolved against it.</param>
        /// <param name="authenticate">Adds credentials to each attempt's request; never logs them.</param>
        /// <param name="mapError">Turns a non-success response into the vendor's typed error.</param>
        public JsonApiClient(Uri baseUri, ResilientHttp http, Action<HttpRequestMessage>? authenticate, Func<ApiResponse, LbException> mapError)
        {
            _base = baseUri;
            _http = http;
            _authenticate = authenticate;
            _mapError = mapError;
        }

        public Uri BaseUri => _base;

        /// <summary>
        /// Sends every request with a session token; when a response shows the session expired, the
        /// session is renewed once and that request replayed once.
        /// </summary>
        public void UseSession(ApiSession session, Action<HttpRequestMessage, string> apply, Func<ApiResponse, bool> isExpired) =>
            _session = new SessionAuth(session, apply, isExpired);

        private sealed class SessionAuth
        {
            public SessionAuth(ApiSession session, Action<HttpRequestMessage, string> apply, Func<ApiResponse, bool> isExpired)
            {
                Session = session;
                Apply = apply;
                IsExpired = isExpired;
            }

            public ApiSession Session { get; }
            public Action<HttpRequestMessage, string> Apply { get; }
            public Func<ApiResponse, bool> IsExpired { get; }
        }

        /// <summary>Sends and returns the parsed body (an undefined element when empty); non-success statuses throw the mapped error.</summary>
        public async Task<JsonElement> SendAsync(HttpMethod method, string relativePath, string? jsonBody, RequestKind kind, ILbLog log, CancellationToken cancellationToken,
            Action<HttpRequestMessage>? customize = null)
        {
            var response = await SendRawAsync(method, relativePath, jsonBody, kind, log, cancellationToken, customize).ConfigureAwait(false);
            if (!response.IsSuccess) throw _mapError(response);
            return response.Json();
        }

        /// <summary>Sends and returns status and body without judging them.</summary>
        public async Task<ApiResponse> SendRawAsync(HttpMethod method, string relativePath, string? jsonBody, RequestKind kind, ILbLog log, CancellationToken cancellationToken,
            Action<HttpRequestMessage>? customize = null)
        {
            var session = _session;
            if (session == null) return await SendOnceAsync(method, relativePath, jsonBody, kind, log, customize, cancellationToken).ConfigureAwait(false);

            string token = await session.Session.GetTokenAsync(log, cancellationToken).ConfigureAwait(false);
            var response = await SendOnceAsync(method, relativePath, jsonBody, kind, log, r => { session.Apply(r, token); customize?.Invoke(r); }, cancellationToken).ConfigureAwait(false);
            if (!session.IsExpired(response)) return response;
            // An expired session rejected the request before acting on it, so replaying it once is safe.
            string renewed = await session.Session.RenewAsync(token, log, cancellationToken).ConfigureAwait(false);
            return await SendOnceAsync(method, relativePath, jsonBody, kind, log, r => { session.Apply(r, renewed); customize?.Invoke(r); }, cancellationToken).ConfigureAwait(false);
        }

        private async Task<ApiResponse> SendOnceAsync(HttpMethod method, string relativePath, string? jsonBody, RequestKind kind, ILbLog log,
            Action<HttpRequestMessage>? customize, CancellationToken cancellationToken)
        {
            var uri = new Uri(_base, relativePath);
            string path = uri.AbsolutePath;
            // The description is given, so the transport does not build a request just to learn it.
            using var response = await _http.SendAsync(() =>
            {
                var request = new HttpRequestMessage(method, uri);
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                if (jsonBody != null) request.Content = new StringContent(jsonBody, Encoding.UTF8, "application/json");
                _authenticate?.Invoke(request);
                customize?.Invoke(request);
                return request;
            }, kind, log, cancellationToken, method.Method + " " + uri.GetLeftPart(UriPartial.Path)).ConfigureAwait(false);
            string body = response.Content == null ? "" : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            log.Debug($"{method} {path} -> {(int)response.StatusCode}");
            return new ApiResponse((int)response.StatusCode, body, method.Method + " " + path) { ETag = ETagOf(response) };
        }

        /// <summary>The ETag header, or the ETag trailer (Caddy 2.6 sends it after the body).</summary>
        private static string? ETagOf(HttpResponseMessage response)
        {
            if (response.Headers.ETag != null) return response.Headers.ETag.ToString();
            // TrailingHeaders exists on PowerShell 7's runtime but not in netstandard2.0's surface.
            var trailers = response.GetType().GetProperty("TrailingHeaders")?.GetValue(response) as System.Net.Http.Headers.HttpHeaders;
            return trailers != null && trailers.TryGetValues("ETag", out var values) ? string.Join(",", values) : null;
        }
    }

    /// <summary>A response's status and body, detached from the connection.</summary>
    public sealed class ApiResponse
    {
        public ApiResponse(int status, string body, string request)
        {
            Status = status;
            Body = body;
            Request = request;
        }

        public int Status { get; }
        public string Body { get; }
        /// <summary>The entity tag, from a header or a trailer, for If-Match on the next write.</summary>
        public string? ETag { get; set; }
        /// <summary>Method and path, for messages.</summary>
        public string Request { get; }
        public bool IsSuccess => Status >= 200 && Status < 300;

        /// <summary>The body as JSON; MalformedResponse when it is not.</summary>
        public JsonElement Json()
        {
            if (string.IsNullOrWhiteSpace(Body)) return default;
            try
            {
                using var doc = JsonDocument.Parse(Body);
                return doc.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new LbException(LbErrorKind.MalformedResponse,
                    $"{Request} returned a body that is not valid JSON ({ex.Message}); nothing was changed on that basis.", statusCode: Status, inner: ex);
            }
        }

        /// <summary>The body as JSON when it is JSON, else null: for error bodies that may be HTML from a proxy.</summary>
        public JsonElement? TryJson()
        {
            try { return string.IsNullOrWhiteSpace(Body) ? (JsonElement?)null : Json(); }
            catch (LbException) { return null; }
        }
    }
}
