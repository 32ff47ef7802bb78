namespace TrtEngine.Native.Layers;

/// <summary>Resize interpolation: the nearest input pixel, bilinear, or bicubic.</summary>
public enum ResizeMode : byte
{
    Nearest,
    Linear,
    Cubic,
}
