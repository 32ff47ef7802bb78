namespace TrtEngine.Native.Network;

/// <summary>
/// An engine input's or output's element type, as its model declares it. The engine computes in float32: integer and
/// bool values (token ids, masks, indices) are carried as floats, exact for integers up to 2^24 in magnitude. The
/// numbers are part of the plan format.
/// </summary>
public enum ElementType : byte
{
    Float32 = 0,
    Int64 = 1,
    Int32 = 2,
    Bool = 3,
}
