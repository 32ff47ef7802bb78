namespace TrtEngine.Core.Onnx;

/// <summary>A ModelProto read from an .onnx file.</summary>
public sealed class OnnxModel
{
    internal OnnxModel(long irVersion, string producerName, string producerVersion, string domain,
        long modelVersion, OnnxOpsetImport[] opsetImports, OnnxGraph graph)
    {
        IrVersion = irVersion;
        ProducerName = producerName;
        ProducerVersion = producerVersion;
        Domain = domain;
        ModelVersion = modelVersion;
        OpsetImports = opsetImports;
        Graph = graph;
    }

    public long IrVersion { get; }

    public string ProducerName { get; }

    public string ProducerVersion { get; }

    public string Domain { get; }

    public long ModelVersion { get; }

    public IReadOnlyList<OnnxOpsetImport> OpsetImports { get; }

    public OnnxGraph Graph { get; }

    /// <summary>The opset version of the default ONNX domain; 0 when the model does not import it.</summary>
    public long DefaultOpset
    {
        get
        {
            foreach (var import in OpsetImports)
            {
                if (import.Domain is "" or "ai.onnx")
                    return import.Version;
            }
            return 0;
        }
    }

    /// <summary>Reads a model file; external data is resolved next to it.</summary>
    public static OnnxModel Load(string path)
    {
        var fullPath = Path.GetFullPath(path);
        var bytes = File.ReadAllBytes(fullPath);
        try
        {
            return Parse(bytes, Path.GetDirectoryName(fullPath));
        }
        catch (OnnxFormatException e)
        {
            throw new OnnxFormatException(e.Message, path, e);
        }
    }

    /// <summary>
    /// Parses model bytes. Raw tensor data stays a view of <paramref name="bytes"/>.
    /// External data needs <paramref name="baseDirectory"/>, the directory of the model file.
    /// </summary>
    public static OnnxModel Parse(ReadOnlyMemory<byte> bytes, string? baseDirectory) =>
        new OnnxParser(bytes, baseDirectory).ParseModel();
}
