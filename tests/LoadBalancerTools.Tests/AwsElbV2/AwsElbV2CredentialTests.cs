using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.AwsElbV2
{
    /// <summary>
    /// Where the keys come from — a profile, the environment, a vault, -Credential — proven by which
    /// access key the emulator saw sign the requests. No secret may appear in any stream. These tests
    /// change process environment variables, so they run alone.
    /// </summary>
    [Collection(AwsEnvironmentCollection.Name)]
    public sealed class AwsElbV2CredentialTests : IAsyncLifetime
    {
        private const string ProfileKey = "AKIAPROFILE000000001";
        private const string ProfileSecret = "profileSecret/111111111111/NotReal/1111";
        private const string EnvKey = "AKIAENVIRONMENT00001";
        private const string EnvSecret = "envSecret/2222222222222222/NotReal/22222";
        private const string SessionToken = "FwoGZXIvYXdzEXAMPLEsessionTOKEN/3333333333333333333333==";
        private const string VaultKey = "AKIAVAULT00000000001";
        private const string VaultSecret = "vaultSecret/44444444444444/NotReal/44444";

        // Whatever a developer's shell has must not decide these tests.
        private static readonly Dictionary<string, string?> Clean = new Dictionary<string, string?>
        {
            ["AWS_ACCESS_KEY_ID"] = null, ["AWS_SECRET_ACCESS_KEY"] = null, ["AWS_SESSION_TOKEN"] = null, ["AWS_SECRET_KEY"] = null,
            ["AWS_PROFILE"] = null, ["AWS_WEB_IDENTITY_TOKEN_FILE"] = null, ["AWS_ROLE_ARN"] = null,
            ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = null, ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = null,
            ["LBTOOLS_USERNAME"] = null, ["LBTOOLS_PASSWORD"] = null, ["LBTOOLS_AWSELBV2_USERNAME"] = null, ["LBTOOLS_AWSELBV2_PASSWORD"] = null,
            ["LBTOOLS_ENV_FILE"] = null, // no .env file is read unless one is named
        };

        private AwsElbV2Emulator _emulator = null!;
        private PsSession _ps = null!;
        private IDisposable _environment = null!;
        private readonly List<string> _files = new List<string>();

        public async Task InitializeAsync()
        {
            _environment = AwsTestEnvironment.With(Clean);
            _emulator = await AwsElbV2Emulator.StartAsync();
            _emulator.AddCredentials(ProfileKey, ProfileSecret);
            _emulator.AddCredentials(EnvKey, EnvSecret, SessionToken);
            _emulator.AddCredentials(VaultKey, VaultSecret);
            _emulator.AddTargetGroup("web");
            _emulator.AddTarget("web", "i-0aaaaaaaaaaaaaaa1", 80);
            _ps = new PsSession();
        }

        public async Task DisposeAsync()
        {
            _ps.Dispose();
            await _emulator.DisposeAsync();
            _environment.Dispose();
            foreach (var file in _files) File.Delete(file);
        }

        private string Connect(string credentialArguments) =>
            $"Connect-LbController -Provider AwsElbV2 -Region us-east-1 -Endpoint '{_emulator.Endpoint}' {credentialArguments} -Verbose -Debug";

        /// <summary>Connects, reads the pool, and checks that every request was signed with <paramref name="accessKeyId"/>.</summary>
        private PsResult ConnectAndRead(string credentialArguments, string accessKeyId)
        {
            var r = _ps.Run("$DebugPreference = 'Continue'; " + Connect(credentialArguments) + "; Get-LbPoolMember -Pool web -Verbose");
            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal("i-0aaaaaaaaaaaaaaa1", (string)r.Output.Last().Properties["Address"].Value);
            Assert.NotEmpty(_emulator.Requests);
            Assert.All(_emulator.Requests, q => Assert.Equal(accessKeyId, q.AccessKeyId));
            Assert.All(_emulator.Requests, q => Assert.Equal(200, q.Status));
            return r;
        }

        private static void AssertNoSecret(PsResult r, params string[] secrets)
        {
            string text = r.AllText();
            foreach (var secret in secrets) Assert.DoesNotContain(secret, text);
        }

        private string WriteTemp(string name, string content)
        {
            string path = Path.Combine(AwsTestEnvironment.Directory, Guid.NewGuid().ToString("n") + "-" + name);
            File.WriteAllText(path, content);
            _files.Add(path);
            return path;
        }

        [Fact]
        public void A_named_profile_from_the_shared_credentials_file()
        {
            string file = WriteTemp("credentials",
                $"[default]\naws_access_key_id = AKIADEFAULT000000001\naws_secret_access_key = wrong\n\n[ops]\naws_access_key_id = {ProfileKey}\naws_secret_access_key = {ProfileSecret}\n");
            using var _ = AwsTestEnvironment.With(new Dictionary<string, string?> { ["AWS_SHARED_CREDENTIALS_FILE"] = file });

            var r = ConnectAndRead("-ProfileName ops", ProfileKey);

            Assert.Contains(r.Verbose, v => v.Contains("profile 'ops'"));
            AssertNoSecret(r, ProfileSecret);
        }

        [Fact]
        public void A_missing_profile_is_an_authentication_error_naming_it_and_the_file()
        {
            string file = WriteTemp("credentials", "[other]\naws_access_key_id = x\naws_secret_access_key = y\n");
            using var _ = AwsTestEnvironment.With(new Dictionary<string, string?> { ["AWS_SHARED_CREDENTIALS_FILE"] = file });

            var r = _ps.Run(Connect("-ProfileName ops"));

            var error = Assert.Single(r.AllErrors);
            Assert.StartsWith("LbAuthenticationFailed,", error.FullyQualifiedErrorId);
            Assert.Contains("'ops'", error.Exception.Message);
            Assert.Contains(file, error.Exception.Message);
            Assert.Empty(_emulator.Requests);
        }

        [Fact]
        public void The_environment_with_a_session_token()
        {
            using var _ = AwsTestEnvironment.With(new Dictionary<string, string?>
            {
                ["AWS_ACCESS_KEY_ID"] = EnvKey, ["AWS_SECRET_ACCESS_KEY"] = EnvSecret, ["AWS_SESSION_TOKEN"] = SessionToken,
            });

            var r = ConnectAndRead("", EnvKey);

            Assert.Contains(r.Verbose, v => v.Contains("AWS_ACCESS_KEY_ID"));
            AssertNoSecret(r, EnvSecret, SessionToken);
        }

        [Fact]
        public void A_wrong_secret_is_an_authentication_error_that_quotes_nothing_it_was_sent()
        {
            // The emulator, like AWS, puts the canonical request (session token included) in its message.
            using var _ = AwsTestEnvironment.With(new Dictionary<string, string?>
            {
                ["AWS_ACCESS_KEY_ID"] = EnvKey, ["AWS_SECRET_ACCESS_KEY"] = "not/the/secret", ["AWS_SESSION_TOKEN"] = SessionToken,
            });

            var r = _ps.Run("$DebugPreference = 'Continue'; " + Connect(""));

            var error = Assert.Single(r.AllErrors);
            Assert.StartsWith("LbAuthenticationFailed,", error.FullyQualifiedErrorId);
            Assert.Contains("SignatureDoesNotMatch", error.Exception.Message);
            Assert.Equal("SignatureDoesNotMatch", _emulator.Requests.Single().ErrorCode);
            AssertNoSecret(r, "not/the/secret", SessionToken, "Canonical String");
        }

        [Fact]
        public void An_explicit_credential_wins_over_the_environment()
        {
            using var _ = AwsTestEnvironment.With(new Dictionary<string, string?> { ["AWS_ACCESS_KEY_ID"] = EnvKey, ["AWS_SECRET_ACCESS_KEY"] = EnvSecret });

            var r = ConnectAndRead(
                $"-Credential ([pscredential]::new('{VaultKey}', [Net.NetworkCredential]::new('', '{VaultSecret}').SecurePassword))", VaultKey);

            AssertNoSecret(r, VaultSecret, EnvSecret);
        }

        [Fact]
        public void No_credentials_anywhere_is_an_authentication_error_that_says_where_to_put_them()
        {
            var r = _ps.Run(Connect(""));

            var error = Assert.Single(r.AllErrors);
            Assert.StartsWith("LbAuthenticationFailed,", error.FullyQualifiedErrorId);
            Assert.Contains("No AWS credentials were found", error.Exception.Message);
            Assert.Contains("-ProfileName", error.Exception.Message);
            Assert.Empty(_emulator.Requests);
        }
    }
}
