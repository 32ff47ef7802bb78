# Bad input to every cmdlet: wrong shapes and types, NaN, missing or extra names, empty arrays, paths that do not
# exist. Each gives a clear error with a stable id and category, and changes nothing: the engine computes
# bit-identical outputs afterwards and the cache directory holds the same files with the same bytes.

BeforeAll {
    Import-Module "$PSScriptRoot/../../out/TrtEngine/TrtEngine.psd1" -Force
    . "$PSScriptRoot/Support/Safetensors.ps1"
    $models = Join-Path $PSScriptRoot '../../examples/models'
    $onnx = Join-Path $models 'tiny_mlp.onnx'
    $ckpt = Join-Path $models 'tiny_mlp.ckpt2.safetensors'
    $x = [float[]](Get-Content -Raw (Join-Path $models 'tiny_mlp.input.json') | ConvertFrom-Json).input.data
    $cache = Join-Path $TestDrive 'cache'
    $engine = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0
    $null = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0   # a hit: the entry has an access log

    function Get-Logits { (Invoke-TrtEngine -Engine $engine -Input @{ input = $x }).Data -join ',' }

    # Every file of the cache with its bytes' hash: equal snapshots mean nothing was written, removed or replaced.
    function Get-CacheSnapshot {
        Get-ChildItem -LiteralPath $cache -Recurse -File -Force | Sort-Object FullName |
            ForEach-Object { '{0} {1}' -f $_.FullName.Substring($cache.Length), (Get-FileHash -LiteralPath $_.FullName).Hash }
    }

    # Runs the call, which must fail with the id and category given, and checks that nothing changed.
    function Assert-Refused([scriptblock] $Call, [string] $ErrorId, [string] $Category) {
        $logits = Get-Logits
        $snapshot = Get-CacheSnapshot
        $err = $Call | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike "$ErrorId*"
        if ($Category) { $err.CategoryInfo.Category | Should -Be $Category }
        $err.Exception.Message | Should -Not -BeNullOrEmpty
        Get-Logits | Should -BeExactly $logits
        Get-CacheSnapshot | Should -Be $snapshot
        $err
    }
}

Describe 'Invoke-TrtEngine with bad input' {
    It 'refuses <Case> as InvalidInput, changing nothing' -ForEach @(
        @{ Case = 'a missing input'; Feed = { @{} } }
        @{ Case = 'an extra input name'; Feed = { @{ input = $x; extra = $x } } }
        @{ Case = 'an unknown input name'; Feed = { @{ inputs = $x } } }
        @{ Case = 'too few values'; Feed = { @{ input = $x[0..9] } } }
        @{ Case = 'too many values'; Feed = { @{ input = $x + $x[0] } } }
        @{ Case = 'an empty array'; Feed = { @{ input = [float[]]@() } } }
        # The shape of a multi-dimensional or nested array comes along: a transposed one is not read in the wrong order.
        @{ Case = 'a transposed two-dimensional array'; Feed = { @{ input = [float[,]]::new(64, 2) } } }
        @{ Case = 'a two-dimensional array of another width'; Feed = { @{ input = [float[,]]::new(4, 32) } } }
        @{ Case = 'a three-dimensional array'; Feed = { @{ input = [float[,,]]::new(1, 2, 64) } } }
        @{ Case = 'transposed nested arrays'; Feed = { @{ input = @(1..64 | ForEach-Object { , [float[]](1, 2) }) } } }
    ) {
        $feed = & $Feed
        $err = Assert-Refused { Invoke-TrtEngine -Engine $engine -Input $feed -ErrorAction Stop } 'InvalidInput' 'InvalidArgument'
        $err.TargetObject | Should -Be $engine
    }

    It 'refuses a shape of <Shape>, saying <Says>' -ForEach @(
        @{ Shape = @(0, 64); Says = '*every dimension must be at least 1*' }
        # -1 is the dimension the values give (as numpy's reshape takes it); any other negative is refused.
        @{ Shape = @(-2, 64); Says = '*every dimension must be at least 1*' }
        @{ Shape = @(2, 8, 8); Says = '*the engine takes 2 dimensions*' }
        # The model fixes dimension 1 at 64: no other profile could take 32, so the message says so.
        @{ Shape = @(4, 32); Says = '*dimension 1 must be 64*' }
    ) {
        $err = Assert-Refused { Invoke-TrtEngine -Engine $engine -Input @{ input = $x } -InputShape @{ input = $Shape } -ErrorAction Stop } 'InvalidInput' 'InvalidArgument'
        $err.Exception.Message | Should -BeLike $Says
    }

    It 'refuses values that are not numbers as InvalidArgument' {
        Assert-Refused { Invoke-TrtEngine -Engine $engine -Input @{ input = @('a', 'b') } -ErrorAction Stop } 'InvalidArgument' 'InvalidArgument'
        Assert-Refused { Invoke-TrtEngine -Engine $engine -Input @{ input = $null } -ErrorAction Stop } 'InvalidArgument' 'InvalidArgument'
    }

    It 'says what an input can be when given <Case>, not how a conversion failed' -ForEach @(
        # Found by a QA helper: PowerShell's "Cannot convert … to type System.Single" was all these said.
        @{ Case = 'a path that is not .npy'; Value = { './x.json' }; Says = "-Input 'input': './x.json' is neither a number nor the path of a .npy file; give numbers*" }
        @{ Case = 'a hashtable'; Value = { @{ a = 1 } }; Says = "-Input 'input': not a tensor: it has no Shape (a hashtable of a). Give a tensor with Shape and Data*" }
        @{ Case = 'an engine'; Value = { $engine }; Says = "-Input 'input': a TrtEngine (tiny_mlp*) is not a number; give numbers*a .npy file." }
    ) {
        $value = & $Value
        $err = Assert-Refused { Invoke-TrtEngine -Engine $engine -Input @{ input = $value } -ErrorAction Stop } 'InvalidArgument' 'InvalidArgument'
        $err.Exception.Message | Should -BeLike $Says
    }

    It 'refuses an object that is not a tensor (no Shape), saying what a tensor has, as InvalidArgument' {
        $lookalike = [pscustomobject]@{ Name = 'input'; DataType = 'Float32'; Data = $x }
        $err = Assert-Refused { Invoke-TrtEngine -Engine $engine -Input @{ input = $lookalike } -ErrorAction Stop } 'InvalidArgument' 'InvalidArgument'
        $err.Exception.Message | Should -BeLike "-Input 'input': not a tensor: it has no Shape*Give a tensor with Shape and Data*"
    }

    It 'refuses integers float32 cannot hold exactly as InvalidArgument, naming the value' {
        $counts = [long[]]$x
        $counts[5] = 16777217   # would run as 16777216
        $err = Assert-Refused { Invoke-TrtEngine -Engine $engine -Input @{ input = $counts } -ErrorAction Stop } 'InvalidArgument' 'InvalidArgument'
        $err.Exception.Message | Should -BeLike "-Input 'input': 16777217 *float32*"
    }

    It 'refuses such an integer given as <Kind> too, naming it' -ForEach @(
        @{ Kind = 'a [decimal]'; Value = [decimal]16777217 }
        @{ Kind = 'a [bigint]'; Value = [bigint]::Parse('123456789012345678901234567890') }
        @{ Kind = 'a string'; Value = '16777217' }
    ) {
        $feed = [object[]]$x
        $feed[5] = $Value
        $err = Assert-Refused { Invoke-TrtEngine -Engine $engine -Input @{ input = $feed } -ErrorAction Stop } 'InvalidArgument' 'InvalidArgument'
        $err.Exception.Message | Should -BeLike "-Input 'input': $Value *float32*"
    }

    It 'takes fractions and exact integers as [decimal], [bigint] and strings as the numbers they are' {
        $typed = [object[]]$x
        $typed[0] = [decimal]0.25; $typed[1] = [bigint]3; $typed[2] = '-0.5'; $typed[3] = '7'
        $plain = [double[]]$x
        $plain[0] = 0.25; $plain[1] = 3; $plain[2] = -0.5; $plain[3] = 7
        (Invoke-TrtEngine -Engine $engine -Input @{ input = $typed }).Data -join ',' | Should -BeExactly ((Invoke-TrtEngine -Engine $engine -Input @{ input = $plain }).Data -join ',')
    }

    It 'computes NaN inputs without changing the engine (NaN is a float like any other)' {
        $logits = Get-Logits
        $nan = [float[]]::new($x.Count); [Array]::Fill($nan, [float]::NaN)
        $out = Invoke-TrtEngine -Engine $engine -Input @{ input = $nan }
        @($out.Data | Where-Object { [float]::IsNaN($_) }).Count | Should -Be $out.Data.Count
        Get-Logits | Should -BeExactly $logits
    }

    It 'refuses a missing engine at parameter binding' {
        { Invoke-TrtEngine -Engine $null -Input @{ input = $x } -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationErrorNullNotAllowed*'
    }
}

Describe 'Update-TrtEngineWeights with bad input' {
    It 'refuses <Case> as RefitRefused, changing no weight' -ForEach @(
        @{ Case = 'a weight of the wrong shape'; Weights = { @{ '0.weight' = [float[]]::new(3) } } }
        @{ Case = 'a NaN weight'; Weights = { $w = [float[]]::new(32 * 64); $w[5] = [float]::NaN; @{ '0.weight' = $w } } }
        @{ Case = 'an infinite weight'; Weights = { $w = [float[]]::new(32 * 64); $w[0] = [float]::PositiveInfinity; @{ '0.weight' = $w } } }
        @{ Case = 'a name the engine does not have'; Weights = { @{ 'no.such.weight' = [float[]]::new(4) } } }
        @{ Case = 'an empty array'; Weights = { @{ '0.weight' = [float[]]@() } } }
        # [128, 64] given transposed: the right count, the wrong shape.
        @{ Case = 'a transposed two-dimensional array'; Weights = { @{ '0.weight' = [float[,]]::new(64, 128) } } }
        @{ Case = 'transposed nested arrays'; Weights = { @{ '0.weight' = @(1..64 | ForEach-Object { , [float[]]::new(128) }) } } }
    ) {
        $weights = & $Weights
        $err = Assert-Refused { Update-TrtEngineWeights -Engine $engine -Weights $weights -Partial -ErrorAction Stop } 'RefitRefused' 'InvalidData'
        $engine.RefitCount | Should -Be 0
    }

    It 'reports a NaN weight under -WhatIf as RefitRefused too (there no refit follows to find it)' {
        $w = [float[]]::new(32 * 64); $w[5] = [float]::NaN
        Assert-Refused { Update-TrtEngineWeights -Engine $engine -Weights @{ '0.weight' = $w } -Partial -WhatIf -ErrorAction Stop } 'RefitRefused' 'InvalidData'
        $engine.RefitCount | Should -Be 0
    }

    It 'refuses a checkpoint file that does not exist, given by -<_>' -ForEach 'Path', 'LiteralPath' {
        $arguments = @{ $_ = Join-Path $TestDrive 'missing.safetensors' }
        Assert-Refused { Update-TrtEngineWeights -Engine $engine @arguments -ErrorAction Stop } 'WeightsNotFound' 'ObjectNotFound'
    }

    It 'refuses a checkpoint holding integers under a weight''s name as RefitRefused' {
        # The same bytes read as int32: a checkpoint of another type, not float weights.
        $ints = Join-Path $TestDrive 'ints.safetensors'
        Copy-Safetensors $ckpt $ints -Edit { param($header) $header['0.weight'].dtype = 'I32' }
        $err = Assert-Refused { Update-TrtEngineWeights -Engine $engine -Path $ints -ErrorAction Stop } 'RefitRefused' 'InvalidData'
        $err.Exception.Message | Should -Match "'0\.weight': holds integers \(I32\)"
        $engine.RefitCount | Should -Be 0
    }

    It 'refuses a file that is not safetensors as InvalidWeights' {
        $bad = Join-Path $TestDrive 'bad.safetensors'
        [IO.File]::WriteAllBytes($bad, [byte[]](1..64))
        Assert-Refused { Update-TrtEngineWeights -Engine $engine -Path $bad -ErrorAction Stop } 'InvalidWeights' 'InvalidData'
    }
}

Describe 'New-TrtEngine with bad input' {
    It 'refuses <Case>, adding nothing to the cache' -ForEach @(
        @{ Case = 'a model that does not exist'; Arguments = { @{ Path = Join-Path $TestDrive 'missing.onnx' } }; Id = 'ModelNotFound'; Category = 'ObjectNotFound' }
        @{ Case = 'a weights file that does not exist'; Arguments = { @{ Path = $onnx; WeightsPath = Join-Path $TestDrive 'missing.safetensors' } }; Id = 'WeightsNotFound'; Category = 'ObjectNotFound' }
        # Found in session 49: the error of a -WeightsPath pattern that matched several files targeted the model.
        @{ Case = 'a weights file pattern that matches several files'; Arguments = { @{ Path = $onnx; WeightsPath = Join-Path (Split-Path $onnx) 'tiny_mlp.ckpt?.safetensors' } }; Id = 'AmbiguousPath'; Category = 'InvalidArgument'; Message = "'*tiny_mlp.ckpt?.safetensors' matches 3 files (*tiny_mlp.ckpt1.safetensors, *); give one." }
        @{ Case = 'a file that is not ONNX'; Arguments = { $f = Join-Path $TestDrive 'text.onnx'; Set-Content $f 'not a model'; @{ Path = $f } }; Id = 'InvalidModel'; Category = 'InvalidData' }
        @{ Case = 'an empty file'; Arguments = { $f = Join-Path $TestDrive 'empty.onnx'; Set-Content $f -Value $null -NoNewline; @{ Path = $f } }; Id = 'InvalidModel'; Category = 'InvalidData' }
        @{ Case = 'a shape for an input the model does not have'; Arguments = { @{ Path = $onnx; InputShape = @{ nope = 1, 64 } } }; Id = 'InvalidShape'; Category = 'InvalidArgument' }
        @{ Case = 'a shape of the wrong rank'; Arguments = { @{ Path = $onnx; InputShape = @{ input = 1, 64, 1 } } }; Id = 'InvalidShape'; Category = 'InvalidArgument' }
        @{ Case = 'a shape that contradicts the model'; Arguments = { @{ Path = $onnx; InputShape = @{ input = 1, 63 } } }; Id = 'InvalidShape'; Category = 'InvalidArgument' }
        @{ Case = 'a negative dimension'; Arguments = { @{ Path = $onnx; InputShape = @{ input = -2, 64 } } }; Id = 'InvalidShape'; Category = 'InvalidArgument' }
        @{ Case = 'a zero dimension, which no inference could fill'; Arguments = { @{ Path = $onnx; InputShape = @{ input = 0, 64 } } }; Id = 'InvalidShape'; Category = 'InvalidArgument' }
        @{ Case = 'a range from a zero dimension'; Arguments = { @{ Path = $onnx; MinShape = @{ input = 0, 64 }; MaxShape = @{ input = 4, 64 } } }; Id = 'InvalidShape'; Category = 'InvalidArgument' }
        @{ Case = 'a tuning shape above the largest allowed'; Arguments = { @{ Path = $onnx; OptShape = @{ input = 8, 64 }; MaxShape = @{ input = 4, 64 } } }; Id = 'InvalidShape'; Category = 'InvalidArgument' }
        @{ Case = 'a minimum above its maximum'; Arguments = { @{ Path = $onnx; MinShape = @{ input = 8, 64 }; MaxShape = @{ input = 2, 64 } } }; Id = 'InvalidShape'; Category = 'InvalidArgument' }
        @{ Case = 'a shape that is not numbers'; Arguments = { @{ Path = $onnx; InputShape = @{ input = 'a', 'b' } } }; Id = 'InvalidArgument'; Category = 'InvalidArgument' }
        # Found by a QA helper: '8,64' was read as the number 864, and $null gave .NET's "Value cannot be null".
        @{ Case = 'a shape written as text'; Arguments = { @{ Path = $onnx; OptShape = @{ input = '8,64' } } }; Id = 'InvalidArgument'; Category = 'InvalidArgument'; Message = "-OptShape 'input': the shape '8,64' is text; give the dimensions as numbers*" }
        @{ Case = 'a null shape'; Arguments = { @{ Path = $onnx; OptShape = @{ input = $null } } }; Id = 'InvalidArgument'; Category = 'InvalidArgument'; Message = "-OptShape 'input': the shape is null; give the dimensions as numbers*" }
        # Found by a QA helper (session 50): 2.5 was rounded to 2 without a word, and an opt batch of 20 million rows took
        # gigabytes of timing buffers before an arithmetic overflow.
        @{ Case = 'a fraction as a dimension'; Arguments = { @{ Path = $onnx; InputShape = @{ input = 2.5, 64 } } }; Id = 'InvalidArgument'; Category = 'InvalidArgument'; Message = "*the dimension 2.5 is not a whole number*" }
        @{ Case = 'an opt shape no buffer can hold'; Arguments = { @{ Path = $onnx; OptShape = @{ input = 20000000, 64 }; MaxShape = @{ input = 20000000, 64 } } }; Id = 'InvalidShape'; Category = 'InvalidArgument'; Message = "Input 'input' at the opt shape ``[20000000, 64``], which the build times, would hold 1,280,000,000 values*Give a smaller -OptShape*" }
        @{ Case = 'a weights file whose tensor is not of the weight''s shape'; Arguments = {
                $f = Join-Path $TestDrive 'reshaped.safetensors'
                Copy-Safetensors $ckpt $f -Edit { param($header) [array]::Reverse($header['0.weight'].shape) }
                @{ Path = $onnx; WeightsPath = $f } }; Id = 'InvalidWeights'; Category = 'InvalidData' }
        # Found by a QA helper: a checkpoint saved under DDP ('module.' names) built an engine with the model's own weights, with a warning.
        @{ Case = 'a weights file none of whose names the model has'; Arguments = { @{ Path = $onnx; WeightsPath = Join-Path (Split-Path $onnx) 'tiny_mlp.ddp.safetensors' } }; Id = 'InvalidWeights'; Category = 'InvalidData'; Message = "None of the 6 weights in '*tiny_mlp.ddp.safetensors' is named as an input or initializer of the model ('module.*' against the model's*Without 'module.' they are the model's: -NameMap { `$_ -replace '^module\.', '' } takes it off." }
        @{ Case = 'a weights file holding integers for a weight'; Arguments = {
                $f = Join-Path $TestDrive 'int-weights.safetensors'
                Copy-Safetensors $ckpt $f -Edit { param($header) $header['0.bias'].dtype = 'I32' }
                @{ Path = $onnx; WeightsPath = $f } }; Id = 'InvalidWeights'; Category = 'InvalidData' }
    ) {
        $arguments = & $Arguments
        $err = Assert-Refused { New-TrtEngine @arguments -CacheDirectory $cache -OptimizationLevel 0 -ErrorAction Stop } $Id $Category
        if ($Message) { $err.Exception.Message | Should -BeLike $Message }
        # The file in error is the target: the weights file for a problem of its own, missing or not.
        if ($arguments.WeightsPath) { "$($err.TargetObject)" | Should -BeLike "*$(Split-Path -Leaf $arguments.WeightsPath)" }
    }

    It 'says a pattern matched only folders' {
        New-Item -ItemType Directory (Join-Path $TestDrive 'dir.onnx') -Force | Out-Null
        $err = Assert-Refused { New-TrtEngine -Path (Join-Path $TestDrive 'di*.onnx') -CacheDirectory $cache -ErrorAction Stop } 'ModelNotFound' 'ObjectNotFound'
        $err.Exception.Message | Should -BeLike '*matches only folders*'
    }

    It 'says which dimension the model fixes when a tuning shape alone changes it' {
        $err = Assert-Refused { New-TrtEngine -Path $onnx -CacheDirectory $cache -OptShape @{ input = 8, 32 } -ErrorAction Stop } 'InvalidShape' 'InvalidArgument'
        $err.Exception.Message | Should -BeLike '*change dimension 1, which the model fixes at 64*'
    }

    It 'refuses an optimization level and a cache size limit out of range at parameter binding' {
        { New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 9 } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        { New-TrtEngine -Path $onnx -CacheDirectory $cache -CacheSizeLimit 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }
}

Describe 'Import-TrtEngine and Export-TrtEngine with bad input' {
    It 'refuses a plan file that is <Case> as InvalidEnginePlan' -ForEach @(
        @{ Case = 'random bytes'; Bytes = { [byte[]](1..200) } }
        @{ Case = 'empty'; Bytes = { [byte[]]@() } }
        @{ Case = 'truncated'; Bytes = { $p = Join-Path $TestDrive 'whole.trtp'; Export-TrtEngine -Engine $engine -Path $p -Force; $b = [IO.File]::ReadAllBytes($p); $b[0..($b.Length / 2)] } }
    ) {
        $file = Join-Path $TestDrive 'bad.trtp'
        $bytes = & $Bytes
        [IO.File]::WriteAllBytes($file, [byte[]]@($bytes))
        Assert-Refused { Import-TrtEngine -Path $file -ErrorAction Stop } 'InvalidEnginePlan' 'InvalidData'
    }

    It 'refuses a plan file that does not exist' {
        Assert-Refused { Import-TrtEngine -Path (Join-Path $TestDrive 'missing.trtp') -ErrorAction Stop } 'EngineNotFound' 'ObjectNotFound'
    }

    It 'refuses to export into a folder that does not exist, naming the folder and writing nothing' {
        $target = Join-Path $TestDrive 'no/such/folder/engine.trtp'
        $err = Assert-Refused { Export-TrtEngine -Engine $engine -Path $target -ErrorAction Stop } 'FileNotFound' 'ObjectNotFound'
        $err.Exception.Message | Should -BeLike "*'$(Join-Path $TestDrive 'no/such/folder')' does not exist*"
        Test-Path (Join-Path $TestDrive 'no') | Should -BeFalse
    }

    It 'refuses a path pattern that matches several files as AmbiguousPath, naming the pattern' {
        $plans = Join-Path $TestDrive 'plans'
        New-Item -ItemType Directory $plans -Force | Out-Null
        Export-TrtEngine -Engine $engine -Path (Join-Path $plans 'a.engine') -Force
        Export-TrtEngine -Engine $engine -Path (Join-Path $plans 'b.engine') -Force
        $pattern = Join-Path $plans '*.engine'
        $err = Assert-Refused { Export-TrtEngine -Engine $engine -Path $pattern -Force -ErrorAction Stop } 'AmbiguousPath' 'InvalidArgument'
        $err.TargetObject | Should -Be $pattern
        $err.Exception.Message | Should -BeLike "'$pattern' matches 2 items (*a.engine, *b.engine); give one."
    }

    It 'refuses to export onto a folder, even with -Force' {
        $folder = (New-Item -ItemType Directory (Join-Path $TestDrive 'a-folder')).FullName
        $err = Assert-Refused { Export-TrtEngine -Engine $engine -Path $folder -Force -ErrorAction Stop } 'IOError'
        $err.Exception.Message | Should -BeLike '*is a folder*'
        Test-Path -PathType Container $folder | Should -BeTrue
    }

    It 'refuses to write a second engine of one pipeline over the first' {
        $target = Join-Path $TestDrive 'one.trtp'
        $second = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0
        $engine, $second | Export-TrtEngine -Path $target -Force -ErrorAction SilentlyContinue -ErrorVariable errors
        $errors.Count | Should -Be 1
        $errors[0].Exception.Message | Should -BeLike '*already written by this command*'
        (Import-TrtEngine -Path $target).Name | Should -Be $engine.Name
    }

    It 'refuses a disposed engine as EngineDisposed, saying so once and warning of nothing' {
        $gone = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0
        $gone.Dispose()
        $gone.IsDisposed | Should -BeTrue
        $err = { Export-TrtEngine -Engine $gone -Path (Join-Path $TestDrive 'gone.trtp') -ErrorAction Stop -WarningVariable warned } | Should -Throw -ErrorId 'EngineDisposed*' -PassThru
        $warned | Should -BeNullOrEmpty
        $err.Exception.Message | Should -Not -Match 'Object name'
        { Get-TrtEngineInfo -Engine $gone -ErrorAction Stop } | Should -Throw -ErrorId 'EngineDisposed*'
        Test-Path (Join-Path $TestDrive 'gone.trtp') | Should -BeFalse
    }
}

Describe 'Cache cmdlets with bad input' {
    It 'removes nothing for keys that are not keys (<_>)' -ForEach '../../etc', '..', '*/..', ('0' * 40) {
        $key = $_
        $logits = Get-Logits
        $snapshot = Get-CacheSnapshot
        Remove-TrtCache -Key $key -CacheDirectory $cache -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable errors
        Get-CacheSnapshot | Should -Be $snapshot
        Get-Logits | Should -BeExactly $logits
        if (-not [WildcardPattern]::ContainsWildcardCharacters($key)) { $errors[0].FullyQualifiedErrorId | Should -BeLike 'CacheEntryNotFound*' }
    }

    It 'lists, tests and summarizes a cache directory that does not exist without creating it' {
        $missing = Join-Path $TestDrive 'no-cache'
        @(Get-TrtCache -CacheDirectory $missing).Count | Should -Be 0
        (Get-TrtCache -CacheDirectory $missing -Summary).Entries | Should -Be 0
        @(Test-TrtCache -CacheDirectory $missing).Count | Should -Be 0
        Test-Path $missing | Should -BeFalse
    }

    It 'refuses a cache directory that is a file for <_>, as CacheDirectoryIsFile' -ForEach 'Get-TrtCache', 'Test-TrtCache', 'Clear-TrtCache', 'Lock-TrtCache' {
        $file = Join-Path $TestDrive 'a-file'
        Set-Content -LiteralPath $file -Value 'not a cache'
        $arguments = @{ CacheDirectory = $file }
        if ($_ -eq 'Lock-TrtCache') { $arguments.Key = '*' }
        if ($_ -eq 'Clear-TrtCache') { $arguments.Confirm = $false }
        $err = { & $_ @arguments -ErrorAction Stop } | Should -Throw -ErrorId 'CacheDirectoryIsFile*' -PassThru
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.Exception.Message | Should -BeLike '*is a file, not a folder*'
        $err.TargetObject | Should -Be $file
        Get-Content -LiteralPath $file | Should -Be 'not a cache'
    }

    It 'refuses to save a cache directory that is a file, keeping the saved settings' {
        $saved = $env:TRTENGINE_CONFIG_DIR
        try {
            $env:TRTENGINE_CONFIG_DIR = Join-Path $TestDrive 'config-file'
            $before = Get-TrtCacheOption
            $file = Join-Path $TestDrive 'not-a-folder'
            Set-Content -LiteralPath $file -Value 'mine'
            $err = { Set-TrtCacheOption -CacheDirectory $file -ErrorAction Stop } | Should -Throw -ErrorId 'CacheDirectoryIsFile*' -PassThru
            $err.TargetObject | Should -Be $file
            (Get-TrtCacheOption).CacheDirectory | Should -Be $before.CacheDirectory
            Get-Content -LiteralPath $file | Should -Be 'mine'
        }
        finally { $env:TRTENGINE_CONFIG_DIR = $saved }
    }

    It 'refuses a path on another provider than the file system (<Case>), as NotFileSystemPath, creating nothing' -ForEach @(
        # env:NAME for $env:NAME: its provider path, the bare name, was a folder in the process's working directory.
        @{ Case = 'Get-TrtCache -CacheDirectory env:NAME'; Call = { Get-TrtCache -CacheDirectory "env:$name" -ErrorAction Stop } }
        @{ Case = 'Test-TrtCache -CacheDirectory variable:/NAME'; Call = { Test-TrtCache -CacheDirectory "variable:/$name" -ErrorAction Stop } }
        @{ Case = 'New-TrtEngine -CacheDirectory env:NAME'; Call = { New-TrtEngine -Path $onnx -CacheDirectory "env:$name" -ErrorAction Stop } }
        @{ Case = 'Export-TrtEngine -Path variable:/NAME'; Call = { Export-TrtEngine -Engine $engine -Path "variable:/$name" -ErrorAction Stop } }
        @{ Case = 'New-TrtEngine -LiteralPath env:NAME'; Call = { New-TrtEngine -LiteralPath "env:$name" -ErrorAction Stop } }
        @{ Case = 'Set-TrtCacheOption -CacheDirectory env:NAME'; Call = { Set-TrtCacheOption -CacheDirectory "env:$name" -ErrorAction Stop } }
    ) {
        $name = "TrtEngineNotAFolder$(Get-Random)"
        $saved = $env:TRTENGINE_CONFIG_DIR
        try {
            $env:TRTENGINE_CONFIG_DIR = Join-Path $TestDrive 'config-provider'
            $err = Assert-Refused $Call 'NotFileSystemPath' 'InvalidArgument'
            $err.Exception.Message | Should -BeLike "*not a file system path*"
            Test-Path -LiteralPath (Join-Path ([Environment]::CurrentDirectory) $name) | Should -BeFalse
            Test-Path -LiteralPath (Join-Path $TestDrive 'config-provider') | Should -BeFalse
        }
        finally { $env:TRTENGINE_CONFIG_DIR = $saved }
    }

    It 'refuses a path on a drive the session does not have (<Case>), as DriveNotFound (ObjectNotFound)' -ForEach @(
        # Written as UnexpectedError (NotSpecified) before.
        @{ Case = 'New-TrtEngine -Path'; Call = { New-TrtEngine -Path 'NoSuchTrtDrive:/model.onnx' -ErrorAction Stop } }
        @{ Case = 'New-TrtEngine -CacheDirectory'; Call = { New-TrtEngine -Path $onnx -CacheDirectory 'NoSuchTrtDrive:/cache' -ErrorAction Stop } }
        @{ Case = 'Export-TrtEngine -Path'; Call = { Export-TrtEngine -Engine $engine -Path 'NoSuchTrtDrive:/x.engine' -ErrorAction Stop } }
    ) {
        $err = Assert-Refused $Call 'DriveNotFound' 'ObjectNotFound'
        $err.Exception.Message | Should -BeLike "*NoSuchTrtDrive*"
    }

    It 'refuses a size limit out of range, keeping the saved settings' {
        $saved = $env:TRTENGINE_CONFIG_DIR
        try {
            $env:TRTENGINE_CONFIG_DIR = Join-Path $TestDrive 'config'
            $before = Get-TrtCacheOption
            { Set-TrtCacheOption -SizeLimit 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
            { Set-TrtCacheOption -SizeLimit -5 } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
            (Get-TrtCacheOption).SizeLimitBytes | Should -Be $before.SizeLimitBytes
            Test-Path (Join-Path $TestDrive 'config') | Should -BeFalse
        }
        finally { $env:TRTENGINE_CONFIG_DIR = $saved }
    }

    It 'refuses a missing engine for Get-TrtEngineInfo at parameter binding' {
        { Get-TrtEngineInfo -Engine $null } | Should -Throw -ErrorId 'ParameterArgumentValidationErrorNullNotAllowed*'
    }
}
