namespace TrtEngine.Native.Kernels;

public enum BinaryOp : byte { Add, Sub, Mul, Div, Max, Min, Pow }
