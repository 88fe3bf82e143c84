using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.NginxPlus
{
    /// <summary>
    /// Credentials from -Credential, the environment and .env, and the rule that a secret never appears
    /// anywhere a user or a log could see it. Secrets from the real SecretManagement module and a vault
    /// are tested in real pwsh: tests/Pester/Secrets.Tests.ps1.
    /// </summary>
    // Unix only: the .env trust rules read Unix owners and modes.
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public sealed class CredentialTests : IAsyncLifetime
    {
        private const string User = "lbadmin";
        private const string Secret = "Sup3r-S3cret-Pa55!";
        private const string WrongSecret = "Wr0ng-Guess-Pa55!";
        private NginxPlusEmulator _nginx = null!;

        public async Task InitializeAsync()
        {
            _nginx = await NginxPlusEmulator.StartAsync();
            _nginx.AddUpstream("web");
            _nginx.RequireBasicAuth(User, Secret);
        }

        public async Task DisposeAsync() => await _nginx.DisposeAsync();

        private static void AssertNoSecret(PsResult r, params string[] secrets)
        {
            string all = r.AllText();
            foreach (var s in secrets) Assert.DoesNotContain(s, all);
        }

        [Fact]
        public void Without_SecretManagement_the_error_names_it_and_the_alternatives()
        {
            using var ps = new PsSession();
            var r = ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{_nginx.ApiBase}' -SecretName lb1");
            var e = Assert.Single(r.AllErrors);
            Assert.StartsWith("LbSecretManagementMissing,", e.FullyQualifiedErrorId);
            Assert.Contains("Microsoft.PowerShell.SecretManagement", e.Exception.Message);
            Assert.Contains("-Credential", e.Exception.Message);
            Assert.Contains("LBTOOLS_USERNAME", e.Exception.Message);
        }

        [Fact]
        public void Wrong_credentials_fail_the_connect_and_neither_password_appears_anywhere()
        {
            using var ps = new PsSession();
            var r = ps.Run(
                $"$c = [pscredential]::new('{User}', [System.Net.NetworkCredential]::new('', '{WrongSecret}').SecurePassword); " +
                $"Connect-LbController -Provider NginxPlus -Endpoint '{_nginx.ApiBase}' -Credential $c -Verbose -Debug -MaxRetries 1");
            var e = Assert.Single(r.AllErrors);
            Assert.StartsWith("LbAuthenticationFailed,", e.FullyQualifiedErrorId);
            Assert.Equal(System.Management.Automation.ErrorCategory.AuthenticationError, e.CategoryInfo.Category);
            Assert.Contains("rejected the credentials", e.Exception.Message);
            AssertNoSecret(r, WrongSecret, Secret);
        }

        private static string EnvDirectory(UnixFileMode mode, out string file)
        {
            string dir = Path.Combine(Path.GetTempPath(), "lbtools-env-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            file = Path.Combine(dir, ".env");
            File.WriteAllText(file, $"# local development only\nLBTOOLS_NGINXPLUS_USERNAME={User}\nLBTOOLS_NGINXPLUS_PASSWORD=\"{Secret}\"\n");
            File.SetUnixFileMode(file, mode);
            return dir;
        }

        [Fact]
        public void A_dotenv_file_is_read_only_when_asked_for_and_the_connection_names_it()
        {
            string dir = EnvDirectory(UnixFileMode.UserRead | UnixFileMode.UserWrite, out string file);
            try
            {
                using var ps = new PsSession();
                // ./.env is there, but nobody asked for it: no credential is sent, and the API says so.
                var unasked = ps.Run($"$ExecutionContext.SessionState.Path.SetLocation('{dir}') | Out-Null; Connect-LbController -Provider NginxPlus -Endpoint '{_nginx.ApiBase}' -MaxRetries 0");
                Assert.StartsWith("LbAuthenticationFailed,", unasked.AllErrors.Single().FullyQualifiedErrorId, StringComparison.Ordinal);

                var r = ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{_nginx.ApiBase}' -EnvFile ./.env -Verbose; Get-LbPool");
                Assert.False(r.HadErrors, r.ToString());
                Assert.Equal("DotEnv", r.Prop<string>(0, "CredentialSource"));
                Assert.Equal(file, r.Prop<string>(0, "CredentialFile"));
                Assert.Null(Environment.GetEnvironmentVariable("LBTOOLS_NGINXPLUS_PASSWORD"));
                AssertNoSecret(r, Secret);
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        [Fact]
        public void A_dotenv_file_others_can_write_is_refused_naming_its_mode()
        {
            string dir = EnvDirectory((UnixFileMode)Convert.ToInt32("666", 8), out string file);
            try
            {
                using var ps = new PsSession();
                var r = ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{_nginx.ApiBase}' -EnvFile '{file}'");
                Assert.StartsWith("LbSecretUnusable,", r.AllErrors.Single().FullyQualifiedErrorId, StringComparison.Ordinal);
                Assert.Contains("mode 666", r.AllErrors.Single().Exception.Message);
                Assert.Contains("chmod 600", r.AllErrors.Single().Exception.Message);
                AssertNoSecret(r, Secret);
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        [Fact]
        public void A_dotenv_file_owned_by_another_user_is_refused()
        {
            Assert.True(OperatingSystem.IsLinux(), "the owner check runs on Linux");
            string dir = EnvDirectory(UnixFileMode.UserRead | UnixFileMode.UserWrite, out string file);
            try
            {
                if (Environment.UserName != "root")
                {
                    // Only root can give a file away; as another user the mode test above covers the rule.
                    return;
                }
                using (var chown = System.Diagnostics.Process.Start("chown", new[] { "65534", file })) chown!.WaitForExit();
                using var ps = new PsSession();
                var r = ps.Run($"Connect-LbController -Provider NginxPlus -Endpoint '{_nginx.ApiBase}' -EnvFile '{file}'");
                var e = r.AllErrors.Single();
                Assert.StartsWith("LbSecretUnusable,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
                Assert.Contains("owned by user id 65534", e.Exception.Message);
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        [Fact]
        public void A_credential_over_plain_http_is_warned_about_on_loopback_and_refused_elsewhere_unless_allowed()
        {
            string cred = $"$c = [pscredential]::new('{User}', [System.Net.NetworkCredential]::new('', '{Secret}').SecurePassword); ";
            using var ps = new PsSession();
            var local = ps.Run(cred + $"Connect-LbController -Provider NginxPlus -Endpoint '{_nginx.ApiBase}' -Credential $c");
            Assert.False(local.HadErrors, local.ToString());
            Assert.Single(local.Warnings, w => w.Contains("clear text"));

            var remote = ps.Run(cred + "Connect-LbController -Provider NginxPlus -Endpoint 'http://lb1.example.invalid:8080/api' -Credential $c");
            var e = remote.AllErrors.Single();
            Assert.StartsWith("LbUnencryptedAuthentication,", e.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains("-AllowUnencryptedAuthentication", e.Exception.Message);
            AssertNoSecret(remote, Secret);

            // Allowed: it goes on to connect (and fails to resolve the name, which proves it got that far).
            var allowed = ps.Run(cred + "Connect-LbController -Provider NginxPlus -Endpoint 'http://lb1.example.invalid:8080/api' -Credential $c -AllowUnencryptedAuthentication -MaxRetries 0 -TimeoutSec 5");
            Assert.DoesNotContain(allowed.AllErrors, x => x.FullyQualifiedErrorId.StartsWith("LbUnencryptedAuthentication", StringComparison.Ordinal));
            Assert.Single(allowed.Warnings, w => w.Contains("clear text"));
        }
    }
}
