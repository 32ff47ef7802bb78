using TrtEngine.Native.Layers;

namespace TrtEngine.Core.Onnx;

/// <summary>
/// LSTM and GRU as torch exports nn.LSTM and nn.GRU (one layer each; stacked layers are several nodes): the default
/// activations, any direction, layout 0, initial states given or not, a layer per output the model reads. What
/// the engine does not compute is refused by name: other activations, clip, input_forget, peepholes, and
/// sequence_lens (packed sequences of several lengths).
/// </summary>
public sealed partial class OnnxImporter
{
    private void ImportRecurrent(OnnxNode node, string name)
    {
        var cell = node.OpType == "LSTM" ? RecurrentCell.Lstm : RecurrentCell.Gru;
        string[] defaults = cell == RecurrentCell.Lstm ? ["Sigmoid", "Tanh", "Tanh"] : ["Sigmoid", "Tanh"];
        string direction = node.GetString("direction", "forward");
        if (direction is not ("forward" or "reverse" or "bidirectional"))
            throw new ModelImportException($"{node.OpType} '{name}': direction '{direction}' is not forward, reverse or bidirectional.");
        int directions = direction == "bidirectional" ? 2 : 1;
        if (node.GetStrings("activations") is { } activations && !activations.SequenceEqual(Enumerable.Range(0, directions).SelectMany(_ => defaults), StringComparer.OrdinalIgnoreCase))
            throw new ModelImportException($"{node.OpType} '{name}': activations [{string.Join(", ", activations)}]; TrtEngine computes the default ones ({string.Join(", ", defaults)}).");
        if (node.GetInt("layout", 0) != 0)
            throw new ModelImportException($"{node.OpType} '{name}' takes its input batch first (layout 1), which ONNX Runtime does not run either; export it with layout 0 (torch's exporter writes that, with transposes around it).");
        if (node.FindAttribute("clip") is not null) throw new ModelImportException($"{node.OpType} '{name}' clips its cell inputs (clip); TrtEngine computes LSTM and GRU without clipping.");
        if (node.GetInt("input_forget", 0) != 0) throw new ModelImportException($"LSTM '{name}' couples its input and forget gates (input_forget); TrtEngine computes them apart.");
        if (Has(node, 4)) throw new ModelImportException($"{node.OpType} '{name}' reads sequence_lens '{node.Inputs[4]}' (sequences of several lengths, as a packed sequence exports); TrtEngine runs every sequence to its full length. Export without packing.");
        if (cell == RecurrentCell.Lstm && Has(node, 7)) throw new ModelImportException($"LSTM '{name}' has peepholes (P); TrtEngine computes LSTM without them.");
        var w = Weight(node, 1);
        int hidden = node.GetInt("hidden_size", 0) is var h && h > 0 ? checked((int)h) : _network.Dims(Float(node.Inputs[2], name))[^1];
        ValueRef Optional(int index) => Has(node, index) ? Float(node.Inputs[index], name) : ValueRef.None;
        ValueRef[] inputs = [Tensor(node.Inputs[0], name), w, Weight(node, 2), Has(node, 3) ? Weight(node, 3) : ValueRef.None, Optional(5),
            cell == RecurrentCell.Lstm ? Optional(6) : ValueRef.None];
        var outputs = new[] { RecurrentOutput.Sequence, RecurrentOutput.Hidden, RecurrentOutput.Cell };
        for (int o = 0; o < node.Outputs.Count && o < (cell == RecurrentCell.Lstm ? 3 : 2); o++)
        {
            if (node.Outputs[o].Length == 0) continue;
            _values[node.Outputs[o]] = _network.AddLayer(new RecurrentLayer(o == 0 ? name : $"{name}/{outputs[o]}", cell, outputs[o], inputs, hidden,
                direction == "reverse", directions == 2, node.GetInt("linear_before_reset", 0) != 0), node.Outputs[o]);
        }
    }
}
