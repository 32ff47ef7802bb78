namespace TrtEngine.Native.Layers;

/// <summary>ONNX auto_pad for convolutions and pools; numbers are part of the plan format.</summary>
public enum AutoPad : byte
{
    NotSet = 0,
    SameUpper = 1,
    SameLower = 2,
    Valid = 3,
}
