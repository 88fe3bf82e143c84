using System;
using System.Threading;
using System.Threading.Tasks;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.Runtime.Credentials;
using LoadBalancerTools.Errors;

namespace LoadBalancerTools.Providers.AwsElbV2
{
    /// <summary>
    /// Where the AWS keys come from, first match wins: the connection's credential (-Credential,
    /// -SecretName or LBTOOLS_* variables: user name = access key id, password = secret access key),
    /// then -ProfileName, then the SDK's default chain (AWS_ACCESS_KEY_ID and friends, AWS_PROFILE or the
    /// default profile, web identity, container role, EC2 instance role).
    /// </summary>
    internal static class AwsCredentialChain
    {
        public const string SharedCredentialsFileVariable = "AWS_SHARED_CREDENTIALS_FILE";

        /// <summary>The credentials and a description of their source that holds no secret.</summary>
        public static async Task<(AWSCredentials Credentials, string Source)> ResolveAsync(LbConnectionSettings settings, CancellationToken cancellationToken)
        {
            var given = settings.Credential;
            if (given != null)
            {
                if (string.IsNullOrEmpty(given.UserName) || string.IsNullOrEmpty(given.Password))
                {
                    throw new LbException(LbErrorKind.AuthenticationFailed,
                        "The credential for AwsElbV2 needs the access key id as its user name and the secret access key as its password; one of them is empty.") { ErrorId = ErrorIds.AuthenticationFailed };
                }
                return (new BasicAWSCredentials(given.UserName, given.Password), "the connection's credential");
            }

            if (!string.IsNullOrEmpty(settings.ProfileName))
            {
                return (FromProfile(settings.ProfileName!), $"profile '{settings.ProfileName}'");
            }

            AWSCredentials chained;
            try
            {
                chained = await new DefaultAWSCredentialsIdentityResolver().ResolveIdentityAsync(null, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!(ex is OperationCanceledException))
            {
                // The SDK's message lists what each source said (variables not set, no default profile...); it holds no key.
                throw new LbException(LbErrorKind.AuthenticationFailed,
                    "No AWS credentials were found. Pass -Credential (access key id as user name, secret access key as password) or -SecretName, " +
                    "name a profile with -ProfileName, set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an instance or container role is available. " +
                    "The AWS SDK reported: " + ex.Message, inner: ex) { ErrorId = ErrorIds.AuthenticationFailed };
            }
            return (chained, Describe(chained));
        }

        private static AWSCredentials FromProfile(string profileName)
        {
            // The SDK reads AWS_SHARED_CREDENTIALS_FILE once per process; reading it here honours a
            // variable set later in the session, as a PowerShell user expects.
            string? file = Environment.GetEnvironmentVariable(SharedCredentialsFileVariable);
            var store = string.IsNullOrEmpty(file) ? new CredentialProfileStoreChain() : new CredentialProfileStoreChain(file);
            AWSCredentials credentials;
            try
            {
                if (store.TryGetAWSCredentials(profileName, out credentials)) return credentials;
            }
            catch (Exception ex) when (!(ex is OperationCanceledException))
            {
                throw new LbException(LbErrorKind.AuthenticationFailed,
                    $"The AWS profile '{profileName}' could not be used: {ex.Message}", inner: ex) { ErrorId = ErrorIds.AuthenticationFailed };
            }
            throw new LbException(LbErrorKind.AuthenticationFailed,
                $"The AWS profile '{profileName}' was not found in {(string.IsNullOrEmpty(file) ? "the shared credentials and config files (~/.aws/credentials, ~/.aws/config)" : $"'{file}' ({SharedCredentialsFileVariable})")}.")
                { ErrorId = ErrorIds.AuthenticationFailed };
        }

        private static string Describe(AWSCredentials credentials)
        {
            switch (credentials)
            {
                case EnvironmentVariablesAWSCredentials _: return "the environment (AWS_ACCESS_KEY_ID)";
                case InstanceProfileAWSCredentials _: return "the EC2 instance role";
                case AssumeRoleWithWebIdentityCredentials _: return "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)";
                case GenericContainerCredentials _: return "the container role";
                default: return "the AWS SDK's default chain (" + credentials.GetType().Name + ")";
            }
        }
    }
}
