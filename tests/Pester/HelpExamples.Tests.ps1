# Every example in the built module's help runs, as written, against the built module: each in a fresh runspace,
# from a folder holding a copy of examples/ (the examples' fixtures), with the cache and settings in a test folder.

BeforeDiscovery {
    $module = Import-Module "$PSScriptRoot/../../out/TrtEngine/TrtEngine.psd1" -Force -PassThru
    $examples = foreach ($name in $module.ExportedCmdlets.Keys | Sort-Object) {
        $number = 0
        foreach ($example in (Get-Help $name -Examples).Examples.Example) {
            $number++
            @{ Cmdlet = $name; Number = $number; Code = $example.Code }
        }
    }
}

BeforeAll {
    $module = (Resolve-Path "$PSScriptRoot/../../out/TrtEngine/TrtEngine.psd1").Path
    $work = New-Item -ItemType Directory (Join-Path $TestDrive 'work')
    Copy-Item -Recurse (Resolve-Path "$PSScriptRoot/../../examples") (Join-Path $work 'examples')
    $saved = @{ Cache = $env:TRTENGINE_CACHE_DIR; Config = $env:TRTENGINE_CONFIG_DIR }
    $env:TRTENGINE_CACHE_DIR = Join-Path $TestDrive 'cache'
    $env:TRTENGINE_CONFIG_DIR = Join-Path $TestDrive 'config'
}

AfterAll {
    $env:TRTENGINE_CACHE_DIR = $saved.Cache
    $env:TRTENGINE_CONFIG_DIR = $saved.Config
}

Describe 'Help examples' {
    It 'has at least two examples for <Name>' -ForEach @($examples | Group-Object { $_.Cmdlet } | ForEach-Object { @{ Name = $_.Name; Count = $_.Count } }) {
        $Count | Should -BeGreaterOrEqual 2
    }

    It '<Cmdlet> example <Number> runs without an error' -ForEach $examples {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddCommand('Set-Location').AddParameter('LiteralPath', $work.FullName).
                AddStatement().AddCommand('Import-Module').AddParameter('Name', $module).Invoke()
            $ps.Commands.Clear()
            # Out-String renders what the example writes, so the views run too.
            $null = $ps.AddScript($Code).AddCommand('Out-String').Invoke()
            @($ps.Streams.Error | ForEach-Object { "$_" }) | Should -BeNullOrEmpty -Because "example:`n$Code"
        }
        finally { $ps.Dispose() }
    }
}
