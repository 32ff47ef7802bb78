using System.Buffers.Binary;
using System.Security.Cryptography;
using TrtEngine.Native.Layers;
using TrtEngine.Native.Network;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Plan;

/// <summary>
/// The plan file: an 8-byte magic, format version, flags, body length, SHA-256 of the body, then the body.
/// The checksum is verified before anything is parsed, and every count is bounded by the bytes present.
/// </summary>
internal static class PlanSerializer
{
    private static ReadOnlySpan<byte> Magic => "TRTEPLAN"u8;
    private const int HeaderLength = 8 + 4 + 4 + 8 + 32;
    private const int FlagHasWeights = 1;
    private const int MaxLayerInputs = 4096; // Concat takes any number

    public static void Write(Stream stream, EnginePlan plan, IReadOnlyDictionary<string, float[]> constants, WeightSet? weights)
    {
        using var body = new MemoryStream();
        var w = new PlanWriter(body);
        WriteBody(w, plan);
        w.Write(constants.Count);
        foreach (var (name, values) in constants.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            w.Write(name);
            w.Write(values);
        }
        if (weights is not null)
            foreach (var buffer in weights.Buffers) w.Write(buffer);
        w.Flush();

        Span<byte> header = stackalloc byte[HeaderLength];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], EnginePlan.FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], weights is null ? 0 : FlagHasWeights);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], body.Length);
        SHA256.HashData(body.GetBuffer().AsSpan(0, (int)body.Length), header[24..]);
        stream.Write(header);
        stream.Write(body.GetBuffer(), 0, (int)body.Length);
    }

    /// <summary>Reads the header only: format version, whether weights are included, and whether the checksum holds.</summary>
    public static (int Version, bool HasWeights) ReadHeader(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderLength || !bytes[..8].SequenceEqual(Magic))
            throw new PlanFormatException("This is not a TrtEngine plan (no TRTEPLAN header).");
        int version = BinaryPrimitives.ReadInt32LittleEndian(bytes[8..]);
        int flags = BinaryPrimitives.ReadInt32LittleEndian(bytes[12..]);
        return (version, (flags & FlagHasWeights) != 0);
    }

    public static (EnginePlan Plan, IReadOnlyDictionary<string, float[]> Constants, WeightSet? Weights) Read(ReadOnlyMemory<byte> bytes)
    {
        var span = bytes.Span;
        var (version, hasWeights) = ReadHeader(span);
        if (version != EnginePlan.FormatVersion)
            throw new PlanFormatException($"The plan has format version {version}; this TrtEngine reads version {EnginePlan.FormatVersion}. Rebuild the engine from its model.");
        long length = BinaryPrimitives.ReadInt64LittleEndian(span[16..]);
        if (length != span.Length - HeaderLength)
            throw new PlanFormatException($"The plan is truncated or has trailing data: its header announces {length} bytes of body, the file holds {span.Length - HeaderLength}.");
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(span[HeaderLength..], hash);
        if (!hash.SequenceEqual(span.Slice(24, 32)))
            throw new PlanFormatException("The plan is corrupt: its checksum does not match its contents.");

        var r = new PlanReader(bytes[HeaderLength..]);
        EnginePlan plan = ReadBody(r);
        var constants = ReadConstants(r, plan);
        WeightSet? weights = null;
        if (hasWeights)
        {
            var buffers = new float[plan.Weights.Length][];
            for (int i = 0; i < buffers.Length; i++) buffers[i] = r.ReadPinnedSingleArray(plan.Weights[i].Length, plan.Weights[i].Name);
            weights = new WeightSet(buffers);
        }
        if (r.Remaining != 0) throw new PlanFormatException($"The plan is corrupt: {r.Remaining} unread bytes at its end.");
        return (plan, constants, weights);
    }

    /// <summary>Every Constant-kind model weight of the plan, with exactly its element count.</summary>
    private static Dictionary<string, float[]> ReadConstants(PlanReader r, EnginePlan plan)
    {
        var expected = plan.ModelWeights.Where(m => m.Kind == WeightKind.Constant).ToDictionary(m => m.Name, StringComparer.Ordinal);
        int count = r.ReadInt(0, r.Remaining);
        var constants = new Dictionary<string, float[]>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            string name = r.ReadString();
            float[] values = r.ReadSingleArray();
            if (!expected.TryGetValue(name, out var info) || values.LongLength != info.ElementCount || !constants.TryAdd(name, values))
                throw new PlanFormatException($"The plan is inconsistent: constant '{name}' is not a constant of the plan or has the wrong size.");
        }
        if (constants.Count != expected.Count) throw new PlanFormatException($"The plan is inconsistent: it lists {expected.Count} constants and holds {constants.Count}.");
        return constants;
    }

    private static void WriteBody(PlanWriter w, EnginePlan plan)
    {
        w.Write(plan.Name);
        w.Write(plan.Hardware.InstructionSet);
        w.Write(plan.Hardware.Threads);
        w.Write(plan.OptimizationLevel);
        w.Write(plan.StructureDigest);
        w.Write(plan.ModerateGemmsShared);
        w.Write(plan.Tensors.Length);
        foreach (var t in plan.Tensors)
        {
            w.Write(t.Name);
            w.Write(t.Dims);
        }
        w.Write(plan.Inputs);
        foreach (var type in plan.InputTypes) w.Write((byte)type);
        foreach (var p in plan.Profiles)
        {
            w.Write(p.Min);
            w.Write(p.Opt);
            w.Write(p.Max);
        }
        w.Write(plan.Outputs);
        foreach (var type in plan.OutputTypes) w.Write((byte)type);
        w.Write(plan.ModelWeights.Length);
        foreach (var m in plan.ModelWeights)
        {
            w.Write(m.Name);
            w.Write(m.Shape);
            w.Write((byte)m.Kind);
            w.Write(m.Folded);
        }
        w.Write(plan.FoldedOps.Length);
        foreach (var op in plan.FoldedOps) WriteFoldedOp(w, op);
        w.Write(plan.Weights.Length);
        foreach (var e in plan.Weights)
        {
            w.Write(e.Name);
            w.Write(e.Shape);
            w.Write((byte)e.Recipe.Kind);
            w.Write(e.Recipe.Sources);
            w.Write(e.Recipe.Ints);
            w.Write(e.Recipe.Floats);
            w.Write(e.Length);
        }
        w.Write(plan.Layers.Length);
        foreach (var layer in plan.Layers)
        {
            w.Write((byte)layer.Kind);
            w.Write(layer.Name);
            w.Write(layer.Origins);
            w.Write(layer.Inputs.Length);
            foreach (var v in layer.Inputs)
            {
                w.Write(v.IsWeight);
                w.Write(v.Index);
            }
            w.Write(layer.Output);
            w.Write(layer.Tactic ?? "");
            w.Write(layer.TacticMicroseconds);
            layer.WriteParameters(w);
        }
    }

    private static EnginePlan ReadBody(PlanReader r)
    {
        string name = r.ReadString();
        var hardware = new HardwareInfo(r.ReadString(), r.ReadInt(1, 4096));
        int level = r.ReadInt(0, 5);
        string structure = r.ReadString();
        bool moderateGemmsShared = r.ReadBool();
        var tensors = new EngineTensor[r.ReadInt(0, r.Remaining)];
        for (int i = 0; i < tensors.Length; i++) tensors[i] = new EngineTensor(r.ReadString(), r.ReadShape());
        int[] inputs = r.ReadInt32Array();
        var inputTypes = new ElementType[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) inputTypes[i] = r.ReadEnum<ElementType>();
        var profiles = new ShapeProfile[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) profiles[i] = new ShapeProfile(r.ReadShape(), r.ReadShape(), r.ReadShape());
        int[] outputs = r.ReadInt32Array();
        var outputTypes = new ElementType[outputs.Length];
        for (int i = 0; i < outputs.Length; i++) outputTypes[i] = r.ReadEnum<ElementType>();
        var modelWeights = new ModelWeightInfo[r.ReadInt(0, r.Remaining)];
        for (int i = 0; i < modelWeights.Length; i++) modelWeights[i] = new ModelWeightInfo(r.ReadString(), r.ReadShape(), r.ReadEnum<WeightKind>(), r.ReadBool());
        var foldedOps = new FoldedOp[r.ReadInt(0, r.Remaining)];
        for (int i = 0; i < foldedOps.Length; i++) foldedOps[i] = ReadFoldedOp(r);
        var weights = new EngineWeight[r.ReadInt(0, r.Remaining)];
        for (int i = 0; i < weights.Length; i++)
        {
            string wname = r.ReadString();
            int[] shape = r.ReadShape();
            var recipe = new WeightRecipe(r.ReadEnum<RecipeKind>(), r.ReadStringArray(), r.ReadInt32Array(), r.ReadSingleArray());
            weights[i] = new EngineWeight(wname, shape, recipe, r.ReadInt64());
        }
        var layers = new Layer[r.ReadInt(0, r.Remaining)];
        for (int i = 0; i < layers.Length; i++) layers[i] = ReadLayer(r);
        var plan = new EnginePlan
        {
            Name = name, Tensors = tensors, Inputs = inputs, InputTypes = inputTypes, Profiles = profiles, Outputs = outputs, OutputTypes = outputTypes, Layers = layers,
            Weights = weights, ModelWeights = modelWeights, Hardware = hardware, OptimizationLevel = level, FoldedOps = foldedOps,
            StructureDigest = structure, ModerateGemmsShared = moderateGemmsShared,
        };
        PlanValidator.Validate(plan);
        return plan;
    }

    /// <summary>Also the cache key's bytes for a folded operation (names included: they wire it to the model weights).</summary>
    internal static void WriteFoldedOp(PlanWriter w, FoldedOp op)
    {
        w.Write((byte)op.Kind);
        w.Write(op.Inputs);
        w.Write(op.InputShapes.Length);
        foreach (var shape in op.InputShapes) w.Write(shape);
        w.Write(op.Output);
        w.Write(op.OutputShape);
        w.Write(op.Ints);
    }

    private static FoldedOp ReadFoldedOp(PlanReader r)
    {
        var kind = r.ReadEnum<FoldedOpKind>();
        string[] inputs = r.ReadStringArray();
        var shapes = new int[r.ReadInt(0, Math.Min(MaxLayerInputs, r.Remaining))][];
        for (int i = 0; i < shapes.Length; i++) shapes[i] = r.ReadShape();
        return new FoldedOp(kind, inputs, shapes, r.ReadString(), r.ReadShape(), r.ReadInt32Array());
    }

    private static Layer ReadLayer(PlanReader r)
    {
        var kind = r.ReadEnum<LayerKind>();
        string name = r.ReadString();
        string[] origins = r.ReadStringArray();
        var inputs = new ValueRef[r.ReadInt(0, Math.Min(MaxLayerInputs, r.Remaining))];
        for (int i = 0; i < inputs.Length; i++) inputs[i] = new ValueRef(r.ReadBool(), r.ReadInt(-1, int.MaxValue));
        int output = r.ReadInt(0, int.MaxValue);
        string tactic = r.ReadString();
        double micros = r.ReadDouble();
        int arity = kind switch
        {
            LayerKind.Gemm or LayerKind.ConvTranspose or LayerKind.LayerNorm or LayerKind.Select => 3,
            LayerKind.MatMul or LayerKind.Elementwise or LayerKind.Gather or LayerKind.GatherElements => 2,
            LayerKind.Conv => 5,
            LayerKind.BatchNorm => 5,
            LayerKind.FusedInvertedResidual => 8,
            LayerKind.Recurrent => 6,
            LayerKind.FusedConvPool => 3,
            LayerKind.Concat or LayerKind.ChannelShuffle => Math.Max(1, inputs.Length),
            _ => 1,
        };
        if (inputs.Length != arity) throw new PlanFormatException($"The plan is corrupt: layer '{name}' ({kind}) has {inputs.Length} inputs, expected {arity}.");
        Layer layer = kind switch
        {
            LayerKind.Gemm => GemmLayer.Read(name, inputs, r),
            LayerKind.MatMul => new MatMulLayer(name, inputs[0], inputs[1]),
            LayerKind.Elementwise => ElementwiseLayer.Read(name, inputs, r),
            LayerKind.Activation => ActivationLayer.Read(name, inputs, r),
            LayerKind.Softmax => SoftmaxLayer.Read(name, inputs, r),
            LayerKind.Reshape => ReshapeLayer.Read(name, inputs, r),
            LayerKind.Conv => ConvLayer.Read(name, inputs, r),
            LayerKind.BatchNorm => BatchNormLayer.Read(name, inputs, r),
            LayerKind.Pool => PoolLayer.Read(name, inputs, r),
            LayerKind.Concat => ConcatLayer.Read(name, inputs, r),
            LayerKind.Slice => SliceLayer.Read(name, inputs, r),
            LayerKind.Transpose => TransposeLayer.Read(name, inputs, r),
            LayerKind.Pad => PadLayer.Read(name, inputs, r),
            LayerKind.Resize => ResizeLayer.Read(name, inputs, r),
            LayerKind.Reduce => ReduceLayer.Read(name, inputs, r),
            LayerKind.ConvTranspose => ConvTransposeLayer.Read(name, inputs, r),
            LayerKind.Reformat => ReformatLayer.Read(name, inputs, r),
            LayerKind.ChannelShuffle => ChannelShuffleLayer.Read(name, inputs, r),
            LayerKind.FusedInvertedResidual => FusedInvertedResidualLayer.Read(name, inputs, r),
            LayerKind.FusedConvPool => FusedConvPoolLayer.Read(name, inputs, r),
            LayerKind.LayerNorm => LayerNormLayer.Read(name, inputs, r),
            LayerKind.Select => new SelectLayer(name, inputs[0], inputs[1], inputs[2]),
            LayerKind.Gather => GatherLayer.Read(name, inputs, r),
            LayerKind.Axis => AxisLayer.Read(name, inputs, r),
            LayerKind.GatherElements => GatherElementsLayer.Read(name, inputs, r),
            LayerKind.Recurrent => RecurrentLayer.Read(name, inputs, r),
            _ => throw new PlanFormatException($"The plan is corrupt: unknown layer kind {kind}."),
        };
        layer.Origins = origins;
        layer.Output = output;
        layer.Tactic = tactic.Length == 0 ? null : tactic;
        layer.TacticMicroseconds = micros;
        return layer;
    }
}
