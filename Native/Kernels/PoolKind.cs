namespace TrtEngine.Native.Kernels;

public enum PoolKind : byte
{
    Max,
    Average,
}
