using TrtEngine.Native.Kernels;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Tests.Kernels;

public sealed unsafe class GemmKernelsTests : IDisposable
{
    private readonly WorkerPool[] _pools = [new WorkerPool(1), new WorkerPool(2), new WorkerPool(3)];

    public void Dispose()
    {
        foreach (var pool in _pools)
            pool.Dispose();
    }

    [Fact]
    public void TacticIdsAreIndices()
    {
        for (int i = 0; i < GemmKernels.Tactics.Count; i++)
            Assert.Equal(i, GemmKernels.Tactics[i].Id);
        Assert.True(GemmKernels.Tactics.Count >= 4);
        Assert.Equal(GemmKernels.Tactics.Count, GemmKernels.Tactics.Select(t => t.Name).Distinct().Count());
    }

    public static TheoryData<int> TacticIds => new(Enumerable.Range(0, GemmKernels.Tactics.Count));

    [Theory]
    [MemberData(nameof(TacticIds))]
    public void GemmMatchesReference(int tacticId)
    {
        var tactic = GemmKernels.Tactics[tacticId];
        (int M, int N, int K)[] sizes =
        [
            (1, 1, 1), (1, 67, 13), (2, 10, 64), (3, 17, 5), (5, 16, 24), (7, 33, 61),
            (13, 47, 67), (29, 31, 2), (67, 29, 31), (64, 96, 17), (37, 53, 0),
        ];
        int variant = 0;
        foreach (var (m, n, k) in sizes)
        {
            foreach (bool transA in new[] { false, true })
            {
                foreach (bool transB in new[] { false, true })
                {
                    foreach (bool withBias in new[] { false, true })
                    {
                        variant++;
                        var activation = Activations[variant % Activations.Length];
                        var pool = _pools[variant % _pools.Length];
                        CheckGemm(tactic, m, n, k, transA, transB, withBias, 0.75f, activation, pool);
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(TacticIds))]
    public void GemmWithManyBlocksOnEveryPool(int tacticId)
    {
        // More rows than one Mc block and more depth than one Kc block.
        var tactic = GemmKernels.Tactics[tacticId];
        foreach (var pool in _pools)
            CheckGemm(tactic, 131, 70, 300, false, true, true, 1.25f, new Activation(ActivationKind.Relu), pool);
    }

    [Theory]
    [MemberData(nameof(TacticIds))]
    public void GemmWithALargerThanTheCoresL2sMatchesReference(int tacticId)
    {
        // 2,000 rows of 300 floats (two K blocks where the tactic has them), more than one or two cores' L2s hold: each
        // tile asks for the next tile's rows while it runs, up to A's last row. Three cores' L2s hold it: there it does not.
        var tactic = GemmKernels.Tactics[tacticId];
        foreach (var pool in _pools)
            CheckGemm(tactic, 2000, 19, 300, false, true, true, 0.5f, new Activation(ActivationKind.Relu), pool);
    }

    [Theory]
    [MemberData(nameof(TacticIds))]
    public void GemmStreamingItsOutputMatchesReference(int tacticId)
    {
        // Streamed stores (512-bit tactics in one K block, clamped or no activation): rows 64 floats apart, so a row
        // starts a line wherever y does, and 70 apart, so most do not (those tiles store as usual), with an edge panel.
        var tactic = GemmKernels.Tactics[tacticId];
        foreach (var pool in _pools)
            foreach (int n in new[] { 64, 70 })
                CheckGemm(tactic, 131, n, 200, false, true, true, 1.25f, new Activation(ActivationKind.Relu), pool, stream: true);
    }

    [Theory]
    [MemberData(nameof(TacticIds))]
    public void PackedGemmAddsTheResidualBeforeBiasAndActivation(int tacticId)
    {
        // A channels-last convolution's epilogue: an edge panel (n = 70) and several K blocks.
        var tactic = GemmKernels.Tactics[tacticId];
        foreach (var pool in _pools)
            CheckGemm(tactic, 29, 70, 300, false, true, true, 1f, new Activation(ActivationKind.Clip, -0.5f, 0.75f), pool, withResidual: true);
    }

    [Theory]
    [MemberData(nameof(TacticIds))]
    public void HardSwishInRegistersMatchesTheActivationPassBitForBit(int tacticId)
    {
        // The kernels apply HardSwish before the store; it must give the bits the separate pass over a stored tile gives.
        // Sums span ±12 (both of its bounds), whole vectors (96 columns), one K block and several, with a residual.
        var tactic = GemmKernels.Tactics[tacticId];
        if (!tactic.IsSupported) return; // the portable scalar path rounds x/6 + ½ apart, as ScalarMath does
        foreach (var (m, k, withResidual, stream) in new[] { (29, 24, false, true), (131, 300, true, false), (13, 7, false, false) })
        {
            const int n = 96;
            var a = Reference.Random(m * k, seed: k);
            var b = Reference.Random(k * n, seed: m);
            var bias = Reference.Random(n, seed: 7);
            var residual = Reference.Random(m * n, seed: 8);
            var packed = Reference.Pinned(GemmKernels.PackedLength(k, n, tactic));
            var separate = Reference.Pinned(m * n);
            var fused = Reference.Pinned(m * n);
            var hardSwish = new Activation(ActivationKind.HardSwish);
            var pool = _pools[m % _pools.Length];
            fixed (float* pa = a, pb = b, ppacked = packed, pbias = bias, pres = residual, ps = separate, pf = fused)
            {
                GemmKernels.PackB(pb, k, n, transB: false, 24f / MathF.Sqrt(k), tactic, ppacked);
                new GemmJob().Run(tactic, pa, m, k, false, ppacked, n, pbias, Activation.Identity, ps, pool, withResidual ? pres : null);
                ActivationKernels.ApplyRows(hardSwish, ps, n, m, n);
                new GemmJob().Run(tactic, pa, m, k, false, ppacked, n, pbias, hardSwish, pf, pool, withResidual ? pres : null, streamOutput: stream);
            }
            Assert.True(separate.AsSpan().SequenceEqual(fused), $"{tactic.Name} m={m} k={k}");
            Assert.Contains(separate, v => v == 0f);
            Assert.Contains(separate, v => v > 3f);
        }
    }

    private static readonly Activation[] Activations =
    [
        new(ActivationKind.Identity), new(ActivationKind.Relu), new(ActivationKind.Gelu),
        new(ActivationKind.Sigmoid), new(ActivationKind.Clip, -0.3f, 0.4f), new(ActivationKind.Tanh),
        new(ActivationKind.HardSwish),
    ];

    private static void CheckGemm(GemmTactic tactic, int m, int n, int k, bool transA, bool transB, bool withBias,
        float scale, Activation activation, WorkerPool pool, bool withResidual = false, bool stream = false)
    {
        var residual = Reference.Random(m * n, seed: 3);
        var a = Reference.Random(m * k, seed: m * 7 + k);
        var b = Reference.Random(k * n, seed: n * 11 + k);
        var bias = Reference.Random(n, seed: n);
        var packed = Reference.Pinned(GemmKernels.PackedLength(k, n, tactic));
        var y = Reference.Random(m * n + 1, seed: 5); // garbage that must be overwritten; last float guards the end
        float guard = y[m * n];
        var job = new GemmJob();
        fixed (float* pa = a, pb = b, pbias = bias, ppacked = packed, py = y, pres = residual)
        {
            GemmKernels.PackB(pb, k, n, transB, scale, tactic, ppacked);
            job.Run(tactic, pa, m, k, transA, ppacked, n, withBias ? pbias : null, activation, py, pool, withResidual ? pres : null, streamOutput: stream);
        }

        var expected = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                    sum += (double)(transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
                sum = sum * scale + (withBias ? bias[j] : 0) + (withResidual ? residual[i * n + j] : 0);
                expected[i * n + j] = ActivationKernelsTests.Expected(activation, sum);
            }
        }
        double error = Reference.RelativeL2(y.AsSpan(0, m * n), expected);
        Assert.True(error <= 1e-5, $"{tactic.Name} m={m} n={n} k={k} tA={transA} tB={transB} bias={withBias} residual={withResidual} {activation.Kind} threads={pool.ThreadCount}: {error:E2}");
        Assert.Equal(guard, y[m * n]);
    }

    public static TheoryData<int[], int[]> MatMulShapes => new()
    {
        { [5, 7], [7, 9] },
        { [2, 3, 5, 7], [7, 17] },
        { [5, 7], [3, 7, 4] },
        { [2, 1, 5, 7], [3, 7, 19] },
        { [4, 13, 33], [4, 33, 21] },
        { [1, 6, 8], [3, 8, 40] },
        { [3, 1, 2], [3, 2, 5] },
    };

    [Theory]
    [MemberData(nameof(MatMulShapes))]
    public void MatMulBroadcastsBatches(int[] aShape, int[] bShape)
    {
        int rank = Math.Max(aShape.Length, bShape.Length);
        int m = aShape[^2], k = aShape[^1], n = bShape[^1];
        var yShape = new int[rank];
        yShape[^2] = m;
        yShape[^1] = n;
        for (int d = 0; d < rank - 2; d++)
        {
            int ad = d - (rank - aShape.Length), bd = d - (rank - bShape.Length);
            yShape[d] = Math.Max(ad >= 0 ? aShape[ad] : 1, bd >= 0 ? bShape[bd] : 1);
        }
        int batches = yShape[..^2].Aggregate(1, (x, y) => x * y);
        var a = Reference.Random(aShape.Aggregate(1, (x, y) => x * y), seed: 1);
        var b = Reference.Random(bShape.Aggregate(1, (x, y) => x * y), seed: 2);

        var expected = new double[batches * m * n];
        for (int batch = 0; batch < batches; batch++)
        {
            int aBatch = 0, bBatch = 0, rest = batch, aScale = 1, bScale = 1;
            for (int d = rank - 3; d >= 0; d--)
            {
                int index = rest % yShape[d];
                rest /= yShape[d];
                int ad = d - (rank - aShape.Length), bd = d - (rank - bShape.Length);
                int aDim = ad >= 0 ? aShape[ad] : 1, bDim = bd >= 0 ? bShape[bd] : 1;
                aBatch += (aDim == 1 ? 0 : index) * aScale;
                bBatch += (bDim == 1 ? 0 : index) * bScale;
                aScale *= aDim;
                bScale *= bDim;
            }
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double sum = 0;
                    for (int p = 0; p < k; p++)
                        sum += (double)a[aBatch * m * k + i * k + p] * b[bBatch * k * n + p * n + j];
                    expected[batch * m * n + i * n + j] = sum;
                }
            }
        }

        foreach (var tactic in GemmKernels.Tactics)
        {
            foreach (var pool in _pools)
            {
                var y = Reference.Pinned(expected.Length);
                var workspace = Reference.Pinned(GemmJob.MatMulWorkspaceLength(k, n, tactic, pool.ThreadCount));
                fixed (float* pa = a, pb = b, py = y, pw = workspace)
                    new GemmJob().RunMatMul(tactic, pa, aShape, pb, bShape, py, yShape, pw, pool);
                double error = Reference.RelativeL2(y, expected);
                Assert.True(error <= 1e-5, $"{tactic.Name} threads={pool.ThreadCount}: {error:E2}");
            }
        }
    }

    [Theory]
    [InlineData(7, 29, 5)]
    [InlineData(13, 50, 300)]
    [InlineData(32, 161, 27)]
    public void MatMulEpilogueAddsRowBiasAndResidualThenActivates(int m, int n, int k)
    {
        float[] a = Reference.Random(m * k, 1), b = Reference.Random(k * n, 2), bias = Reference.Random(m, 3), residual = Reference.Random(m * n, 4);
        var activation = new Activation(ActivationKind.Clip, -0.5f, 0.75f);
        foreach (var tactic in GemmKernels.Tactics)
            foreach (var pool in _pools)
                foreach (bool withResidual in new[] { false, true })
                {
                    var y = Reference.Pinned(m * n);
                    var workspace = Reference.Pinned(GemmJob.MatMulWorkspaceLength(k, n, tactic, pool.ThreadCount));
                    fixed (float* pa = a, pb = b, py = y, pw = workspace, pbias = bias, pres = residual)
                        new GemmJob().RunMatMul(tactic, pa, [m, k], pb, [k, n], py, [m, n], pw, pool, pbias, withResidual ? pres : null, activation);
                    double error = Reference.RelativeL2(y, Expected(withResidual));
                    Assert.True(error <= 1e-5, $"{tactic.Name} threads={pool.ThreadCount} residual={withResidual}: {error:E2}");
                }

        double[] Expected(bool withResidual)
        {
            var e = new double[m * n];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double sum = bias[i] + (withResidual ? residual[i * n + j] : 0);
                    for (int p = 0; p < k; p++) sum += (double)a[i * k + p] * b[p * n + j];
                    e[i * n + j] = Math.Clamp(sum, -0.5, 0.75);
                }
            return e;
        }
    }

    [Fact]
    public void JobIsReusableAcrossShapes()
    {
        var tactic = GemmKernels.Heuristic(8, 40, 50);
        var job = new GemmJob();
        var pool = _pools[2];
        for (int round = 0; round < 3; round++)
        {
            CheckWith(job, tactic, 8, 40, 50, pool);
            CheckWith(job, tactic, 1, 3, 7, pool);
        }
    }

    private static void CheckWith(GemmJob job, GemmTactic tactic, int m, int n, int k, WorkerPool pool)
    {
        var a = Reference.Random(m * k, seed: 9);
        var b = Reference.Random(k * n, seed: 10);
        var packed = Reference.Pinned(GemmKernels.PackedLength(k, n, tactic));
        var y = Reference.Pinned(m * n);
        fixed (float* pa = a, pb = b, pp = packed, py = y)
        {
            GemmKernels.PackB(pb, k, n, false, 1f, tactic, pp);
            job.Run(tactic, pa, m, k, false, pp, n, null, default, py, pool);
        }
        var expected = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                for (int p = 0; p < k; p++)
                    expected[i * n + j] += (double)a[i * k + p] * b[p * n + j];
        Assert.True(Reference.RelativeL2(y, expected) <= 1e-5);
    }
}
