namespace TrtEngine.Native.Layers;

/// <summary>Resize interpolation: the nearest input pixel, or bilinear.</summary>
public enum ResizeMode : byte
{
    Nearest,
    Linear,
}
