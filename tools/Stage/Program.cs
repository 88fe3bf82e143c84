using System;
using System.Threading.Tasks;
using LoadBalancerTools.Stage;
using LoadBalancerTools.TestKit;

// Started by tools/Stage/Stage.psm1 (Start-LbStage): prints one JSON line with the control URL, then
// serves until its standard input closes (the script that started it ended, or died), and stops every
// process and server it started.
await using var stage = new StageState();
var (control, port) = await LoopbackServer.StartAsync(stage.Map);
Console.WriteLine($"{{\"control\":\"http://127.0.0.1:{port}/\"}}");
Console.Out.Flush();
await Task.Run(() => { while (Console.In.ReadLine() != null) { } });
await control.StopAsync();
