using System;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using LoadBalancerTools.Model;
using LoadBalancerTools.TestKit;
using LoadBalancerTools.TestKit.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancerTools.Tests.NetScaler;

/// <summary>
/// The NetScaler provider through the real PowerShell engine, against the NITRO emulator: sessions that
/// expire mid-run, logout, graceful disable with a delay, state and health read-back, secrets.
/// </summary>
public sealed class NetScalerProviderTests : IAsyncLifetime
{
    private const string User = "lbops";
    private const string Password = "Pa55-N1tro-S3cret!";

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private NetScalerEmulator _emu = null!;
    private PsSession _ps = null!;

    public async Task InitializeAsync()
    {
        _emu = await NetScalerEmulator.StartAsync(new NetScalerEmulatorOptions { UserName = User, Password = Password, TimeProvider = _clock });
        _emu.AddServiceGroup("web");
        _emu.AddMember("web", "10.0.0.1", 80);
        _emu.AddMember("web", "10.0.0.2", 8080, weight: 5);
        _ps = new PsSession();
    }

    public async Task DisposeAsync()
    {
        _ps.Dispose();
        await _emu.DisposeAsync();
    }

    private string Connect(string password = Password, string extra = "") =>
        $"$cred = [pscredential]::new('{User}', [System.Net.NetworkCredential]::new('', '{password}').SecurePassword); " +
        $"Connect-LbController -Provider NetScaler -Endpoint '{_emu.BaseAddress}' -Credential $cred {extra}";

    private PsResult Run(string script) => _ps.Run(script);

    private void Connected()
    {
        var r = Run(Connect() + " | Out-Null");
        Assert.False(r.HadErrors, r.ToString());
    }

    private LbPoolMember Member(string address, int port)
    {
        var r = Run($"Get-LbPoolMember -Pool web -Address {address} -Port {port}");
        Assert.False(r.HadErrors, r.ToString());
        return (LbPoolMember)Assert.Single(r.Output).BaseObject;
    }

    [Theory]
    [InlineData(444)]
    [InlineData(1027)]
    public void A_200_member_pipeline_survives_the_session_expiring_halfway_with_one_relogin(int expiredCode)
    {
        _emu.SessionExpiredCode = expiredCode;
        Connected();
        Assert.Equal(1, _emu.LoginCount);
        // Each row costs two requests (the cmdlet's check, the bind): after 201 the session dies, so the
        // bind of row 101 is the request it refuses.
        _emu.ExpireSessionsAfter(201);

        var r = Run("1..200 | ForEach-Object { [pscustomobject]@{ Address = \"10.1.0.$_\"; Port = 80 } } | Add-LbPoolMember -Pool web -PassThru -Verbose");

        Assert.False(r.HadErrors, r.ToString());
        Assert.Equal(200, r.Output.Count);
        Assert.Equal(1, _emu.ExpiredCount);
        Assert.Equal(2, _emu.LoginCount); // exactly one re-login
        Assert.Single(r.Verbose, v => v.Contains("session expired", StringComparison.OrdinalIgnoreCase));

        // Nothing lost, nothing duplicated: every address bound once, each by exactly one successful bind.
        var members = _emu.GetMembers("web");
        Assert.Equal(202, members.Count);
        Assert.Equal(Enumerable.Range(1, 200).Select(i => $"10.1.0.{i}").OrderBy(a => a),
            members.Where(m => m.Ip.StartsWith("10.1.0.")).Select(m => m.Ip).OrderBy(a => a));
        Assert.Equal(200, _emu.CountRequests("POST", "servicegroup_servicegroupmember_binding", 201));
        Assert.Equal(0, _emu.CountRequests("POST", "servicegroup_servicegroupmember_binding", 409));
        // The one request the dead session refused, a bind, was replayed, not lost.
        var refused = Assert.Single(_emu.Requests, q => q.Status == 401);
        Assert.Equal("POST", refused.Method);
        Assert.Contains("10.1.0.101", refused.Body);
    }

    [Fact]
    public void A_session_that_idles_past_its_timeout_is_renewed_once_on_the_next_command()
    {
        Connected();
        _clock.Advance(TimeSpan.FromSeconds(901)); // the provider asks for NetScaler's default 900 s idle timeout
        var r = Run("Get-LbPoolMember -Pool web");
        Assert.False(r.HadErrors, r.ToString());
        Assert.Equal(2, r.Output.Count);
        Assert.Equal(2, _emu.LoginCount);
    }

    [Fact]
    public void A_session_refused_again_right_after_logging_in_fails_with_LbAuthenticationFailed_instead_of_looping()
    {
        Connected();
        _emu.Faults.Enqueue(FaultKind.Unauthorized, 2, req => req.Path.Value!.Contains("binding"));
        var r = Run("Get-LbPoolMember -Pool web");
        var error = Assert.Single(r.Errors);
        Assert.StartsWith("LbAuthenticationFailed,", error.FullyQualifiedErrorId);
        Assert.Equal(2, _emu.LoginCount);
    }

    [Fact]
    public void Disconnect_logs_out_and_the_connection_is_closed()
    {
        Connected();
        Assert.Equal(1, _emu.LiveSessionCount);
        var r = Run("Disconnect-LbController -Verbose");
        Assert.False(r.HadErrors, r.ToString());
        Assert.Empty(r.Warnings);
        Assert.Equal(1, _emu.LogoutCount);
        Assert.Equal(0, _emu.LiveSessionCount);
        Assert.Contains(r.Verbose, v => v.Contains("Logged out of NetScaler"));

        var after = Run("Get-LbPoolMember -Pool web");
        Assert.StartsWith("LbNoConnection,", Assert.Single(after.AllErrors).FullyQualifiedErrorId);
    }

    [Fact]
    public void Disconnect_after_the_session_already_expired_is_quiet_and_does_not_log_in_again()
    {
        Connected();
        _emu.ExpireAllSessions();
        var r = Run("Disconnect-LbController -Verbose");
        Assert.False(r.HadErrors, r.ToString());
        Assert.Empty(r.Warnings);
        Assert.Equal(1, _emu.LoginCount);
        Assert.Contains(r.Verbose, v => v.Contains("already ended"));
    }

    [Fact]
    public void Disabled_with_DrainTimeoutSec_is_a_graceful_disable_whose_delay_the_appliance_receives()
    {
        Connected();
        var r = Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -State Disabled -DrainTimeoutSec 45 -PassThru -Verbose");
        Assert.False(r.HadErrors, r.ToString());

        var sent = Assert.Single(_emu.Requests, q => q.Path.EndsWith("servicegroup?action=disable"));
        Assert.Contains("\"delay\":45", sent.Body);
        Assert.Contains("\"graceful\":\"YES\"", sent.Body);
        var m = _emu.GetMembers("web").Single(x => x.Ip == "10.0.0.1");
        Assert.Equal(("DISABLED", "YES", 45), (m.State, m.Graceful, m.Delay));

        // While the delay runs the member is going out of service: it reads Draining, and healthy.
        var passed = (LbPoolMember)Assert.Single(r.Output).BaseObject;
        Assert.Equal(LbMemberState.Draining, passed.State);
        Assert.Equal(LbMemberHealth.Healthy, passed.Health);
        Assert.Equal("GOING OUT OF SERVICE", passed.HealthReason);

        _clock.Advance(TimeSpan.FromSeconds(46));
        var done = Member("10.0.0.1", 80);
        Assert.Equal(LbMemberState.Disabled, done.State);
        Assert.Equal(LbMemberHealth.Unknown, done.Health); // out of service by our hand: no verdict on health
        Assert.Equal("OUT OF SERVICE", done.HealthReason);
    }

    [Fact]
    public void Drain_without_a_timeout_uses_the_default_delay_until_the_appliance_completes_it()
    {
        Connected();
        var r = Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -State Drain");
        Assert.False(r.HadErrors, r.ToString());
        Assert.Equal(300, _emu.GetMembers("web").Single(x => x.Ip == "10.0.0.1").Delay);
        Assert.Equal(LbMemberState.Draining, Member("10.0.0.1", 80).State);

        _emu.CompleteGracefulDisables();
        Assert.Equal(LbMemberState.Disabled, Member("10.0.0.1", 80).State);

        var back = Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -State Enabled -PassThru");
        Assert.False(back.HadErrors, back.ToString());
        Assert.Equal(LbMemberState.Enabled, back.Prop<LbMemberState>(0, "State"));
        Assert.Equal("ENABLED", _emu.GetMembers("web").Single(x => x.Ip == "10.0.0.1").State);
    }

    [Fact]
    public void ForcedOffline_is_an_immediate_disable_without_grace_and_reads_back_Disabled()
    {
        Connected();
        var r = Run("Set-LbPoolMember -Pool web -Address 10.0.0.2 -Port 8080 -State ForcedOffline -Force -Confirm:$false -PassThru");
        Assert.False(r.HadErrors, r.ToString());
        var m = _emu.GetMembers("web").Single(x => x.Ip == "10.0.0.2");
        Assert.Equal(("DISABLED", "OUT OF SERVICE", "NO", 0), (m.State, m.SvrState, m.Graceful, m.Delay));
        Assert.Equal(LbMemberState.Disabled, r.Prop<LbMemberState>(0, "State"));
    }

    [Fact]
    public void State_and_health_read_back_from_state_and_svrstate()
    {
        _emu.AddMember("web", "10.0.0.3", 80);
        _emu.AddMember("web", "10.0.0.4", 80);
        _emu.AddMember("web", "10.0.0.5", 80, disabled: true);
        _emu.SetMemberHealth("web", "10.0.0.2", 8080, "DOWN");
        _emu.SetMemberHealth("web", "10.0.0.3", 80, "BUSY");
        _emu.SetMemberHealth("web", "10.0.0.4", 80, "UNKNOWN");
        Connected();

        var r = Run("Get-LbPoolMember -Pool web");
        Assert.False(r.HadErrors, r.ToString());
        var byAddress = r.Output.Select(o => (LbPoolMember)o.BaseObject).ToDictionary(m => m.Address);
        Assert.Equal((LbMemberState.Enabled, LbMemberHealth.Healthy, "UP"), Read(byAddress["10.0.0.1"]));
        Assert.Equal((LbMemberState.Enabled, LbMemberHealth.Unhealthy, "DOWN"), Read(byAddress["10.0.0.2"]));
        Assert.Equal((LbMemberState.Enabled, LbMemberHealth.Healthy, "BUSY"), Read(byAddress["10.0.0.3"]));
        Assert.Equal((LbMemberState.Enabled, LbMemberHealth.Unknown, "UNKNOWN"), Read(byAddress["10.0.0.4"]));
        Assert.Equal((LbMemberState.Disabled, LbMemberHealth.Unknown, "OUT OF SERVICE"), Read(byAddress["10.0.0.5"]));
        Assert.Equal(5, byAddress["10.0.0.2"].Weight); // NITRO sends weight as a string
        Assert.Equal("10.0.0.1", byAddress["10.0.0.1"].VendorId);

        // A member going out of service whose monitor fails reads Draining and Unhealthy.
        Assert.False(Run("Set-LbPoolMember -Pool web -Address 10.0.0.2 -Port 8080 -State Drain -DrainTimeoutSec 60").HadErrors);
        Assert.Equal((LbMemberState.Draining, LbMemberHealth.Unhealthy, "DOWN WHEN GOING OUT OF SERVICE"), Read(Member("10.0.0.2", 8080)));

        static (LbMemberState, LbMemberHealth, string?) Read(LbPoolMember m) => (m.State, m.Health, m.HealthReason);
    }

    [Fact]
    public void Get_LbPool_counts_members_and_healthy_ones_from_one_bulk_read()
    {
        _emu.AddServiceGroup("api", "SSL");
        _emu.AddMember("api", "10.0.1.1", 443);
        _emu.SetMemberHealth("web", "10.0.0.2", 8080, "DOWN");
        Connected();
        _emu.ClearRequests();

        var r = Run("Get-LbPool");
        Assert.False(r.HadErrors, r.ToString());
        var pools = r.Output.Select(o => (LbPool)o.BaseObject).ToDictionary(p => p.Pool);
        Assert.Equal((2, 1), (pools["web"].MemberCount, pools["web"].HealthyCount));
        Assert.Equal((1, 1), (pools["api"].MemberCount, pools["api"].HealthyCount));
        Assert.StartsWith("SSL", pools["api"].Description);
        Assert.Equal(2, _emu.Requests.Count);
    }

    [Fact]
    public void Weight_changes_within_1_to_100_and_is_refused_outside_before_anything_is_sent()
    {
        Connected();
        var bad = Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -Weight 101");
        Assert.StartsWith("LbInvalidWeight,", Assert.Single(bad.Errors).FullyQualifiedErrorId);
        Assert.Equal(0, _emu.CountRequests("PUT", "servicegroup"));

        var ok = Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -Weight 40 -PassThru");
        Assert.False(ok.HadErrors, ok.ToString());
        Assert.Equal(40, ok.Prop<int>(0, "Weight"));
        Assert.Contains("\"weight\":40", Assert.Single(_emu.Requests, q => q.Method == "PUT").Body);
    }

    [Fact]
    public void A_member_bound_by_someone_else_between_check_and_bind_is_not_an_error()
    {
        Connected();
        bool raced = false;
        _emu.BeforeRequest = req =>
        {
            if (!raced && req.Method == "POST" && req.Path.Value!.EndsWith("servicegroup_servicegroupmember_binding"))
            {
                raced = true;
                _emu.AddMember("web", "10.0.0.9", 80);
            }
        };
        var r = Run("Add-LbPoolMember -Pool web -Address 10.0.0.9 -Port 80 -PassThru -Verbose");
        Assert.False(r.HadErrors, r.ToString());
        Assert.Equal(1, _emu.CountRequests("POST", "servicegroup_servicegroupmember_binding", 409));
        Assert.Contains(r.Verbose, v => v.Contains("already exists in web"));
        Assert.Single(_emu.GetMembers("web"), m => m.Ip == "10.0.0.9");
        Assert.Single(r.Output);
    }

    [Fact]
    public void IPv6_and_domain_based_members_are_found_changed_and_removed()
    {
        _emu.AddServer("app1", "app1.example.com");
        _emu.AddMember("web", "app1", 8443);
        Connected();

        var add = Run("Add-LbPoolMember -Pool web -Address 2001:DB8::5 -Port 80 -PassThru");
        Assert.False(add.HadErrors, add.ToString());
        Assert.Equal("2001:db8::5", _emu.GetMembers("web").Single(m => m.Ip.Contains(':')).Ip);

        var domain = Member("app1", 8443);
        Assert.Equal("app1", domain.VendorId);
        Assert.False(Run("Set-LbPoolMember -Pool web -Address app1 -Port 8443 -State Disabled").HadErrors);
        Assert.Equal("DISABLED", _emu.GetMembers("web").Single(m => m.ServerName == "app1").State);

        var remove = Run("Remove-LbPoolMember -Pool web -Address 2001:db8::5 -Port 80 -Confirm:$false; Remove-LbPoolMember -Pool web -Address app1 -Port 8443 -Confirm:$false");
        Assert.False(remove.HadErrors, remove.ToString());
        // Unbound by server name whenever the binding has one (a bind by IP names its server after the IP).
        Assert.Contains(_emu.Requests, q => q.Method == "DELETE" && q.Path.Contains("args=servername:2001%3Adb8%3A%3A5,port:80"));
        Assert.Contains(_emu.Requests, q => q.Method == "DELETE" && q.Path.Contains("args=servername:app1,port:8443"));
        Assert.Equal(2, _emu.GetMembers("web").Count);
    }

    [Fact]
    public void A_wrong_password_is_LbAuthenticationFailed_and_the_password_appears_in_no_stream()
    {
        const string wrong = "Wr0ng-N1tro-Guess#42";
        var r = Run(Connect(wrong, "-Verbose -Debug"));
        var error = Assert.Single(r.AllErrors);
        Assert.StartsWith("LbAuthenticationFailed,", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.AuthenticationError, error.CategoryInfo.Category);
        Assert.Contains("354", error.Exception.Message);
        Assert.Empty(r.Output);
        Assert.Equal(0, _emu.LoginCount);

        string all = r.AllText() + string.Join("\n", error.Exception.ToString(), error.ErrorDetails?.Message, error.ScriptStackTrace);
        Assert.DoesNotContain(wrong, all);
        Assert.DoesNotContain(Password, all);

        // A good connection shows no secret either: not in the object, its properties or the verbose lines.
        var ok = Run(Connect(extra: "-Verbose") + "; Get-LbConnection | ForEach-Object { $_.PSObject.Properties | ForEach-Object { \"$($_.Name)=$($_.Value)\" } }");
        Assert.False(ok.HadErrors, ok.ToString());
        Assert.DoesNotContain(Password, ok.AllText());
        Assert.DoesNotContain(_emu.Requests, q => (q.Body ?? "").Contains(Password));
    }

    [Fact]
    public void A_partition_is_refused_at_connect_rather_than_ignored()
    {
        var r = Run(Connect(extra: "-Partition tenant1"));
        var error = Assert.Single(r.AllErrors);
        Assert.StartsWith("LbConnectFailed,", error.FullyQualifiedErrorId);
        Assert.Contains("partitions are not supported", error.Exception.Message);
        Assert.Equal(0, _emu.LoginCount);
    }

    [Fact]
    public void Service_unavailable_answers_are_retried_and_the_command_succeeds()
    {
        Connected();
        _emu.Faults.Enqueue(FaultKind.ServiceUnavailable, 2, req => req.Path.Value!.Contains("binding"));
        var r = Run("Get-LbPoolMember -Pool web -Verbose");
        Assert.False(r.HadErrors, r.ToString());
        Assert.Equal(2, r.Output.Count);
        Assert.Equal(2, r.Verbose.Count(v => v.StartsWith("Retrying")));
    }

    [Fact]
    public void A_malformed_body_is_LbMalformedResponse_and_changes_nothing()
    {
        Connected();
        _emu.Faults.Enqueue(FaultKind.MalformedBody, 1, req => req.Path.Value!.Contains("binding"));
        var r = Run("Set-LbPoolMember -Pool web -Address 10.0.0.1 -Port 80 -State Disabled");
        Assert.StartsWith("LbMalformedResponse,", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(0, _emu.CountRequests("POST", "action=disable"));
        Assert.Equal("ENABLED", _emu.GetMembers("web").Single(m => m.Ip == "10.0.0.1").State);
    }

    [Fact]
    public void A_slow_answer_past_the_timeout_is_LbTransient_naming_the_timeout()
    {
        var connect = Run(Connect(extra: "-TimeoutSec 1 -MaxRetries 0") + " | Out-Null");
        Assert.False(connect.HadErrors, connect.ToString());
        _emu.Faults.SlowDelay = TimeSpan.FromSeconds(10);
        _emu.Faults.Enqueue(FaultKind.Slow, 1, req => req.Path.Value!.Contains("binding"));
        var r = Run("Get-LbPoolMember -Pool web");
        var error = Assert.Single(r.Errors);
        Assert.StartsWith("LbTransient,", error.FullyQualifiedErrorId);
        Assert.Contains("timed out", error.Exception.Message);
    }
}
