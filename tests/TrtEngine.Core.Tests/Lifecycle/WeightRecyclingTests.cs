using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Native.Refit;
using TrtEngine.Native.Runtime;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Onnx;

namespace TrtEngine.Core.Tests.Lifecycle;

/// <summary>
/// Engines that are disposed (or collected) hand their weight buffers to the engines made next, and only buffers
/// nothing else can reach: not those an inference holds, another engine shares or a caller was lent. A hit on
/// recycled buffers computes exactly what a hit on fresh ones does, and many hits leave memory where it was.
/// </summary>
[Collection(nameof(ProcessStateCollection))] // the pool is process-wide: other tests renting or collecting would blur what these observe
public sealed class WeightRecyclingTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private static readonly float[] Input = ErrorMetrics.RandomValues(3, 2 * 61);

    /// <summary>
    /// Each test starts from an empty pool with no other test's engine left to finalize: the engines other tests drop
    /// can fill the pool to its cap, which then leaves what a test hands back to the GC (two tests failed so, now and then).
    /// </summary>
    public WeightRecyclingTests() => SettledMemory();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// An MLP x → w1, b1 → Relu → w2, b2 → y, by default of sizes no other test uses (61 → 43 → 29), so no other engine
    /// competes for its pooled buffers.
    /// </summary>
    private string Model(int seed, int inputs = 61, int hidden = 43, int outputs = 29, float? w1At7 = null)
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, "batch", inputs);
        float[] w1 = ErrorMetrics.RandomValues(seed, hidden * inputs);
        if (w1At7 is { } value) w1[7] = value;
        m.AddInitializer("w1", w1, [hidden, inputs]);
        m.AddInitializer("b1", ErrorMetrics.RandomValues(seed + 1, hidden), [hidden]);
        m.AddInitializer("w2", ErrorMetrics.RandomValues(seed + 2, outputs * hidden), [outputs, hidden]);
        m.AddInitializer("b2", ErrorMetrics.RandomValues(seed + 3, outputs), [outputs]);
        m.AddNode("Gemm", ["x", "w1", "b1"], ["h"], ("transB", 1L));
        m.AddNode("Relu", ["h"], ["r"]);
        m.AddNode("Gemm", ["r", "w2", "b2"], ["y"], ("transB", 1L));
        m.AddOutput("y", OnnxDataType.Float);
        string path = _dir.File($"mlp_{seed}_{inputs}x{hidden}x{outputs}{(w1At7 is null ? "" : "_poisoned")}.onnx");
        m.Save(path);
        return path;
    }

    private Engines.TrtEngine Convert(string path) =>
        EngineConverter.Convert(path, new ConversionSettings { CacheDirectory = _dir.File("cache"), OptimizationLevel = 0 });

    private static float[] Run(Engines.TrtEngine engine) => engine.Run(new Dictionary<string, float[]> { ["x"] = Input })[0].Data;

    /// <summary>Every array an engine's current state holds: packed engine weights and model values.</summary>
    private static HashSet<float[]> Arrays(Engines.TrtEngine engine)
    {
        var state = engine.Native.CurrentState;
        return new HashSet<float[]>(state.Weights!.Buffers.Concat(state.ModelValues.Values), ReferenceEqualityComparer.Instance);
    }

    [Fact]
    public void A_hit_after_a_dispose_takes_its_buffers_and_computes_what_a_fresh_hit_does()
    {
        string v1 = Model(10), v2 = Model(20);
        using var built = Convert(v1);
        using var fresh = Convert(v2);             // a hit on fresh (or other engines') buffers: the reference
        float[] expected = Run(fresh);
        var first = Convert(v1);
        Assert.True(first.FromCache);
        var arrays = Arrays(first);
        first.Dispose();

        using var second = Convert(v2);
        Assert.True(second.FromCache);
        // All of its packed weights and model values came back from the disposed engine.
        Assert.All(Arrays(second), a => Assert.Contains(a, arrays));
        Assert.Equal(expected, Run(second));
        Assert.True(ErrorMetrics.RelativeL2(Run(second), Run(built)) > 1e-3, "v1 and v2 differ: the recycled buffers were rewritten");
    }

    [Fact]
    public void A_declined_conversion_hands_the_model_s_weights_back_to_the_pool()
    {
        // New-TrtEngine -WhatIf imports the model (to name its key) and builds nothing: the weights it read go back.
        string v1 = Model(10);
        using (Convert(v1)) { }
        long pooled = WeightPool.PooledBytes;
        for (int i = 0; i < 3; i++)
            Assert.Null(EngineConverter.TryConvert(v1, new ConversionSettings { CacheDirectory = _dir.File("cache"), OptimizationLevel = 0 }, _ => false));
        Assert.True(WeightPool.PooledBytes >= pooled, $"the pool held {pooled} bytes before the declined conversions, {WeightPool.PooledBytes} after");
    }

    [Fact]
    public void A_disposed_engine_refuses_every_use_with_a_clear_error()
    {
        string v1 = Model(10);
        var engine = Convert(v1);
        var weights = WeightSources.FromFile(v1);
        engine.Dispose();
        engine.Dispose();   // twice is harmless

        var run = Assert.Throws<EngineDisposedException>(() => Run(engine));
        Assert.Contains("disposed", run.Message);
        Assert.Contains(engine.Name, run.Message);
        Assert.Throws<EngineDisposedException>(() => engine.Refit(weights));
        Assert.Throws<EngineDisposedException>(() => engine.CheckRefit(weights, partial: false));
        Assert.Throws<EngineDisposedException>(() => engine.Export(new MemoryStream(), includeWeights: false));
        Assert.StartsWith($"The source engine '{engine.Name}' has been disposed", Assert.Throws<EngineDisposedException>(() => WeightSources.FromEngine(engine)).Message);
        Assert.False(engine.HasWeights);
    }

    [Fact]
    public void Buffers_an_inference_holds_when_the_engine_is_disposed_are_never_recycled()
    {
        string v1 = Model(10), v2 = Model(20);
        using var built = Convert(v1);
        var engine = Convert(v1);
        float[] before = Run(engine);
        var arrays = Arrays(engine);
        var held = engine.Native.EnterState();     // an inference in flight
        engine.Dispose();
        using var next = Convert(v2);              // would take the buffers if they had been handed back
        Assert.DoesNotContain(Arrays(next), arrays.Contains);
        // What the inference in flight computes, through a detached engine over the state it holds.
        Assert.Equal(before, RunNative(new Engine(engine.Native.Plan, held)));
        engine.Native.ExitState(held);
    }

    [Fact]
    public void Model_values_lent_to_another_engine_are_never_recycled()
    {
        string v1 = Model(10), v2 = Model(20);
        using var built = Convert(v1);
        var source = Convert(v2);
        using var target = Convert(v1);
        target.Refit(WeightSources.FromEngine(source));    // target keeps source's model values as they are
        var lent = new HashSet<float[]>(source.Native.CurrentState.ModelValues.Values, ReferenceEqualityComparer.Instance);
        Assert.All(target.Native.CurrentState.ModelValues.Values, v => Assert.Contains(v, lent));
        source.Dispose();

        using var next = Convert(v1);                       // would write v1's values into them had they been handed back
        Assert.DoesNotContain(next.Native.CurrentState.ModelValues.Values, lent.Contains);
        // Partial refits re-derive fused weights from these values: they must still be v2's.
        foreach (var (name, value) in WeightSources.FromFile(v2))
            Assert.Equal(value.Data, target.Native.CurrentState.ModelValues[name]);
    }

    [Fact]
    public void Buffers_of_an_engine_that_shares_its_state_are_never_recycled()
    {
        string v1 = Model(10), v2 = Model(20);
        using var built = Convert(v1);
        var engine = Convert(v1);
        var renamed = engine.Native.WithNames("renamed", ["x"], ["y"]);
        var arrays = Arrays(engine);
        engine.Dispose();
        using var next = Convert(v2);
        Assert.DoesNotContain(Arrays(next), arrays.Contains);
        Assert.Equal(Run(built), RunNative(renamed));
    }

    /// <summary>The model value arrays an engine holds.</summary>
    private static HashSet<float[]> ModelValues(Engines.TrtEngine engine) =>
        new(engine.Native.CurrentState.ModelValues.Values, ReferenceEqualityComparer.Instance);

    [Fact]
    public void Refits_from_files_read_into_the_buffers_of_the_values_they_replace_and_stay_exact()
    {
        string v1 = Model(10), v2 = Model(20);
        using var engine = Convert(v1);
        using var fresh2 = Convert(v2);
        float[][] expected = [Run(engine), Run(fresh2)];
        string[] files = [v1, v2];
        // Every array the engine has held: model values and weights (a file's arrays are both for an identity weight,
        // and the build's weights go back to the pool once a refit no longer needs them).
        var seen = Arrays(engine);
        for (int i = 1; i <= 20; i++)
        {
            using (var weights = WeightFile.Read(files[i % 2]))
            {
                engine.Refit(weights.Values);
                // The engine adopted the file's arrays: they are its model values now, and (all of this MLP's weights being
                // identities at batch 1) its weights too.
                Assert.All(engine.Native.CurrentState.ModelValues.Values, v => Assert.Contains(v, weights.Values.Values.Select(w => w.Data)));
                var state = engine.Native.CurrentState;
                Assert.All(engine.Native.Plan.Weights.Select((w, k) => (w, k)), p => Assert.Same(state.ModelValues[p.w.Recipe.Sources[0]], state.Weights!.Buffers[p.k]));
            }
            Assert.Equal(expected[i % 2], Run(engine));
            if (i > 2) Assert.All(Arrays(engine), v => Assert.Contains(v, seen));    // no new arrays after the first two refits
            seen.UnionWith(Arrays(engine));
        }
    }

    /// <summary>
    /// Two 3×3 convolutions, a global pool and a transposed Gemm, of sizes no other test uses (29 → 83 → 331 channels, 997
    /// outputs): over 1 MB of derived engine weights, enough for a file read for the engine to prepare its recipes.
    /// </summary>
    private string ConvModel(int seed)
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, 1, 29, 7, 7);
        m.AddInitializer("w1", ErrorMetrics.RandomValues(seed, 83 * 29 * 9), [83, 29, 3, 3]);
        m.AddInitializer("b1", ErrorMetrics.RandomValues(seed + 1, 83), [83]);
        m.AddInitializer("w2", ErrorMetrics.RandomValues(seed + 2, 331 * 83 * 9), [331, 83, 3, 3]);
        m.AddInitializer("b2", ErrorMetrics.RandomValues(seed + 3, 331), [331]);
        m.AddInitializer("wg", ErrorMetrics.RandomValues(seed + 4, 997 * 331), [997, 331]);
        m.AddInitializer("bg", ErrorMetrics.RandomValues(seed + 5, 997), [997]);
        m.AddNode("Conv", ["x", "w1", "b1"], ["c1"], ("pads", new long[] { 1, 1, 1, 1 }));
        m.AddNode("Relu", ["c1"], ["r1"]);
        m.AddNode("Conv", ["r1", "w2", "b2"], ["c2"]);
        m.AddNode("GlobalAveragePool", ["c2"], ["g"]);
        m.AddNode("Flatten", ["g"], ["f"]);
        m.AddNode("Gemm", ["f", "wg", "bg"], ["y"], ("transB", 1L));
        m.AddOutput("y", OnnxDataType.Float);
        string path = _dir.File($"cnn_{seed}.onnx");
        m.Save(path);
        return path;
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1)] // one thread prepares nothing (as on a one-core machine): the read rents the values' buffers alone
    public void Refits_from_files_read_for_the_engine_make_no_new_buffers_after_the_first_two(int threads)
    {
        // The recipes prepared during a read, and the read itself, rent their buffers before the refit runs: the set the
        // refit before swapped out must be back in the pool by then, or every refit makes a new set until the pool
        // catches up.
        string v1 = ConvModel(10), v2 = ConvModel(20);
        var settings = new ConversionSettings { UseCache = false, OptimizationLevel = 0, Threads = threads };
        using var engine = EngineConverter.Convert(v1, settings);
        using var second = EngineConverter.Convert(v2, settings);
        Assert.True(engine.Native.DerivedWeightBytes >= WeightFile.PrepareFromBytes, $"{engine.Native.DerivedWeightBytes} derived bytes: too few for a read to prepare");
        var x = new Dictionary<string, float[]> { ["x"] = ErrorMetrics.RandomValues(4, 29 * 7 * 7) };
        float[][] expected = [engine.Run(x)[0].Data, second.Run(x)[0].Data];
        string[] files = [v1, v2];
        var seen = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
        for (int i = 1; i <= 8; i++)
        {
            using (var weights = WeightFile.Read(files[i % 2], engine))
            {
                Assert.Equal(Math.Min(threads, Environment.ProcessorCount) > 1, engine.Native.Preparation is not null);
                engine.Refit(weights.Values);
            }
            var arrays = Arrays(engine);
            if (i > 2) Assert.All(arrays, a => Assert.Contains(a, seen));
            seen.UnionWith(arrays);
            Assert.Equal(expected[i % 2], engine.Run(x)[0].Data);
        }
    }

    [Fact]
    public void A_refit_that_changes_nothing_leaves_the_spare_set_to_the_next_one()
    {
        string v1 = Model(60), v2 = Model(70);
        using var engine = Convert(v1);
        using var fresh2 = Convert(v2);
        float[] expected1 = Run(engine), expected2 = Run(fresh2);
        var first = WeightSources.FromFile(v1);
        var second = WeightSources.FromFile(v2);
        engine.Refit(second);
        var spare = engine.Native.Retired;
        Assert.NotNull(spare);
        Assert.Empty(engine.Refit(second).RecomputedWeights);
        Assert.Same(spare, engine.Native.Retired);
        // The next change writes into the spare set's buffers, rather than renting others while those wait in the pool.
        engine.Refit(first);
        Assert.Equal(spare.Buffers, engine.Native.CurrentWeights!.Buffers);
        Assert.Equal(expected1, Run(engine));
        engine.Refit(second);
        Assert.Equal(expected2, Run(engine));
    }

    /// <summary>A caller's arrays (as a hashtable of arrays arrives): the refit must copy them.</summary>
    private static Dictionary<string, WeightValue> CallerArrays(string path) =>
        WeightSources.FromFile(path).ToDictionary(e => e.Key, e => new WeightValue(e.Value.Shape, (float[])e.Value.Data.Clone()));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_refit_holds_nothing_of_a_callers_arrays_once_it_returns_or_refuses(bool packed)
    {
        // The engine keeps a refit's bookkeeping from one refit to the next: it must not keep what a caller handed in,
        // whether its weights are the values as they are or packed (tuned for a batch of 64, the GEMMs pack theirs).
        string v1 = Model(190), v2 = Model(200);
        using var engine = packed
            ? EngineConverter.Convert(v1, new ConversionSettings { UseCache = false, OptimizationLevel = 0, InputShapes = new Dictionary<string, int[]> { ["x"] = [64, 61] } })
            : Convert(v1);
        Assert.Equal(packed, engine.Native.Plan.Weights.Any(w => w.Recipe.Kind != Native.Plan.RecipeKind.Identity));
        var (accepted, wasRefused) = RefitAndForget(engine, () => CallerArrays(v2));
        Assert.False(wasRefused);
        (var refused, wasRefused) = RefitAndForget(engine, () =>
        {
            var weights = CallerArrays(v1);
            weights["w2"].Data[3] = float.NaN;
            return weights;
        });
        Assert.True(wasRefused);
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.All(accepted.Concat(refused), w => Assert.False(w.IsAlive));
    }

    /// <summary>Refits from weights made here and keeps only weak references to them and their arrays; whether the refit was refused.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (WeakReference[] Weights, bool Refused) RefitAndForget(Engines.TrtEngine engine, Func<Dictionary<string, WeightValue>> make)
    {
        var weights = make();
        bool refused = false;
        try
        {
            engine.Refit(weights);
        }
        catch (RefitException)
        {
            refused = true;
        }
        return (weights.Values.SelectMany(v => new WeakReference[] { new(v), new(v.Data) }).ToArray(), refused);
    }

    [Fact]
    public void An_identity_weight_refitted_from_a_callers_array_is_the_engines_copy_of_it()
    {
        string v1 = Model(80), v2 = Model(90);
        using var engine = Convert(v1);
        using var fresh2 = Convert(v2);
        float[] expected2 = Run(fresh2);
        var callers = CallerArrays(v2);
        engine.Refit(callers);
        Assert.Equal(expected2, Run(engine));
        // Every weight of this MLP at batch 1 is an identity (its GEMMs keep their weights' rows): one copy each.
        var state = engine.Native.CurrentState;
        var plan = engine.Native.Plan;
        Assert.All(Enumerable.Range(0, plan.Weights.Length), i =>
        {
            Assert.Equal(Native.Plan.RecipeKind.Identity, plan.Weights[i].Recipe.Kind);
            Assert.Same(state.ModelValues[plan.Weights[i].Recipe.Sources[0]], state.Weights!.Buffers[i]);
            Assert.DoesNotContain(callers.Values, v => ReferenceEquals(v.Data, state.Weights.Buffers[i]));
        });
        foreach (var value in callers.Values) value.Data.AsSpan().Fill(float.NaN); // the caller reuses its arrays
        Assert.Equal(expected2, Run(engine));
    }

    [Fact]
    public void The_copies_of_a_callers_arrays_are_the_engines_and_recycled_once_replaced()
    {
        // Sizes of their own, so the pool's buffers of these lengths are this engine's alone.
        string v1 = Model(81, 61, 53, 37), v2 = Model(91, 61, 53, 37);
        using var engine = Convert(v1);
        Dictionary<string, WeightValue>[] callers = [CallerArrays(v1), CallerArrays(v2)];
        // The engine's copies are its own: a refit that replaces them hands them back to the pool, so after two refits
        // (which may need fresh buffers) every copy lands in memory the engine held before.
        var seen = Arrays(engine);
        for (int refit = 1; refit <= 6; refit++)
        {
            engine.Refit(callers[refit % 2]);
            var values = engine.Native.CurrentState.ModelValues.Values.ToList();
            if (refit > 2) Assert.All(values, v => Assert.Contains(v, seen));
            seen.UnionWith(values);
        }
        using var fresh1 = Convert(v1);
        Assert.Equal(Run(fresh1), Run(engine));
    }

    [Fact]
    public void A_loop_over_a_callers_arrays_writes_two_buffers_per_weight_in_turn_without_the_pool()
    {
        string v1 = Model(82, 61, 47, 31), v2 = Model(92, 61, 47, 31);
        using var engine = Convert(v1);
        using var fresh2 = Convert(v2);
        Dictionary<string, WeightValue>[] callers = [CallerArrays(v1), CallerArrays(v2)];
        engine.Refit(callers[0]);
        engine.Refit(callers[1]);
        var pooled = WeightPool.PooledBytes;
        // Each copy a refit replaces waits for the next copy of its weight: the values of a refit are those of the
        // refit two before, and the pool is neither asked nor given anything.
        var before = new[] { ModelValues(engine), ModelValues(engine) };
        for (int refit = 0; refit < 6; refit++)
        {
            engine.Refit(callers[refit % 2]);
            var values = ModelValues(engine);
            if (refit >= 2) Assert.True(values.SetEquals(before[refit % 2]));
            before[refit % 2] = values;
        }
        Assert.Equal(pooled, WeightPool.PooledBytes);
        Assert.Equal(Run(fresh2), Run(engine));
    }

    [Fact]
    public void Copies_lent_to_another_engine_are_never_rewritten()
    {
        string v1 = Model(83, 61, 41, 23), v2 = Model(93, 61, 41, 23), v3 = Model(103, 61, 41, 23);
        using var engine = Convert(v1);
        using var target = Convert(v1);
        Dictionary<string, WeightValue>[] callers = [CallerArrays(v1), CallerArrays(v2), CallerArrays(v3)];
        engine.Refit(callers[1]);
        target.Refit(WeightSources.FromEngine(engine));     // target keeps engine's copies as they are
        // Values other than the lent ones, so a lent array rewritten would show.
        for (int refit = 0; refit < 4; refit++) engine.Refit(callers[refit % 2 * 2]);
        foreach (var (name, value) in callers[1]) Assert.Equal(value.Data, target.Native.CurrentState.ModelValues[name]);
        using var fresh2 = Convert(v2);
        Assert.Equal(Run(fresh2), Run(target));
    }

    [Fact]
    public void Copies_a_reader_holds_are_never_rewritten()
    {
        string v1 = Model(85, 61, 41, 23), v2 = Model(95, 61, 41, 23), v3 = Model(105, 61, 41, 23);
        using var engine = Convert(v1);
        Dictionary<string, WeightValue>[] callers = [CallerArrays(v1), CallerArrays(v2), CallerArrays(v3)];
        engine.Refit(callers[1]);
        engine.Refit(callers[0]);
        var held = engine.Native.EnterState();               // an inference in flight on copies of v1
        for (int refit = 1; refit <= 4; refit++) engine.Refit(callers[1 + refit % 2]);
        foreach (var (name, value) in callers[0]) Assert.Equal(value.Data, held.ModelValues[name]);
        engine.Native.ExitState(held);
        for (int refit = 1; refit <= 4; refit++) engine.Refit(callers[refit % 2]);
        using var fresh1 = Convert(v1);
        Assert.Equal(Run(fresh1), Run(engine));
    }

    [Fact]
    public void A_disposed_engine_hands_its_spare_copies_to_the_pool()
    {
        string v1 = Model(84, 61, 37, 19), v2 = Model(94, 61, 37, 19);
        // Tuned for a batch of 64, its GEMMs pack their weights: the copies are model values only, which no weight set holds.
        var engine = EngineConverter.Convert(v1, new ConversionSettings { UseCache = false, OptimizationLevel = 0, InputShapes = new Dictionary<string, int[]> { ["x"] = [64, 61] } });
        Assert.DoesNotContain(engine.Native.Plan.Weights, w => w.Length > 64 && w.Recipe.Kind == Native.Plan.RecipeKind.Identity);
        Dictionary<string, WeightValue>[] callers = [CallerArrays(v1), CallerArrays(v2)];
        engine.Refit(callers[1]);
        var spares = ModelValues(engine);
        engine.Refit(callers[0]);                            // the copies of v2 now wait for the next refit
        engine.Dispose();
        // Lengths of their own: what a read of the model rents can only be this engine's buffers or new ones.
        using var read = WeightFile.Read(v1);
        Assert.All(spares.Where(s => s.Length > 64), s => Assert.Contains(read.Values.Values, v => ReferenceEquals(v.Data, s)));
    }

    [Fact]
    public void A_spare_buffer_that_was_a_model_value_is_never_rewritten()
    {
        // Two biases of one length: the pool hands a recycled one to the next copy of the other. A set whose buffers were
        // a caller's copies must not lend them as spares: by then the pool may have given one to a new model value.
        string v1 = Model(120, 16, 16, 16), v2 = Model(130, 16, 16, 16);
        using var engine = Convert(v1);
        engine.Refit(CallerArrays(v2));                  // its buffers are the engine's copies of the caller's arrays
        var copies = engine.Native.CurrentWeights!;
        Assert.All(Enumerable.Range(0, copies.Buffers.Length), i => Assert.True(copies.IsModelValue(i)));
        // Replaces them (kept for the next copies, or back to the pool), from plain arrays the refit copies into the spare set; this set is the spare now.
        engine.Refit(WeightSources.FromFile(v1).ToDictionary(e => e.Key, e => new WeightValue(e.Value.Shape, (float[])e.Value.Data.Clone(), Immutable: true)));
        Assert.Same(copies, engine.Native.Retired);
        float[] b1 = ErrorMetrics.RandomValues(140, 16), b2 = ErrorMetrics.RandomValues(150, 16);
        engine.Refit(new Dictionary<string, WeightValue> { ["b1"] = new([16], (float[])b1.Clone()), ["b2"] = new([16], b2, Immutable: true) }, partial: true);

        // The new copy of b1 is a buffer of the spare set (the engine's earlier copy of b1, or of b2 through the pool),
        // which that set must not lend for b2.
        Assert.Contains(engine.Native.CurrentState.ModelValues["b1"], (IEnumerable<float[]>)[copies.Buffers[1], copies.Buffers[3]]);
        using var expected = Convert(v1);
        var all = WeightSources.FromFile(v1).ToDictionary(e => e.Key, e => e.Value);
        (all["b1"], all["b2"]) = (new([16], b1, Immutable: true), new([16], b2, Immutable: true));
        expected.Refit(all);
        var x = new Dictionary<string, float[]> { ["x"] = ErrorMetrics.RandomValues(160, 16) };
        Assert.Equal(expected.Run(x)[0].Data, engine.Run(x)[0].Data);
        Assert.Equal(b1, engine.Native.CurrentState.ModelValues["b1"]);
    }

    [Fact]
    public void A_value_found_finite_is_not_scanned_again_until_its_buffer_is_rented_anew()
    {
        string v1 = Model(170), v2 = Model(180);
        using var engine = Convert(v1);
        var second = WeightSources.FromFile(v2);
        float[] w1 = second["w1"].Data;
        Assert.True(WeightPool.Made(w1, out bool finite) && !finite);
        engine.Refit(second);
        Assert.True(WeightPool.Made(w1, out finite) && finite);    // scanned once, as the engine's own weight
        Assert.True(WeightPool.Made(second["b1"].Data, out finite) && !finite);    // too short to be worth the mark

        // A buffer handed back and rented again holds new values: what was found before no longer holds.
        var buffer = WeightPool.Rent(12_345);
        WeightPool.MarkFinite(buffer);
        WeightPool.Return(null, [buffer]);
        var again = WeightPool.Rent(12_345);
        Assert.Same(buffer, again);
        Assert.True(WeightPool.Made(again, out finite) && !finite);
    }

    [Fact]
    public void An_onnx_models_values_are_proven_finite_as_they_are_decoded_and_not_once_a_caller_holds_them()
    {
        string v1 = Model(190), poisoned = Model(200, w1At7: float.NegativeInfinity);
        using var engine = Convert(v1);
        float[] before = Run(engine);
        // Read for a refit: checked as they are copied out of the file's bytes, so the refit need not scan them.
        using (var read = WeightFile.Read(v1))
        {
            Assert.All(read.Values.Values, v => Assert.True(WeightPool.Made(v.Data, out bool finite) && finite));
            engine.Refit(read.Values);
        }
        // An infinity in the file leaves its weight unproven, and the refit that meets it refuses, the engine untouched.
        float[] refitted = Run(engine);
        using (var bad = WeightFile.Read(poisoned))
        {
            Assert.True(WeightPool.Made(bad.Values["w1"].Data, out bool finite) && !finite);
            Assert.True(WeightPool.Made(bad.Values["w2"].Data, out finite) && finite);
            Assert.Contains("w1", Assert.Throws<RefitException>(() => engine.Refit(bad.Values)).Message);
        }
        Assert.Equal(refitted, Run(engine));
        Assert.Equal(before, refitted);
        // Handed to a caller, who may write them: what the read found no longer counts.
        Assert.All(WeightSources.FromFile(v1).Values, v => Assert.True(WeightPool.Made(v.Data, out bool finite) && !finite));
    }

    [Fact]
    public void A_weight_file_hands_back_what_no_engine_adopted()
    {
        string v1 = Model(10);
        using var engine = Convert(v1);
        HashSet<float[]> read;
        using (var same = WeightFile.Read(v1))
        {
            read = new(same.Values.Values.Select(v => v.Data), ReferenceEqualityComparer.Instance);
            Assert.Empty(engine.Refit(same.Values).ChangedModelWeights);   // same values: nothing adopted
        }
        using var again = WeightFile.Read(v1);
        Assert.All(again.Values.Values, v => Assert.Contains(v.Data, read));
        Assert.DoesNotContain(ModelValues(engine), read.Contains);
        foreach (var (name, value) in WeightSources.FromFile(v1)) Assert.Equal(value.Data, again.Values[name].Data);
    }

    [Fact]
    public void Values_two_engines_adopted_from_one_weight_file_are_never_recycled()
    {
        string v1 = Model(10), v2 = Model(20);
        using var built = Convert(v1);
        using var a = Convert(v1);
        using var b = Convert(v1);
        using (var weights = WeightFile.Read(v2))
        {
            a.Refit(weights.Values);
            b.Refit(weights.Values);
        }
        var shared = ModelValues(b);
        // a's next refits replace the shared values; were they handed back, these reads would overwrite b's.
        for (int i = 0; i < 3; i++)
        {
            using var other = WeightFile.Read(i % 2 == 0 ? v1 : v2);
            a.Refit(other.Values);
            Assert.DoesNotContain(other.Values.Values, v => shared.Contains(v.Data));
        }
        a.Dispose();
        using (var after = WeightFile.Read(v1)) Assert.DoesNotContain(after.Values.Values, v => shared.Contains(v.Data));
        foreach (var (name, value) in WeightSources.FromFile(v2)) Assert.Equal(value.Data, b.Native.CurrentState.ModelValues[name]);
    }

    [Fact]
    public void A_weight_file_disposed_after_an_engine_recycled_its_values_leaves_them_to_whoever_rents_them_next()
    {
        // A file disposed late (after others read: a host that keeps the previous checkpoint, or a refit of the same
        // engine on another thread) handed back arrays its engine had adopted and recycled, which another file held
        // again by then: a third read rented them out a second time and overwrote the engine's weights.
        string v1 = Model(10), v2 = Model(20), v3 = Model(30);
        float[] expected;
        using (var fresh3 = Convert(v3)) expected = Run(fresh3);
        using var engine = Convert(v1);
        var first = WeightFile.Read(v2);
        engine.Refit(first.Values);                                           // adopts first's arrays
        var adopted = ModelValues(engine);
        using (var second = WeightFile.Read(v1)) engine.Refit(second.Values); // hands them back to the pool
        // The reads that rent them again (the weights the refit re-derived went back after them, so on top).
        var held = new List<WeightFile>();
        while (held.Count < 4 && !held.Any(f => f.Values.Values.Any(v => adopted.Contains(v.Data)))) held.Add(WeightFile.Read(v3));
        var third = held[^1];
        var thirds = new HashSet<float[]>(third.Values.Values.Select(v => v.Data), ReferenceEqualityComparer.Instance);
        Assert.Contains(thirds, adopted.Contains);
        first.Dispose();                                                      // late
        engine.Refit(third.Values);
        for (int i = 0; i < 4; i++)
        {
            var later = WeightFile.Read(v1);
            held.Add(later);
            Assert.DoesNotContain(later.Values.Values, v => thirds.Contains(v.Data));
        }
        Assert.Equal(expected, Run(engine));
        foreach (var file in held) file.Dispose();
        Assert.Equal(expected, Run(engine));
    }

    [Fact]
    public void Values_a_refit_replaces_while_a_reader_holds_the_state_are_never_recycled()
    {
        string v1 = Model(10), v2 = Model(20);
        using var engine = Convert(v1);
        var old = ModelValues(engine);
        var held = engine.Native.EnterState();      // a refit check or an inference in flight
        using (var weights = WeightFile.Read(v2)) engine.Refit(weights.Values);
        using (var next = WeightFile.Read(v1)) Assert.DoesNotContain(next.Values.Values, v => old.Contains(v.Data));
        foreach (var (name, value) in WeightSources.FromFile(v1)) Assert.Equal(value.Data, held.ModelValues[name]);
        engine.Native.ExitState(held);
    }

    private static float[] RunNative(Engine engine)
    {
        var output = new float[2 * 29];
        var context = engine.CreateExecutionContext();
        context.SetInputShape(0, [2, 61]);
        context.Execute([Input], [output]);
        return output;
    }

    [Fact]
    public void Memory_stays_flat_over_many_hits_disposed_or_dropped()
    {
        string v1 = Model(10), v2 = Model(20);
        using var built = Convert(v1);
        string[] models = [v1, v2];
        foreach (bool dispose in new[] { false, true })
        {
            void Hits(int count)
            {
                for (int i = 0; i < count; i++)
                {
                    var engine = Convert(models[i % 2]);
                    if (dispose) engine.Dispose();
                }
            }
            Hits(50);
            long before = SettledMemory();
            Hits(300);
            long after = SettledMemory();
            // 300 hits of this model allocate about 10 MB of weights without recycling; a leak would show a good part of that.
            Assert.True(after - before < 1 << 20, $"dispose={dispose}: {before} bytes after 50 hits, {after} after 350");
            // What no engine came back for is given up after two full collections: an idle process keeps nothing.
            Assert.Equal(0, WeightPool.PooledBytes);
        }
    }

    [Fact]
    public void Released_pooled_buffers_are_gone_and_engines_still_alive_are_untouched()
    {
        string path = Model(10);
        using var kept = Convert(path);
        float[] expected = Run(kept);
        Convert(path).Dispose();
        Assert.True(WeightPool.PooledBytes > 0);

        Engines.TrtEngine.ReleasePooledBuffers();
        Assert.Equal(0, WeightPool.PooledBytes);
        Assert.Equal(expected, Run(kept));
        // The pool fills again from the next disposal.
        Convert(path).Dispose();
        Assert.True(WeightPool.PooledBytes > 0);
    }

    /// <summary>
    /// Managed memory once dropped engines are collected and finalized (they hand their buffers back then) and the
    /// pool has trimmed what waited through two full collections unused.
    /// </summary>
    private static long SettledMemory()
    {
        for (int i = 0; i < 4; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
