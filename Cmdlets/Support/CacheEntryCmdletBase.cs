using System.Management.Automation;
using TrtEngine.Core.Cache;

namespace TrtEngine.Cmdlets.Support;

/// <summary>A cmdlet that acts on cache entries piped from Get-TrtCache (-InputObject) or named by key with wildcards (-Key).</summary>
public abstract class CacheEntryCmdletBase : TrtCmdletBase
{
    protected const string KeySet = "Key", InputObjectSet = "InputObject";

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectSet)]
    public TrtCacheEntry[] InputObject { get; set; } = [];

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = KeySet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(CacheKeyCompleter))]
    [CacheKeyTransformation]
    public string[] Key { get; set; } = [];
}
