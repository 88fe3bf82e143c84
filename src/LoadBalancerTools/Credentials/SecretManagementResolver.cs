using System;
using System.Collections;
using System.Management.Automation;
using System.Net;
using System.Security;
using System.Threading;
using LoadBalancerTools.Errors;

namespace LoadBalancerTools.Credentials
{
    /// <summary>
    /// Reads a secret through Microsoft.PowerShell.SecretManagement\Get-Secret, in the caller's runspace
    /// and on the pipeline thread (vault extensions are PowerShell code and may prompt to unlock).
    /// </summary>
    internal static class SecretManagementResolver
    {
        private const string GetSecret = "Microsoft.PowerShell.SecretManagement\\Get-Secret";

        // SecretManagement runs every vault call on one static runspace of its own, so two runspaces of a
        // process (ForEach-Object -Parallel, thread jobs) calling Get-Secret at once make one of them fail
        // ("a pipeline is already running"; PowerShell/SecretManagement issue 188). Lookups take turns.
        private static readonly SemaphoreSlim OneLookupAtATime = new SemaphoreSlim(1, 1);
        private static readonly TimeSpan LookupWait = TimeSpan.FromMinutes(2);

        // Module-qualified so a look-alike Get-Secret from another module is never used.
        private static readonly ScriptBlock Invoke = ScriptBlock.Create(
            "param($Name, $Vault) if ($Vault) { " + GetSecret + " -Name $Name -Vault $Vault -ErrorAction Stop } else { " + GetSecret + " -Name $Name -ErrorAction Stop }");

        /// <summary>The secret as a credential; user name from the secret or <paramref name="userName"/>.</summary>
        public static NetworkCredential Resolve(PSCmdlet cmdlet, string name, string? vault, string? userName)
        {
            object? value = Fetch(cmdlet, name, vault);
            switch (value)
            {
                case PSCredential credential:
                    return new NetworkCredential(credential.UserName, credential.Password);
                case SecureString password:
                    return new NetworkCredential(RequireUser(name, userName), password);
                case string password:
                    return new NetworkCredential(RequireUser(name, userName), password);
                case IDictionary table:
                    return FromTable(name, table, userName);
                default:
                    throw Unusable(name, $"it is a {value.GetType().Name}; use a PSCredential, SecureString, string or a hashtable with Username and Password (or AccessKeyId and SecretAccessKey)");
            }
        }

        /// <summary>A secret that is a single value (a webhook URL, a routing key): a string, a SecureString, or a credential's password.</summary>
        public static string ResolveText(PSCmdlet cmdlet, string name, string? vault)
        {
            object? value = Fetch(cmdlet, name, vault);
            switch (value)
            {
                case string text: return text;
                case SecureString secure: return new NetworkCredential("", secure).Password;
                case PSCredential credential: return credential.GetNetworkCredential().Password;
                default: throw Unusable(name, $"it is a {value.GetType().Name}; store the value as a string or SecureString");
            }
        }

        private static object Fetch(PSCmdlet cmdlet, string name, string? vault)
        {
            if (cmdlet.InvokeCommand.GetCommand(GetSecret, CommandTypes.Cmdlet | CommandTypes.Function) == null)
            {
                throw new LbException(LbErrorKind.InvalidInput,
                    "-SecretName needs the SecretManagement module (Microsoft.PowerShell.SecretManagement), which is not installed. " +
                    "Install it with 'Install-Module Microsoft.PowerShell.SecretManagement' and register a vault, or pass -Credential, " +
                    "or set LBTOOLS_USERNAME and LBTOOLS_PASSWORD in the environment or a .env file.") { ErrorId = ErrorIds.SecretManagementMissing };
            }

            if (!OneLookupAtATime.Wait(LookupWait))
            {
                throw new LbException(LbErrorKind.Transient,
                    $"The secret '{name}' was not read: another runspace of this process has been reading a secret for {LookupWait.TotalMinutes:0} minutes " +
                    "(a vault waiting to be unlocked?). SecretManagement serves one lookup at a time; connect once and pass the connection to parallel work.") { ErrorId = ErrorIds.SecretNotFound };
            }
            object? value;
            try
            {
                var results = cmdlet.InvokeCommand.InvokeScript(false, Invoke, null, name, vault);
                value = results.Count == 0 ? null : results[0]?.BaseObject;
            }
            catch (RuntimeException ex)
            {
                throw NotReturned(name, vault, ex);
            }
            finally
            {
                OneLookupAtATime.Release();
            }

            return value ?? throw new LbException(LbErrorKind.NotFound, $"The secret '{name}' was not found{InVault(vault)}.") { ErrorId = ErrorIds.SecretNotFound };
        }

        private static string InVault(string? vault) => vault != null ? $" in the vault '{vault}'" : " in any registered vault";

        // Get-Secret's own error, without the "-ErrorAction Stop" wrapper's wording about preference variables;
        // its messages name the secret and vault, never the value.
        private static LbException NotReturned(string name, string? vault, RuntimeException ex)
        {
            Exception cause = ex is ActionPreferenceStopException stop && stop.ErrorRecord?.Exception != null ? stop.ErrorRecord.Exception : ex;
            string message = cause is ItemNotFoundException
                ? $"The secret '{name}' was not found{InVault(vault)}."
                : $"Get-Secret could not return the secret '{name}'{(vault != null ? $" from the vault '{vault}'" : "")}: {cause.Message}";
            return new LbException(LbErrorKind.NotFound, message, inner: null) { ErrorId = ErrorIds.SecretNotFound };
        }

        private static NetworkCredential FromTable(string name, IDictionary table, string? userName)
        {
            object? user = null, password = null;
            foreach (DictionaryEntry entry in table)
            {
                string key = entry.Key?.ToString() ?? "";
                // AccessKeyId/SecretAccessKey: an AWS key pair stored as a hashtable reads as user and password.
                if (key.Equals("Username", StringComparison.OrdinalIgnoreCase) || key.Equals("User", StringComparison.OrdinalIgnoreCase)
                    || key.Equals("AccessKeyId", StringComparison.OrdinalIgnoreCase)) user = Unwrap(entry.Value);
                else if (key.Equals("Password", StringComparison.OrdinalIgnoreCase) || key.Equals("SecretAccessKey", StringComparison.OrdinalIgnoreCase)) password = Unwrap(entry.Value);
            }
            // A vault such as SecretStore returns every string in a hashtable as a SecureString, the user name too.
            string resolvedUser = user switch
            {
                string plain when plain.Length > 0 => plain,
                SecureString secure when secure.Length > 0 => new NetworkCredential("", secure).Password,
                _ => RequireUser(name, userName),
            };
            switch (password)
            {
                case SecureString secure: return new NetworkCredential(resolvedUser, secure);
                case string plain: return new NetworkCredential(resolvedUser, plain);
                default: throw Unusable(name, "the hashtable has no Password (or SecretAccessKey) entry");
            }
        }

        private static object? Unwrap(object? value) => value is PSObject ps ? ps.BaseObject : value;

        private static string RequireUser(string name, string? userName) =>
            !string.IsNullOrEmpty(userName) ? userName!
                : throw Unusable(name, "it holds only a password; give the user name with -UserName, or store a PSCredential");

        private static LbException Unusable(string name, string why) =>
            new LbException(LbErrorKind.InvalidInput, $"The secret '{name}' cannot be used as a credential: {why}.") { ErrorId = ErrorIds.SecretUnusable };
    }
}
