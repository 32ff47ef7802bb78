namespace TrtEngine.Native.Layers;

/// <summary>Which of an ONNX LSTM's or GRU's outputs a <see cref="RecurrentLayer"/> gives; the numbers are part of the plan format.</summary>
public enum RecurrentOutput : byte
{
    /// <summary>Y: every step's hidden state.</summary>
    Sequence = 0,

    /// <summary>Y_h: the last hidden state of each direction.</summary>
    Hidden = 1,

    /// <summary>Y_c: the last cell state of each direction (LSTM).</summary>
    Cell = 2,
}
