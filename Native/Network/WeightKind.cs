namespace TrtEngine.Native.Network;

/// <summary>Where a model weight comes from, which decides whether a refit must supply it.</summary>
public enum WeightKind : byte
{
    /// <summary>A trained parameter (an initializer or a graph input bound from a weights file): every full refit supplies it.</summary>
    Parameter,

    /// <summary>A constant of the graph itself (a Constant node): refittable, but checkpoints do not carry it, so a refit may leave it out.</summary>
    Constant,

    /// <summary>The output of a <see cref="FoldedOp"/> on other model weights: recomputed at build and at every refit, never supplied.</summary>
    Computed,
}
