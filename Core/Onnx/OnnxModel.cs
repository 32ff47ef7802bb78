using System.Buffers.Binary;
using TrtEngine.Core.IO;

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
    public static OnnxModel Load(string path) => ParseFile(FileReader.ReadAll(Path.GetFullPath(path)), path);

    /// <summary>
    /// Reads a model file (and its external data) into pooled buffers (for <paramref name="initializerParsed"/>, as far as
    /// the parse has got, so initializers are handed on before the whole file is in), and lends the model to <paramref name="use"/>,
    /// which must not keep the model or its tensors (importing copies what it keeps). Conversions and refits read
    /// model after model: reusing the buffers spares each one the fresh pages for the file's bytes, which cost more
    /// than the parsing here.
    /// </summary>
    /// <param name="initializerParsed">Told each initializer of the main graph as soon as it is parsed, before <paramref name="use"/> runs.</param>
    /// <param name="allocate">Where float32 external data is read (its tensors' first decode returns those arrays); null: decoded when asked.</param>
    public static T Borrow<T>(string path, Func<OnnxModel, T> use, Action<OnnxTensor>? initializerParsed = null, Func<int, float[]>? allocate = null)
    {
        using var file = ProgressiveFile.Open(path);
        return Borrow(file, use, initializerParsed, allocate);
    }

    /// <summary><see cref="Borrow{T}(string, Func{OnnxModel, T}, Action{OnnxTensor}?)"/> of a file already open, and perhaps read.</summary>
    internal static T Borrow<T>(ProgressiveFile file, Func<OnnxModel, T> use, Action<OnnxTensor>? initializerParsed = null, Func<int, float[]>? allocate = null)
    {
        // Read as parsed only for a listener that starts on each initializer as it comes: one read of the whole file
        // is quicker (SqueezeNet's 4.9 MB: 810–971 µs read and parsed, against 984–1061 in chunks).
        if (initializerParsed is null) file.ReadAll();
        // The parse reads to the file's end (its last field's tag is asked for), so the whole file is read either way.
        return use(ParseFile(file.Bytes, file.Path, file.Rented, initializerParsed, initializerParsed is null ? null : file.Ensure, allocate));
    }

    /// <summary>Parses a file's bytes, with external data resolved next to it (into pooled buffers listed in
    /// <paramref name="rented"/> when given) and errors naming the file.</summary>
    /// <param name="ensureRead">With a file read as it is parsed: reads it up to the given byte.</param>
    private static OnnxModel ParseFile(ReadOnlyMemory<byte> bytes, string path, List<byte[]>? rented = null, Action<OnnxTensor>? initializerParsed = null,
                                       Action<int>? ensureRead = null, Func<int, float[]>? allocate = null)
    {
        try
        {
            return new OnnxParser(bytes, Path.GetDirectoryName(Path.GetFullPath(path)), rented, initializerParsed, ensureRead, allocate).ParseModel();
        }
        catch (OnnxFormatException e)
        {
            throw new OnnxFormatException(e.Message + WhatItIs(bytes.Span, e.Message), path, e);
        }
    }

    /// <summary>
    /// For a file whose model-level fields do not parse (another kind of file, or a damaged model): what it seems to be,
    /// and what takes it, after the parser's account of the first bad byte.
    /// </summary>
    private static string WhatItIs(ReadOnlySpan<byte> bytes, string problem)
    {
        if (!problem.StartsWith("model: ", StringComparison.Ordinal)) return "";
        bool safetensors = bytes.Length > 8 && BinaryPrimitives.ReadUInt64LittleEndian(bytes) <= (ulong)(bytes.Length - 8) && bytes[8] == (byte)'{';
        bool torch = bytes.StartsWith("PK\u0003\u0004"u8);
        return safetensors || torch
            ? $". It looks like a {(torch ? "torch checkpoint (a zip archive, as torch.save writes)" : "safetensors checkpoint")}: refit an engine with it (Update-TrtEngineWeights -Path), or give it to New-TrtEngine -WeightsPath beside its ONNX model"
            : ". It is not an ONNX model (a ModelProto, as torch.onnx.export writes), or a damaged one";
    }

    /// <summary>
    /// Parses model bytes. Raw tensor data stays a view of <paramref name="bytes"/>.
    /// External data needs <paramref name="baseDirectory"/>, the directory of the model file.
    /// </summary>
    public static OnnxModel Parse(ReadOnlyMemory<byte> bytes, string? baseDirectory) =>
        new OnnxParser(bytes, baseDirectory).ParseModel();
}
