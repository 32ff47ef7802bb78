# Manifest and meta-tests over every exported cmdlet, against the built module in out/TrtEngine.

BeforeDiscovery {
    # Discovery needs the exported cmdlets to generate one block per cmdlet.
    $module = Import-Module "$PSScriptRoot/../../out/TrtEngine/TrtEngine.psd1" -Force -PassThru
    $cmdlets = @($module.ExportedCmdlets.Values | ForEach-Object {
        @{
            Name          = $_.Name
            Verb          = $_.Verb
            HasPath       = $_.Parameters.ContainsKey('Path')
            # Removing and clearing the cache are the only cmdlets with nothing to write.
            WritesObjects = $_.Name -notin 'Remove-TrtCache', 'Clear-TrtCache'
            ConfirmImpact = $_.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact
        }
    })
}

BeforeAll {
    $manifestPath = "$PSScriptRoot/../../out/TrtEngine/TrtEngine.psd1"
    $module = Import-Module $manifestPath -Force -PassThru
    $manifest = Import-PowerShellDataFile $manifestPath
}

Describe 'TrtEngine manifest' {
    It 'is a valid module manifest' {
        Test-ModuleManifest $manifestPath | Should -Not -BeNullOrEmpty
    }

    It 'exports exactly the cmdlets it lists' {
        (@($module.ExportedCmdlets.Keys | Sort-Object) -join ', ') |
            Should -Be (@($manifest.CmdletsToExport | Sort-Object) -join ', ')
    }

    It 'lists every cmdlet the assembly defines' {
        $defined = $module.ImplementingAssembly.GetExportedTypes() |
            ForEach-Object { $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false) } |
            ForEach-Object { "$($_.VerbName)-$($_.NounName)" }
        (@($defined | Sort-Object) -join ', ') | Should -Be (@($manifest.CmdletsToExport | Sort-Object) -join ', ')
    }

    It 'exports no functions, variables or aliases' {
        $manifest.FunctionsToExport | Should -BeNullOrEmpty
        $manifest.VariablesToExport | Should -BeNullOrEmpty
        $manifest.AliasesToExport | Should -BeNullOrEmpty
    }

    It 'has the version of its assemblies' {
        foreach ($dll in 'TrtEngine.Cmdlets.dll', 'TrtEngine.Core.dll', 'TrtEngine.Native.dll') {
            $info = [System.Diagnostics.FileVersionInfo]::GetVersionInfo((Join-Path $module.ModuleBase $dll))
            # ProductVersion is the informational version, e.g. 0.1.0+commit; compare its numeric part.
            [version](($info.ProductVersion -split '[+-]')[0]) | Should -Be $module.Version -Because $dll
            ([version]$info.FileVersion).ToString(3) | Should -Be $module.Version.ToString(3) -Because $dll
        }
    }

    It 'targets PowerShell 7.4 Core' {
        $manifest.CompatiblePSEditions | Should -Be @('Core')
        [version]$manifest.PowerShellVersion | Should -Be ([version]'7.4')
    }

    It 'loads a view for <_>' -ForEach @(
        'TrtEngine.Core.Engines.TrtEngine'
        'TrtEngine.Core.Engines.TrtTensor'
        'TrtEngine.Core.Engines.TrtTensorInfo'
        'TrtEngine.Core.Cache.TrtCacheEntry'
        'TrtEngine.Core.Cache.TrtCacheSummary'
        'TrtEngine.Core.Cache.TrtCacheCheck'
        'TrtEngine.Core.Cache.TrtCacheOptions'
        'TrtEngine.Core.Engines.TrtEngineInfo'
        'TrtEngine.Core.Verification.RefitVerification'
    ) {
        Get-FormatData -TypeName $_ | Should -Not -BeNullOrEmpty
    }

    It 'ships no PowerShell assemblies' {
        Get-ChildItem $module.ModuleBase -Recurse -File |
            Where-Object Name -Match '^(System\.Management\.Automation|Microsoft\.PowerShell\.)' |
            Should -BeNullOrEmpty
    }

    It 'has an about_TrtEngine topic' {
        (Get-Help about_TrtEngine | Out-String) | Should -Match 'TRTENGINE_CACHE_DIR'
    }

    It 'disposes the engines it made in a runspace when removed from it, and only those' {
        # In a pwsh of its own: removing the module here would dispose the engines of the tests around this one.
        $onnx = (Resolve-Path "$PSScriptRoot/../../examples/models/tiny_mlp.onnx").Path
        $script = @"
Import-Module '$manifestPath'
`$engine = New-TrtEngine -Path '$onnx' -NoCache -OptimizationLevel 0
`$other = [powershell]::Create()
`$elsewhere = `$other.AddScript("Import-Module '$manifestPath'; New-TrtEngine -Path '$onnx' -NoCache -OptimizationLevel 0").Invoke()[0]
# Made in a runspace that is gone since (a finished ForEach-Object -Parallel's) and kept here: in use, not orphaned.
`$gone = [powershell]::Create()
`$handedOver = `$gone.AddScript("Import-Module '$manifestPath'; New-TrtEngine -Path '$onnx' -NoCache -OptimizationLevel 0").Invoke()[0]
`$gone.Dispose(); `$gone = `$null; [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
`$before = '{0},{1},{2}' -f `$engine.HasWeights, `$elsewhere.HasWeights, `$handedOver.HasWeights
Remove-Module TrtEngine
'{0} -> {1},{2},{3}' -f `$before, `$engine.HasWeights, `$elsewhere.HasWeights, `$handedOver.HasWeights
"@
        & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -Command $script | Should -Be 'True,True,True -> False,True,True'
    }
}

# Empty when the assembly exports nothing; the manifest tests above report that.
Describe '<Name>' -ForEach $cmdlets -AllowNullOrEmptyForEach {
    BeforeAll {
        $command = Get-Command $Name -Module TrtEngine
        $help = Get-Help $Name -Full
        $common = [System.Management.Automation.Internal.CommonParameters].GetProperties().Name
    }

    if ($WritesObjects) {
        It 'declares [OutputType]' {
            $command.OutputType | Should -Not -BeNullOrEmpty
        }
    }

    if ($Verb -in 'New', 'Update', 'Remove', 'Clear', 'Export', 'Set', 'Lock', 'Unlock') {
        It 'supports ShouldProcess' {
            $command.Parameters.Keys | Should -Contain 'WhatIf'
            $command.Parameters.Keys | Should -Contain 'Confirm'
        }
    }

    It 'asks by default only if it wipes a whole store (ConfirmImpact High)' {
        $ConfirmImpact -eq 'High' | Should -Be ($Name -eq 'Clear-TrtCache')
    }

    if ($HasPath) {
        It 'pairs -Path with -LiteralPath' {
            $command.Parameters.Keys | Should -Contain 'LiteralPath'
        }
    }

    It 'has help with a synopsis and examples' {
        # Without a help file, Get-Help makes the synopsis from the syntax.
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -BeLike "$Name *"
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 1
    }

    It 'describes every parameter in its help' {
        foreach ($p in $command.Parameters.Keys | Where-Object { $_ -notin $common }) {
            $entry = $help.Parameters.Parameter | Where-Object Name -eq $p
            ($entry.Description.Text -join '') | Should -Not -BeNullOrEmpty -Because "-$p needs a description"
        }
    }
}
