using System.Management.Automation;
using TrtEngine.Core.Conversion;

namespace TrtEngine.Cmdlets.Support;

/// <summary>
/// Conversion events as -Verbose lines, warnings and a progress bar (builds only: a cache hit, a refit or an inference
/// reports no progress, so loops stay quiet). Used on the pipeline thread only.
/// </summary>
internal sealed class CmdletEvents(Cmdlet cmdlet, int activityId, string activity) : IConversionEvents
{
    private bool _shown;

    public void Verbose(string message) => cmdlet.WriteVerbose(message);

    public void Warning(string message) => cmdlet.WriteWarning(message);

    public void Progress(ConversionProgress progress)
    {
        // "Tuning tactics (3 of 12)": the step under way, counted from one.
        string status = progress.Total > 1 ? $"{progress.Phase} ({Math.Min(progress.Current + 1, progress.Total)} of {progress.Total})" : progress.Phase;
        var record = new ProgressRecord(activityId, activity, status)
        {
            CurrentOperation = progress.Detail,
            PercentComplete = progress.Total > 0 ? Math.Min(100, 100 * progress.Current / progress.Total) : -1,
        };
        cmdlet.WriteProgress(record);
        _shown = true;
    }

    /// <summary>Closes the progress bar, if a build opened one (a cache hit writes no progress record at all).</summary>
    public void Complete()
    {
        if (_shown) cmdlet.WriteProgress(new ProgressRecord(activityId, activity, "Done") { RecordType = ProgressRecordType.Completed });
    }
}
