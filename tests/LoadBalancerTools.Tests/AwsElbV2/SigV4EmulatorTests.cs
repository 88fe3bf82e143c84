using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;
using System.Xml.Linq;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;
using LoadBalancerTools.TestKit;

namespace LoadBalancerTools.Tests.AwsElbV2
{
    /// <summary>
    /// The emulator's signature check is what proves the provider signs correctly, so it is itself
    /// checked: against AWS's published signing example, and by refusing requests that are wrong in
    /// each way AWS refuses them.
    /// </summary>
    public sealed class SigV4EmulatorTests : IAsyncLifetime
    {
        private const string ExampleSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        private AwsElbV2Emulator _emulator = null!;
        private readonly HttpClient _http = new HttpClient();

        public async Task InitializeAsync()
        {
            _emulator = await AwsElbV2Emulator.StartAsync();
            _emulator.AddTargetGroup("web");
        }

        public async Task DisposeAsync()
        {
            _http.Dispose();
            await _emulator.DisposeAsync();
        }

        [Fact]
        public void Verifier_reproduces_the_signature_of_AWS_published_test_vector()
        {
            // AWS SigV4 test suite, "get-vanilla-query-order-key-case": unsorted query, empty body.
            var request = new SigV4Request("GET", "/",
                new[] { KeyValuePair.Create("Param2", "value2"), KeyValuePair.Create("Param1", "value1") },
                new Dictionary<string, string[]>
                {
                    ["Host"] = new[] { "example.amazonaws.com" },
                    ["X-Amz-Date"] = new[] { "20150830T123600Z" },
                    ["Authorization"] = new[] { "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500" },
                },
                Array.Empty<byte>());

            var (parsed, failure) = SigV4Verifier.Verify(request, "us-east-1", "service",
                akid => akid == "AKIDEXAMPLE" ? (ExampleSecret, null) : null, new DateTimeOffset(2015, 8, 30, 12, 36, 0, TimeSpan.Zero), TimeSpan.FromMinutes(15));

            Assert.Null(failure);
            Assert.Equal("AKIDEXAMPLE", parsed!.AccessKeyId);
        }

        [Fact]
        public void Verifier_rejects_the_same_vector_with_one_character_of_the_signature_changed()
        {
            var request = new SigV4Request("GET", "/",
                new[] { KeyValuePair.Create("Param2", "value2"), KeyValuePair.Create("Param1", "value1") },
                new Dictionary<string, string[]>
                {
                    ["Host"] = new[] { "example.amazonaws.com" },
                    ["X-Amz-Date"] = new[] { "20150830T123600Z" },
                    ["Authorization"] = new[] { "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2501" },
                },
                Array.Empty<byte>());

            var (_, failure) = SigV4Verifier.Verify(request, "us-east-1", "service",
                _ => (ExampleSecret, null), new DateTimeOffset(2015, 8, 30, 12, 36, 0, TimeSpan.Zero), null);

            Assert.Equal("SignatureDoesNotMatch", failure!.Code);
            Assert.Equal(403, failure.Status);
        }

        [Fact]
        public async Task Accepts_a_request_signed_by_the_AWS_SDK()
        {
            var response = await SendAsync(AwsElbV2Emulator.DefaultSecretKey);
            Assert.Equal(HttpStatusCode.OK, response.Status);
            Assert.Equal("DescribeTargetGroupsResponse", XDocument.Parse(response.Body).Root!.Name.LocalName);
            Assert.Equal(AwsElbV2Emulator.DefaultAccessKeyId, _emulator.Requests.Single().AccessKeyId);
        }

        [Fact]
        public async Task Refuses_a_wrong_secret_with_SignatureDoesNotMatch()
        {
            var response = await SendAsync("not-the-secret");
            Assert.Equal(HttpStatusCode.Forbidden, response.Status);
            Assert.Equal("SignatureDoesNotMatch", Code(response.Body));
        }

        [Fact]
        public async Task Refuses_a_signature_for_another_region_or_service()
        {
            Assert.Equal("SignatureDoesNotMatch", Code((await SendAsync(AwsElbV2Emulator.DefaultSecretKey, region: "eu-west-1")).Body));
            Assert.Equal("SignatureDoesNotMatch", Code((await SendAsync(AwsElbV2Emulator.DefaultSecretKey, service: "ec2")).Body));
        }

        [Fact]
        public async Task Refuses_a_body_changed_after_signing()
        {
            var response = await SendAsync(AwsElbV2Emulator.DefaultSecretKey, tamper: body => body.Replace("PageSize=1", "PageSize=2"));
            Assert.Equal(HttpStatusCode.Forbidden, response.Status);
            Assert.Equal("SignatureDoesNotMatch", Code(response.Body));
        }

        [Theory]
        [InlineData(null, "MissingAuthenticationToken")]
        [InlineData("AWS4-HMAC-SHA1 Credential=x", "IncompleteSignature")]
        [InlineData("AWS4-HMAC-SHA256 Credential=AKIAEMULATOR00000001/20260101/us-east-1/elasticloadbalancing/aws4_request, SignedHeaders=content-type;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000", "IncompleteSignature")]
        [InlineData("AWS4-HMAC-SHA256 Credential=AKIAEMULATOR00000001/20260101/us-east-1/elasticloadbalancing/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc", "IncompleteSignature")]
        [InlineData("AWS4-HMAC-SHA256 Credential=AKIAEMULATOR00000001/us-east-1/elasticloadbalancing, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000", "IncompleteSignature")]
        public async Task Refuses_malformed_authorization_headers(string? authorization, string code)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _emulator.Endpoint)
            {
                Content = new StringContent("Action=DescribeTargetGroups&Version=2015-12-01", Encoding.UTF8, "application/x-www-form-urlencoded"),
            };
            request.Headers.TryAddWithoutValidation("X-Amz-Date", DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'"));
            if (authorization != null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
            using var response = await _http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal(code, Code(await response.Content.ReadAsStringAsync()));
        }

        [Fact]
        public async Task Refuses_an_unknown_access_key()
        {
            var response = await SendAsync("whatever", accessKeyId: "AKIAUNKNOWN000000000");
            Assert.Equal("InvalidClientTokenId", Code(response.Body));
        }

        private async Task<(HttpStatusCode Status, string Body)> SendAsync(string secret, string region = "us-east-1", string service = "elasticloadbalancing",
            string accessKeyId = AwsElbV2Emulator.DefaultAccessKeyId, Func<string, string>? tamper = null)
        {
            const string body = "Action=DescribeTargetGroups&Version=2015-12-01&PageSize=1";
            const string contentType = "application/x-www-form-urlencoded; charset=utf-8";
            var signing = new AWSSigningRequest { HttpMethod = HttpMethod.Post, RequestUri = _emulator.Endpoint, Content = Encoding.UTF8.GetBytes(body) };
            signing.Headers["Content-Type"] = contentType;
            var signed = AWSSigV4Signer.Sign(signing, new AWSSigV4Parameters
            {
                Credentials = new BasicAWSCredentials(accessKeyId, secret),
                Region = RegionEndpoint.GetBySystemName(region),
                Service = service,
            });
            using var request = new HttpRequestMessage(HttpMethod.Post, _emulator.Endpoint) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(tamper?.Invoke(body) ?? body)) };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            foreach (var h in signed.Headers) request.Headers.TryAddWithoutValidation(h.Key, h.Value);
            using var response = await _http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        private static string? Code(string body) =>
            XDocument.Parse(body).Descendants().FirstOrDefault(e => e.Name.LocalName == "Code")?.Value;
    }
}
