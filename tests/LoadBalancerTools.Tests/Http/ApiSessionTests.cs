using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Http;
using LoadBalancerTools.Logging;

namespace LoadBalancerTools.Tests.Http
{
    public class ApiSessionTests
    {
        [Fact]
        public async Task Many_concurrent_callers_share_one_login_and_one_renewal()
        {
            int logins = 0;
            var session = new ApiSession(async (_, _) => { await Task.Yield(); return "token-" + Interlocked.Increment(ref logins); });

            var first = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => session.GetTokenAsync(NullLog.Instance, CancellationToken.None)));
            Assert.All(first, t => Assert.Equal("token-1", t));

            // Fifty requests all see the same token expire: one logs in again, the rest reuse its token.
            var renewed = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => session.RenewAsync("token-1", NullLog.Instance, CancellationToken.None)));
            Assert.All(renewed, t => Assert.Equal("token-2", t));
            Assert.Equal(2, session.LoginCount);
        }

        [Fact]
        public async Task Close_logs_out_the_live_session_once()
        {
            var loggedOut = new System.Collections.Concurrent.ConcurrentBag<string>();
            var session = new ApiSession((_, _) => Task.FromResult("t1"), (token, _, _) => { loggedOut.Add(token); return Task.CompletedTask; });
            await session.GetTokenAsync(NullLog.Instance, CancellationToken.None);
            await session.CloseAsync(NullLog.Instance, CancellationToken.None);
            await session.CloseAsync(NullLog.Instance, CancellationToken.None);
            Assert.Equal(new[] { "t1" }, loggedOut);
        }
    }
}
