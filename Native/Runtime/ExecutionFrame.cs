using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TrtEngine.Native.Layers;

namespace TrtEngine.Native.Runtime;

/// <summary>What a layer sees while it runs: where each operand lives, its current shape, scratch memory, the workers.</summary>
internal sealed unsafe class ExecutionFrame(WorkerPool pool, int tensorCount, int weightCount)
{
    public WorkerPool Pool { get; } = pool;

    /// <summary>Whether the GEMM layers' jobs share moderate GEMMs with awake workers (<see cref="Plan.EnginePlan.ModerateGemmsShared"/>).</summary>
    public bool ModerateGemmsShared { get; init; } = true;
    public int[][] TensorShapes { get; } = new int[tensorCount][];
    public int[][] WeightShapes { get; } = new int[weightCount][];
    public float*[] TensorPointers { get; } = new float*[tensorCount];
    public float*[] WeightPointers { get; } = new float*[weightCount];

    /// <summary>
    /// Changes whenever other weights are bound (a refit's): what a layer's state derives from weights and keeps across
    /// calls (a recurrent layer's packed W and R) is stale once it does.
    /// </summary>
    public int WeightsVersion { get; set; }

    /// <summary>
    /// Floats from one pixel to the next of a channels-last tensor held as a channel range of a wider one (a convolution's
    /// output written into a concat's); 0 where the tensor is dense.
    /// </summary>
    public int[] PixelStrides { get; } = new int[tensorCount];
    public float* Workspace { get; set; }

    public float* Pointer(ValueRef v) => v.IsWeight ? WeightPointers[v.Index] : TensorPointers[v.Index];

    public int[] Shape(ValueRef v) => v.IsWeight ? WeightShapes[v.Index] : TensorShapes[v.Index];

    public int[] Shape(int tensor) => TensorShapes[tensor];

    public float* Pointer(int tensor) => TensorPointers[tensor];

    /// <summary>Floats from one pixel to the next of a 4-D channels-last tensor: its channel count unless it lies inside a wider one.</summary>
    public int PixelStride(int tensor) => PixelStrides[tensor] > 0 ? PixelStrides[tensor] : TensorShapes[tensor][1];

    /// <summary>The address of a pinned array's first element.</summary>
    public static float* AddressOf(float[] pinned) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
}
