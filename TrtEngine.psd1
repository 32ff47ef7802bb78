@{
    # build.ps1 stamps ModuleVersion from Directory.Build.props (VersionPrefix) into out/TrtEngine.
    RootModule           = 'TrtEngine.Cmdlets.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = 'c16de962-0254-4f21-b7f7-2c38d9181f0b'
    Author               = 'TrtEngine developers'
    CompanyName          = 'TrtEngine developers'
    Copyright            = '(c) TrtEngine developers. All rights reserved.'
    Description          = 'Builds CPU inference engines from ONNX models, caches weight-stripped engines keyed by model structure, refits engines with new weights, and manages the engine cache from the pipeline.'
    CompatiblePSEditions = @('Core')
    PowerShellVersion    = '7.4'
    FormatsToProcess     = @('TrtEngine.format.ps1xml')
    CmdletsToExport      = @(
        'New-TrtEngine'
        'Invoke-TrtEngine'
        'Update-TrtEngineWeights'
        'Export-TrtEngine'
        'Import-TrtEngine'
        'Get-TrtCache'
        'Remove-TrtCache'
        'Clear-TrtCache'
        'Get-TrtEngineInfo'
        'Test-TrtCache'
        'Get-TrtCacheOption'
        'Set-TrtCacheOption'
        'Reset-TrtCacheOption'
        'Lock-TrtCache'
        'Unlock-TrtCache'
        'Import-TrtTensor'
        'Export-TrtTensor'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            # ProjectUri/LicenseUri belong here once the project has a public home and a license.
            Tags = @('ONNX', 'Inference', 'Engine', 'Refit', 'Cache', 'MachineLearning', 'PSEdition_Core', 'Linux', 'Windows', 'MacOS')
        }
    }
}
