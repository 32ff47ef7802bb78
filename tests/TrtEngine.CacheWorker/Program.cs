using System.Globalization;
using TrtEngine.Core.Cache;
using TrtEngine.Core.Conversion;

namespace TrtEngine.CacheWorker;

/// <summary>
/// convert --cache DIR --limit BYTES --models A.onnx,B.onnx --iterations N [--worker I] [--level L] [--markers DIR]
///         [--force] [--stop-at STEP[:N]]
///   Converts model (I + i) mod count in iteration i and prints "RESULT model hit|built digest" for each. With
///   --markers, holding a key's build lock creates markers/KEY (exclusively): a second holder prints DOUBLE-BUILD.
///   With --stop-at, it prints "STOPPED STEP" at the N-th (default first) such step and waits to be killed; steps are
///   the store's (lock, temp, plan, manifest, publish, evict, access-log) and "build" (a progress report of the builder).
/// run --model A.onnx --outputs FILE [--algorithm NAME]
///   Converts one model without a cache (level 0; with --algorithm, every convolution it applies to runs that
///   ConvAlgorithm) and writes its first output for WorkerIO's inputs to FILE (float32); prints "ISA set" (the
///   instruction set the kernels use here: DOTNET_EnableAVX512=0 caps it on .NET 10, where DOTNET_EnableAVX512F is ignored).
/// purge --cache DIR --stop FILE
///   Lists the cache and removes every entry (Get-TrtCache | Remove-TrtCache) until FILE exists; prints "PURGED n".
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var options = new Dictionary<string, string>();
        for (int i = 1; i < args.Length; i++)
            options[args[i]] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "";
        return args.FirstOrDefault() switch
        {
            "convert" => Convert(options),
            "run" => Run(options),
            "purge" => Purge(options),
            _ => Usage(),
        };
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: TrtEngine.CacheWorker convert|purge [options] (see Program.cs)");
        return 2;
    }

    private static int Convert(Dictionary<string, string> o)
    {
        string[] models = o["--models"].Split(',');
        int worker = int.Parse(o.GetValueOrDefault("--worker", "0"), CultureInfo.InvariantCulture);
        var stop = new StopPoint(o.GetValueOrDefault("--stop-at"));
        var disk = new DiskEngineStore(o["--cache"], long.Parse(o["--limit"], CultureInfo.InvariantCulture)) { BeforeWrite = stop.Reached };
        IEngineStore store = o.TryGetValue("--markers", out var markers) ? new MarkedBuildStore(disk, markers) : disk;
        int failures = 0;
        for (int i = 0; i < int.Parse(o["--iterations"], CultureInfo.InvariantCulture); i++)
        {
            int model = (worker + i) % models.Length;
            try
            {
                var engine = EngineConverter.Convert(models[model], new ConversionSettings
                {
                    Store = store,
                    TimingCachePath = Path.Combine(o["--cache"], "timing.cache"),
                    OptimizationLevel = int.Parse(o.GetValueOrDefault("--level", "0"), CultureInfo.InvariantCulture),
                    Force = o.ContainsKey("--force"),
                }, new StopEvents(stop));
                Console.WriteLine($"RESULT {model} {(engine.FromCache ? "hit" : "built")} {WorkerIO.OutputDigest(engine)}");
            }
            catch (Exception e)
            {
                failures++;
                Console.WriteLine($"ERROR {model} {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
            }
        }
        return failures == 0 ? 0 : 1;
    }

    private static int Run(Dictionary<string, string> o)
    {
        var engine = o.TryGetValue("--algorithm", out var algorithm)
            ? Forced(o["--model"], Enum.Parse<TrtEngine.Native.Layers.ConvAlgorithm>(algorithm))
            : EngineConverter.Convert(o["--model"], new ConversionSettings { UseCache = false, OptimizationLevel = 0 });
        var (values, shapes) = WorkerIO.Inputs(engine);
        File.WriteAllBytes(o["--outputs"], System.Runtime.InteropServices.MemoryMarshal.AsBytes(engine.Run(values, shapes)[0].Data.AsSpan()).ToArray());
        Console.WriteLine($"ISA {TrtEngine.Native.Plan.HardwareInfo.CurrentInstructionSet}");
        return 0;
    }

    private static Core.Engines.TrtEngine Forced(string model, TrtEngine.Native.Layers.ConvAlgorithm algorithm)
    {
        var network = TrtEngine.Core.Onnx.OnnxModel.Borrow(model, m => TrtEngine.Core.Onnx.OnnxImporter.Import(m, "m"));
        var config = new TrtEngine.Native.Builder.BuilderConfig { OptimizationLevel = 0, ForceConvAlgorithm = algorithm };
        return new Core.Engines.TrtEngine(TrtEngine.Native.Builder.EngineBuilder.Build(network, config), model, null, false, TimeSpan.Zero, null);
    }

    private static int Purge(Dictionary<string, string> o)
    {
        var store = new DiskEngineStore(o["--cache"], long.MaxValue);
        long removed = 0;
        while (!File.Exists(o["--stop"]))
        {
            foreach (var entry in store.List())
                if (store.Remove(entry.Key)) removed++;
            Thread.Sleep(100);
        }
        Console.WriteLine($"PURGED {removed}");
        return 0;
    }

    private sealed class StopEvents(StopPoint stop) : IConversionEvents
    {
        public void Verbose(string message) { }
        public void Warning(string message) => Console.WriteLine($"WARNING {message.ReplaceLineEndings(" ")}");
        public void Progress(ConversionProgress progress) => stop.Reached("build");
    }
}
