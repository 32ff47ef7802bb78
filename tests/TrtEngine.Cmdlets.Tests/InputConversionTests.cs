using System.Collections;
using System.Management.Automation;
using TrtEngine.Cmdlets.Support;

namespace TrtEngine.Cmdlets.Tests;

/// <summary>What users type for -Input, -Weights and the shape parameters, as PowerShell hands it to the cmdlets.</summary>
public sealed class InputConversionTests
{
    private static string NoFile(string path) => throw new InvalidOperationException("no file is read");

    [Fact]
    public void Numbers_of_any_type_and_nesting_flatten_row_major()
    {
        // @(@(1, 2.5), [int[]](3, 4), '5') as PowerShell passes it: object arrays, PSObject wrappers, strings.
        object value = new object[] { new PSObject(new object[] { 1, 2.5 }), new int[] { 3, 4 }, "5" };
        Assert.Equal([1f, 2.5f, 3f, 4f, 5f], InputConversion.Flatten(value));
        Assert.Equal([7f], InputConversion.Flatten(new PSObject(7L)));
        double[] doubles = [0.1, 1e-3];
        Assert.Equal([0.1f, 1e-3f], InputConversion.Flatten(doubles));
    }

    [Fact]
    public void A_null_or_a_word_is_refused_naming_the_parameter_and_the_entry()
    {
        var nulls = Assert.Throws<ArgumentException>(() => InputConversion.ToShapedArrays(new Hashtable { ["w"] = new object?[] { 1, null } }, "Weights", NoFile));
        Assert.Contains("-Weights 'w': element 1 is null", nulls.Message, StringComparison.Ordinal);
        var nested = Assert.Throws<ArgumentException>(() => InputConversion.ToShapedArrays(new Hashtable { ["w"] = new object[] { new[] { 1, 2 }, new object?[] { 3, null } } }, "Weights", NoFile));
        Assert.Contains("element 3 is null", nested.Message, StringComparison.Ordinal);   // its place in row-major order
        var huge = Assert.Throws<ArgumentException>(() => InputConversion.ToShapedArrays(new Hashtable { ["w"] = new object[] { 1, 1e300 } }, "Weights", NoFile));
        Assert.Contains("-Weights 'w': 1E+300 is beyond float32's range", huge.Message, StringComparison.Ordinal);
        Assert.Equal([float.PositiveInfinity], InputConversion.Flatten(new[] { double.PositiveInfinity }));   // an infinity given is the refit's to judge
        var words = Assert.Throws<ArgumentException>(() => InputConversion.ToShapedArrays(new Hashtable { ["w"] = new object[] { 1, "many" } }, "Weights", NoFile));
        Assert.Contains("-Weights 'w'", words.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Weights_keep_the_shape_they_come_in_and_flat_ones_have_none()
    {
        var grid = new float[2, 3];
        var tensor = new Core.Engines.TrtTensor { Name = "t", Shape = [3, 2], Data = [1, 2, 3, 4, 5, 6] };
        var weights = InputConversion.ToShapedArrays(new Hashtable
        {
            ["flat"] = new[] { 1f, 2f, 3f },
            ["grid"] = grid,
            ["nested"] = new object[] { new PSObject(new object[] { 1, 2, 3 }), new[] { 4, 5, 6 } },
            ["tensor"] = new PSObject(tensor),
            ["number"] = 7,
        }, "Weights", NoFile);
        Assert.Null(weights["flat"].Shape);
        Assert.Null(weights["number"].Shape);
        Assert.Equal([2, 3], weights["grid"].Shape!);
        Assert.Equal([2, 3], weights["nested"].Shape!);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], weights["nested"].Data);
        Assert.Equal([3, 2], weights["tensor"].Shape!);
        var ragged = Assert.Throws<ArgumentException>(() => InputConversion.ToShapedArrays(
            new Hashtable { ["w"] = new object[] { new[] { 1, 2 }, new[] { 3 } } }, "Weights", NoFile));
        Assert.Contains("-Weights 'w': nested arrays of different shapes ([2] and [1])", ragged.Message, StringComparison.Ordinal);
        var mixed = Assert.Throws<ArgumentException>(() => InputConversion.ToShapedArrays(new Hashtable { ["w"] = new object[] { 1, new[] { 2, 3 } } }, "Weights", NoFile));
        Assert.Contains("numbers and arrays at one level", mixed.Message, StringComparison.Ordinal);
        var empty = Assert.Throws<ArgumentException>(() => InputConversion.ToShapedArrays(new Hashtable { ["w"] = new Core.Engines.TrtTensor { Name = "t", Shape = [2], Data = null! } }, "Weights", NoFile));
        Assert.Contains("-Weights 'w': the tensor has no data", empty.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Engine_inputs_take_shapes_from_tensors_and_explicit_shapes_win()
    {
        var tensor = new Core.Engines.TrtTensor { Name = "t", Shape = [2, 3], Data = [1, 2, 3, 4, 5, 6] };
        var (data, shapes) = InputConversion.ToEngineInputs(
            new Hashtable { ["a"] = tensor, ["b"] = new PSObject(tensor), ["c"] = new[] { 1, 2 } },
            new Hashtable { ["b"] = new object[] { 3, 2 } }, path => throw new InvalidOperationException("no file is read"));
        Assert.Equal(tensor.Data, data["a"]);
        Assert.Equal([2, 3], shapes["a"]);
        Assert.Equal([3, 2], shapes["b"]);
        Assert.False(shapes.ContainsKey("c"));
        Assert.Equal([1f, 2f], data["c"]);
    }

    [Fact]
    public void Engine_inputs_take_shapes_from_multi_dimensional_and_nested_arrays()
    {
        var grid = new float[2, 3];
        grid[1, 0] = 4;
        var (data, shapes) = InputConversion.ToEngineInputs(
            new Hashtable { ["grid"] = grid, ["nested"] = new object[] { new[] { 1, 2, 3 }, new[] { 4, 5, 6 } }, ["flat"] = new object[] { 1, 2 } },
            null, path => throw new InvalidOperationException("no file is read"));
        Assert.Equal([2, 3], shapes["grid"]);
        Assert.Equal([0f, 0, 0, 4, 0, 0], data["grid"]);
        Assert.Equal([2, 3], shapes["nested"]);
        Assert.Equal([1f, 2, 3, 4, 5, 6], data["nested"]);
        Assert.False(shapes.ContainsKey("flat"));
    }

    [Fact]
    public void A_tensor_back_from_clixml_a_job_or_json_is_read_with_its_shape()
    {
        var tensor = new Core.Engines.TrtTensor { Name = "t", Shape = [2, 3], Data = [0.1f, -1e-7f, 3e38f, 16777216f, 0.93754935f, -6] };
        // Import-Clixml and Receive-Job give a property bag whose Shape and Data are ArrayLists; ConvertFrom-Json one of
        // object[]s of Int64 and Double.
        var clixml = PSSerializer.Deserialize(PSSerializer.Serialize(tensor));
        using var ps = PowerShell.Create().AddScript("param($t) $t | ConvertTo-Json | ConvertFrom-Json").AddArgument(tensor);
        var json = ps.Invoke().Single();
        var (data, shapes) = InputConversion.ToEngineInputs(new Hashtable { ["clixml"] = clixml, ["json"] = json }, null, NoFile);
        Assert.Equal(tensor.Data, data["clixml"]);
        Assert.Equal(tensor.Data, data["json"]);
        Assert.Equal([2, 3], shapes["clixml"]);
        Assert.Equal([2, 3], shapes["json"]);
        Assert.Equal([2, 3], InputConversion.ToShapedArrays(new Hashtable { ["w"] = json }, "Weights", NoFile)["w"].Shape!);
    }

    [Fact]
    public void An_object_without_a_tensors_shape_or_data_is_refused_as_not_a_tensor()
    {
        static PSObject Bag(params string[] members)
        {
            var bag = new PSObject();
            foreach (string member in members) bag.Properties.Add(new PSNoteProperty(member, new object[] { 1, 2 }));
            return bag;
        }
        var noShape = Assert.Throws<ArgumentException>(() => InputConversion.ToEngineInputs(new Hashtable { ["x"] = Bag("Name", "Data") }, null, NoFile));
        Assert.Contains("-Input 'x': not a tensor: it has no Shape", noShape.Message, StringComparison.Ordinal);
        var noData = Assert.Throws<ArgumentException>(() => InputConversion.ToShapedArrays(new Hashtable { ["w"] = Bag("Shape", "Values") }, "Weights", NoFile));
        Assert.Contains("-Weights 'w': not a tensor: it has no Data", noData.Message, StringComparison.Ordinal);
        Assert.Contains("Shape, Values", noData.Message, StringComparison.Ordinal);   // what it has instead
    }

    [Fact]
    public void Integers_float32_cannot_hold_exactly_are_refused_naming_the_value()
    {
        Assert.Equal([16777216f, 1L << 40, -16777216f, 4294967296f], InputConversion.Flatten(new object[] { 16777216, 1L << 40, -16777216L, 4294967296UL }));
        foreach (object value in new object[] { new long[] { 1, 16777217 }, new object[] { 1, 16777217 }, new object[] { -2147483647 }, new object[] { ulong.MaxValue }, new object[] { 4294967295U } })
        {
            var e = Assert.Throws<ArgumentException>(() => InputConversion.ToEngineInputs(new Hashtable { ["x"] = value }, null, NoFile));
            Assert.Matches(@"^-Input 'x': (16777217|-2147483647|18446744073709551615|4294967295) .*float32", e.Message);
        }
        var weights = Assert.Throws<ArgumentException>(() => InputConversion.ToShapedArrays(new Hashtable { ["w"] = new[] { 16777217 } }, "Weights", NoFile));
        Assert.Contains("-Weights 'w': 16777217", weights.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_npy_path_is_resolved_by_the_caller_and_read()
    {
        string file = Path.Combine(Path.GetTempPath(), $"input-{Guid.NewGuid():N}.npy");
        using (var stream = File.Create(file)) Core.Tensors.NpyFile.Write(stream, [2, 2], [1f, 2f, 3f, 4f]);
        try
        {
            var asked = new List<string>();
            var (data, shapes) = InputConversion.ToEngineInputs(new Hashtable { ["x"] = "./relative.npy" }, null, path =>
            {
                asked.Add(path);
                return file;
            });
            Assert.Equal(["./relative.npy"], asked);
            Assert.Equal([1f, 2f, 3f, 4f], data["x"]);
            Assert.Equal([2, 2], shapes["x"]);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
