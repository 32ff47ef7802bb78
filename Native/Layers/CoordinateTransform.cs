namespace TrtEngine.Native.Layers;

/// <summary>Resize's coordinate_transformation_mode: how an output coordinate maps to the input.</summary>
public enum CoordinateTransform : byte
{
    HalfPixel,
    Asymmetric,
    AlignCorners,
    PytorchHalfPixel,
}
