using System;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Logging;

namespace LoadBalancerTools.Http
{
    /// <summary>
    /// One server-side session (token or cookie) per connection: logs in lazily and once, however many
    /// requests run at a time; when the server says it expired, exactly one caller logs in again and the
    /// others reuse the new session. Vendors cap live sessions per user, so sessions are never multiplied.
    /// </summary>
    public sealed class ApiSession
    {
        private readonly Func<ILbLog, CancellationToken, Task<string>> _login;
        private readonly Func<string, ILbLog, CancellationToken, Task>? _logout;
        private readonly SemaphoreSlim _gate = new SemaphoreSlim(1, 1);
        private string? _token;
        private int _logins;

        /// <param name="login">Creates a session and returns its token; never logs the credential.</param>
        /// <param name="logout">Ends a session on the server.</param>
        public ApiSession(Func<ILbLog, CancellationToken, Task<string>> login, Func<string, ILbLog, CancellationToken, Task>? logout = null)
        {
            _login = login;
            _logout = logout;
        }

        /// <summary>How many times this connection has logged in (1 plus each renewal).</summary>
        public int LoginCount => Volatile.Read(ref _logins);

        /// <summary>The current token, logging in first when there is none.</summary>
        public async Task<string> GetTokenAsync(ILbLog log, CancellationToken cancellationToken)
        {
            var token = Volatile.Read(ref _token);
            if (token != null) return token;
            return await RenewAsync(null, log, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>Logs in again unless another caller already replaced <paramref name="expired"/>.</summary>
        public async Task<string> RenewAsync(string? expired, ILbLog log, CancellationToken cancellationToken)
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_token != null && !string.Equals(_token, expired, StringComparison.Ordinal)) return _token;
                if (expired != null) log.Verbose("The API session expired; logging in again.");
                var token = await _login(log, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _logins);
                Volatile.Write(ref _token, token);
                return token;
            }
            finally
            {
                _gate.Release();
            }
        }

        /// <summary>Ends the session on the server, if there is one.</summary>
        public async Task CloseAsync(ILbLog log, CancellationToken cancellationToken)
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var token = _token;
                _token = null;
                if (token != null && _logout != null) await _logout(token, log, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }
        }
    }
}
