using TrtEngine.Native.Network;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Native.Kernels;

/// <summary>ONNX Gather at indices known only at run time (an embedding table's rows by token id).</summary>
public static unsafe class GatherKernels
{
    /// <summary>
    /// y[o, j, :] = data[o, indices[j], :] for data viewed as [outer, axisLength, inner]; an index counts from the end
    /// when negative (ONNX). An index that is not an integer in [−axisLength, axisLength) is the caller's error, said as
    /// such (ONNX Runtime refuses it too), before anything is written.
    /// </summary>
    public static void Apply(float* data, int outer, int axisLength, int inner, float* indices, int count, float* y, string layer)
    {
        for (int j = 0; j < count; j++)
        {
            if (!IsIndex(indices[j], axisLength))
                throw new EngineInputException($"Gather '{layer}': index {indices[j]} (element {j} of its indices) is not an integer in [{-axisLength}, {axisLength - 1}], the size of the axis it picks from. Check the input's values (token ids within the vocabulary).");
        }
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < count; j++)
            {
                int row = (int)indices[j];
                if (row < 0) row += axisLength;
                new ReadOnlySpan<float>(data + ((long)o * axisLength + row) * inner, inner).CopyTo(new Span<float>(y + ((long)o * count + j) * inner, inner));
            }
    }

    /// <summary>
    /// GatherElements: y[p] = data[p with its <paramref name="axis"/> coordinate replaced by indices[p]] for every
    /// position p of the indices' shape; an index that is not an integer within the axis is the caller's error.
    /// </summary>
    public static void Elements(float* data, int[] dataShape, float* indices, int[] indexShape, int axis, float* y, string layer)
    {
        int rank = dataShape.Length, length = dataShape[axis];
        Span<long> strides = stackalloc long[rank];
        for (int d = rank - 1, stride = 1; d >= 0; stride *= dataShape[d], d--) strides[d] = stride;
        Span<int> position = stackalloc int[rank];
        long count = Shapes.ElementCount(indexShape);
        for (long j = 0; j < count; j++)
        {
            float index = indices[j];
            if (!IsIndex(index, length))
                throw new EngineInputException($"GatherElements '{layer}': index {index} (element {j} of its indices) is not an integer in [{-length}, {length - 1}], the size of axis {axis} of its data.");
            long offset = 0;
            for (int d = 0; d < rank; d++) offset += (d == axis ? (index < 0 ? (long)index + length : (long)index) : position[d]) * strides[d];
            y[j] = data[offset];
            for (int d = rank - 1; d >= 0 && ++position[d] == indexShape[d]; d--) position[d] = 0;
        }
    }

    /// <summary>An integer in [−length, length) (negative ones count from the end); NaN is not.</summary>
    private static bool IsIndex(float index, int length) => index >= -length && index < length && index == MathF.Floor(index);
}
