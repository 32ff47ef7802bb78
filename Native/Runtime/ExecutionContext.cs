using System.Diagnostics;
using System.Runtime.InteropServices;
using TrtEngine.Native.Kernels;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;

namespace TrtEngine.Native.Runtime;

/// <summary>
/// Runs an engine. Holds the activation arena planned for the current input shapes, so repeated calls with
/// the same shapes allocate nothing. One context per thread; an engine can have many.
/// </summary>
public sealed unsafe class ExecutionContext
{
    private readonly Engine _engine;
    private readonly EnginePlan _plan;
    private readonly ExecutionFrame _frame;
    private readonly object?[] _states;
    private readonly int[][] _inputShapes;
    private bool _shapesChanged = true;
    private float[] _arena = [];
    private WeightSet? _boundWeights;
    private readonly GCHandle[] _pins;
    // Per input, the tensors whose memory is that input's (the input and views of it): pointed at the caller's array each call.
    private readonly List<(int Tensor, long Offset)>[] _inputViews;

    /// <param name="moderateGemmsShared">Overrides the plan's <see cref="EnginePlan.ModerateGemmsShared"/> (its builder times both).</param>
    internal ExecutionContext(Engine engine, bool? moderateGemmsShared = null)
    {
        _engine = engine;
        _plan = engine.Plan;
        _frame = new ExecutionFrame(engine.Pool, _plan.Tensors.Length, _plan.Weights.Length) { ModerateGemmsShared = moderateGemmsShared ?? _plan.ModerateGemmsShared };
        for (int w = 0; w < _plan.Weights.Length; w++) _frame.WeightShapes[w] = _plan.Weights[w].Shape;
        _states = new object?[_plan.Layers.Length];
        for (int l = 0; l < _states.Length; l++) _states[l] = _plan.Layers[l].CreateState(_frame);
        _inputShapes = new int[_plan.Inputs.Length][];
        for (int i = 0; i < _inputShapes.Length; i++) _inputShapes[i] = _plan.Profiles[i].Opt;
        _pins = new GCHandle[_plan.Inputs.Length];
        _inputViews = Array.ConvertAll(_plan.Inputs, _ => new List<(int, long)>());
    }

    /// <summary>
    /// When set (one slot per plan layer), every call adds each layer's time to its slot: where an engine spends
    /// its time, for the inspector and the benchmark. Null (the default) costs nothing.
    /// </summary>
    public double[]? LayerMicroseconds { get; set; }

    /// <summary>Why a shape does not fit an input's profile, and what can be done about it.</summary>
    internal static EngineInputException OutsideProfile(string input, ReadOnlySpan<int> shape, ShapeProfile profile)
    {
        string given = $"Input '{input}' has shape {Shapes.Format(shape)}";
        if (shape.Length != profile.Min.Length)
            return new($"{given}: the engine takes {profile.Min.Length} dimensions ({profile}).");
        for (int d = 0; d < shape.Length; d++)
            if (shape[d] < 1)
                return new($"{given}: every dimension must be at least 1.");
        for (int d = 0; d < shape.Length; d++)
            if (profile.Min[d] == profile.Max[d] && shape[d] != profile.Min[d])
                // The model fixes it, or the engine was built for one size: no profile of this engine can change it.
                return new($"{given}: dimension {d} must be {profile.Min[d]} (the engine fixes it: {profile}). " + (ChannelsLast(shape, profile)
                    ? $"The shape is channels last (NHWC); the engine takes channels first (NCHW): {Shapes.Format([shape[0], shape[3], shape[1], shape[2]])}."
                    : $"If the model leaves it dynamic, build an engine whose -MinShape/-MaxShape cover {shape[d]}."));
        // The dimensions out of range, each with its own: "dimension 0 is 17, above its max 16".
        var outside = new List<string>();
        for (int d = 0; d < shape.Length; d++)
            if (shape[d] < profile.Min[d]) outside.Add($"dimension {d} is {shape[d]}, below its min {profile.Min[d]}");
            else if (shape[d] > profile.Max[d]) outside.Add($"dimension {d} is {shape[d]}, above its max {profile.Max[d]}");
        return new($"{given}, outside the engine's profile ({profile}): {string.Join("; ", outside)}. Rebuild the engine with a profile that covers it (-MinShape/-MaxShape).");
    }

    /// <summary>Whether an image's shape is the profile's fixed channels-first shape with its channels last (an HWC image array fed as is).</summary>
    private static bool ChannelsLast(ReadOnlySpan<int> shape, ShapeProfile profile) =>
        shape.Length == 4 && profile.Min[1] == profile.Max[1] && shape[3] == profile.Min[1] && shape[1] != shape[3] && profile.Contains([shape[0], shape[3], shape[1], shape[2]]);

    internal static EngineInputException WrongLength(string input, int[] shape, long given) =>
        new($"Input '{input}' of shape {Shapes.Format(shape)} needs {Shapes.ElementCount(shape)} values, got {given}.");

    /// <summary>Sets the shape of input <paramref name="index"/> for the next calls; it must lie inside the input's profile.</summary>
    public void SetInputShape(int index, ReadOnlySpan<int> shape)
    {
        if ((uint)index >= (uint)_inputShapes.Length) throw new EngineInputException($"Engine '{_plan.Name}' has {_inputShapes.Length} inputs; there is no input {index}.");
        if (shape.SequenceEqual(_inputShapes[index])) return;
        ShapeProfile profile = _plan.Profiles[index];
        if (!profile.Contains(shape)) throw OutsideProfile(_plan.InputName(index), shape, profile);
        _inputShapes[index] = shape.ToArray();
        _shapesChanged = true;
    }

    public int[] GetOutputShape(int index)
    {
        PlanShapes();
        return _frame.TensorShapes[_plan.Outputs[index]];
    }

    /// <summary>The shape of any tensor of the plan at the current input shapes (for profiling: a layer's work follows from its shapes).</summary>
    public int[] GetTensorShape(int tensor)
    {
        PlanShapes();
        return (int[])_frame.TensorShapes[tensor].Clone();
    }

    /// <summary>
    /// Runs the engine: inputs in the plan's input order, read where they lie (pinned for the call, never written: do not
    /// change them from another thread meanwhile), outputs filled in the plan's output order.
    /// </summary>
    public void Execute(ReadOnlySpan<float[]> inputs, ReadOnlySpan<float[]> outputs)
    {
        if (inputs.Length != _plan.Inputs.Length || outputs.Length != _plan.Outputs.Length)
            throw new EngineInputException($"Engine '{_plan.Name}' takes {_plan.Inputs.Length} inputs and {_plan.Outputs.Length} outputs, got {inputs.Length} and {outputs.Length}.");
        var state = _engine.EnterState(); // a refit may reuse the buffers of a swapped-out set no one holds
        try
        {
            Run(state.Weights ?? throw new EngineHasNoWeightsException(_plan.Name), inputs, outputs);
        }
        finally
        {
            _engine.ExitState(state);
        }
    }

    private void Run(WeightSet weights, ReadOnlySpan<float[]> inputs, ReadOnlySpan<float[]> outputs)
    {
        BindWeights(weights);
        PlanShapes();
        for (int i = 0; i < inputs.Length; i++)
        {
            int t = _plan.Inputs[i];
            long n = Shapes.ElementCount(_frame.TensorShapes[t]);
            if (inputs[i].LongLength != n) throw WrongLength(_plan.InputName(i), _frame.TensorShapes[t], inputs[i].LongLength);
        }
        for (int o = 0; o < outputs.Length; o++)
        {
            long n = Shapes.ElementCount(_frame.TensorShapes[_plan.Outputs[o]]);
            if (outputs[o].LongLength != n)
                throw new EngineInputException($"Output '{_plan.OutputName(o)}' of shape {Shapes.Format(_frame.TensorShapes[_plan.Outputs[o]])} needs a buffer of {n} values, got {outputs[o].LongLength}.");
        }
        // The layers read the inputs where the caller's arrays lie (a copy cost a pass over each input, 4.8 MB at batch 8
        // of 224×224 images), pinned for the call; no layer writes a network input or a view of one.
        int pinned = 0;
        try
        {
            for (; pinned < inputs.Length; pinned++) _pins[pinned] = GCHandle.Alloc(inputs[pinned], GCHandleType.Pinned);
            for (int i = 0; i < inputs.Length; i++)
            {
                float* input = (float*)_pins[i].AddrOfPinnedObject();
                foreach (var (t, offset) in _inputViews[i]) _frame.TensorPointers[t] = input + offset;
            }
            RunLayers();
            // Before the pins go: an output may be an input or a view of one. Where the caller gave an input's array as an
            // output buffer, those outputs are read before any output is written (the arena's copy kept them so before).
            float[]?[]? staged = null;
            for (int o = 0; o < outputs.Length && staged is null; o++)
                for (int i = 0; i < inputs.Length; i++)
                    if (ReferenceEquals(outputs[o], inputs[i])) staged = new float[]?[outputs.Length];
            if (staged is not null)
                for (int o = 0; o < outputs.Length; o++)
                    if (ViewsAnInput(_plan.Outputs[o]))
                        staged[o] = new ReadOnlySpan<float>(_frame.TensorPointers[_plan.Outputs[o]], outputs[o].Length).ToArray();
            for (int o = 0; o < outputs.Length; o++)
            {
                int t = _plan.Outputs[o];
                if (staged?[o] is { } values) CopyKernels.CopyFloats(values, outputs[o]);
                else CopyKernels.CopyFloats(new ReadOnlySpan<float>(_frame.TensorPointers[t], outputs[o].Length), outputs[o]);
            }
        }
        finally
        {
            for (int i = 0; i < pinned; i++) _pins[i].Free();
        }
    }

    /// <summary>Whether a call so far ran a moderate GEMM on several threads' pool (<see cref="GemmJob.ModerateLoops"/>).</summary>
    internal bool RanModerateGemms => _states.Any(s => s is GemmJob { ModerateLoops: > 0 });

    private bool ViewsAnInput(int tensor)
    {
        foreach (var views in _inputViews)
            foreach (var (t, _) in views)
                if (t == tensor) return true;
        return false;
    }

    private void RunLayers()
    {
        if (LayerMicroseconds is { } profile)
            for (int l = 0; l < _plan.Layers.Length; l++)
            {
                long start = Stopwatch.GetTimestamp();
                _plan.Layers[l].Execute(_frame, _states[l]);
                profile[l] += Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
        else
            for (int l = 0; l < _plan.Layers.Length; l++) _plan.Layers[l].Execute(_frame, _states[l]);
    }

    private void BindWeights(WeightSet weights)
    {
        if (ReferenceEquals(weights, _boundWeights)) return;
        for (int w = 0; w < weights.Buffers.Length; w++) _frame.WeightPointers[w] = ExecutionFrame.AddressOf(weights.Buffers[w]);
        _boundWeights = weights;
        _frame.WeightsVersion++;
        _shapesChanged = true; // views of weights point into the new buffers
    }

    private void PlanShapes()
    {
        if (!_shapesChanged) return;
        int[][] shapes = _frame.TensorShapes;
        _plan.InferShapes(shapes, _inputShapes);
        var memory = MemoryPlan.Create(_plan, shapes);
        long workspace = 0;
        foreach (var layer in _plan.Layers) workspace = Math.Max(workspace, layer.WorkspaceLength(_frame));
        // The plan aligns tensors to cache lines within the arena; the arena's start is aligned here (the array is
        // pinned, so the address holds), or 512-bit loads would straddle two lines wherever the GC happened to put it.
        long needed = memory.ArenaLength + workspace + MemoryPlan.AlignmentFloats;
        if (needed > Array.MaxLength)
            throw new ShapeException($"Engine '{_plan.Name}' needs {needed} floats of activation memory for input shapes {string.Join(", ", _inputShapes.Select(s => Shapes.Format(s)))}, more than one buffer can hold; run it with smaller inputs.");
        if (_arena.LongLength < needed) _arena = GC.AllocateUninitializedArray<float>((int)needed, pinned: true);
        float* arena = (float*)(((nint)ExecutionFrame.AddressOf(_arena) + (MemoryPlan.AlignmentFloats * sizeof(float) - 1)) & ~(nint)(MemoryPlan.AlignmentFloats * sizeof(float) - 1));
        foreach (var views in _inputViews) views.Clear();
        for (int t = 0; t < shapes.Length; t++)
        {
            var root = memory.Storage[t];
            int input = root.IsWeight ? -1 : Array.IndexOf(_plan.Inputs, root.Index);
            if (input >= 0) _inputViews[input].Add((t, memory.ViewOffsets[t]));
            _frame.TensorPointers[t] = root.IsWeight ? _frame.WeightPointers[root.Index] : input >= 0 ? null : arena + memory.Offsets[root.Index] + memory.ViewOffsets[t];
            _frame.PixelStrides[t] = memory.PixelStrides[t];
        }
        _frame.Workspace = arena + memory.ArenaLength;
        _shapesChanged = false;
    }
}
