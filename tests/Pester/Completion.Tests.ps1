# Tab completion of input names for the hashtable parameters, through TabExpansion2 as the console calls it.
# PowerShell calls argument completers for the argument as a whole, not for keys inside a hashtable literal, so the
# completion is the whole hashtable with the model's or engine's input names.

BeforeAll {
    Import-Module "$PSScriptRoot/../../out/TrtEngine/TrtEngine.psd1" -Force
    $models = (Resolve-Path "$PSScriptRoot/../../examples/models").Path
    $onnx = Join-Path $models 'tiny_mlp.onnx'
    function Complete([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches
    }
}

Describe 'Input name completion for New-TrtEngine' {
    It 'offers the model''s inputs with their shapes for -<_>' -ForEach 'InputShape', 'MinShape', 'OptShape', 'MaxShape' {
        $matches = Complete "New-TrtEngine -Path '$onnx' -$_ "
        $matches.CompletionText | Should -Be '@{ input = 1, 64 }'
        $matches.ToolTip | Should -Be 'inputs: input [?, 64]'
    }

    It 'offers the optimization levels for -OptimizationLevel, not file names' {
        (Complete "New-TrtEngine -Path '$onnx' -OptimizationLevel ").CompletionText | Should -Be '0', '1', '2', '3', '4', '5'
    }

    It 'reads a positional, relative model path and completes after @' {
        Push-Location $models
        try { (Complete 'New-TrtEngine ./tiny_mlp.onnx -OptShape @').CompletionText | Should -Be '@{ input = 1, 64 }' }
        finally { Pop-Location }
    }

    It 'leaves out the graph inputs a -WeightsPath checkpoint fills (a model exported without its parameters)' -Skip:(-not (Test-Path "$PSScriptRoot/../../../shared/models/mlp_v1_weightless.onnx")) {
        $shared = (Resolve-Path "$PSScriptRoot/../../../shared/models").Path
        $line = "New-TrtEngine -Path '$shared/mlp_v1_weightless.onnx' -WeightsPath '$shared/mlp_v1_weightless.weights.safetensors' -OptShape "
        (Complete $line).CompletionText | Should -Be '@{ input = 1, 784 }'
    }

    It 'applies a -NameMap hashtable to the -WeightsPath checkpoint''s names' -Skip:(-not (Test-Path "$PSScriptRoot/../../../shared/models/mlp_v1_weightless.onnx")) {
        . "$PSScriptRoot/Support/Safetensors.ps1"
        $shared = (Resolve-Path "$PSScriptRoot/../../../shared/models").Path
        $prefixed = Join-Path $TestDrive 'ddp.safetensors'
        Copy-Safetensors "$shared/mlp_v1_weightless.weights.safetensors" $prefixed {
            param($header)
            foreach ($name in @($header.Keys)) { $header["module.$name"] = $header[$name]; $header.Remove($name) }
        }
        $map = '@{ ' + ((0, 2, 4 | ForEach-Object { "'module.$_.weight' = '$_.weight'; 'module.$_.bias' = '$_.bias'" }) -join '; ') + ' }'
        $line = "New-TrtEngine -Path '$shared/mlp_v1_weightless.onnx' -WeightsPath '$prefixed' -NameMap $map -OptShape "
        (Complete $line).CompletionText | Should -Be '@{ input = 1, 784 }'
        # Unmapped, the file fills none of the model's weight inputs, which are then offered as inputs.
        (Complete "New-TrtEngine -Path '$shared/mlp_v1_weightless.onnx' -WeightsPath '$prefixed' -OptShape ").CompletionText | Should -BeLike '@{ input = 1, 784; *0.weight*'
    }

    It 'still offers the model''s inputs when the -WeightsPath file cannot be read' {
        $damaged = Join-Path $TestDrive 'damaged.safetensors'
        [IO.File]::WriteAllBytes($damaged, [byte[]](1..40))
        (Complete "New-TrtEngine -Path '$onnx' -WeightsPath '$damaged' -OptShape ").CompletionText | Should -Be '@{ input = 1, 64 }'
    }

    It 'reads a model path on a PSDrive' {
        # Made absolute as a file path, Q:/tiny_mlp.onnx was looked for in the session's folder and completed nothing.
        New-PSDrive -Name TrtModels -PSProvider FileSystem -Root $models | Out-Null
        try { (Complete 'New-TrtEngine -Path TrtModels:/tiny_mlp.onnx -OptShape ').CompletionText | Should -Be '@{ input = 1, 64 }' }
        finally { Remove-PSDrive -Name TrtModels }
    }

    It 'offers nothing for a model that does not exist' {
        Complete "New-TrtEngine -Path '$TestDrive/none.onnx' -OptShape " | Should -BeNullOrEmpty
    }
}

Describe 'Input name completion for Invoke-TrtEngine' {
    BeforeAll {
        $global:completionEngine = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
    }
    AfterAll {
        Remove-Variable -Scope Global completionEngine
    }

    It 'offers the engine''s inputs for -Input' {
        (Complete 'Invoke-TrtEngine -Engine $completionEngine -Input ').CompletionText | Should -Be '@{ input = @() }'
    }

    It 'offers the engine''s inputs with their opt shapes for -InputShape' {
        (Complete 'Invoke-TrtEngine $completionEngine -InputShape ').CompletionText | Should -Be '@{ input = 1, 64 }'
    }

    It 'finds an engine piped from a variable' {
        (Complete '$completionEngine | Invoke-TrtEngine -Input ').CompletionText | Should -Be '@{ input = @() }'
    }

    It 'offers the engine''s inputs for Update-TrtEngineWeights -VerifyInput' {
        (Complete '$completionEngine | Update-TrtEngineWeights -Path x.safetensors -VerifyInput ').CompletionText | Should -Be '@{ input = @() }'
    }
}
