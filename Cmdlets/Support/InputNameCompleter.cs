using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Core.Weights;

namespace TrtEngine.Cmdlets.Support;

/// <summary>
/// Tab completion of input names for the hashtable parameters (-InputShape, -MinShape, -OptShape, -MaxShape of
/// New-TrtEngine; -Input and -InputShape of Invoke-TrtEngine; -VerifyInput of Update-TrtEngineWeights). PowerShell (7.4 to 7.6) calls argument completers for
/// the argument as a whole but never for the keys inside a hashtable literal, so this offers the whole hashtable:
/// <c>-OptShape &lt;Tab&gt;</c> gives <c>@{ input = 1, 64 }</c> with the model's or engine's input names and shapes.
/// The names come from the model file given by -Path/-LiteralPath (its graph is parsed; nothing is built) or from the engine in
/// -Engine or piped from a variable.
/// </summary>
public sealed class InputNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        if (wordToComplete.Trim() is not ("" or "@" or "@{")) return [];
        IReadOnlyList<(string Name, int[] Shape)>? inputs;
        try
        {
            inputs = FromEngine(fakeBoundParameters, commandAst) ?? FromModel(fakeBoundParameters);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OnnxFormatException or WeightFormatException or ArgumentException or NotSupportedException)
        {
            return [];
        }
        if (inputs is null || inputs.Count == 0) return [];
        bool data = parameterName is "Input" or "VerifyInput";
        string text = "@{ " + string.Join("; ", inputs.Select(i => $"{Key(i.Name)} = {(data ? "@()" : string.Join(", ", i.Shape.Select(d => d < 0 ? 1 : d)))}")) + " }";
        string tip = string.Join(", ", inputs.Select(i => $"{i.Name} [{string.Join(", ", i.Shape.Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]"));
        return [new CompletionResult(text, string.Join(", ", inputs.Select(i => i.Name)), CompletionResultType.ParameterValue, $"inputs: {tip}")];
    }

    /// <summary>A hashtable key as PowerShell needs it: bare when it is a plain name, quoted otherwise.</summary>
    private static string Key(string name) =>
        name.Length > 0 && (char.IsLetter(name[0]) || name[0] == '_') && name.All(c => char.IsLetterOrDigit(c) || c == '_') ? name : "'" + name.Replace("'", "''") + "'";

    private static IReadOnlyList<(string, int[])>? FromEngine(IDictionary bound, CommandAst command)
    {
        object? engine = bound["Engine"];
        // `$engine | Invoke-TrtEngine -Input <Tab>`: the piped variable's value, read from the session, not evaluated.
        if (engine is null && command.Parent is PipelineAst pipeline && pipeline.PipelineElements.IndexOf(command) is > 0 and var at
            && pipeline.PipelineElements[at - 1] is CommandExpressionAst { Expression: VariableExpressionAst variable })
            engine = CompletionSession.Invoke(ps => ps.AddCommand("Get-Variable").AddParameter("Name", variable.VariablePath.UserPath).AddParameter("ValueOnly").AddParameter("ErrorAction", "Ignore"));
        return (engine is PSObject ps ? ps.BaseObject : engine) is Core.Engines.TrtEngine e
            ? e.Inputs.Select(i => (i.Name, i.OptShape ?? i.Shape)).ToList()
            : null;
    }

    private static IReadOnlyList<(string, int[])>? FromModel(IDictionary bound)
    {
        if ((bound["LiteralPath"] ?? bound["Path"]) is not { } given) return null;
        string path = CompletionSession.FullPath(given is PSObject ps ? ps.BaseObject.ToString()! : given.ToString()!);
        if (!File.Exists(path)) return null;
        var graph = OnnxModel.Load(path).Graph;
        var weights = graph.Initializers.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        // A model exported without its parameters has them as graph inputs, which -WeightsPath fills: not inputs to shape.
        // A checkpoint that cannot be read leaves them in, rather than leaving nothing to complete.
        if (bound["WeightsPath"] is { } checkpoint && CompletionSession.FullPath(checkpoint is PSObject c ? c.BaseObject.ToString()! : checkpoint.ToString()!) is var file
            && File.Exists(file))
        {
            try
            {
                weights.UnionWith(CheckpointNames(file, bound["NameMap"]));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or WeightFormatException)
            {
            }
        }
        return graph.Inputs.Where(i => !weights.Contains(i.Name))
            .Select(i => (i.Name, i.Shape?.Select(d => d.Value is { } v && v <= int.MaxValue ? (int)v : -1).ToArray() ?? []))
            .ToList();
    }

    /// <summary>
    /// A checkpoint's tensor names as -NameMap renames them: a hashtable's renaming applies; a script block is not run
    /// while completing (it is the user's code, and may have effects), so its names stay as the file has them.
    /// </summary>
    private static IEnumerable<string> CheckpointNames(string file, object? nameMap)
    {
        var names = WeightSources.CheckpointTensorNames(file);
        return (nameMap is PSObject ps ? ps.BaseObject : nameMap) is IDictionary map ? names.Select(new WeightNameMap(map).Target).OfType<string>() : names;
    }
}
