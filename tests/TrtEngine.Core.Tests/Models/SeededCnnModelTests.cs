using TrtEngine.Core.Conversion;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Core.Verification;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Kernels;
using TrtEngine.Testing.Fixtures;
using TrtEngine.Testing.Metrics;
using TrtEngine.Testing.Oracle;
using TrtEngine.Testing.Weights;

namespace TrtEngine.Core.Tests.Models;

/// <summary>
/// Torchvision CNNs kept in tests/fixtures/models with regenerated weights (ResNet-18, EfficientNet-B0, ShuffleNetV2,
/// RegNetY-400MF, MobileNetV3-Small, GoogLeNet, DenseNet-121, ConvNeXt-Tiny, Inception v3, ResNeXt-50 32×4d,
/// EfficientNetV2-S, MNASNet 0.5, three segmenters: LR-ASPP and DeepLabV3 on MobileNetV3-Large, FCN on ResNet-50, and a
/// two-layer VisionTransformer, exported at opsets 17 and 14)
/// against torch and ONNX Runtime: built from v1, refitted to v2 from a safetensors checkpoint, and back.
/// </summary>
public sealed class SeededCnnModelTests
{
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData("resnet18")]
    [InlineData("efficientnet_b0")]
    [InlineData("shufflenet_v2_x1_0")]
    [InlineData("regnet_y_400mf")]
    [InlineData("mobilenet_v3_small")]
    [InlineData("googlenet")]
    [InlineData("densenet121")]
    [InlineData("convnext_tiny")]
    [InlineData("inception_v3")]
    [InlineData("resnext50_32x4d")]
    [InlineData("efficientnet_v2_s")]
    [InlineData("mnasnet0_5")]
    [InlineData("lraspp_mobilenet_v3_large")]
    [InlineData("deeplabv3_mobilenet_v3_large")]
    [InlineData("fcn_resnet50")]
    public void Built_from_v1_matches_torch_and_onnx_runtime_and_refits_to_v2_and_back(string name)
    {
        var model = SeededModel.Load(TestPaths.SeededModels, name);
        using var dir = new TempDirectory();
        string v1Path = model.Materialize(dir.File("v1"), version: 1);
        // Two threads whatever the machine has: the untimed rules fuse by thread count, and the checks below expect the plan two give.
        var engine = EngineConverter.Convert(v1Path, new ConversionSettings { UseCache = false, OptimizationLevel = 0, Threads = 2 });
        if (name == "resnet18")
        {
            // Both Winograd algorithms run (F(2×2) in the 512-channel layers at 7×7), so the refits below re-derive both.
            var algorithms = engine.Native.Plan.Layers.OfType<ConvLayer>().Select(l => l.Algorithm).ToHashSet();
            Assert.Superset(new HashSet<ConvAlgorithm> { ConvAlgorithm.Winograd4x4, ConvAlgorithm.Winograd2x2 }, algorithms);
        }
        // What each architecture brings that the checks below then cover.
        var layers = engine.Native.Plan.Layers;
        switch (name)
        {
            case "efficientnet_b0":
                Assert.Contains(layers.OfType<FusedInvertedResidualLayer>(), l => l.Unfolds); // the stem in the first block's place
                // Its squeeze-excitation gates are folded into the projections (one input: the batches are the same).
                Assert.Contains(layers.OfType<ConvLayer>(), l => !l.ChannelScale.IsNone);
                break;
            case "resnet18" or "shufflenet_v2_x1_0" or "googlenet": Assert.Single(layers.OfType<FusedConvPoolLayer>()); break; // the stem with its pool
            case "regnet_y_400mf": Assert.Contains(layers.OfType<ConvLayer>(), l => l.Groups > 1 && l.Algorithm != ConvAlgorithm.Depthwise); break; // grouped, not depthwise
            case "mobilenet_v3_small": Assert.Contains(layers.OfType<FusedInvertedResidualLayer>(), l => l.Depthwise.Activation.Kind == ActivationKind.HardSwish); break;
            case "densenet121": // before its convolution (not folded), each after the concat it alone reads: the concat normalizes
                Assert.DoesNotContain(layers, l => l is BatchNormLayer);
                Assert.Contains(layers.OfType<ConcatLayer>(), l => l.Normalizes && l.Activation.Kind == ActivationKind.Relu);
                break;
            case "convnext_tiny": // LayerNorm over channels-last rows; each block's Linear layers read their weights transposed
                Assert.Equal(23, layers.OfType<LayerNormLayer>().Count());
                Assert.Contains(layers.OfType<GemmLayer>(), l => l.Activation.Kind == ActivationKind.Gelu);
                Assert.Equal(37, layers.OfType<GemmLayer>().Count(l => l.TransB)); // the 18 blocks' two MatMuls and the classifier
                Assert.DoesNotContain(engine.Native.Plan.ModelWeights, w => w.Kind == Native.Network.WeightKind.Computed);
                break;
            case "lraspp_mobilenet_v3_large": // two bilinear F.interpolate(size=…), whose sizes carry the dynamic batch's own N
                Assert.Equal(2, layers.OfType<ResizeLayer>().Count(l => l.Mode == ResizeMode.Linear && l.Sizes.Length == 4));
                break;
            case "inception_v3": Assert.Contains(layers.OfType<ConvLayer>(), l => l.KernelH != l.KernelW); break; // its 1×7 and 7×1 factorized kernels
            case "resnext50_32x4d": Assert.Contains(layers.OfType<ConvLayer>(), l => l.Groups == 32); break;
            case "deeplabv3_mobilenet_v3_large" or "fcn_resnet50": // dilated backbones (ASPP's rates 12, 24 and 36 in DeepLab's head)
                Assert.Contains(layers.OfType<ConvLayer>(), l => l.Dilations[0] > 1);
                Assert.Contains(layers.OfType<ResizeLayer>(), l => l.Mode == ResizeMode.Linear);
                break;
        }
        TorchAssert.Matches(engine, model, version: 1, Tolerance);

        var ort = OrtOracle.Run(v1Path, new Dictionary<string, (int[] Shape, float[] Data)> { [model.InputName] = (model.InputShape, model.Input) });
        var ours = engine.Run(new Dictionary<string, float[]> { [model.InputName] = model.Input }, new Dictionary<string, int[]> { [model.InputName] = model.InputShape });
        foreach (var output in ours)
            Assert.True(ErrorMetrics.RelativeL2(output.Data, ort[output.Name].Data) <= Tolerance, $"{name} {output.Name} vs ONNX Runtime");

        string checkpoint = dir.File("v2.safetensors");
        SafetensorsWriter.Write(checkpoint, model.Weights(version: 2));
        engine.Refit(WeightSources.FromFile(checkpoint));
        TorchAssert.Matches(engine, model, version: 2, Tolerance);

        engine.Refit(WeightSources.FromFile(v1Path));
        TorchAssert.Matches(engine, model, version: 1, Tolerance);
    }

    [Fact]
    public void A_vision_transformer_with_a_fixed_batch_matches_torch_and_onnx_runtime_and_refits_to_v2_and_back()
    {
        // torchvision's VisionTransformer, two layers: its class token is expanded to the batch, folded at import here.
        var model = SeededModel.Load(TestPaths.SeededModels, "vit_tiny");
        using var dir = new TempDirectory();
        string v1Path = model.Materialize(dir.File("v1"), version: 1);
        var settings = new ConversionSettings { UseCache = false, OptimizationLevel = 0, Threads = 2 };
        var engine = EngineConverter.Convert(v1Path, settings with { InputShapes = new Dictionary<string, int[]> { [model.InputName] = model.InputShape } });
        var layers = engine.Native.Plan.Layers;
        Assert.Equal(5, layers.OfType<LayerNormLayer>().Count()); // two per layer and the encoder's last
        Assert.Equal(2, layers.OfType<SoftmaxLayer>().Count());
        Assert.Contains(engine.Native.Plan.ModelWeights, w => w.Kind == Native.Network.WeightKind.Computed); // the expanded class token
        TorchAssert.Matches(engine, model, version: 1, Tolerance);
        var ort = OrtOracle.Run(v1Path, new Dictionary<string, (int[] Shape, float[] Data)> { [model.InputName] = (model.InputShape, model.Input) });
        var ours = engine.Run(new Dictionary<string, float[]> { [model.InputName] = model.Input }, new Dictionary<string, int[]> { [model.InputName] = model.InputShape });
        Assert.True(ErrorMetrics.RelativeL2(ours[0].Data, ort[ours[0].Name].Data) <= Tolerance);

        string checkpoint = dir.File("v2.safetensors");
        SafetensorsWriter.Write(checkpoint, model.Weights(version: 2));
        engine.Refit(WeightSources.FromFile(checkpoint));
        TorchAssert.Matches(engine, model, version: 2, Tolerance);
        // Its own model file read for the engine, as Update-TrtEngineWeights -Path reads it: imported at the engine's batch.
        using (var file = WeightFile.Read(v1Path, engine)) engine.Refit(file.Values);
        TorchAssert.Matches(engine, model, version: 1, Tolerance);
    }

    [Theory]
    [InlineData("vit_tiny")]
    [InlineData("vit_tiny_opset14")] // its layer norms in ReduceMean, Pow, Sqrt and Div
    [InlineData("vit_ti_16")] // ViT-Ti/16: 12 layers, 197 tokens (the benchmark's transformer)
    public void A_vision_transformer_with_a_dynamic_batch_runs_any_batch_as_onnx_runtime_does_and_refits(string name)
    {
        // The class token is expanded to Shape(x)[0]: the engine takes that dim from the patches at run time.
        var model = SeededModel.Load(TestPaths.SeededModels, name);
        using var dir = new TempDirectory();
        string v1Path = model.Materialize(dir.File("v1"), version: 1);
        using var engine = EngineConverter.Convert(v1Path, new ConversionSettings { UseCache = false, OptimizationLevel = 1, Threads = 2 });
        Assert.DoesNotContain(engine.Native.Plan.ModelWeights, w => w.Kind == Native.Network.WeightKind.Computed); // the class token stays a parameter
        TorchAssert.Matches(engine, model, version: 1, Tolerance);
        var random = new Random(39);
        foreach (int batch in new[] { 1, 3 })
        {
            int[] shape = [batch, .. model.InputShape[1..]];
            float[] x = Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            var ort = OrtOracle.Run(v1Path, new Dictionary<string, (int[] Shape, float[] Data)> { [model.InputName] = (shape, x) });
            var ours = engine.Run(new Dictionary<string, float[]> { [model.InputName] = x }, new Dictionary<string, int[]> { [model.InputName] = shape });
            Assert.Equal(batch, ours[0].Shape[0]);
            Assert.True(ErrorMetrics.RelativeL2(ours[0].Data, ort[ours[0].Name].Data) <= Tolerance, $"batch {batch}");
        }

        string checkpoint = dir.File("v2.safetensors");
        SafetensorsWriter.Write(checkpoint, model.Weights(version: 2));
        // Verified against the float64 reference execution, which runs the run-time ones as the engine does.
        var result = engine.Refit(WeightSources.FromFile(checkpoint), verify: new RefitVerificationOptions());
        Assert.True(result.Verification!.Passed && result.Verification.MaxRelativeL2 <= 1e-5, result.Verification.ToString());
        TorchAssert.Matches(engine, model, version: 2, Tolerance);
    }

    [Fact]
    public void ResNet_18_with_every_3x3_convolution_in_winograd_f3x3_matches_torch_before_and_after_a_refit()
    {
        // Level 0 never picks F(3×3) (timing does): forced here, so a whole network of its 25-position transforms is
        // checked against torch, and refitted.
        var model = SeededModel.Load(TestPaths.SeededModels, "resnet18");
        using var dir = new TempDirectory();
        string v1Path = model.Materialize(dir.File("v1"), version: 1);
        var network = Core.Onnx.OnnxModel.Borrow(v1Path, m => Core.Onnx.OnnxImporter.Import(m, "resnet18"));
        var config = new Native.Builder.BuilderConfig { OptimizationLevel = 0, ForceConvAlgorithm = ConvAlgorithm.Winograd3x3 };
        using var engine = new Engines.TrtEngine(Native.Builder.EngineBuilder.Build(network, config), v1Path, null, false, TimeSpan.Zero, null);
        Assert.Equal(13, engine.Native.Plan.Layers.OfType<ConvLayer>().Count(l => l.Algorithm == ConvAlgorithm.Winograd3x3)); // every 3×3 of stride 1
        TorchAssert.Matches(engine, model, version: 1, Tolerance);

        string checkpoint = dir.File("v2.safetensors");
        SafetensorsWriter.Write(checkpoint, model.Weights(version: 2));
        engine.Refit(WeightSources.FromFile(checkpoint));
        TorchAssert.Matches(engine, model, version: 2, Tolerance);
    }
}
