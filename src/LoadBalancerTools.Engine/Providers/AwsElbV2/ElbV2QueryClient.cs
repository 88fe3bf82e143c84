using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using System.Xml.Linq;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Logging;

namespace LoadBalancerTools.Providers.AwsElbV2
{
    /// <summary>
    /// The ELBv2 Query API: form-encoded POST / with Action and Version, signed with SigV4 by the AWS
    /// SDK's signer, XML back. Each retry is signed afresh, so its X-Amz-Date is current.
    /// </summary>
    internal sealed class ElbV2QueryClient
    {
        public const string ApiVersion = "2015-12-01";
        public const string SigningService = "elasticloadbalancing";
        private const string FormContentType = "application/x-www-form-urlencoded; charset=utf-8";

        private readonly Uri _endpoint;
        private readonly ResilientHttp _http;
        private readonly RegionEndpoint _region;
        private readonly TimeProvider _time;
        private AWSCredentials? _credentials;

        public ElbV2QueryClient(Uri endpoint, string region, TransportOptions transport)
        {
            _endpoint = endpoint;
            _region = RegionEndpoint.GetBySystemName(region);
            _time = transport.TimeProvider;
            _http = ResilientHttp.For(endpoint, transport);
        }

        public Uri Endpoint => _endpoint;

        /// <summary>Set once at connect; the SDK object refreshes temporary credentials itself.</summary>
        public AWSCredentials Credentials { set => _credentials = value; }

        /// <summary>Calls one action and returns its &lt;ActionResult&gt; element; vendor errors are thrown mapped.</summary>
        /// <param name="subject">The target group the call is about, for error messages.</param>
        public async Task<XElement> CallAsync(string action, IEnumerable<KeyValuePair<string, string>> parameters, RequestKind kind, string? subject,
            ILbLog log, CancellationToken cancellationToken)
        {
            var credentials = _credentials ?? throw new InvalidOperationException("Not connected: no AWS credentials have been resolved.");
            ImmutableCredentials keys;
            try
            {
                keys = await credentials.GetCredentialsAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (!(ex is OperationCanceledException))
            {
                throw new LbException(LbErrorKind.AuthenticationFailed, "The AWS credentials could not be obtained or refreshed: " + ex.Message, inner: ex) { ErrorId = ErrorIds.AuthenticationFailed };
            }
            // Signed from a fixed copy: the signer then never blocks on a refresh inside the retry loop.
            AWSCredentials signingKeys = keys.UseToken
                ? new SessionAWSCredentials(keys.AccessKey, keys.SecretKey, keys.Token)
                : (AWSCredentials)new BasicAWSCredentials(keys.AccessKey, keys.SecretKey);

            byte[] body = Encoding.UTF8.GetBytes(Encode(action, parameters));
            using var response = await _http.SendAsync(() => CreateRequest(body, signingKeys), kind, log, cancellationToken).ConfigureAwait(false);
            string text = response.Content == null ? "" : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            int status = (int)response.StatusCode;
            log.Debug($"ELBv2 {action} -> {status}");
            if (status < 200 || status >= 300) throw ElbV2Errors.Map(action, status, text, subject);

            var root = ElbV2Xml.TryParse(text)?.Root;
            if (root == null || root.Name.LocalName != action + "Response")
            {
                throw new LbException(LbErrorKind.MalformedResponse,
                    $"ELBv2 {action} returned HTTP {status} with a body that is not its XML response; is -Endpoint an Elastic Load Balancing endpoint?", statusCode: status);
            }
            return root.Child(action + "Result") ?? new XElement(action + "Result");
        }

        private HttpRequestMessage CreateRequest(byte[] body, AWSCredentials keys)
        {
            var signing = new AWSSigningRequest { HttpMethod = HttpMethod.Post, RequestUri = _endpoint, Content = body };
            signing.Headers["Content-Type"] = FormContentType;
            var signed = AWSSigV4Signer.Sign(signing, new AWSSigV4Parameters
            {
                Credentials = keys,
                Region = _region,
                Service = SigningService,
                SignedAt = _time.GetUtcNow().UtcDateTime,
            });

            var request = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = new ByteArrayContent(body) };
            // Exactly the value that was signed: the header must not be re-formatted on the way out.
            request.Content.Headers.TryAddWithoutValidation("Content-Type", FormContentType);
            foreach (var header in signed.Headers)
            {
                if (string.Equals(header.Key, "Host", StringComparison.OrdinalIgnoreCase)) request.Headers.Host = header.Value;
                else if (!string.Equals(header.Key, "Content-Type", StringComparison.OrdinalIgnoreCase)) request.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
            return request;
        }

        /// <summary>RFC 3986 encoding, as the Query protocol documents; the body is what is signed.</summary>
        internal static string Encode(string action, IEnumerable<KeyValuePair<string, string>> parameters)
        {
            var all = new[] { new KeyValuePair<string, string>("Action", action), new KeyValuePair<string, string>("Version", ApiVersion) }.Concat(parameters);
            return string.Join("&", all.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
        }
    }
}
