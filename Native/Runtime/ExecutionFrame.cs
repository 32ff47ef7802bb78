using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TrtEngine.Native.Layers;

namespace TrtEngine.Native.Runtime;

/// <summary>What a layer sees while it runs: where each operand lives, its current shape, scratch memory, the workers.</summary>
internal sealed unsafe class ExecutionFrame(WorkerPool pool, int tensorCount, int weightCount)
{
    public WorkerPool Pool { get; } = pool;
    public int[][] TensorShapes { get; } = new int[tensorCount][];
    public int[][] WeightShapes { get; } = new int[weightCount][];
    public float*[] TensorPointers { get; } = new float*[tensorCount];
    public float*[] WeightPointers { get; } = new float*[weightCount];
    public float* Workspace { get; set; }

    public float* Pointer(ValueRef v) => v.IsWeight ? WeightPointers[v.Index] : TensorPointers[v.Index];

    public int[] Shape(ValueRef v) => v.IsWeight ? WeightShapes[v.Index] : TensorShapes[v.Index];

    public int[] Shape(int tensor) => TensorShapes[tensor];

    public float* Pointer(int tensor) => TensorPointers[tensor];

    /// <summary>The address of a pinned array's first element.</summary>
    public static float* AddressOf(float[] pinned) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
}
