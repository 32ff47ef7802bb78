using TrtEngine.Native.Layers;
using TrtEngine.Native.Plan;

namespace TrtEngine.Native.Builder;

/// <summary>Settings that change the built engine (all of them belong in a cache key).</summary>
public sealed record BuilderConfig
{
    /// <summary>
    /// 0 = heuristics only, no timing; 1–5 = time the candidates, with more repetitions at higher levels: every GEMM
    /// tactic, and for a convolution every algorithm × tactic from level 3 (levels 1–2 screen the algorithms with one
    /// tactic each, then time every tactic of the faster).
    /// </summary>
    public int OptimizationLevel { get; init; } = 3;

    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Shape profiles by input name; inputs with dynamic dims and no profile get min 1, opt 1, max unbounded.</summary>
    public IReadOnlyDictionary<string, ShapeProfile> Profiles { get; init; } = new Dictionary<string, ShapeProfile>();

    /// <summary>Tactic timings from earlier builds: layers with a known signature are not timed again.</summary>
    public TimingCache? TimingCache { get; init; }

    /// <summary>Run convolutions, pools and what lies between them channels-last (NHWC); false keeps every tensor NCHW.</summary>
    public bool ChannelsLast { get; init; } = true;

    /// <summary>A GEMM tactic name every GEMM and GEMM convolution uses, untimed (to verify a tactic timing would not pick).</summary>
    public string? ForceTactic { get; init; }

    /// <summary>
    /// An algorithm every convolution it applies to uses (the others keep their choice), its tactics still timed unless
    /// <see cref="ForceTactic"/> is set; for tests of one algorithm.
    /// </summary>
    public ConvAlgorithm? ForceConvAlgorithm { get; init; }

    /// <summary>
    /// Whether inverted-residual chains (1×1 → depthwise → 1×1) run as one fused layer: null times both ways and keeps
    /// the faster (the rule at level 0); true or false fuses every chain or none, for tests and comparisons.
    /// </summary>
    public bool? FuseInvertedResiduals { get; init; }

    /// <summary>
    /// Whether a channels-last im2col convolution and the pool that alone reads its output run as one layer: null where
    /// the convolution's output image outgrows a core's L2 cache (a stem's); true or false fuses every such pair or none,
    /// for tests and comparisons.
    /// </summary>
    public bool? FuseConvPools { get; init; }

    /// <summary>
    /// Whether a per-image channel scale (a squeeze-excitation's Mul) that only a channels-last 1×1 convolution reads is
    /// folded into that convolution: null where the rule says it pays (<see cref="ChannelScaleFolding"/>), true or false
    /// for every such Mul or none, for tests and comparisons.
    /// </summary>
    public bool? FoldChannelScales { get; init; }

    /// <summary>
    /// Whether GEMMs of many rows and moderate work are shared with awake workers (<see cref="EnginePlan.ModerateGemmsShared"/>):
    /// null times the engine both ways from level 1 (level 0 shares); true or false for tests and comparisons.
    /// </summary>
    public bool? ShareModerateGemms { get; init; }

    /// <summary>
    /// Whether a first layer that reads its windows from a band reads the NCHW tensor in front of it without a reformat
    /// (<see cref="PlanarInputFusion"/>); false keeps the reformat, for tests and comparisons.
    /// </summary>
    public bool ReadPlanarInputs { get; init; } = true;
}
