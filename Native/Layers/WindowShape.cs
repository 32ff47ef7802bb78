using TrtEngine.Native.Network;

namespace TrtEngine.Native.Layers;

/// <summary>Output size and leading pad of one spatial dimension of a sliding window (convolution or pool).</summary>
internal static class WindowShape
{
    /// <summary>Refuses a window that no input fits or that never moves: kernel, strides and dilations of 0, negative pads.</summary>
    public static void CheckParameters(string layer, int[] kernel, int[] strides, int[] pads, int[] dilations)
    {
        if (kernel.Any(k => k < 1) || strides.Any(s => s < 1) || dilations.Any(d => d < 1) || pads.Any(p => p < 0))
            throw new ShapeException($"{layer}: kernel [{string.Join(", ", kernel)}], strides [{string.Join(", ", strides)}] and dilations [{string.Join(", ", dilations)}] must be at least 1, and pads [{string.Join(", ", pads)}] at least 0.");
    }

    /// <returns>The output size (-1 when the input size is dynamic) and the pads before and after the input.</returns>
    public static (int Output, int PadBegin, int PadEnd) Compute(int input, int kernel, int stride, int dilation, int padBegin, int padEnd, AutoPad autoPad, bool ceilMode, string layer)
    {
        if (input < 0) return (Shapes.Dynamic, padBegin, padEnd);
        int extent = (kernel - 1) * dilation + 1;
        switch (autoPad)
        {
            case AutoPad.SameUpper or AutoPad.SameLower:
            {
                int output = (input + stride - 1) / stride;
                int total = (output - 1) * stride + extent - input;
                // A stride beyond the window can leave SAME needing a negative pad: at −1 no window moves (only the last
                // overhangs less), below that the spec crops the input before the first window, and runtimes disagree.
                if (total < -1)
                    throw new ShapeException($"{layer}: auto_pad SAME over an input of {input} with a window of {extent} every {stride} needs a pad of {total}, which would crop the input; TrtEngine does not crop: give explicit pads (or VALID).");
                total = Math.Max(0, total);
                int begin = autoPad == AutoPad.SameUpper ? total / 2 : total - total / 2;
                return (output, begin, total - begin);
            }
            case AutoPad.Valid:
                padBegin = padEnd = 0;
                break;
        }
        long span = (long)input + padBegin + padEnd - extent;
        // In ceil mode a window may overhang the padded input's end, the first one included: a window of 3 every 2 over
        // an input of 2 gives one output, of the window's part inside (ONNX's ceil((span) / stride + 1), as ONNX Runtime and
        // PyTorch compute it). Only a span that leaves no output at all is refused.
        if (span < 0 && !(ceilMode && span > -stride))
            throw new ShapeException($"{layer}: a window of {extent} does not fit an input of {input} padded by {padBegin}+{padEnd}.");
        long outputSize = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
        // As PyTorch and ONNX Runtime do: the last window must start inside the input or its leading pad.
        if (ceilMode && (outputSize - 1) * stride >= input + padBegin) outputSize--;
        return ((int)outputSize, padBegin, padEnd);
    }
}
