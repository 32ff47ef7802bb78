namespace TrtEngine.Native.Network;

/// <summary>
/// An engine input's element type, as its model declares it. The engine computes in float32: integer and bool inputs
/// (token ids, masks) carry their values as floats, exact for integers up to 2^24 in magnitude. The numbers are part of
/// the plan format.
/// </summary>
public enum InputType : byte
{
    Float32 = 0,
    Int64 = 1,
    Int32 = 2,
    Bool = 3,
}
