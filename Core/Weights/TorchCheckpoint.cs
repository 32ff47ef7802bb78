using System.Buffers;
using System.IO.Compression;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using TrtEngine.Core.IO;

namespace TrtEngine.Core.Weights;

/// <summary>
/// A torch checkpoint as torch.save writes it (since torch 1.6): a zip archive of a pickle, <c>NAME/data.pkl</c>, that
/// describes the saved object and names a storage entry, <c>NAME/data/KEY</c>, for each tensor's bytes. The tensors
/// read are those of a state dict: the saved dict itself (torch.save(model.state_dict())), or the state dict a training
/// checkpoint keeps under "state_dict" (Lightning), "model_state_dict" or "model". Values are converted to float32 as a
/// safetensors file's are; views (a storage offset, strides, storages shared by several tensors) are read as the
/// tensors they show. The pickle is read as data (<see cref="PickleReader"/>): nothing it names is imported or run.
/// </summary>
public static class TorchCheckpoint
{
    /// <summary>The extensions torch checkpoints go by: .pt, .pth, .bin (Hugging Face's pytorch_model.bin), .ckpt (Lightning).</summary>
    public static bool HasExtension(string path) => Path.GetExtension(path).ToLowerInvariant() is ".pt" or ".pth" or ".bin" or ".ckpt";

    /// <summary>A pickle of this many bytes is not a state dict's description (ResNet-152's is 60 KB) but a hostile or broken file.</summary>
    private const long MaxPickleBytes = 256L << 20;

    /// <summary>How many times its file's size a state dict's values may take as float32: float16 doubles them, tied weights repeat some.</summary>
    private const int MaxExpansion = 8;

    /// <summary>The keys under which training checkpoints keep the model's state dict, tried in turn.</summary>
    private static readonly string[] StateDictKeys = ["state_dict", "model_state_dict", "model"];

    /// <summary>The state dict's tensors by name, as float32 (integer tensors marked as such: <see cref="WeightTensor.IsInteger"/>).</summary>
    public static IReadOnlyDictionary<string, WeightTensor> Load(string path) => Load(path, n => new float[n]);

    /// <summary>The state dict's tensor names, from the pickle alone (no tensor data is read).</summary>
    public static IReadOnlyList<string> TensorNames(string path) => Read(path, null, archive => StateDict(archive).Select(t => t.Name).ToList());

    /// <param name="allocate">Makes each tensor's array (a refit from a file rents them from the engine weight pool).</param>
    /// <param name="tensorRead">
    /// Asked, on the opening thread, for each floating-point tensor's name once the pickle is read; what it returns is
    /// told the array once it holds all of the tensor's values (the elements [0, length)), on the thread that read it.
    /// </param>
    /// <param name="readTensors">
    /// Reads the tensors as items, given the archive's opening (to run on the calling thread: it reads the pickle,
    /// makes the arrays, asks for the names and returns how many tensors there are) and the read of one, which may
    /// run on several threads at once, each through its own opening of the archive: each converts and tells what it
    /// read while another reads (a refit packs it meanwhile). Without it each tensor is read in turn.
    /// </param>
    internal static IReadOnlyDictionary<string, WeightTensor> Load(string path, Func<int, float[]> allocate, Func<string, Action<float[], int, int>?>? tensorRead = null,
        Action<Func<int>, Action<int>>? readTensors = null, SafeFileHandle? opened = null) =>
        Read(path, opened, archive =>
        {
            List<(string Name, TorchTensor Tensor)> entries = [];
            int[] order = [];
            WeightTensor[] tensors = [];
            Action<float[], int, int>?[] told = [];
            // Storages that views show, read once (into rented arrays, handed back at the end); a tensor that is its whole
            // storage is read into its own array, converted a chunk at a time unless float32.
            var storages = new Dictionary<string, (byte[] Bytes, long Length)>(StringComparer.Ordinal);
            // A zip archive reads through one stream: a thread that finds every opened one in use opens its own.
            var idle = new Stack<Archive>([archive]);
            var opened = new List<Archive>();
            try
            {
                (readTensors ?? ReadInOrder)(() =>
                {
                    entries = StateDict(archive);
                    // Each storage's entry is checked before anything is allocated for it: a pickle could claim any size.
                    foreach (var (_, tensor) in entries) StorageEntry(archive, tensor.Storage);
                    tensors = entries.Select(e => new WeightTensor(e.Name, e.Tensor.Shape, allocate(checked((int)e.Tensor.ElementCount)), e.Tensor.Storage.DType)).ToArray();
                    Tie(entries, tensors);
                    told = entries.Select(e => e.Tensor.Storage.IsInteger ? null : tensorRead?.Invoke(e.Name)).ToArray();
                    // The small tensors first (a BatchNormalization's parameters), so that a large weight finds what it is folded with already in.
                    order = [.. Enumerable.Range(0, entries.Count).OrderBy(j => entries[j].Tensor.ElementCount > SmallTensor)];
                    return tensors.Length;
                }, item =>
                {
                    int j = order[item];
                    var (name, tensor) = entries[j];
                    var data = tensors[j].Data;
                    Archive? reader;
                    lock (idle) reader = idle.Count > 0 ? idle.Pop() : null;
                    if (reader is null)
                    {
                        reader = Open(path);
                        lock (idle) opened.Add(reader);
                    }
                    (byte[] Bytes, long Length) storage = default;
                    byte[]? own = null;
                    try
                    {
                        var entry = StorageEntry(reader, tensor.Storage);
                        if (tensor.IsWholeStorage && tensor.Storage.DType == "F32" && BitConverter.IsLittleEndian)
                            ReadExactly(entry, path, MemoryMarshal.AsBytes(data.AsSpan()));
                        else if (tensor.IsWholeStorage)
                            ReadConverted(entry, path, tensor.Storage.DType, data, $"{path}: tensor '{name}'");
                        else
                        {
                            lock (storages) storages.TryGetValue(tensor.Storage.Key, out storage);
                            if (storage.Bytes is null)
                            {
                                storage = (ArrayPool<byte>.Shared.Rent(checked((int)tensor.Storage.ByteCount)), tensor.Storage.ByteCount);
                                own = storage.Bytes;
                                ReadExactly(entry, path, own.AsSpan(0, (int)storage.Length));
                                // Kept for the storage's other views, unless another thread's read came first.
                                lock (storages)
                                    if (storages.TryAdd(tensor.Storage.Key, storage)) own = null;
                            }
                            else if (storage.Length != tensor.Storage.ByteCount)
                                throw new WeightFormatException($"{path}: storage '{tensor.Storage.Key}' is described twice, with different sizes (tensor '{name}'): the checkpoint is damaged");
                        }
                        if (storage.Bytes is not null) tensor.Gather(path, name, storage.Bytes.AsSpan(0, (int)storage.Length), data);
                    }
                    finally
                    {
                        lock (idle) idle.Push(reader);
                        if (own is not null) ArrayPool<byte>.Shared.Return(own);
                    }
                    told[j]?.Invoke(data, 0, data.Length);
                });
            }
            finally
            {
                foreach (var other in opened) other.Dispose();
                foreach (var (bytes, _) in storages.Values) ArrayPool<byte>.Shared.Return(bytes);
            }
            return (IReadOnlyDictionary<string, WeightTensor>)tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        });

    /// <summary>
    /// Gives the tensors that show one storage alike (a module's tied parameter, saved under each of its names) one
    /// tie. Only storages that several tensors show are looked at: most checkpoints have a storage a tensor.
    /// </summary>
    private static void Tie(List<(string Name, TorchTensor Tensor)> entries, WeightTensor[] tensors)
    {
        var shared = entries.Select((e, j) => (e.Tensor, Index: j)).GroupBy(e => e.Tensor.Storage.Key, StringComparer.Ordinal).Where(g => g.Skip(1).Any());
        foreach (var views in shared.SelectMany(g => g.GroupBy(e => e.Tensor.View, StringComparer.Ordinal)).Where(g => g.Skip(1).Any()))
        {
            var tie = new object();
            foreach (var (_, j) in views) tensors[j].Tie = tie;
        }
    }

    /// <summary>Floats in a tensor read before the larger ones.</summary>
    private const long SmallTensor = 1 << 16;

    private static void ReadInOrder(Func<int> open, Action<int> read)
    {
        for (int j = 0, count = open(); j < count; j++) read(j);
    }

    /// <summary>Runs <paramref name="use"/> on the opened archive; a damaged one (its records read as they are needed) is a format error.</summary>
    /// <param name="opened">The file, opened by the caller (who closes it); null opens it here.</param>
    private static T Read<T>(string path, SafeFileHandle? opened, Func<Archive, T> use)
    {
        try
        {
            using var archive = Open(path, opened);
            return use(archive);
        }
        catch (InvalidDataException e)
        {
            throw new WeightFormatException($"{path}: the zip archive is damaged: {e.Message}", e);
        }
    }

    private static Archive Open(string path, SafeFileHandle? opened = null)
    {
        // Buffered for the zip records' small reads; reads of a buffer's size or more go straight to the file.
        var stream = new BufferedStream(new CheckpointStream(opened ?? File.OpenHandle(path), owned: opened is null), 16 << 10);
        try
        {
            Span<byte> magic = stackalloc byte[4];
            int read = stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
            if (read < 4 || !magic.SequenceEqual("PK\u0003\u0004"u8))
                throw new WeightFormatException(read >= 2 && magic[0] == 0x80 && magic[1] is >= 2 and <= 5
                    ? $"{path}: this is a bare pickle, not the zip archive torch.save has written since torch 1.6 (the format before it, _use_new_zipfile_serialization=False, or pickle.dump), which is not read: load it with torch and save its state_dict() again with a current torch.save or as a safetensors file"
                    : $"{path}: not a torch checkpoint (torch.save writes a zip archive; this file does not start as one)");
            stream.Position = 0;
            return new Archive(path, new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false), stream.Length);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>The state dict's tensors, in the pickle's order, from the archive's data.pkl.</summary>
    private static List<(string Name, TorchTensor Tensor)> StateDict(Archive opened)
    {
        var (path, archive) = (opened.Path, opened.Zip);
        var pickle = archive.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.IndexOf('/') == e.FullName.Length - 9);
        if (archive.Entries.Any(e => e.FullName.EndsWith("/constants.pkl", StringComparison.Ordinal) || e.FullName.Contains("/code/", StringComparison.Ordinal)))
            throw new WeightFormatException($"{path}: this is a TorchScript archive (torch.jit.save), not a checkpoint of weights: save the model's state_dict() with torch.save, or a safetensors file");
        if (pickle is null)
            throw new WeightFormatException($"{path}: the zip archive has no data.pkl: it is not a checkpoint torch.save wrote");
        string prefix = pickle.FullName[..^"data.pkl".Length];
        if (archive.GetEntry(prefix + "byteorder") is { } order && ReadText(order, path) is var byteOrder && byteOrder != "little")
            throw new WeightFormatException($"{path}: its tensors are stored {byteOrder}-endian; only little-endian checkpoints are read");
        if (opened.Stored(pickle).Length > MaxPickleBytes)
            throw new WeightFormatException($"{path}: data.pkl is {pickle.Length} bytes, over the {MaxPickleBytes}-byte limit for a checkpoint's description");
        var bytes = new byte[pickle.Length];
        ReadExactly(pickle, path, bytes);
        var saved = PickleReader.Read(bytes, $"{path}: data.pkl", id => TorchStorage.From(id, prefix, path), Rebuild);
        var dict = saved as PickleDict ?? throw new WeightFormatException($"{path}: the checkpoint holds {Describe(saved)}, not a dict of tensors by name: save the model's state_dict() with torch.save");
        var nested = StateDictKeys.Where(k => dict[k] is PickleDict).ToList();
        var stateDict = HasTensors(dict) ? dict
            : nested.Select(k => (PickleDict)dict[k]!).FirstOrDefault(HasTensors)
            ?? throw new WeightFormatException($"{path}: " + (dict.Count == 0 ? "the checkpoint holds an empty dict"
                : nested.Count > 0 ? $"the checkpoint's state dict under '{nested[0]}' holds no tensors"
                : $"the checkpoint holds no tensors by name, nor a state dict under {string.Join(", ", StateDictKeys.Select(k => $"'{k}'"))}; its keys: " +
                  string.Join(", ", dict.Items.Take(20).Select(i => Describe(i.Key)))) + ". Save the model's state_dict() with torch.save");
        var tensors = new List<(string, TorchTensor)>();
        foreach (var (key, value) in stateDict.Items)
        {
            if (key is not string name) continue;
            if (value is TorchTensor tensor) tensors.Add((name, tensor.Checked(path, name)));
            else if (value is PickleObject { Callable.Module: "torch._utils" } special)
                throw new WeightFormatException($"{path}: tensor '{name}' is saved as {special.Callable} (a sparse, quantized or other special tensor), which is not read; save it as a dense tensor");
        }
        // Views can show one storage many times over (many names, a stride of 0): the arrays they would take are bounded
        // by the file, as a state dict's are (float16 doubles, a tied weight repeats one), before any is made.
        long values = tensors.Sum(t => t.Item2.ElementCount) * sizeof(float);
        if (values > MaxExpansion * opened.Length + (1L << 20))
            throw new WeightFormatException($"{path}: its state dict's tensors would take {values} bytes as float32, over {MaxExpansion}× the file's {opened.Length}: " +
                "views repeating one storage beyond what a checkpoint holds; the file is damaged or was made to exhaust memory");
        return tensors;
    }

    private static bool HasTensors(PickleDict dict) => dict.Items.Any(i => i.Key is string && i.Value is TorchTensor);

    /// <summary>What the pickle's calls mean here: tensors, parameters (their tensors) and OrderedDicts; anything else stays data.</summary>
    private static object? Rebuild(PickleGlobal callable, object?[] args) => (callable.Module, callable.Name, args) switch
    {
        ("collections", "OrderedDict", []) or ("builtins" or "__builtin__", "dict", []) => new PickleDict(),
        ("torch._utils", "_rebuild_tensor_v2" or "_rebuild_tensor", [TorchStorage storage, long offset, object?[] size, object?[] stride, ..]) =>
            new TorchTensor(storage, offset, size, stride),
        ("torch._utils", "_rebuild_parameter" or "_rebuild_parameter_with_state", [TorchTensor tensor, ..]) => tensor,
        _ => new PickleObject(callable, args),
    };

    private static ZipArchiveEntry StorageEntry(Archive archive, TorchStorage storage)
    {
        string path = archive.Path;
        var entry = archive.Stored(archive.Zip.GetEntry(storage.Entry) ?? throw new WeightFormatException($"{path}: storage '{storage.Key}' has no entry {storage.Entry} in the archive"));
        return entry.Length == storage.ByteCount ? entry
            : throw new WeightFormatException($"{path}: storage '{storage.Key}' holds {entry.Length} bytes; its {storage.ElementCount} {storage.DType} values need {storage.ByteCount}");
    }

    /// <summary>
    /// A checkpoint file as the zip reader reads it: through <see cref="FileReader"/>, which keeps the kernel's copy
    /// fast, and with its length asked of the system once (the zip reader asks it several times for every entry it
    /// opens, and a FileStream asks the system each time: 40% of tiny_mlp's read). A FileStream subclass would copy
    /// every read through a rented array.
    /// </summary>
    /// <param name="owned">Whether the stream closes the file when it is disposed.</param>
    private sealed class CheckpointStream(SafeFileHandle handle, bool owned) : Stream
    {
        private readonly long _length = RandomAccess.GetLength(handle);

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => _length;

        public override long Position { get; set; }

        public override int Read(Span<byte> buffer)
        {
            int read = FileReader.Read(handle, buffer, Position);
            Position += read;
            return read;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => Position + offset,
            _ => _length + offset,
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && owned) handle.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>The open archive of a checkpoint, with the file's length (asked once: each ask is a system call).</summary>
    private sealed record Archive(string Path, ZipArchive Zip, long Length) : IDisposable
    {
        /// <summary>
        /// The entry, if stored as torch stores entries: uncompressed, so its size is bytes the file has (a compressed
        /// one could claim any size, which would be allocated before the read found it missing).
        /// </summary>
        public ZipArchiveEntry Stored(ZipArchiveEntry entry) =>
            entry.CompressedLength == entry.Length && entry.Length <= Length ? entry
                : throw new WeightFormatException($"{Path}: entry {entry.FullName} is compressed or larger than the file; torch.save stores entries uncompressed: the file was repacked or is damaged");

        public void Dispose() => Zip.Dispose();
    }

    private static void ReadExactly(ZipArchiveEntry entry, string path, Span<byte> into)
    {
        using var stream = OpenEntry(entry, path);
        ReadExactly(stream, entry, path, into, into.Length);
    }

    /// <summary>
    /// A whole storage of values other than float32, converted as it is read a chunk at a time (a half-width
    /// checkpoint's read made an array of each storage's size, large-object garbage at every refit from it).
    /// </summary>
    private static void ReadConverted(ZipArchiveEntry entry, string path, string dtype, float[] data, string where)
    {
        int size = StoredValues.ElementSize(dtype);
        var chunk = ArrayPool<byte>.Shared.Rent(StoredValues.ChunkBytes);
        try
        {
            using var stream = OpenEntry(entry, path);
            for (int first = 0; first < data.Length;)
            {
                int count = Math.Min(data.Length - first, chunk.Length / size);
                ReadExactly(stream, entry, path, chunk.AsSpan(0, count * size), data.LongLength * size);
                StoredValues.ToFloat32(dtype, chunk.AsSpan(0, count * size), data.AsSpan(first, count), where, first);
                first += count;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>An entry's stream: a damaged one is a format error, whether found as it opens or as it is read.</summary>
    private static Stream OpenEntry(ZipArchiveEntry entry, string path)
    {
        try
        {
            return entry.Open();
        }
        catch (InvalidDataException e)
        {
            throw Damaged(entry, path, e);
        }
    }

    private static WeightFormatException Damaged(ZipArchiveEntry entry, string path, InvalidDataException e) => new($"{path}: entry {entry.FullName} is damaged: {e.Message}", e);

    /// <param name="total">The bytes the whole read needs, for the refusal of an entry that ends before them.</param>
    private static void ReadExactly(Stream stream, ZipArchiveEntry entry, string path, Span<byte> into, long total)
    {
        try
        {
            if (stream.ReadAtLeast(into, into.Length, throwOnEndOfStream: false) < into.Length)
                throw new WeightFormatException($"{path}: entry {entry.FullName} ends before its {total} bytes");
        }
        catch (InvalidDataException e)
        {
            throw Damaged(entry, path, e);
        }
    }

    private static string ReadText(ZipArchiveEntry entry, string path)
    {
        if (entry.Length > 64) throw new WeightFormatException($"{path}: entry {entry.FullName} is {entry.Length} bytes, not a word");
        var bytes = new byte[entry.Length];
        ReadExactly(entry, path, bytes);
        return System.Text.Encoding.ASCII.GetString(bytes).Trim();
    }

    /// <summary>A pickled value as a user would name it.</summary>
    private static string Describe(object? value) => value switch
    {
        null => "None",
        string s => $"'{s}'",
        bool b => b ? "True" : "False",
        long or double or System.Numerics.BigInteger => $"a number ({value})",
        TorchTensor => "a single tensor (torch.save(tensor))",
        PickleDict { Count: 0 } => "an empty dict",
        PickleDict => "a dict",
        List<object?> => "a list",
        object?[] => "a tuple",
        byte[] => "bytes",
        PickleObject { Callable: { } type } => $"a {type} object" + (type.Module.StartsWith("torch.nn.modules", StringComparison.Ordinal) ? " (a whole module: torch.save(model))" : ""),
        _ => "a value of another kind",
    };

    /// <summary>A storage the pickle names by a persistent id: ('storage', torch.FloatStorage, key, location, element count).</summary>
    private sealed record TorchStorage(string Key, string Entry, string DType, long ElementCount)
    {
        public long ByteCount => ElementCount * StoredValues.ElementSize(DType);

        public bool IsInteger => StoredValues.IsInteger(DType);

        public static TorchStorage From(object? id, string prefix, string path)
        {
            if (id is not object?[] { Length: 5 } fields || fields[0] is not "storage" || fields[1] is not PickleGlobal type || fields[2] is not string key ||
                fields[4] is not long count || count < 0 || count > long.MaxValue / 8)
                throw new WeightFormatException($"{path}: data.pkl names a storage it does not describe as torch.save does ('storage', type, key, location, size)");
            string dtype = (type.Module, type.Name) switch
            {
                ("torch", "FloatStorage") => "F32",
                ("torch", "HalfStorage") => "F16",
                ("torch", "BFloat16Storage") => "BF16",
                ("torch", "DoubleStorage") => "F64",
                ("torch", "LongStorage") => "I64",
                ("torch", "IntStorage") => "I32",
                ("torch", "ShortStorage") => "I16",
                ("torch", "CharStorage") => "I8",
                ("torch", "ByteStorage") => "U8",
                ("torch", "BoolStorage") => "BOOL",
                _ => type.ToString(), // read only if a state-dict tensor uses it, which Checked refuses
            };
            if (key.Contains('/') || key.Contains('\\') || key.Contains(".."))
                throw new WeightFormatException($"{path}: storage key '{key}' is not a name of an entry in the archive's data folder");
            return new TorchStorage(key, $"{prefix}data/{key}", dtype, count);
        }
    }

    /// <summary>A tensor as torch's rebuild has it: a view of a storage (an offset and a stride for each dim).</summary>
    private sealed class TorchTensor(TorchStorage storage, object? offset, object?[] size, object?[] stride)
    {
        public TorchStorage Storage { get; } = storage;

        public int[] Shape { get; private set; } = [];

        public long ElementCount { get; private set; }

        private long _offset;
        private long[] _strides = [];
        private bool _rowMajor;

        /// <summary>Whether the tensor is its storage, whole and in row-major order.</summary>
        public bool IsWholeStorage { get; private set; }

        /// <summary>Which values of which storage the tensor shows, and how: equal for tensors that are one tensor under several names.</summary>
        public string View => $"{Storage.Key}:{Storage.DType}@{_offset}[{string.Join(",", Shape)}]/[{string.Join(",", _strides)}]";

        /// <summary>Checks the view against its storage and reads its shape; itself.</summary>
        public TorchTensor Checked(string path, string name)
        {
            string where = $"{path}: tensor '{name}'";
            if (Storage.ByteCount > Array.MaxLength)
                throw new WeightFormatException($"{where}: its storage holds {Storage.ByteCount} bytes, more than one array can");
            if (StoredValues.ElementSize(Storage.DType) == 0)
                throw new WeightFormatException($"{where} holds {Storage.DType} values, which are not read (float32, float16, bfloat16, float64 and integers are)");
            if (offset is not long first || first < 0 || first > Storage.ElementCount || size.Length != stride.Length || size.Any(d => d is not long n || n < 0 || n > int.MaxValue) ||
                stride.Any(s => s is not long n || n < 0))
                throw new WeightFormatException($"{where}: its view (offset, size, stride) is not one torch writes");
            Shape = size.Select(d => (int)(long)d!).ToArray();
            _strides = stride.Select(s => (long)s!).ToArray();
            _offset = first;
            long count = 1, last = first;
            for (int i = 0; i < Shape.Length; i++)
            {
                count *= Shape[i];
                if (count > Array.MaxLength) throw new WeightFormatException($"{where}: shape [{string.Join(", ", Shape)}] holds more elements than one array can");
                // Kept from overflowing: a stride near 2^63 would wrap the last element's index back into the storage.
                if (Shape[i] > 0 && (_strides[i] > Storage.ElementCount || (last += (Shape[i] - 1) * _strides[i]) >= Storage.ElementCount))
                    last = Storage.ElementCount;
            }
            ElementCount = count;
            if (count > 0 && last >= Storage.ElementCount)
                throw new WeightFormatException($"{where}: its view (offset {first}, shape [{string.Join(", ", Shape)}], strides [{string.Join(", ", _strides)}]) reaches past its storage of {Storage.ElementCount} values");
            long expected = 1;
            bool rowMajor = true;
            for (int i = Shape.Length - 1; i >= 0; i--)
            {
                rowMajor &= Shape[i] == 1 || _strides[i] == expected;
                expected *= Shape[i];
            }
            _rowMajor = rowMajor;
            IsWholeStorage = rowMajor && first == 0 && count == Storage.ElementCount;
            return this;
        }

        /// <summary>Reads the view's elements, in row-major order, from its storage's bytes into <paramref name="data"/> as float32.</summary>
        public void Gather(string path, string name, ReadOnlySpan<byte> storage, float[] data)
        {
            int size = StoredValues.ElementSize(Storage.DType);
            string where = $"{path}: tensor '{name}'";
            if (_rowMajor)
            {
                StoredValues.ToFloat32(Storage.DType, storage.Slice((int)(_offset * size), (int)(ElementCount * size)), data, where);
                return;
            }
            var rented = ArrayPool<byte>.Shared.Rent(checked((int)(ElementCount * size)));
            try
            {
                var gathered = rented.AsSpan(0, (int)(ElementCount * size));
                switch (size)
                {
                    case 8: GatherElements(MemoryMarshal.Cast<byte, ulong>(storage), MemoryMarshal.Cast<byte, ulong>(gathered)); break;
                    case 4: GatherElements(MemoryMarshal.Cast<byte, uint>(storage), MemoryMarshal.Cast<byte, uint>(gathered)); break;
                    case 2: GatherElements(MemoryMarshal.Cast<byte, ushort>(storage), MemoryMarshal.Cast<byte, ushort>(gathered)); break;
                    default: GatherElements(storage, gathered); break;
                }
                StoredValues.ToFloat32(Storage.DType, gathered, data, where);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        /// <summary>Copies the view's elements in row-major order: the last dim as a run at its stride, the dims before it stepped as a counter.</summary>
        private void GatherElements<T>(ReadOnlySpan<T> source, Span<T> target)
        {
            int last = Shape.Length - 1, inner = Shape[last];
            long innerStride = _strides[last], at = _offset;
            var index = new int[Shape.Length];
            for (int i = 0; i < target.Length;)
            {
                for (int k = 0; k < inner; k++) target[i++] = source[(int)(at + k * innerStride)];
                for (int d = last - 1; d >= 0; d--)
                {
                    at += _strides[d];
                    if (++index[d] < Shape[d]) break;
                    at -= _strides[d] * Shape[d];
                    index[d] = 0;
                }
            }
        }
    }
}
