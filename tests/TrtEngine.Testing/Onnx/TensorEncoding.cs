namespace TrtEngine.Testing.Onnx;

/// <summary>Where a written tensor keeps its values.</summary>
public enum TensorEncoding
{
    /// <summary>raw_data, little-endian bytes.</summary>
    Raw,

    /// <summary>The typed repeated field (float_data, int32_data, ...) as one packed run.</summary>
    TypedPacked,

    /// <summary>The typed repeated field with one tag per value.</summary>
    TypedUnpacked,

    /// <summary>A side file next to the model (data_location = EXTERNAL).</summary>
    External,
}
