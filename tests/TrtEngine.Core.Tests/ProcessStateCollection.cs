namespace TrtEngine.Core.Tests;

/// <summary>
/// Tests that change or observe what the whole process shares (the weight pool, environment variables) run alone,
/// after the others: any test running beside them would see their changes or blur what they observe.
/// </summary>
[CollectionDefinition(nameof(ProcessStateCollection), DisableParallelization = true)]
public sealed class ProcessStateCollection;
