using System;
using System.Linq;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;

namespace LoadBalancerTools.Tests.AwsElbV2
{
    /// <summary>
    /// Add-LbPoolMember and Remove-LbPoolMember with piped records on ELBv2, through the real engine: the
    /// records go many to a RegisterTargets/DeregisterTargets call, and still come back one output object or
    /// one error per record, each error on the record that caused it.
    /// </summary>
    public sealed class PipelineBatchTests : IAsyncLifetime
    {
        private AwsElbV2Emulator _aws = null!;
        private PsSession _ps = null!;

        public async Task InitializeAsync()
        {
            _aws = await AwsElbV2Emulator.StartAsync();
            _aws.AddTargetGroup("web", targetType: "ip");
            _aws.AddTargetGroup("apps");
            _ps = new PsSession();
        }

        public async Task DisposeAsync()
        {
            _ps?.Dispose();
            if (_aws != null) await _aws.DisposeAsync();
        }

        private void Connect(string extra = "")
        {
            string credential = $"([pscredential]::new('{AwsElbV2Emulator.DefaultAccessKeyId}', [Net.NetworkCredential]::new('', '{AwsElbV2Emulator.DefaultSecretKey}').SecurePassword))";
            var r = _ps.Run($"Connect-LbController -Provider AwsElbV2 -Region us-east-1 -Endpoint '{_aws.Endpoint}' -Credential {credential} {extra} | Out-Null");
            Assert.False(r.HadErrors, r.ToString());
            _aws.ClearRequests();
        }

        private static string Piped(int count, string prefix = "10.5.0.") =>
            $"1..{count} | ForEach-Object {{ [pscustomobject]@{{ Pool = 'web'; Address = \"{prefix}$_\"; Port = 80 }} }}";

        [Fact]
        public void Eighty_piped_adds_are_one_RegisterTargets_call_and_eighty_output_objects()
        {
            Connect();

            var r = _ps.Run(Piped(80) + " | Add-LbPoolMember -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(80, _aws.GetTargets("web").Count);
            Assert.InRange(_aws.Count("RegisterTargets"), 1, 2);
            var added = r.Output.Select(o => Assert.IsType<LbPoolMember>(o.BaseObject)).ToList();
            Assert.Equal(Enumerable.Range(1, 80).Select(i => $"10.5.0.{i}"), added.Select(m => m.Address));
            // One read before the batch and one after it for -PassThru, not one per record.
            Assert.InRange(_aws.Count("DescribeTargetHealth"), 1, 2);
        }

        [Fact]
        public void Members_already_there_are_written_as_they_are_and_only_the_missing_ones_are_sent()
        {
            Connect();
            Assert.False(_ps.Run(Piped(10) + " | Add-LbPoolMember").HadErrors);
            _aws.ClearRequests();

            var r = _ps.Run(Piped(20) + " | Add-LbPoolMember -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(20, r.Output.Count);
            Assert.Equal(20, _aws.GetTargets("web").Count);
            var sent = _aws.Requests.Where(q => q.Action == "RegisterTargets").SelectMany(q => q.Parameters.Where(p => p.Key.EndsWith(".Id", StringComparison.Ordinal))).Select(p => p.Value).ToList();
            Assert.Equal(Enumerable.Range(11, 10).Select(i => $"10.5.0.{i}"), sent);
        }

        [Fact]
        public void A_refused_target_fails_its_own_record_only()
        {
            Connect();
            _aws.MarkInstanceNotRunning("i-00000000000000003");
            string ids = string.Join(",", Enumerable.Range(1, 5).Select(i => $"'i-{i:D17}'"));

            var r = _ps.Run($"{ids} | ForEach-Object {{ [pscustomobject]@{{ Pool = 'apps'; Address = $_; Port = 80 }} }} | Add-LbPoolMember -PassThru");

            var error = Assert.Single(r.Errors);
            Assert.Equal("i-00000000000000003:80", Assert.IsType<LbMemberSpec>(error.TargetObject).Endpoint);
            Assert.Contains("i-00000000000000003", error.Exception.Message);
            Assert.Equal(4, r.Output.Count);
            Assert.DoesNotContain(r.Output, o => ((LbPoolMember)o.BaseObject).Address == "i-00000000000000003");
            Assert.Equal(4, _aws.GetTargets("apps").Count);
        }

        [Fact]
        public void WhatIf_answers_per_record_and_sends_nothing()
        {
            Connect();

            var r = _ps.Run(Piped(12) + " | Add-LbPoolMember -WhatIf");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(12, r.HostLines.Count(l => l.StartsWith("What if:", StringComparison.Ordinal) && l.Contains("Add member 10.5.0.")));
            Assert.Equal(0, _aws.Count("RegisterTargets"));
            Assert.Empty(_aws.GetTargets("web"));
        }

        [Fact]
        public void A_batch_applied_but_answered_with_an_error_is_read_back_not_sent_again()
        {
            Connect("-MaxRetries 0");
            _aws.Fault("RegisterTargets", FaultKind.ApplyThen500);

            var r = _ps.Run(Piped(30) + " | Add-LbPoolMember -PassThru");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(30, r.Output.Count);
            Assert.Equal(30, _aws.GetTargets("web").Count);
            Assert.Equal(1, _aws.Count("RegisterTargets"));
        }

        [Fact]
        public void A_batch_refused_with_an_unknown_outcome_is_read_back_and_each_record_fails_without_a_resend()
        {
            Connect("-MaxRetries 0");
            _aws.Fault("RegisterTargets", FaultKind.ServiceUnavailable);

            var r = _ps.Run(Piped(6) + " | Add-LbPoolMember -PassThru");

            Assert.Equal(6, r.Errors.Count);
            Assert.Equal(Enumerable.Range(1, 6).Select(i => $"10.5.0.{i}:80"), r.Errors.Select(e => Assert.IsType<LbMemberSpec>(e.TargetObject).Endpoint));
            Assert.All(r.Errors, e => Assert.Contains("was not sent again", e.Exception.Message));
            Assert.Empty(r.Output);
            Assert.Equal(1, _aws.Count("RegisterTargets"));
            Assert.Empty(_aws.GetTargets("web"));
        }

        [Fact]
        public void Piped_remove_WhatIf_names_members_as_every_other_path_does()
        {
            _aws.AddTarget("apps", "i-0aaaaaaaaaaaaaaaa", 8080);
            _aws.AddTarget("apps", "i-0bbbbbbbbbbbbbbbb", 8080);
            Connect();

            var piped = _ps.Run("Get-LbPoolMember -Pool apps | Remove-LbPoolMember -WhatIf");
            var typed = _ps.Run("Remove-LbPoolMember -Pool apps -Address i-0aaaaaaaaaaaaaaaa -Port 8080 -WhatIf");

            Assert.False(piped.HadErrors, piped.ToString());
            var lines = piped.HostLines.Where(l => l.StartsWith("What if:", StringComparison.Ordinal)).ToList();
            Assert.Equal(2, lines.Count);
            // One wording (LbPoolMember.Label): the batched path says what the one-by-one path says.
            Assert.Equal(typed.HostLines.Single(l => l.StartsWith("What if:", StringComparison.Ordinal)), lines[0]);
            Assert.Contains("member i-0aaaaaaaaaaaaaaaa:8080 of pool 'apps'", lines[0]);
            Assert.All(lines, l => Assert.DoesNotContain("name '", l));
            Assert.Equal(0, _aws.Count("DeregisterTargets"));
            Assert.Equal(2, _aws.GetTargets("apps").Count);
        }

        [Fact]
        public void Piped_removes_are_one_DeregisterTargets_call_and_a_missing_member_is_not_an_error()
        {
            Connect();
            Assert.False(_ps.Run(Piped(40) + " | Add-LbPoolMember").HadErrors);
            _aws.ClearRequests();

            var r = _ps.Run("$rows = @(1..40 | ForEach-Object { [pscustomobject]@{ Address = \"10.5.0.$_\"; Port = 80 } }) + [pscustomobject]@{ Address = '10.9.9.9'; Port = 80 }; " +
                            "$rows | Remove-LbPoolMember -Pool web -Confirm:$false -Verbose");

            Assert.False(r.HadErrors, r.ToString());
            Assert.Equal(1, _aws.Count("DeregisterTargets"));
            Assert.All(_aws.GetTargets("web"), t => Assert.Equal("draining", t.State));
            Assert.Equal(40, r.Verbose.Count(v => v.StartsWith("Removed web/10.5.0.", StringComparison.Ordinal)));
            Assert.Contains(r.Verbose, v => v.Contains("10.9.9.9:80") && v.Contains("does not exist"));
        }
    }
}
