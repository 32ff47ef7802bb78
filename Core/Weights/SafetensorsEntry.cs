using System.Text.Json;

namespace TrtEngine.Core.Weights;

/// <summary>One tensor's header entry, checked against the data section it points into.</summary>
internal sealed record SafetensorsEntry(string DType, int[] Shape, long ElementCount, long Begin, long End)
{
    public static SafetensorsEntry Parse(string path, string name, JsonElement element, long dataLength)
    {
        string where = $"{path}: tensor '{name}'";
        if (element.ValueKind != JsonValueKind.Object)
            throw new WeightFormatException($"{where}: its header entry is not a JSON object");

        if (!element.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new WeightFormatException($"{where}: dtype is missing or not a string");
        string dtype = dtypeElement.GetString()!;
        int elementSize = dtype switch
        {
            "F16" or "BF16" => 2,
            "F32" or "I32" => 4,
            "F64" or "I64" => 8,
            _ => throw new WeightFormatException($"{where}: dtype '{dtype}' is not supported (F64, F32, F16, BF16, I64, I32 are)"),
        };

        if (!element.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new WeightFormatException($"{where}: shape is missing or not an array");
        var shape = new int[shapeElement.GetArrayLength()];
        long count = 1;
        int i = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt32(out shape[i]) || shape[i] < 0)
                throw new WeightFormatException($"{where}: shape entry {dim} is not a non-negative 32-bit integer");
            count *= shape[i];
            // Arrays of float cannot be longer than this; checking here also keeps count from overflowing.
            if (count > Array.MaxLength)
                throw new WeightFormatException($"{where}: shape [{string.Join(", ", shape)}] holds more elements than one array can");
            i++;
        }

        if (!element.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array
            || offsetsElement.GetArrayLength() != 2 || !TryGetInt64(offsetsElement[0], out long begin)
            || !TryGetInt64(offsetsElement[1], out long end))
            throw new WeightFormatException($"{where}: data_offsets is not a pair of integers");
        if (begin < 0 || begin > end || end > dataLength)
            throw new WeightFormatException($"{where}: data_offsets [{begin}, {end}] are not a range inside the {dataLength}-byte data section");
        if (end - begin != count * elementSize)
            throw new WeightFormatException($"{where}: data_offsets [{begin}, {end}] span {end - begin} bytes but shape [{string.Join(", ", shape)}] of {dtype} needs {count * elementSize}");
        return new SafetensorsEntry(dtype, shape, count, begin, end);
    }

    private static bool TryGetInt64(JsonElement element, out long value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out value);
    }
}
