using TrtEngine.Native.Network;

namespace TrtEngine.Core.Onnx;

/// <summary>
/// Einsum of one or two operands, lowered to the operators it is made of, imported as if the model held them: labels
/// in one operand only and not in the output summed (ReduceSum), the rest transposed into batch, kept and contracted
/// groups, reshaped to a batched MatMul, reshaped to the output's labels and transposed into their order
/// ("bhqd,bhkd->bhqk", "bld,dh->blh", "bi,bi->b", "i,j->ij", "...ij->...ji"). A label repeated in one operand (a
/// diagonal or trace) and more than two operands are refused. Batch labels may be dynamic; kept and contracted ones
/// are multiplied together at import, so they must be static.
/// </summary>
public sealed partial class OnnxImporter
{
    private void ImportEinsum(OnnxNode node, string name)
    {
        string equation = node.GetString("equation", "").Replace(" ", "", StringComparison.Ordinal);
        string[] sides = equation.Split("->");
        string[] terms = sides[0].Split(',');
        if (sides.Length > 2 || terms.Length != node.Inputs.Count || terms.Length > 2)
            throw new ModelImportException($"Einsum '{name}': equation '{equation}' with {node.Inputs.Count} operands; TrtEngine lowers Einsum of one or two operands with one output term.");
        var operands = terms.Select((term, i) => Labels(node, name, term, _network.Dims(Float(node.Inputs[i], name)).Length)).ToArray();
        int ellipsis = operands.Max(o => o.Count(IsEllipsisLabel));
        string output = sides.Length == 2
            ? new string(Labels(node, name, sides[1], sides[1].Replace("...", "", StringComparison.Ordinal).Length + ellipsis).ToArray())
            // Implicit output: the ellipsis, then the labels used once, in alphabetical order.
            : new string([.. EllipsisLabels(ellipsis), .. operands.SelectMany(o => o).Where(c => !IsEllipsisLabel(c)).GroupBy(c => c).Where(g => g.Count() == 1).Select(g => g.Key).Order()]);
        foreach (var (labels, i) in operands.Select((o, i) => (o, i)))
            if (labels.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1) is { } repeated)
                throw new ModelImportException($"Einsum '{name}': label '{repeated.Key}' appears twice in operand {i} of '{equation}' (a diagonal or trace); TrtEngine does not lower that.");

        string result = $"{node.Outputs[0]}/einsum";
        var values = node.Inputs.ToArray();
        // Labels one operand alone has, which the output drops, are summed first.
        for (int i = 0; i < operands.Length; i++)
        {
            var other = operands.Length == 2 ? operands[1 - i] : [];
            int[] summed = operands[i].Select((c, axis) => (c, axis)).Where(l => !output.Contains(l.c) && !other.Contains(l.c)).Select(l => l.axis).ToArray();
            if (summed.Length == 0) continue;
            values[i] = ReduceSum(node, values[i], summed, $"{result}/sum{i}");
            operands[i] = operands[i].Where((c, axis) => !summed.Contains(axis)).ToList();
        }
        if (operands.Length == 1)
        {
            Transposed(node, values[0], operands[0], [.. output], node.Outputs[0]);
            return;
        }
        var (a, b) = (operands[0], operands[1]);
        var batch = output.Where(c => a.Contains(c) && b.Contains(c)).ToList();
        var keptA = output.Where(c => a.Contains(c) && !b.Contains(c)).ToList();
        var keptB = output.Where(c => b.Contains(c) && !a.Contains(c)).ToList();
        var contracted = a.Where(c => b.Contains(c) && !output.Contains(c)).ToList();
        int[] dimsA = _network.Dims(Float(values[0], name)), dimsB = _network.Dims(Float(values[1], name));
        long Size(List<char> group, List<char> labels, int[] dims) => group.Aggregate(1L, (p, c) =>
            dims[labels.IndexOf(c)] is var d && d >= 0 ? checked(p * d)
            : throw new ModelImportException($"Einsum '{name}': label '{c}' of '{equation}' is a dynamic dim that the lowering multiplies into a matrix's; fix the input's shape (-InputShape)."));
        // Batch dims stay as they are (copied by 0, dynamic ones too); the others become one matrix dim each.
        long[] Matrix(long rows, long columns) => [.. batch.Select(_ => 0L), rows, columns];
        string left = Transposed(node, values[0], a, [.. batch, .. keptA, .. contracted], $"{result}/a");
        string right = Transposed(node, values[1], b, [.. batch, .. contracted, .. keptB], $"{result}/b");
        // A product over one label by a matrix (a Linear layer: "bld,dh->blh") is a MatMul as it stands: the leading
        // dims of the first operand, dynamic ones too, are MatMul's batch.
        bool direct = batch.Count == 0 && contracted.Count == 1 && keptB.Count == 1;
        if (!direct)
        {
            left = Reshaped(node, left, Matrix(Size(keptA, a, dimsA), Size(contracted, a, dimsA)), $"{result}/a2");
            right = Reshaped(node, right, Matrix(Size(contracted, b, dimsB), Size(keptB, b, dimsB)), $"{result}/b2");
        }
        string product = Emit(node, "MatMul", [left, right], $"{result}/product");
        long[] separate = [.. batch.Select(_ => 0L), .. keptA.Select(c => (long)dimsA[a.IndexOf(c)]), .. keptB.Select(c => (long)dimsB[b.IndexOf(c)])];
        string grouped = direct ? product : Reshaped(node, product, separate, $"{result}/grouped");
        Transposed(node, grouped, [.. batch, .. keptA, .. keptB], [.. output], node.Outputs[0]);
    }

    /// <summary>A term's labels, an ellipsis expanded to the dims the letters leave (labels of their own, right-aligned across operands).</summary>
    private static List<char> Labels(OnnxNode node, string name, string term, int rank)
    {
        int letters = term.Replace("...", "", StringComparison.Ordinal).Length;
        if (term.Replace("...", "", StringComparison.Ordinal).Any(c => !char.IsAsciiLetter(c)) || term.Split("...").Length > 2 || letters > rank || !term.Contains("...", StringComparison.Ordinal) && letters != rank)
            throw new ModelImportException($"Einsum '{name}': term '{term}' does not name the {rank} dims of its operand (letters, and at most one '...').");
        int at = term.IndexOf("...", StringComparison.Ordinal);
        return at < 0 ? [.. term] : [.. term[..at], .. EllipsisLabels(rank - letters), .. term[(at + 3)..]];
    }

    /// <summary>Labels for n dims of an ellipsis, the last dim's the same in every term (characters no equation's letters use).</summary>
    private static IEnumerable<char> EllipsisLabels(int n) => Enumerable.Range(0, n).Select(k => (char)('\u0100' + n - 1 - k));

    private static bool IsEllipsisLabel(char c) => c >= '\u0100';

    /// <summary>The value transposed from <paramref name="from"/>'s label order to <paramref name="to"/>'s (itself where they agree).</summary>
    private string Transposed(OnnxNode node, string value, List<char> from, List<char> to, string output)
    {
        long[] perm = to.Select(c => (long)from.IndexOf(c)).ToArray();
        return Emit(node, perm.Select((p, i) => p == i).All(x => x) ? "Identity" : "Transpose", [value], output, perm.Length > 0 ? ("perm", perm) : null);
    }

    /// <summary>The value reshaped (0 copies a dim); itself where it has that shape already.</summary>
    private string Reshaped(OnnxNode node, string value, long[] shape, string output)
    {
        int[] dims = _network.Dims(Float(value, node.Name));
        if (dims.Length == shape.Length && shape.Select((d, i) => d == 0 || d == dims[i]).All(same => same)) return value;
        _integers[output + "/shape"] = IntegerTensor.Vector(shape);
        return Emit(node, "Reshape", [value, output + "/shape"], output);
    }

    private string ReduceSum(OnnxNode node, string value, int[] axes, string output)
    {
        long[] ints = axes.Select(a => (long)a).ToArray();
        if (Opset < 13) return Emit(node, "ReduceSum", [value], output, ("axes", ints), ("keepdims", [0]));
        _integers[output + "/axes"] = IntegerTensor.Vector(ints);
        return Emit(node, "ReduceSum", [value, output + "/axes"], output, ("keepdims", [0]));
    }

    /// <summary>Imports one operator of a lowering as the model's own (INTS attributes; keepdims and axis as one int).</summary>
    private string Emit(OnnxNode lowered, string op, string[] inputs, string output, params (string Name, long[] Ints)?[] attributes)
    {
        var made = attributes.OfType<(string Name, long[] Ints)>().Select(a => a.Name is "keepdims" or "axis"
            ? new OnnxAttribute(a.Name, OnnxAttributeType.Int, 0, a.Ints[0], [], null, null, [], [], [], [], [])
            : new OnnxAttribute(a.Name, OnnxAttributeType.Ints, 0, 0, [], null, null, [], a.Ints, [], [], [])).ToArray();
        var node = new OnnxNode(output, op, "", inputs, [output], made);
        ImportNode(node);
        TrackRunTimeTypes(node);
        return output;
    }
}
