using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using LoadBalancerTools.Alerts;
using LoadBalancerTools.Http;
using LoadBalancerTools.Model;
using LoadBalancerTools.Services;
using LoadBalancerTools.Services.Remediation;
using LoadBalancerTools.Tests.Http;
using LoadBalancerTools.Tests.Services;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.Remediation
{
    public class RemediationRunnerTests
    {
        [Fact]
        public async Task An_ejection_whose_outcome_is_unknown_is_remembered_so_the_member_is_never_left_out_unrecorded()
        {
            var time = new FakeTimeProvider();
            var provider = new InMemoryProvider();
            var member = provider.Seed("10.0.0.1", 80);
            var connection = InMemoryProvider.Connect(provider);
            var runner = new RemediationRunner(new PoolService(time), new ProbeService(time), new AlertService(new TransportOptions { TimeProvider = time }, time), time);
            var state = new RemediationState { Pool = "web", Endpoint = "http://in-memory/" };
            var record = state.For(member);
            provider.LoseNextUpdateResponse = true;

            var ev = await runner.ApplyAsync(connection, state, new RemediationPolicy(), new RemediationDecision(DecisionKind.Eject, record, member, "failing"), act: true, ChangeGuard.None, new RecordingLog(), CancellationToken.None);

            Assert.False(ev.Success);
            Assert.Equal(LbMemberState.Disabled, provider.Snapshot().Single().State); // it did happen
            Assert.True(record.Ejected);                                           // and it is remembered
        }
    }
}
