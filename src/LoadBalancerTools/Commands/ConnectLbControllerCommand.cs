using System;
using System.Management.Automation;
using System.Net;
using LoadBalancerTools.Completers;
using LoadBalancerTools.Credentials;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Model;
using LoadBalancerTools.Providers;
using LoadBalancerTools.Services;
using LoadBalancerTools.Session;

namespace LoadBalancerTools.Commands
{
    /// <summary>Connects to a load balancer's management API and makes the connection the session default.</summary>
    [Cmdlet(VerbsCommunications.Connect, "LbController", DefaultParameterSetName = FromEnvironment)]
    [OutputType(typeof(LbConnection))]
    public sealed class ConnectLbControllerCommand : LbCmdlet
    {
        private const string FromEnvironment = "Environment";
        private const string FromCredential = "Credential";
        private const string FromSecret = "Secret";

        [Parameter(Mandatory = true, Position = 0)]
        [ArgumentCompleter(typeof(ProviderNameCompleter))]
        public string Provider { get; set; } = "";

        [Parameter(Position = 1)]
        public Uri? Endpoint { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = FromCredential)]
        [Credential]
        public PSCredential? Credential { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = FromSecret)]
        [ValidateNotNullOrEmpty]
        public string? SecretName { get; set; }

        [Parameter(ParameterSetName = FromSecret)]
        [ValidateNotNullOrEmpty]
        public string? Vault { get; set; }

        /// <summary>For secrets that hold only a password.</summary>
        [Parameter(ParameterSetName = FromSecret)]
        public string? UserName { get; set; }

        [Parameter]
        public SwitchParameter SkipCertificateCheck { get; set; }

        [Parameter]
        [ValidateRange(1, 3600)]
        public int TimeoutSec { get; set; } = 100;

        [Parameter]
        [ValidateRange(0, 20)]
        public int MaxRetries { get; set; } = 5;

        /// <summary>F5 partition (default Common).</summary>
        [Parameter]
        public string? Partition { get; set; }

        /// <summary>AWS region.</summary>
        [Parameter]
        public string? Region { get; set; }

        /// <summary>AWS shared-credentials profile.</summary>
        [Parameter]
        public string? ProfileName { get; set; }

        /// <summary>A .env file to read LBTOOLS_* credentials from (else LBTOOLS_ENV_FILE; no file is read unless asked for).</summary>
        [Parameter(ParameterSetName = FromEnvironment)]
        [ValidateNotNullOrEmpty]
        public string? EnvFile { get; set; }

        /// <summary>NetScaler: save the running configuration after each command that changed it (default $true).</summary>
        [Parameter]
        public bool SaveConfig { get; set; } = true;

        /// <summary>F5: the device group to config-sync to after each command that changed something.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? SyncGroup { get; set; }

        /// <summary>Sends a user name and password over plain http:// to a load balancer that is not on this machine.</summary>
        [Parameter]
        public SwitchParameter AllowUnencryptedAuthentication { get; set; }

        protected override void ProcessRecord()
        {
            string? provider = ProviderRegistry.Canonical(Provider);
            if (provider == null)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new ArgumentException($"'{Provider}' is not a known provider. Use one of: {string.Join(", ", ProviderRegistry.Names)}."),
                    ErrorIds.UnknownProvider, ErrorCategory.InvalidArgument, Provider));
            }
            Uri? endpoint = Endpoint;
            try
            {
                // Cloud providers derive the endpoint (AwsElbV2: from -Region) and name what they require.
                endpoint = ProviderRegistry.ResolveEndpoint(provider!, Endpoint, Region);
            }
            catch (LbException ex)
            {
                ThrowLbError(ex, Provider);
            }
            if (endpoint == null || !endpoint.IsAbsoluteUri)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new ArgumentException($"-Endpoint '{Endpoint}' is not an absolute URI such as https://lb1:8443/api."),
                    ErrorIds.InvalidEndpoint, ErrorCategory.InvalidArgument, Endpoint));
            }
            if (!string.IsNullOrEmpty(endpoint!.UserInfo))
            {
                // Never echoed: the value holds a password.
                ThrowTerminatingError(new ErrorRecord(
                    new ArgumentException("-Endpoint must not carry a user name or password (user:password@host): they would show wherever the endpoint is shown. Use -Credential, -SecretName or the LBTOOLS_* variables."),
                    ErrorIds.InvalidEndpoint, ErrorCategory.InvalidArgument, null));
            }
            Endpoint = endpoint;

            var settings = ConnectionService.NewSettings(provider!, Endpoint!, TimeoutSec, MaxRetries, SkipCertificateCheck);
            settings.Partition = Partition;
            settings.Region = Region;
            settings.ProfileName = ProfileName;
            settings.SaveConfig = SaveConfig;
            settings.SyncGroup = SyncGroup;
            if (SyncGroup != null && provider != "F5")
            {
                ThrowTerminatingError(new ErrorRecord(
                    new LbException(LbErrorKind.NotSupported, $"-SyncGroup is for F5 BIG-IP device groups; {provider} has no config-sync.") { ErrorId = ErrorIds.NotSupported },
                    ErrorIds.NotSupported, ErrorCategory.NotImplemented, SyncGroup));
            }
            string source = ResolveCredential(settings, provider!, out string? credentialFile);
            RequireEncryptionFor(settings, provider!);

            if (SkipCertificateCheck && Endpoint!.Scheme == Uri.UriSchemeHttps)
            {
                WriteWarning($"TLS certificate validation is off for {Endpoint.GetLeftPart(UriPartial.Authority)}: the connection can be intercepted. Use -SkipCertificateCheck only for test systems.");
            }

            LbConnection connection = null!;
            try
            {
                connection = ConnectionService.Open(settings);
            }
            catch (LbException ex)
            {
                // A provider checks its endpoint's form (HAProxy wants tcp:// or unix://) before any I/O.
                ThrowLbError(ex, Endpoint);
            }
            try
            {
                Run(ct => ConnectionService.ConnectAsync(connection, Log, ct));
            }
            catch (LbException ex)
            {
                var record = ToErrorRecord(ex, Endpoint);
                ThrowTerminatingError(new ErrorRecord(
                    new LbException(ex.Kind, $"Could not connect to {provider} at {Endpoint}: {ex.Message}", ex.VendorCode, ex.StatusCode),
                    ex.Kind == LbErrorKind.AuthenticationFailed ? ErrorIds.AuthenticationFailed : ErrorIds.ConnectFailed,
                    record.CategoryInfo.Category, Endpoint));
            }
            connection.CredentialSource = source;
            connection.CredentialFile = credentialFile;
            connection.UserName = settings.Credential?.UserName;
            connection.SkipCertificateCheck = SkipCertificateCheck;
            connection.TimeoutSec = TimeoutSec;
            connection.MaxRetries = MaxRetries;
            ConnectionStore.Add(connection);
            WriteVerbose($"Connected to {provider} at {Endpoint} (API {connection.ApiVersion ?? "n/a"}, credential from {source}); it is now the default connection.");
            WriteObject(connection);
        }

        /// <summary>-Credential, then -SecretName, then the environment or .env: the first that is given wins.</summary>
        private string ResolveCredential(LbConnectionSettings settings, string provider, out string? credentialFile)
        {
            credentialFile = null;
            try
            {
                if (Credential != null)
                {
                    settings.Credential = new NetworkCredential(Credential.UserName, Credential.Password);
                    return "Credential";
                }
                if (SecretName != null)
                {
                    settings.Credential = SecretManagementResolver.Resolve(this, SecretName, Vault, UserName);
                    return "SecretManagement";
                }
                string? file = EnvironmentCredentials.RequestedFile(EnvFile, SessionState.Path.CurrentFileSystemLocation.ProviderPath);
                var found = EnvironmentCredentials.Find(provider, file);
                if (found != null)
                {
                    settings.Credential = found.Value.Credential;
                    credentialFile = found.Value.File;
                    if (credentialFile != null) WriteVerbose($"Credential for {provider} read from the .env file '{credentialFile}'.");
                    return found.Value.Source;
                }
                return "None";
            }
            catch (LbException ex)
            {
                ThrowLbError(ex, (object?)SecretName ?? EnvFile);
                throw;
            }
        }

        /// <summary>
        /// A user name and password over plain http:// travel in clear text (basic auth, or a login body): warned
        /// about once per connection, and refused for a load balancer elsewhere than this machine unless
        /// -AllowUnencryptedAuthentication says so (as Invoke-RestMethod does). SigV4 (AWS) sends no secret.
        /// </summary>
        private void RequireEncryptionFor(LbConnectionSettings settings, string provider)
        {
            if (settings.Credential == null || Endpoint!.Scheme != Uri.UriSchemeHttp || provider == "AwsElbV2") return;
            string where = Endpoint.GetLeftPart(UriPartial.Authority);
            if (!Endpoint.IsLoopback && !AllowUnencryptedAuthentication)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new LbException(LbErrorKind.InvalidInput,
                        $"Connecting to {where} would send the credential in clear text over plain http://. Use https://, or add -AllowUnencryptedAuthentication if the network is trusted.")
                    { ErrorId = ErrorIds.UnencryptedAuthentication },
                    ErrorIds.UnencryptedAuthentication, ErrorCategory.SecurityError, Endpoint));
            }
            WriteWarning($"The credential for {where} is sent in clear text over plain http://; anyone on the path can read it. Use https:// where the load balancer offers it.");
        }
    }
}
