# Tensors in and out: .npy files, TrtTensor objects and arrays as Invoke-TrtEngine inputs; Import-/Export-TrtTensor.

BeforeAll {
    Import-Module "$PSScriptRoot/../../out/TrtEngine/TrtEngine.psd1" -Force
    $models = Join-Path $PSScriptRoot '../../examples/models'
    $npy = Join-Path $models 'tiny_mlp.input.npy'
    $x = [float[]](Get-Content -Raw (Join-Path $models 'tiny_mlp.input.json') | ConvertFrom-Json).input.data
    $engine = New-TrtEngine -Path (Join-Path $models 'tiny_mlp.onnx') -NoCache -OptimizationLevel 0
    $expected = (Invoke-TrtEngine -Engine $engine -Input @{ input = $x }).Data -join ','
}

Describe 'Import-TrtTensor' {
    It 'reads a .npy file as a tensor named after the file' {
        $t = Import-TrtTensor -Path $npy
        $t | Should -BeOfType 'TrtEngine.Core.Engines.TrtTensor'
        $t.Name | Should -Be 'tiny_mlp.input'
        $t.Shape -join ',' | Should -Be '2,64'
        $t.Data -join ',' | Should -Be ($x -join ',')
    }

    It 'takes files from Get-ChildItem and a -Name' {
        (Get-Item $npy | Import-TrtTensor -Name input).Name | Should -Be 'input'
    }

    It 'reports a malformed file as InvalidTensorFile naming the file' {
        $bad = Join-Path $TestDrive 'bad.npy'
        [IO.File]::WriteAllBytes($bad, [byte[]](0x93, 78, 85, 77, 80, 89, 1, 0, 10, 0) + [Text.Encoding]::ASCII.GetBytes("{'descr':}"))
        $err = { Import-TrtTensor -LiteralPath $bad -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'InvalidTensorFile*'
        $err.CategoryInfo.Category | Should -Be 'InvalidData'
        $err.Exception.Message | Should -BeLike "$bad*"
    }

    It 'reports a missing file as TensorFileNotFound' {
        { Import-TrtTensor -Path (Join-Path $TestDrive 'none.npy') -ErrorAction Stop } | Should -Throw -ErrorId 'TensorFileNotFound*'
    }
}

Describe 'Invoke-TrtEngine inputs' {
    It 'takes a .npy path, a FileInfo, a TrtTensor and an array alike' {
        (Invoke-TrtEngine $engine -Input @{ input = $npy }).Data -join ',' | Should -Be $expected
        (Invoke-TrtEngine $engine -Input @{ input = (Get-Item $npy) }).Data -join ',' | Should -Be $expected
        (Invoke-TrtEngine $engine -Input @{ input = (Import-TrtTensor $npy) }).Data -join ',' | Should -Be $expected
    }

    It 'takes a tensor back from Import-Clixml, a job and ConvertFrom-Json, with its shape' {
        # Each gives the tensor's properties, with no TrtTensor behind them.
        function Get-Deserialized($Tensor) {
            $file = Join-Path $TestDrive 'tensor.xml'
            $Tensor | Export-Clixml -LiteralPath $file
            Import-Clixml -LiteralPath $file
            Start-Job { $args[0] } -ArgumentList $Tensor | Receive-Job -Wait -AutoRemoveJob
            $Tensor | ConvertTo-Json | ConvertFrom-Json
        }
        foreach ($back in Get-Deserialized (Import-TrtTensor $npy)) {
            $back | Should -Not -BeOfType 'TrtEngine.Core.Engines.TrtTensor'
            (Invoke-TrtEngine $engine -Input @{ input = $back }).Data -join ',' | Should -Be $expected
        }
        # Shape 4, 32 is not the engine's: refused only if the shape comes along (flat, the 128 values run as 2 x 64).
        $wrong = [TrtEngine.Core.Engines.TrtTensor]@{ Name = 'input'; Shape = [int[]](4, 32); Data = $x }
        foreach ($back in Get-Deserialized $wrong) {
            { Invoke-TrtEngine $engine -Input @{ input = $back } -ErrorAction Stop } | Should -Throw '*dimension 1 must be 64*'
        }
    }

    It 'resolves a relative .npy path from the current location' {
        Push-Location $models
        try { (Invoke-TrtEngine $engine -Input @{ input = './tiny_mlp.input.npy' }).Data -join ',' | Should -Be $expected }
        finally { Pop-Location }
    }

    It 'uses the tensor''s shape, which -InputShape overrides' {
        $t = Import-TrtTensor $npy
        $err = { Invoke-TrtEngine $engine -Input @{ input = $t } -InputShape @{ input = 1, 64 } -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'InvalidInput*'
        $err.Exception.Message | Should -Match 'needs 64 values, got 128'
    }

    It 'takes one -1 in -InputShape as the dimension the values give, and says why one does not fit' {
        # Found by a QA helper (session 50): -1 was refused as "[?, 64]: every dimension must be at least 1".
        $out = Invoke-TrtEngine $engine -Input @{ input = $x } -InputShape @{ input = -1, 64 } # two rows of 64
        $out.Shape | Should -Be 2, 10
        ($out.Data -join ',') | Should -Be $expected
        $err = { Invoke-TrtEngine $engine -Input @{ input = $x } -InputShape @{ input = -1, -1 } -ErrorAction Stop } | Should -Throw -PassThru
        $err.Exception.Message | Should -BeLike "-InputShape ``[-1, -1``] for input 'input*': only one dimension can be -1*"
        $err = { Invoke-TrtEngine $engine -Input @{ input = [float[]](1..100) } -InputShape @{ input = -1, 64 } -ErrorAction Stop } | Should -Throw -PassThru
        $err.Exception.Message | Should -BeLike "*100 values are no whole number of 64*"
    }

    It 'says which input a name differing in case means' {
        $err = { Invoke-TrtEngine $engine -Input @{ INPUT = $x } -ErrorAction Stop } | Should -Throw -PassThru
        $err.Exception.Message | Should -BeLike "'INPUT' is not an input of engine 'tiny_mlp': did you mean 'input'? Input names are case-sensitive.*"
    }
}

Describe 'Export-TrtTensor' {
    BeforeAll {
        $outputs = Invoke-TrtEngine $engine -Input @{ input = $npy }
    }

    It 'writes numpy''s layout that Import-TrtTensor reads back exactly' {
        $file = $outputs | Export-TrtTensor -Path (Join-Path $TestDrive 'logits.npy') -PassThru
        $file | Should -BeOfType System.IO.FileInfo
        $bytes = [IO.File]::ReadAllBytes($file.FullName)
        [Text.Encoding]::Latin1.GetString($bytes, 0, 128) | Should -BeLike "*NUMPY*{'descr': '<f4', 'fortran_order': False, 'shape': (2, 10), }*"
        $back = Import-TrtTensor $file.FullName
        $back.Shape -join ',' | Should -Be '2,10'
        $back.Data -join ',' | Should -Be $expected
    }

    It 'writes an int64 output (an argmax) as numpy''s int64' {
        # A text classifier exported by torch whose output is logits.argmax(-1): int64 [batch].
        $classes = New-TrtEngine -Path (Join-Path $PSScriptRoot '../fixtures/patterns/text_argmax_o17.onnx') -CacheDirectory (Join-Path $TestDrive 'argmax')
        $predicted = Invoke-TrtEngine $classes -Input @{ ids = @([long[]](3, 17, 42, 8, 8, 1, 49, 0, 0, 0, 0, 0), [long[]](5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5)) }
        $predicted.DataType | Should -Be 'Int64'
        $predicted.Shape -join ',' | Should -Be '2'
        $predicted.Data | ForEach-Object { $_ | Should -BeIn (0..4) }
        $file = $predicted | Export-TrtTensor -Path (Join-Path $TestDrive 'classes.npy') -PassThru
        [Text.Encoding]::Latin1.GetString([IO.File]::ReadAllBytes($file.FullName), 0, 128) | Should -BeLike "*{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }*"
        (Import-TrtTensor $file.FullName).Data -join ',' | Should -Be ($predicted.Data -join ',')
    }

    It 'writes one file per tensor with -Directory' {
        $dir = Join-Path $TestDrive 'out'
        $outputs | Export-TrtTensor -Directory $dir
        (Get-ChildItem $dir).Name | Should -Be 'logits.npy'
    }

    It 'makes file names of graph tensor names that hold path separators' {
        $dir = Join-Path $TestDrive 'graph-names'
        $tensor = [TrtEngine.Core.Engines.TrtTensor]@{ Name = '/fc/Gemm_output_0'; Shape = [int[]](2); Data = [float[]](1, 2) }
        $tensor | Export-TrtTensor -Directory $dir
        (Get-ChildItem $dir).Name | Should -Be '_fc_Gemm_output_0.npy'
        (Import-TrtTensor (Join-Path $dir '_fc_Gemm_output_0.npy')).Data | Should -Be @(1, 2)
    }

    It 'makes no hidden files of names with leading dots, and passes hidden files through' {
        $dir = Join-Path $TestDrive 'dotted'
        $tensor = [TrtEngine.Core.Engines.TrtTensor]@{ Name = '../x'; Shape = [int[]](2); Data = [float[]](1, 2) }
        ($tensor | Export-TrtTensor -Directory $dir -PassThru).Name | Should -Be '_x.npy'
        $spaced = [TrtEngine.Core.Engines.TrtTensor]@{ Name = ' .y'; Shape = [int[]](2); Data = [float[]](1, 2) }
        ($spaced | Export-TrtTensor -Directory $dir -PassThru).Name | Should -Be 'y.npy'
        $hidden = $tensor | Export-TrtTensor -Path (Join-Path $dir '.hidden.npy') -PassThru -ErrorAction Stop
        $hidden.Name | Should -Be '.hidden.npy'
    }

    It 'says so when -Directory is a file, or two tensors of one name go to one folder' {
        $file = Join-Path $TestDrive 'not-a-folder'
        Set-Content -LiteralPath $file -Value 'x'
        { $outputs | Export-TrtTensor -Directory $file -ErrorAction Stop } | Should -Throw '*is a file, not a folder*'
        { @($outputs, $outputs) | Export-TrtTensor -Directory (Join-Path $TestDrive 'same-names') -ErrorAction Stop } | Should -Throw '*file name of an earlier tensor*'
    }

    It 'refuses to overwrite without -Force, and a second tensor to one -Path' {
        $path = Join-Path $TestDrive 'twice.npy'
        $outputs | Export-TrtTensor -LiteralPath $path
        { $outputs | Export-TrtTensor -Path $path -ErrorAction Stop } | Should -Throw '*already exists*'
        { $outputs | Export-TrtTensor -Path $path -Force -ErrorAction Stop } | Should -Not -Throw
        { @($outputs, $outputs) | Export-TrtTensor -Path (Join-Path $TestDrive 'two.npy') -ErrorAction Stop } | Should -Throw '*-Directory*'
    }

    It 'writes a tensor back from Import-Clixml with its type, and refuses one whose values float32 cannot hold' {
        $clixml = Join-Path $TestDrive 'outputs.clixml'
        $outputs | Export-Clixml -LiteralPath $clixml
        $file = Import-Clixml -LiteralPath $clixml | Export-TrtTensor -Path (Join-Path $TestDrive 'from-clixml.npy') -PassThru
        (Import-TrtTensor $file.FullName).Data -join ',' | Should -Be $expected
        # Found by a QA helper: 1e300 was written as +Inf without a word, where Import-TrtTensor and Invoke-TrtEngine refuse it.
        $path = Join-Path $TestDrive 'huge.npy'
        $err = { [pscustomobject]@{ Name = 'p'; Shape = , 2; Data = [double[]](1e300, 1) } | Export-TrtTensor -Path $path -ErrorAction Stop } | Should -Throw -PassThru
        $err.Exception.Message | Should -BeLike "*1E+300 is beyond float32's range*"
        $path | Should -Not -Exist
    }

    It 'refuses a -Path that does not end in .npy, which would hold .npy bytes under another name' {
        # Found by a QA helper (session 50): o.json and a name without an extension were written as .npy.
        foreach ($name in 'o.json', 'noext') {
            $path = Join-Path $TestDrive $name
            $err = { $outputs | Export-TrtTensor -Path $path -ErrorAction Stop } | Should -Throw -PassThru
            $err.Exception.Message | Should -BeLike "Export-TrtTensor writes NumPy .npy files, and '*$name' does not end in .npy*"
            $path | Should -Not -Exist
        }
    }

    It 'writes nothing with -WhatIf' {
        $path = Join-Path $TestDrive 'whatif.npy'
        $outputs | Export-TrtTensor -Path $path -WhatIf
        $path | Should -Not -Exist
    }
}
