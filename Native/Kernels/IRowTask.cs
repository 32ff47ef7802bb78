namespace TrtEngine.Native.Kernels;

/// <summary>Work on a range of output rows of one (batch × channel) plane; see <see cref="RowSchedule"/>.</summary>
internal interface IRowTask
{
    void RunRows(int plane, int row0, int row1);
}
