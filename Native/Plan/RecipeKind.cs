namespace TrtEngine.Native.Plan;

/// <summary>How an engine weight derives from model weights; numbers are part of the plan format.</summary>
public enum RecipeKind : byte
{
    /// <summary>The model weight as it is.</summary>
    Identity = 1,

    /// <summary>Every element times Floats[0], broadcast to Ints[0] elements when the source has one element.</summary>
    Scale = 2,

    /// <summary>A GEMM B operand packed for a tactic: Ints = [k, n, transB, tactic id], Floats = [alpha].</summary>
    PackGemmB = 3,
}
