using TrtEngine.Core.Onnx;

namespace TrtEngine.Testing.Onnx;

/// <summary>Builds ModelProto bytes: a <see cref="GraphBuilder"/> for the main graph plus the model header.</summary>
public sealed class OnnxModelBuilder : GraphBuilder
{
    private readonly List<OnnxOpsetImport> _extraOpsets = [];

    public OnnxModelBuilder(string graphName = "main_graph") : base(graphName)
    {
    }

    public long IrVersion { get; set; } = 8;

    /// <summary>The version imported for the default domain "".</summary>
    public long Opset { get; set; } = 17;

    public string ProducerName { get; set; } = "TrtEngine.Testing";

    public string ProducerVersion { get; set; } = "1.0";

    public string Domain { get; set; } = "";

    public long ModelVersion { get; set; }

    public void AddOpsetImport(string domain, long version) => _extraOpsets.Add(new OnnxOpsetImport(domain, version));

    /// <summary>The model bytes; models with External initializers must use <see cref="Save"/>.</summary>
    public byte[] ToBytes() => Build(null);

    /// <summary>Writes the model and, when it has External initializers, "{file name}.data" next to it.</summary>
    public void Save(string path)
    {
        var external = new ExternalDataWriter(Path.GetFileName(path) + ".data");
        File.WriteAllBytes(path, Build(external));
        if (external.Bytes.Length > 0)
            File.WriteAllBytes(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, external.Location), external.Bytes.ToArray());
    }

    private byte[] Build(ExternalDataWriter? external)
    {
        var w = new ProtoWriter();
        w.WriteInt64(1, IrVersion);
        w.WriteString(2, ProducerName);
        w.WriteString(3, ProducerVersion);
        if (Domain.Length > 0)
            w.WriteString(4, Domain);
        w.WriteInt64(5, ModelVersion);
        w.WriteMessage(7, g => Write(g, external));
        w.WriteMessage(8, o =>
        {
            o.WriteString(1, "");
            o.WriteInt64(2, Opset);
        });
        foreach (var import in _extraOpsets)
        {
            w.WriteMessage(8, o =>
            {
                o.WriteString(1, import.Domain);
                o.WriteInt64(2, import.Version);
            });
        }
        return w.ToArray();
    }
}
