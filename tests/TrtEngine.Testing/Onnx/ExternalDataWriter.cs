namespace TrtEngine.Testing.Onnx;

/// <summary>Collects the bytes of External tensors for the side file written next to a model.</summary>
internal sealed class ExternalDataWriter
{
    public ExternalDataWriter(string location)
    {
        Location = location;
    }

    /// <summary>The side file's name, relative to the model's directory.</summary>
    public string Location { get; }

    public MemoryStream Bytes { get; } = new();

    /// <summary>Appends bytes and returns their offset in the side file.</summary>
    public long Append(byte[] bytes)
    {
        long offset = Bytes.Length;
        Bytes.Write(bytes);
        return offset;
    }
}
