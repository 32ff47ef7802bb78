using System.Management.Automation;
using TrtEngine.Core.Conversion;

namespace TrtEngine.Cmdlets.Support;

/// <summary>Conversion events as -Verbose lines, warnings and a progress bar. Used on the pipeline thread only.</summary>
internal sealed class CmdletEvents(Cmdlet cmdlet, int activityId, string activity) : IConversionEvents
{
    public void Verbose(string message) => cmdlet.WriteVerbose(message);

    public void Warning(string message) => cmdlet.WriteWarning(message);

    public void Progress(ConversionProgress progress)
    {
        var record = new ProgressRecord(activityId, activity, progress.Phase)
        {
            CurrentOperation = progress.Detail,
            PercentComplete = progress.Total > 0 ? Math.Min(100, 100 * progress.Current / progress.Total) : -1,
        };
        cmdlet.WriteProgress(record);
    }

    public void Complete() => cmdlet.WriteProgress(new ProgressRecord(activityId, activity, "Done") { RecordType = ProgressRecordType.Completed });
}
