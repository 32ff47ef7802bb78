using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Cache;

namespace TrtEngine.Cmdlets.Commands;

/// <summary>Unpins cache entries, so that eviction and bulk removals treat them like any other.</summary>
[Cmdlet(VerbsCommon.Unlock, "TrtCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = KeySet)]
[OutputType(typeof(TrtCacheEntry))]
public sealed class UnlockTrtCacheCommand : CachePinCommandBase
{
    protected override bool Pin => false;
}
