namespace TrtEngine.Native.Layers;

/// <summary>
/// How Resize rounds a source coordinate to a pixel. Simple is Resize-10 and Upsample: truncate when
/// enlarging, round up when shrinking (as ONNX Runtime does for those opsets).
/// </summary>
public enum NearestMode : byte
{
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
    Simple,
}
