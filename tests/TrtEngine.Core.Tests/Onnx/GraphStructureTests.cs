using Microsoft.ML.OnnxRuntime;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Tests.Operators;
using TrtEngine.Native.Network;
using TrtEngine.Testing.Onnx;
using TrtEngine.Testing.Oracle;

namespace TrtEngine.Core.Tests.Onnx;

/// <summary>
/// Graphs whose structure is unusual or wrong rather than any one node: nodes listed out of order, which ONNX Runtime
/// sorts and runs, are imported in an order that runs them; a cycle, an input declared twice and a required output
/// without a name are refused with a ModelImportException saying what is wrong, never a hang, a crash or a silent pick.
/// </summary>
public sealed class GraphStructureTests
{
    private static OnnxModelBuilder Model()
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, 2, 3);
        m.AddOutput("y", OnnxDataType.Float);
        return m;
    }

    private static NetworkDefinition Import(OnnxModelBuilder m) => OnnxImporter.Import(OnnxModel.Parse(m.ToBytes(), null), "m");

    private static void AssertOnnxRuntimeRefuses(OnnxModelBuilder m) =>
        Assert.ThrowsAny<OnnxRuntimeException>(() => OrtOracle.Run(m.ToBytes(), new Dictionary<string, (int[], float[])>()));

    /// <summary>The order of a valid export reversed, through an Expand to the batch that the importer traces back to x.</summary>
    [Fact]
    public void Nodes_listed_out_of_topological_order_run_as_in_onnx_runtime()
    {
        var c = new OperatorCase().BatchedInput("x", 3, 16).Weight("w", 16, 8).Weight("b", 8).Output("y");
        c.Model.AddNode("Relu", ["sum"], ["y"]);
        c.Model.AddNode("Add", ["h", "e"], ["sum"]);
        c.Model.AddNode("Expand", ["b", "s"], ["e"]);
        c.Model.AddNode("Shape", ["h"], ["s"]);
        c.Model.AddNode("MatMul", ["x", "w"], ["h"]);
        c.AssertMatchesOnnxRuntime();
    }

    /// <summary>
    /// The importer follows an Expand's run-time dim back to the tensor it was read from: through 50,000 Identity nodes
    /// (more than any thread's stack held frames for) that walk overflowed the stack, a crash no caller can catch.
    /// </summary>
    /// <summary>
    /// Graph outputs whose values are tensors of other names: an Expand to the run-time batch that adds no size (found by a
    /// differential fuzzer: the engine's output was named "y/expanded0", the step the import made of it) and an
    /// Identity of the graph input. The engine's outputs are named as the graph's, so a caller finds them.
    /// </summary>
    [Fact]
    public void Outputs_that_are_tensors_of_other_names_keep_the_graph_s_names()
    {
        var c = new OperatorCase().BatchedInput("x", 2, 3).Output("y").Output("z");
        var m = c.Model;
        m.Opset = 13;
        m.AddNode("Shape", ["x"], ["s"]);
        m.AddInitializer("i0", [0L], []);
        m.AddNode("Gather", ["s", "i0"], ["g"], ("axis", 0L));
        m.AddInitializer("a0", [0L], [1]);
        m.AddNode("Unsqueeze", ["g", "a0"], ["u"]);
        m.AddInitializer("three", [3L], [1]);
        m.AddNode("Concat", ["u", "three"], ["shape"], ("axis", 0L));
        m.AddNode("Expand", ["x", "shape"], ["y"]);
        m.AddNode("Identity", ["x"], ["z"]);

        c.AssertMatchesOnnxRuntime();
        Assert.Equal(["y", "z"], Enumerable.Range(0, c.Plan!.Outputs.Length).Select(c.Plan.OutputName));
    }

    [Fact]
    public void A_run_time_dim_read_through_a_long_chain_is_followed_without_overflowing_the_stack()
    {
        const int chain = 50_000;
        var c = new OperatorCase().BatchedInput("x", 3, 8).Weight("b", 8).Output("y");
        c.Model.AddNode("Shape", ["x"], ["s0"]);
        for (int i = 0; i < chain; i++) c.Model.AddNode("Identity", [$"s{i}"], [$"s{i + 1}"]);
        c.Model.AddNode("Expand", ["b", $"s{chain}"], ["e"]);
        c.Model.AddNode("Add", ["x", "e"], ["y"]);
        c.AssertMatchesOnnxRuntime();
    }

    [Fact]
    public void A_valid_order_is_kept_and_a_misplaced_node_moves_after_its_producers()
    {
        var valid = Model();
        valid.AddNode("Tanh", ["x"], ["b"]);
        valid.AddNode("Sigmoid", ["x"], ["a"]);
        valid.AddNode("Add", ["a", "b"], ["c"]);
        valid.AddNode("Relu", ["c"], ["y"]);
        Assert.Equal(["Tanh_0", "Sigmoid_1", "Add_2", "Relu_3"], Order(valid));

        var misplaced = Model();
        misplaced.AddNode("Relu", ["c"], ["y"]);
        misplaced.AddNode("Tanh", ["x"], ["b"]);
        misplaced.AddNode("Sigmoid", ["x"], ["a"]);
        misplaced.AddNode("Add", ["a", "b"], ["c"]);
        Assert.Equal(["Tanh_1", "Sigmoid_2", "Add_3", "Relu_0"], Order(misplaced));
    }

    private static string[] Order(OnnxModelBuilder m) =>
        OnnxImporter.TopologicalOrder(OnnxModel.Parse(m.ToBytes(), null).Graph).Select(n => n.Name).ToArray();

    /// <summary>
    /// y = Relu(x + z) with z = Sigmoid(y): no order computes either first. A loop through Shape and Expand is one the
    /// importer follows back through its producers (for the Expand's run-time dims), so it must be refused before any
    /// of that. A node reading the loop (listed first) is not part of it and is not named.
    /// </summary>
    [Theory]
    [InlineData("float")]
    [InlineData("shape")]
    public async Task A_cycle_is_refused_naming_its_nodes(string through)
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, "batch", 3);
        m.AddOutput("t", OnnxDataType.Float);
        m.AddNode("Tanh", ["y"], ["t"]).Name = "after";
        if (through == "float")
        {
            m.AddNode("Add", ["x", "z"], ["a"]).Name = "add";
            m.AddNode("Relu", ["a"], ["y"]).Name = "relu";
            m.AddNode("Sigmoid", ["y"], ["z"]).Name = "sigmoid";
        }
        else
        {
            m.AddNode("Expand", ["x", "s"], ["a"]).Name = "expand";
            m.AddNode("Relu", ["a"], ["y"]).Name = "relu";
            m.AddNode("Shape", ["y"], ["s"]).Name = "shape";
        }
        var import = Task.Run(() => Import(m));
        var error = await Assert.ThrowsAsync<ModelImportException>(() => import.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(through == "float" ? "Add 'add' → Relu 'relu' → Sigmoid 'sigmoid' → Add 'add'" : "Expand 'expand' → Relu 'relu' → Shape 'shape' → Expand 'expand'",
            error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("after", error.Message, StringComparison.Ordinal);
        AssertOnnxRuntimeRefuses(m);
    }

    [Fact]
    public void A_node_reading_its_own_output_is_refused_as_a_cycle()
    {
        var m = new OnnxModelBuilder();
        m.AddInput("x", OnnxDataType.Float, "batch", 3);
        m.AddOutput("y", OnnxDataType.Float);
        m.AddNode("Add", ["x", "y"], ["y"]).Name = "self";
        var error = Assert.Throws<ModelImportException>(() => Import(m));
        Assert.Contains("Add 'self' → Add 'self'", error.Message, StringComparison.Ordinal);
        AssertOnnxRuntimeRefuses(m);
    }

    /// <summary>The import made two network inputs of one name before.</summary>
    [Fact]
    public void A_name_declared_twice_as_a_graph_input_is_refused_naming_it()
    {
        var m = Model();
        m.AddInput("x", OnnxDataType.Float, 4, 5);
        m.AddNode("Relu", ["x"], ["y"]);
        var error = Assert.Throws<ModelImportException>(() => Import(m));
        Assert.Contains("input 'x' is declared twice", error.Message, StringComparison.Ordinal);
        AssertOnnxRuntimeRefuses(m);
    }

    /// <summary>A Relu writing a value without a name computed nothing anyone could read, and was imported silently.</summary>
    [Fact]
    public void A_required_output_without_a_name_is_refused()
    {
        var m = Model();
        m.AddNode("Relu", ["x"], [""]).Name = "unnamed";
        m.AddNode("Sigmoid", ["x"], ["y"]);
        var error = Assert.Throws<ModelImportException>(() => Import(m));
        Assert.Contains("Relu 'unnamed' is malformed: its output 0 is empty", error.Message, StringComparison.Ordinal);
        AssertOnnxRuntimeRefuses(m);
    }

    /// <summary>
    /// Integers are shape arithmetic, computed at import: a graph output of them was "not defined by any earlier node".
    /// Cast to float, as the error advises, it is an output the engine has.
    /// </summary>
    [Theory]
    [InlineData("Shape", "an integer")]
    [InlineData("initializer", "an Int64")]
    public void An_integer_graph_output_is_refused_as_an_integer_tensor(string source, string said)
    {
        OnnxModelBuilder WithOutput(bool cast)
        {
            var m = new OnnxModelBuilder();
            m.AddInput("x", OnnxDataType.Float, 2, 3);
            m.AddOutput("y", OnnxDataType.Float);
            m.AddOutput(cast ? "f" : "k", cast ? OnnxDataType.Float : OnnxDataType.Int64);
            m.AddNode("Relu", ["x"], ["y"]);
            if (source == "Shape") m.AddNode("Shape", ["x"], ["k"]);
            else m.AddInitializer("k", new long[] { 2, 3 }, [2]);
            if (cast) m.AddNode("Cast", ["k"], ["f"], ("to", (long)OnnxDataType.Float));
            return m;
        }
        var error = Assert.Throws<ModelImportException>(() => Import(WithOutput(cast: false)));
        Assert.StartsWith($"graph output 'k': 'k' is {said} tensor where a float tensor is needed", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, Import(WithOutput(cast: true)).Outputs.Count);
    }
}
