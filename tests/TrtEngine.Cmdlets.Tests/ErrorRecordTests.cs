using System.Management.Automation;
using TrtEngine.Cmdlets.Support;
using TrtEngine.Core.Cache;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Weights;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Cmdlets.Tests;

/// <summary>Every failure a cmdlet reports becomes an error record with a stable id, the right category and the item as target.</summary>
public sealed class ErrorRecordTests
{
    public static TheoryData<Exception, string, ErrorCategory> Failures => new()
    {
        { new OnnxFormatException("m"), "InvalidModel", ErrorCategory.InvalidData },
        { new ModelImportException("m"), "ModelImportFailed", ErrorCategory.InvalidData },
        { new WeightFormatException("m"), "InvalidWeights", ErrorCategory.InvalidData },
        { new PlanFormatException("m"), "InvalidEnginePlan", ErrorCategory.InvalidData },
        { new EngineHasNoWeightsException("e"), "EngineHasNoWeights", ErrorCategory.InvalidOperation },
        { new EngineDisposedException("e"), "EngineDisposed", ErrorCategory.InvalidOperation },
        { new EngineInputException("m"), "InvalidInput", ErrorCategory.InvalidArgument },
        { new ShapeException("m"), "InvalidShape", ErrorCategory.InvalidArgument },
        { new FileNotFoundException("m"), "FileNotFound", ErrorCategory.ObjectNotFound },
        { new UnauthorizedAccessException("m"), "AccessDenied", ErrorCategory.PermissionDenied },
        // IOExceptions with their own meaning, ahead of the general one.
        { new CacheDirectoryIsFileException("/c", "/c"), "CacheDirectoryIsFile", ErrorCategory.InvalidArgument },
        { new ForeignFilesException("/c/k", ["notes.txt"]), "CacheItemHasForeignFiles", ErrorCategory.InvalidOperation },
        { new InvalidDataException("m"), "InvalidSettings", ErrorCategory.InvalidData },
        { new FileExistsException("/e.engine"), "FileExists", ErrorCategory.ResourceExists },
        { new IOException("m"), "IOError", ErrorCategory.WriteError },
        { new ArgumentException("m"), "InvalidArgument", ErrorCategory.InvalidArgument },
        { new InvalidOperationException("m"), "UnexpectedError", ErrorCategory.NotSpecified },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void A_failure_has_its_id_category_and_target(Exception failure, string id, ErrorCategory category)
    {
        var target = new object();
        var record = ErrorRecords.From(failure, target);
        Assert.Equal(id, record.FullyQualifiedErrorId);
        Assert.Equal(category, record.CategoryInfo.Category);
        Assert.Same(target, record.TargetObject);
        Assert.Same(failure, record.Exception);
    }
}
