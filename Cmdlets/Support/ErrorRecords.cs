using System.Management.Automation;
using TrtEngine.Core.Cache;
using TrtEngine.Core.Onnx;
using TrtEngine.Core.Refit;
using TrtEngine.Core.Tensors;
using TrtEngine.Core.Verification;
using TrtEngine.Core.Weights;
using TrtEngine.Native.Network;
using TrtEngine.Native.Plan;
using TrtEngine.Native.Refit;
using TrtEngine.Native.Runtime;

namespace TrtEngine.Cmdlets.Support;

/// <summary>Maps the module's exceptions to ErrorRecords with stable ids and the right categories; the target is the item at fault.</summary>
internal static class ErrorRecords
{
    public static ErrorRecord From(Exception e, object? target) => e switch
    {
        PathNotFoundException missing => new(e, missing.ErrorId, ErrorCategory.ObjectNotFound, missing.FileName),
        FileNotFoundException or DirectoryNotFoundException => new(e, "FileNotFound", ErrorCategory.ObjectNotFound, target),
        // A path on a drive or provider the session does not have (Q:/model.onnx before New-PSDrive): not found, as PowerShell's own cmdlets say.
        System.Management.Automation.DriveNotFoundException => new(e, "DriveNotFound", ErrorCategory.ObjectNotFound, target),
        ProviderNotFoundException => new(e, "ProviderNotFound", ErrorCategory.ObjectNotFound, target),
        OnnxFormatException => new(e, "InvalidModel", ErrorCategory.InvalidData, target),
        UnsupportedOperatorException => new(e, "UnsupportedOperator", ErrorCategory.NotImplemented, target),
        ModelImportException => new(e, "ModelImportFailed", ErrorCategory.InvalidData, target),
        WeightFormatException => new(e, "InvalidWeights", ErrorCategory.InvalidData, target),
        NpyFormatException => new(e, "InvalidTensorFile", ErrorCategory.InvalidData, target),
        PlanFormatException => new(e, "InvalidEnginePlan", ErrorCategory.InvalidData, target),
        EngineHasNoWeightsException => new(e, "EngineHasNoWeights", ErrorCategory.InvalidOperation, target),
        EngineDisposedException => new(e, "EngineDisposed", ErrorCategory.InvalidOperation, target),
        RefitException => new(e, "RefitRefused", ErrorCategory.InvalidData, target),
        RefitVerificationException => new(e, "RefitVerificationFailed", ErrorCategory.InvalidResult, target),
        VerificationUnavailableException => new(e, "VerificationUnavailable", ErrorCategory.InvalidOperation, target),
        SourceEngineException => new(e, "InvalidSourceEngine", ErrorCategory.InvalidArgument, target),
        EngineInputException => new(e, "InvalidInput", ErrorCategory.InvalidArgument, target),
        ShapeException => new(e, "InvalidShape", ErrorCategory.InvalidArgument, target),
        InvalidDataException => new(e, "InvalidSettings", ErrorCategory.InvalidData, target),
        UnauthorizedAccessException => new(e, "AccessDenied", ErrorCategory.PermissionDenied, target),
        CacheDirectoryIsFileException => new(e, "CacheDirectoryIsFile", ErrorCategory.InvalidArgument, target),
        ForeignFilesException => new(e, "CacheItemHasForeignFiles", ErrorCategory.InvalidOperation, target),
        FileExistsException => new(e, "FileExists", ErrorCategory.ResourceExists, target),
        IOException => new(e, "IOError", ErrorCategory.WriteError, target),
        NotFileSystemPathException => new(e, "NotFileSystemPath", ErrorCategory.InvalidArgument, target),
        AmbiguousPathException ambiguous => new(e, "AmbiguousPath", ErrorCategory.InvalidArgument, ambiguous.Pattern),
        ArgumentException => new(e, "InvalidArgument", ErrorCategory.InvalidArgument, target),
        _ => new(e, "UnexpectedError", ErrorCategory.NotSpecified, target),
    };

    public static ErrorRecord NotFound(string id, string message, object? target) =>
        new(new ItemNotFoundException(message), id, ErrorCategory.ObjectNotFound, target);
}
