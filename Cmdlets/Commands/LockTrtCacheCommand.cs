using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Cache;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>Pins cache entries: eviction never removes them, and bulk Remove-TrtCache skips them unless -Force.</summary>
[Cmdlet(VerbsCommon.Lock, "TrtCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = KeySet)]
[OutputType(typeof(TrtCacheEntry))]
public sealed class LockTrtCacheCommand : CachePinCommandBase
{
    protected override bool Pin => true;
}
