using System.Management.Automation;

namespace TrtEngine.Cmdlets.Support;

/// <summary>
/// Binds an engine piped to a cache cmdlet as the key of its entry (`$engine | Lock-TrtCache`): PowerShell's own
/// conversion would make it its description, a pattern that matches no key, and the cmdlet would do nothing.
/// </summary>
internal sealed class CacheKeyTransformationAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData) =>
        (inputData is PSObject wrapped ? wrapped.BaseObject : inputData) switch
        {
            Core.Engines.TrtEngine { CacheKey: { } key } => key,
            Core.Engines.TrtEngine engine => throw new ArgumentTransformationMetadataException(
                $"Engine '{engine.Name}' has no cache entry: it was built without the cache (-NoCache) or imported from a file. Give the key of an entry (Get-TrtCache lists them).", null),
            object[] items => Array.ConvertAll(items, item => Transform(engineIntrinsics, item)),
            var other => other,
        };
}
