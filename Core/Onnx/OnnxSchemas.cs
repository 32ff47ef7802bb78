namespace TrtEngine.Core.Onnx;

/// <summary>
/// What each operator TrtEngine reads takes at each opset: its attributes (and their types), how many inputs and
/// outputs, which attributes it requires. A node is checked against the version its model's opset selects before it
/// is imported, as ONNX Runtime checks it when it loads the model: an attribute of another version (Clip's min at
/// opset 17, where min is an input), an input of another version (Unsqueeze's axes at opset 11, where they are an
/// attribute) or an unknown attribute would otherwise be ignored, or read where the model's opset has no such thing.
/// The table holds the versions at which something here changed, read from ONNX Runtime's ONNX schemas for
/// opsets 1–26 (versions that changed only types are left out).
/// </summary>
internal static class OnnxSchemas
{
    /// <summary>The newest default-domain opset whose versions the table has been checked against.</summary>
    public const long MaxOpset = 26;

    /// <param name="Since">The opset from which this version applies.</param>
    /// <param name="Inputs">"n", "a-b" or "a+" (variadic).</param>
    /// <param name="Attributes">name:type ("f" float, "i" int, "s" string, "I" ints, "F" floats, "S" strings, "t" tensor); a trailing ! marks a required one.</param>
    /// <param name="Legacy">What sets apart a version neither TrtEngine nor ONNX Runtime runs (consumed_inputs, legacy broadcasting, is_test), or null.</param>
    private sealed record Version(int Since, string Inputs, string Outputs, string Attributes, string? Legacy = null, bool Deprecated = false, bool AnyAttribute = false)
    {
        public (int Min, int Max) InputRange => Range(Inputs);

        public (int Min, int Max) OutputRange => Range(Outputs);

        public IEnumerable<(string Name, OnnxAttributeType Type, bool Required)> AttributeList =>
            Attributes.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a =>
            {
                string[] parts = a.TrimEnd('!').Split(':');
                var type = parts[1] switch
                {
                    "f" => OnnxAttributeType.Float, "i" => OnnxAttributeType.Int, "s" => OnnxAttributeType.String,
                    "I" => OnnxAttributeType.Ints, "F" => OnnxAttributeType.Floats, "t" => OnnxAttributeType.Tensor, "S" => OnnxAttributeType.Strings,
                    _ => throw new InvalidOperationException(a),
                };
                return (parts[0], type, a.EndsWith('!'));
            });

        private static (int, int) Range(string s) =>
            s.EndsWith('+') ? (int.Parse(s[..^1]), int.MaxValue)
            : s.Contains('-') ? (int.Parse(s.Split('-')[0]), int.Parse(s.Split('-')[1]))
            : (int.Parse(s), int.Parse(s));
    }

    private static Version V(int since, string inputs, string attributes = "", string outputs = "1") => new(since, inputs, outputs, attributes);

    private static Version Legacy(int since, string what, string inputs, string attributes = "", string outputs = "1") => new(since, inputs, outputs, attributes, Legacy: what);

    private static Version[] Elementwise => [Legacy(1, "consumed_inputs, broadcasting by 'broadcast' and 'axis'", "2", "broadcast:i axis:i consumed_inputs:I"), Legacy(6, "broadcasting by 'broadcast' and 'axis'", "2", "broadcast:i axis:i"), V(7, "2")];

    private static Version[] Unary => [Legacy(1, "consumed_inputs", "1", "consumed_inputs:I"), V(6, "1")];

    private const string ReduceAttributes = "axes:I keepdims:i";

    private const string ReduceInputAttributes = "keepdims:i noop_with_empty_axes:i";

    private const string ResizeAttributes = "mode:s coordinate_transformation_mode:s cubic_coeff_a:f exclude_outside:i extrapolation_value:f nearest_mode:s";

    private static readonly Dictionary<string, Version[]> Table = new(StringComparer.Ordinal)
    {
        ["Gemm"] = [Legacy(1, "C broadcast only by 'broadcast'", "3", "alpha:f beta:f transA:i transB:i broadcast:i"), V(7, "3", "alpha:f beta:f transA:i transB:i"), V(11, "2-3", "alpha:f beta:f transA:i transB:i")],
        ["MatMul"] = [V(1, "2")],
        ["Add"] = Elementwise, ["Sub"] = Elementwise, ["Mul"] = Elementwise, ["Div"] = Elementwise,
        ["Relu"] = Unary, ["Sigmoid"] = Unary, ["Tanh"] = Unary, ["Floor"] = Unary, ["Ceil"] = Unary,
        ["Erf"] = [V(9, "1")],
        ["Round"] = [V(11, "1")],
        ["HardSwish"] = [V(14, "1")],
        ["HardSigmoid"] = [Legacy(1, "consumed_inputs", "1", "alpha:f beta:f consumed_inputs:I"), V(6, "1", "alpha:f beta:f")],
        ["LeakyRelu"] = [Legacy(1, "consumed_inputs", "1", "alpha:f consumed_inputs:I"), V(6, "1", "alpha:f")],
        ["Clip"] = [Legacy(1, "consumed_inputs", "1", "min:f max:f consumed_inputs:I"), V(6, "1", "min:f max:f"), V(11, "1-3")],
        ["Softmax"] = [V(1, "1", "axis:i")], ["LogSoftmax"] = [V(1, "1", "axis:i")],
        // ONNX Runtime reads LayerNormalization at any opset (its own kernel before 17) and lets any attribute by.
        ["LayerNormalization"] = [new Version(1, "2-3", "1-3", "axis:i epsilon:f stash_type:i", AnyAttribute: true)],
        ["Flatten"] = [V(1, "1", "axis:i")],
        ["Reshape"] = [V(1, "1", "shape:I consumed_inputs:I"), V(5, "2"), V(14, "2", "allowzero:i")],
        ["Identity"] = [V(1, "1")],
        ["Dropout"] = [Legacy(1, "consumed_inputs, is_test", "1", "consumed_inputs:I is_test:i ratio:f", "1-2"), Legacy(6, "is_test", "1", "is_test:i ratio:f", "1-2"), V(7, "1", "ratio:f", "1-2"), V(12, "1-3", "seed:i", "1-2")],
        ["Conv"] = [V(1, "2-3", "auto_pad:s dilations:I group:i kernel_shape:I pads:I strides:I")],
        ["ConvTranspose"] = [V(1, "2-3", "auto_pad:s dilations:I group:i kernel_shape:I pads:I strides:I output_padding:I output_shape:I")],
        ["BatchNormalization"] =
        [
            Legacy(1, "consumed_inputs, is_test", "5", "consumed_inputs:I! epsilon:f is_test:i momentum:f spatial:i", "1-5"), Legacy(6, "is_test", "5", "epsilon:f is_test:i momentum:f spatial:i", "1-5"),
            V(7, "5", "epsilon:f momentum:f spatial:i", "1-5"), V(9, "5", "epsilon:f momentum:f", "1-5"), V(14, "5", "epsilon:f momentum:f training_mode:i", "1-3"),
        ],
        ["MaxPool"] =
        [
            V(1, "1", "auto_pad:s kernel_shape:I! pads:I strides:I"), V(8, "1", "auto_pad:s kernel_shape:I! pads:I strides:I storage_order:i", "1-2"),
            V(10, "1", "auto_pad:s kernel_shape:I! pads:I strides:I storage_order:i ceil_mode:i dilations:I", "1-2"),
        ],
        ["AveragePool"] =
        [
            V(1, "1", "auto_pad:s kernel_shape:I! pads:I strides:I"), V(7, "1", "auto_pad:s kernel_shape:I! pads:I strides:I count_include_pad:i"),
            V(10, "1", "auto_pad:s kernel_shape:I! pads:I strides:I count_include_pad:i ceil_mode:i"),
            V(19, "1", "auto_pad:s kernel_shape:I! pads:I strides:I count_include_pad:i ceil_mode:i dilations:I"),
        ],
        ["GlobalAveragePool"] = [V(1, "1")],
        ["GlobalMaxPool"] = [V(1, "1")],
        // Before opset 4 Concat's axis was optional with a default of 1.
        ["Concat"] = [Legacy(1, "an axis of 1 by default", "1+", "axis:i"), V(4, "1+", "axis:i!")],
        ["SplitToSequence"] = [V(11, "1-2", "axis:i keepdims:i")],
        ["SequenceAt"] = [V(11, "2")],
        ["Split"] = [Legacy(1, "split as an attribute or an input", "1-2", "axis:i split:I", "1+"), V(2, "1", "axis:i split:I", "1+"), V(13, "1-2", "axis:i", "1+"), V(18, "1-2", "axis:i num_outputs:i", "1+")],
        ["Slice"] = [V(1, "1", "starts:I! ends:I! axes:I"), V(10, "3-5")],
        ["Transpose"] = [V(1, "1", "perm:I")],
        ["Squeeze"] = [V(1, "1", "axes:I"), V(13, "1-2")],
        ["Unsqueeze"] = [V(1, "1", "axes:I!"), V(13, "2")],
        ["Pad"] = [Legacy(1, "'paddings'", "1", "mode:s paddings:I! value:f"), V(2, "1", "mode:s pads:I! value:f"), V(11, "2-3", "mode:s"), V(18, "2-4", "mode:s")],
        ["Resize"] = [V(10, "2", "mode:s"), V(11, "3-4", ResizeAttributes), V(13, "1-4", ResizeAttributes), V(18, "1-4", ResizeAttributes + " antialias:i axes:I keep_aspect_ratio_policy:s")],
        ["Upsample"] = [Legacy(1, "height_scale and width_scale", "1", "mode:s height_scale:f! width_scale:f!"), V(7, "1", "mode:s scales:F!"), V(9, "2", "mode:s"), new Version(10, "2", "1", "mode:s", Deprecated: true)],
        ["ReduceMean"] = [V(1, "1", ReduceAttributes), V(18, "1-2", ReduceInputAttributes)],
        ["ReduceMax"] = [V(1, "1", ReduceAttributes), V(18, "1-2", ReduceInputAttributes)],
        ["ReduceLogSumExp"] = [V(1, "1", ReduceAttributes), V(18, "1-2", ReduceInputAttributes)],
        ["ReduceProd"] = [V(1, "1", ReduceAttributes), V(18, "1-2", ReduceInputAttributes)],
        ["ReduceL2"] = [V(1, "1", ReduceAttributes), V(18, "1-2", ReduceInputAttributes)],
        ["ReduceSumSquare"] = [V(1, "1", ReduceAttributes), V(18, "1-2", ReduceInputAttributes)],
        ["DepthToSpace"] = [V(1, "1", "blocksize:i!"), V(11, "1", "blocksize:i! mode:s")],
        ["SpaceToDepth"] = [V(1, "1", "blocksize:i!")],
        ["Tile"] = [V(1, "3"), V(6, "2")],
        ["PRelu"] = [Legacy(1, "consumed_inputs", "2", "consumed_inputs:I"), V(6, "2")],
        ["InstanceNormalization"] = [Legacy(1, "consumed_inputs", "3", "consumed_inputs:I epsilon:f"), V(6, "3", "epsilon:f")],
        ["ReduceSum"] = [V(1, "1", ReduceAttributes), V(13, "1-2", ReduceInputAttributes)],
        ["Shape"] = [V(1, "1"), V(15, "1", "start:i end:i")],
        ["Gather"] = [V(1, "2", "axis:i")],
        // Cast-1 names the type as a string.
        ["CastLike"] = [V(15, "2"), V(19, "2", "saturate:i"), V(24, "2", "saturate:i round_mode:s")],
        ["Cast"] = [Legacy(1, "the type named by a string", "1", "to:s!"), V(6, "1", "to:i!"), V(19, "1", "to:i! saturate:i"), V(24, "1", "to:i! saturate:i round_mode:s")],
        ["Equal"] = [Legacy(1, "broadcasting by 'broadcast' and 'axis'", "2", "broadcast:i axis:i"), V(7, "2")],
        ["Less"] = [Legacy(1, "broadcasting by 'broadcast' and 'axis'", "2", "broadcast:i axis:i"), V(7, "2")],
        ["Greater"] = [Legacy(1, "broadcasting by 'broadcast' and 'axis'", "2", "broadcast:i axis:i"), V(7, "2")],
        ["LessOrEqual"] = [V(12, "2")], ["GreaterOrEqual"] = [V(12, "2")], ["Not"] = [V(1, "1")],
        ["ArgMax"] = [V(1, "1", "axis:i keepdims:i"), V(12, "1", "axis:i keepdims:i select_last_index:i")],
        ["ArgMin"] = [V(1, "1", "axis:i keepdims:i"), V(12, "1", "axis:i keepdims:i select_last_index:i")],
        ["CumSum"] = [V(11, "2", "exclusive:i reverse:i")],
        ["Einsum"] = [V(12, "1+", "equation:s!")],
        ["OneHot"] = [V(9, "3", "axis:i")],
        ["LSTM"] = [V(7, "3-8", "activation_alpha:F activation_beta:F activations:S clip:f direction:s hidden_size:i input_forget:i", "0-3"),
            V(14, "3-8", "activation_alpha:F activation_beta:F activations:S clip:f direction:s hidden_size:i input_forget:i layout:i", "0-3")],
        ["GRU"] = [V(7, "3-6", "activation_alpha:F activation_beta:F activations:S clip:f direction:s hidden_size:i linear_before_reset:i", "0-2"),
            V(14, "3-6", "activation_alpha:F activation_beta:F activations:S clip:f direction:s hidden_size:i layout:i linear_before_reset:i", "0-2")],
        ["GatherElements"] = [V(11, "2", "axis:i")],
        ["GatherND"] = [V(11, "2"), V(12, "2", "batch_dims:i")],
        ["TopK"] = [V(1, "1", "axis:i k:i!", "2"), V(10, "2", "axis:i", "2"), V(11, "2", "axis:i largest:i sorted:i", "2")], ["Range"] = [V(11, "3")], ["IsNaN"] = [V(9, "1")], ["IsInf"] = [V(10, "1", "detect_negative:i detect_positive:i")],
        ["And"] = [Legacy(1, "broadcasting by 'broadcast' and 'axis'", "2", "broadcast:i axis:i"), V(7, "2")],
        ["Or"] = [Legacy(1, "broadcasting by 'broadcast' and 'axis'", "2", "broadcast:i axis:i"), V(7, "2")],
        ["Xor"] = [Legacy(1, "broadcasting by 'broadcast' and 'axis'", "2", "broadcast:i axis:i"), V(7, "2")],
        ["Trilu"] = [V(14, "1-2", "upper:i")],
        ["Where"] = [V(9, "3")],
        ["Sqrt"] = Unary, ["Exp"] = Unary, ["Neg"] = Unary, ["Abs"] = Unary, ["Reciprocal"] = Unary, ["Log"] = Unary,
        ["Sin"] = [V(7, "1")], ["Cos"] = [V(7, "1")],
        ["Softplus"] = [V(1, "1")], ["Softsign"] = [V(1, "1")], ["Mish"] = [V(18, "1")], ["Gelu"] = [V(20, "1", "approximate:s")], ["Sign"] = [V(9, "1")],
        ["Elu"] = [Legacy(1, "consumed_inputs", "1", "alpha:f consumed_inputs:I"), V(6, "1", "alpha:f")],
        ["Selu"] = [Legacy(1, "consumed_inputs", "1", "alpha:f gamma:f consumed_inputs:I"), V(6, "1", "alpha:f gamma:f")],
        ["Pow"] = [Legacy(1, "broadcasting by 'broadcast' and 'axis'", "2", "broadcast:i axis:i"), V(7, "2")],
        ["Max"] = [Legacy(1, "consumed_inputs", "1+", "consumed_inputs:I"), V(6, "1+")],
        ["Min"] = [Legacy(1, "consumed_inputs", "1+", "consumed_inputs:I"), V(6, "1+")],
        ["Sum"] = [Legacy(1, "consumed_inputs", "1+", "consumed_inputs:I"), V(6, "1+")],
        ["Mean"] = [Legacy(1, "consumed_inputs", "1+", "consumed_inputs:I"), V(6, "1+")],
        ["Mod"] = [V(10, "2", "fmod:i")],
        ["Expand"] = [V(8, "2")],
        ["ConstantOfShape"] = [V(9, "1", "value:t")],
    };

    /// <summary>
    /// Refuses a node that does not fit the version of its operator at <paramref name="opset"/>, naming the node, what
    /// does not fit and the opset. Constant is not checked here (ONNX Runtime turns Constant nodes into initializers
    /// unchecked; the importer reads the value attributes it knows and refuses others).
    /// </summary>
    public static void Check(OnnxNode node, long opset, string name)
    {
        if (!Table.TryGetValue(node.OpType, out var versions)) return;
        string op = node.OpType;
        var version = versions.LastOrDefault(v => v.Since <= opset)
            ?? throw new ModelImportException($"{op} '{name}': {op} does not exist at opset {opset}; ONNX introduced it at opset {versions[0].Since}.");
        if (version.Deprecated)
            throw new ModelImportException($"{op} '{name}': {op} is deprecated from opset {version.Since} on (the model imports opset {opset}); export it with Resize.");
        if (version.Legacy is { } legacy)
            throw new ModelImportException($"{op} '{name}': opset {opset} selects the version of {op} of opset {version.Since}, whose semantics ({legacy}) TrtEngine does not implement (nor does ONNX Runtime); export the model at opset 7 or later.");

        var (minInputs, maxInputs) = version.InputRange;
        int inputs = node.Inputs.Count;
        if (inputs < minInputs || inputs > maxInputs)
            throw new ModelImportException($"{op} '{name}' is malformed: it has {inputs} input{(inputs == 1 ? "" : "s")}; at opset {opset} {op} takes {Count(minInputs, maxInputs)}{Elsewhere(op, versions, version, v => Fits(v.InputRange, inputs), "that many")}.");
        CheckNamed(node.Inputs, minInputs, "input", op, name, opset);
        var (minOutputs, maxOutputs) = version.OutputRange;
        int outputs = node.Outputs.Count;
        if (outputs < minOutputs || outputs > maxOutputs)
            throw new ModelImportException($"{op} '{name}' is malformed: it has {outputs} output{(outputs == 1 ? "" : "s")}; at opset {opset} {op} has {Count(minOutputs, maxOutputs)}.");
        CheckNamed(node.Outputs, minOutputs, "output", op, name, opset);

        var known = version.AttributeList.ToDictionary(a => a.Name, StringComparer.Ordinal);
        foreach (var attribute in node.Attributes)
        {
            if (known.TryGetValue(attribute.Name, out var a))
            {
                if (attribute.Type != a.Type)
                    throw new ModelImportException($"{op} '{name}': its attribute '{attribute.Name}' is {attribute.Type}; at opset {opset} {op}'s '{attribute.Name}' is {a.Type}.");
                continue;
            }
            if (version.AnyAttribute) continue;
            throw new ModelImportException($"{op} '{name}' has the attribute '{attribute.Name}', which {op} does not have at opset {opset}" +
                Elsewhere(op, versions, version, v => v.AttributeList.Any(x => x.Name == attribute.Name), $"'{attribute.Name}'") + "; ONNX Runtime refuses such a model.");
        }
        foreach (var a in known.Values.Where(a => a.Required))
            if (node.FindAttribute(a.Name) is null)
                throw new ModelImportException($"{op} '{name}' lacks the attribute '{a.Name}', which {op} requires at opset {opset}.");
    }

    /// <summary>An empty name marks an optional input or output as absent: each of the first <paramref name="required"/> must have one.</summary>
    private static void CheckNamed(IReadOnlyList<string> values, int required, string what, string op, string name, long opset)
    {
        for (int i = 0; i < Math.Min(required, values.Count); i++)
            if (values[i].Length == 0)
                throw new ModelImportException($"{op} '{name}' is malformed: its {what} {i} is empty; at opset {opset} {op} requires it.");
    }

    private static bool Fits((int Min, int Max) range, int n) => n >= range.Min && n <= range.Max;

    private static string Count(int min, int max) =>
        max == int.MaxValue ? $"{min} or more" : min == max ? $"{min}" : $"{min} to {max}";

    /// <summary>The opsets whose versions have what the node has: a hint that the model mixes versions.</summary>
    private static string Elsewhere(string op, Version[] versions, Version current, Func<Version, bool> has, string what)
    {
        var ranges = new List<(int From, int? To)>();
        for (int i = 0; i < versions.Length; i++)
        {
            var v = versions[i];
            if (v == current || v.Deprecated || !has(v)) continue;
            int? to = i + 1 < versions.Length ? versions[i + 1].Since - 1 : null;
            if (ranges.Count > 0 && ranges[^1].To == v.Since - 1) ranges[^1] = (ranges[^1].From, to);
            else ranges.Add((v.Since, to));
        }
        if (ranges.Count == 0) return "";
        var said = ranges.Select(r => r.To is not { } to ? $"from opset {r.From} on" : to == r.From ? $"at opset {to}" : $"at opsets {r.From}–{to}");
        return $" ({op} takes {what} {string.Join(" and ", said)})";
    }
}
