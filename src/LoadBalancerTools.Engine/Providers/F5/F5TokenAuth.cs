using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Errors;
using LoadBalancerTools.Http;
using LoadBalancerTools.Logging;
using LoadBalancerTools.Util;

namespace LoadBalancerTools.Providers.F5
{
    /// <summary>Token login is not offered by this BIG-IP (the login endpoint is missing or refuses the tmos provider).</summary>
    internal sealed class F5TokenLoginUnavailableException : LbException
    {
        public F5TokenLoginUnavailableException(string message, int status)
            : base(LbErrorKind.NotSupported, message, statusCode: status)
        {
        }
    }

    /// <summary>
    /// iControl REST token authentication for one connection: one login, one token, renewed when the
    /// device answers 401, extended after each login, deleted at disconnect. A BIG-IP user may hold at
    /// most 100 live tokens, so a connection never holds more than one: a renewal first deletes the
    /// token it replaces (a 401 is not always an expiry, for example after an HA failover).
    /// </summary>
    internal sealed class F5TokenAuth
    {
        public const string TokenHeader = "X-F5-Auth-Token";
        /// <summary>BIG-IP's own default; what a token lives when the extension is refused.</summary>
        public const int DefaultTokenSeconds = 1200;
        /// <summary>BIG-IP rejects longer timeouts (406).</summary>
        public const int MaxTokenSeconds = 36000;

        private readonly LbConnectionSettings _settings;
        private readonly JsonApiClient _plain;
        private readonly int _lifetimeSeconds;
        private string? _live;

        public F5TokenAuth(LbConnectionSettings settings, JsonApiClient plain, int lifetimeSeconds)
        {
            _settings = settings;
            _plain = plain;
            _lifetimeSeconds = Math.Max(1, Math.Min(MaxTokenSeconds, lifetimeSeconds));
            Session = new ApiSession(LoginAsync, LogoutAsync);
        }

        public ApiSession Session { get; }

        public void Apply(HttpRequestMessage request, string token) => request.Headers.Add(TokenHeader, token);

        /// <summary>401 is the only answer iControl gives to an expired, deleted or unknown token.</summary>
        public static bool IsExpired(ApiResponse response) => response.Status == 401;

        private async Task<string> LoginAsync(ILbLog log, CancellationToken cancellationToken)
        {
            string? replaced = Interlocked.Exchange(ref _live, null);
            if (replaced != null) await DeleteQuietlyAsync(replaced, log, cancellationToken).ConfigureAwait(false);

            var credential = _settings.Credential;
            if (credential == null || string.IsNullOrEmpty(credential.UserName))
            {
                throw new LbException(LbErrorKind.AuthenticationFailed,
                    "BIG-IP needs a user name and password: give -Credential, -SecretName, or set LBTOOLS_F5_USERNAME and LBTOOLS_F5_PASSWORD.") { ErrorId = ErrorIds.AuthenticationFailed };
            }
            string body = JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["username"] = credential.UserName,
                ["password"] = credential.Password,
                ["loginProviderName"] = "tmos",
            });
            // A login creates a token: it is repeated only where the device certainly did not act (503, refused).
            var response = await _plain.SendRawAsync(HttpMethod.Post, "shared/authn/login", body, RequestKind.NonIdempotentWrite, log, cancellationToken).ConfigureAwait(false);
            if (IsTokenLoginUnavailable(response))
            {
                throw new F5TokenLoginUnavailableException($"BIG-IP does not offer token login here (HTTP {response.Status} from the login endpoint).", response.Status);
            }
            if (response.Status == 401)
            {
                throw new LbException(LbErrorKind.AuthenticationFailed,
                    $"BIG-IP rejected the user name or password for user '{credential.UserName}' (HTTP 401). Check the credential or the secret it came from.", statusCode: 401)
                {
                    ErrorId = ErrorIds.AuthenticationFailed,
                };
            }
            if (!response.IsSuccess) throw F5Errors.Map(response);

            string? token = response.Json().Prop("token")?.Str("token");
            if (string.IsNullOrEmpty(token))
            {
                throw new LbException(LbErrorKind.MalformedResponse, "The BIG-IP login answered without a token at token.token; is the endpoint a BIG-IP management address?");
            }
            log.Verbose($"Logged in to BIG-IP as '{credential.UserName}' (token authentication).");
            await ExtendAsync(token!, log, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _live, token);
            return token!;
        }

        /// <summary>
        /// The documented signs that token login does not exist on this device: no login endpoint
        /// (404/405/501, versions before token support) or a refusal of the "tmos" login provider.
        /// Wrong credentials (401), the token cap (400) and anything else never fall back, so a bad
        /// password is not tried twice and a token leak elsewhere is not hidden.
        /// </summary>
        private static bool IsTokenLoginUnavailable(ApiResponse response)
        {
            if (response.Status == 404 || response.Status == 405 || response.Status == 501) return true;
            if (response.Status != 400) return false;
            string? message = F5Errors.Message(response);
            return message != null && message.IndexOf("loginProvider", StringComparison.OrdinalIgnoreCase) >= 0;
        }

        /// <summary>Lengthens the token's life so long runs re-login rarely; a refusal only costs a later re-login.</summary>
        private async Task ExtendAsync(string token, ILbLog log, CancellationToken cancellationToken)
        {
            if (_lifetimeSeconds == DefaultTokenSeconds) return;
            try
            {
                await _plain.SendAsync(new HttpMethod("PATCH"), TokenPath(token), "{\"timeout\":" + _lifetimeSeconds + "}", RequestKind.IdempotentWrite,
                    new RedactingLog(log, F5Errors.Redact), cancellationToken, r => Apply(r, token)).ConfigureAwait(false);
                log.Verbose($"Token lifetime set to {_lifetimeSeconds} s.");
            }
            catch (LbException ex) when (!cancellationToken.IsCancellationRequested)
            {
                log.Verbose($"BIG-IP did not extend the token ({F5Errors.Redact(ex.Message)}); it keeps its default lifetime and is renewed on expiry.");
            }
        }

        private async Task LogoutAsync(string token, ILbLog log, CancellationToken cancellationToken)
        {
            Interlocked.CompareExchange(ref _live, null, token);
            try
            {
                var response = await _plain.SendRawAsync(HttpMethod.Delete, TokenPath(token), null, RequestKind.IdempotentWrite, new RedactingLog(log, F5Errors.Redact), cancellationToken,
                    r => Apply(r, token)).ConfigureAwait(false);
                // 401/404: the token expired or was deleted already, which is what a logout wants.
                if (response.IsSuccess || response.Status == 401 || response.Status == 404)
                {
                    log.Verbose("BIG-IP token deleted (logged out).");
                    return;
                }
                throw F5Errors.Map(response);
            }
            catch (LbException ex)
            {
                throw Redacted(ex);
            }
        }

        private async Task DeleteQuietlyAsync(string token, ILbLog log, CancellationToken cancellationToken)
        {
            try
            {
                await _plain.SendRawAsync(HttpMethod.Delete, TokenPath(token), null, RequestKind.IdempotentWrite, new RedactingLog(log, F5Errors.Redact), cancellationToken,
                    r => Apply(r, token)).ConfigureAwait(false);
            }
            catch (LbException ex) when (!cancellationToken.IsCancellationRequested)
            {
                log.Verbose($"Could not delete the replaced token ({F5Errors.Redact(ex.Message)}); it expires on its own.");
            }
        }

        private static string TokenPath(string token) => "shared/authz/tokens/" + Uri.EscapeDataString(token);

        /// <summary>Transport messages name the request path, which holds the token in these calls.</summary>
        private static LbException Redacted(LbException ex) =>
            new LbException(ex.Kind, F5Errors.Redact(ex.Message), ex.VendorCode, ex.StatusCode, ex.InnerException is LbException ? null : ex.InnerException)
            {
                Ambiguous = ex.Ambiguous,
                ErrorId = ex.ErrorId,
            };
    }
}
