namespace TrtEngine.Native.Layers;

/// <summary>The cell a <see cref="RecurrentLayer"/> runs; the numbers are part of the plan format.</summary>
public enum RecurrentCell : byte
{
    /// <summary>ONNX LSTM: gates i, o, f, c; a hidden and a cell state.</summary>
    Lstm = 0,

    /// <summary>ONNX GRU: gates z, r, h; a hidden state.</summary>
    Gru = 1,
}
