# PowerShell's conventions where a user leans on them: what binds from the pipeline beside positional arguments,
# wildcards in output paths, tensors and inputs given as hashtables or objects read from JSON, the target of an
# error, and messages that read the same in every culture.

BeforeAll {
    Import-Module "$PSScriptRoot/../../out/TrtEngine/TrtEngine.psd1" -Force
    $models = Join-Path $PSScriptRoot '../../examples/models'
    $onnx = Join-Path $models 'tiny_mlp.onnx'
    $ckpt2 = Join-Path $models 'tiny_mlp.ckpt2.safetensors'
    $inputJson = Join-Path $models 'tiny_mlp.input.json'
    $x = [float[]](Get-Content -Raw $inputJson | ConvertFrom-Json).input.data
    $cache = Join-Path $TestDrive 'cache'
    $engine = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0

    function Get-Logits($Engine) { (Invoke-TrtEngine -Engine $Engine -Input @{ input = $x }).Data -join ',' }
}

Describe 'An engine piped to the cache cmdlets' {
    It 'names its own entry: Lock-TrtCache pins it, Test-TrtCache checks it, Get-TrtCache lists it' {
        $engine | Lock-TrtCache -PassThru | ForEach-Object Key | Should -Be $engine.CacheKey
        (Get-TrtCache -CacheDirectory $cache -Key $engine.CacheKey).Pinned | Should -BeTrue
        ($engine | Test-TrtCache).Key | Should -Be $engine.CacheKey
        ($engine | Get-TrtCache).Key | Should -Be $engine.CacheKey
        $engine | Unlock-TrtCache
        (Get-TrtCache -CacheDirectory $cache -Key $engine.CacheKey).Pinned | Should -BeFalse
    }

    It 'is refused when it has no entry, instead of matching nothing without a word' {
        $uncached = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        { $uncached | Lock-TrtCache -CacheDirectory $cache -ErrorAction Stop } | Should -Throw '*has no cache entry*'
    }

    It 'refuses a key that no entry could have (an object''s description bound as text)' {
        Remove-TrtCache -CacheDirectory $cache -Key 'tiny_mlp (input[?, 64])' -ErrorAction SilentlyContinue -ErrorVariable errors
        $errors.FullyQualifiedErrorId | Should -BeLike 'CacheEntryNotFound*'
        $errors[0].Exception.Message | Should -BeLike '*is not a cache key*'
        @(Get-TrtCache -CacheDirectory $cache).Count | Should -Be 1
    }
}

Describe 'A piped engine beside positional arguments' {
    It 'binds the first positional argument to the path or inputs, not to the engine' {
        $file = Join-Path $TestDrive 'positional.engine'
        $engine | Export-TrtEngine $file
        Test-Path -LiteralPath $file | Should -BeTrue

        $copy = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $before = Get-Logits $copy
        $copy | Update-TrtEngineWeights $ckpt2
        Get-Logits $copy | Should -Not -Be $before

        ($engine | Invoke-TrtEngine @{ input = $x }).Data -join ',' | Should -Be (Get-Logits $engine)
        # The engine given first, by position, still binds as before.
        (Invoke-TrtEngine $engine @{ input = $x }).Data -join ',' | Should -Be (Get-Logits $engine)
    }

    It 'runs the engine given once per input set piped to it, hashtables and objects alike' {
        # Found by a QA helper (session 50): only the engine took pipeline input, so a stream of input sets could not flow through.
        $first, $second = [float[]]$x[0..63], [float[]]$x[64..127]
        $outputs = @{ input = $first }, [pscustomobject]@{ input = $second } | Invoke-TrtEngine $engine
        $outputs.Count | Should -Be 2
        $outputs[0].Shape | Should -Be 1, 10
        (($outputs[0].Data + $outputs[1].Data) -join ',') | Should -Be (Get-Logits $engine)
        # One set that does not fit is an error of its own; the others still run.
        $ran = @{ input = $first }, @{ nope = $first }, @{ input = $second } | Invoke-TrtEngine $engine -ErrorVariable refused -ErrorAction SilentlyContinue
        $ran.Count | Should -Be 2
        $refused.Count | Should -Be 1
        $refused[0].FullyQualifiedErrorId | Should -BeLike 'InvalidInput*'
    }
}

Describe 'Wildcards in output paths' {
    BeforeAll {
        $folder = Join-Path $TestDrive 'out'
        $null = New-Item -ItemType Directory -Path $folder
        $tensor = Invoke-TrtEngine -Engine $engine -Input @{ input = $x }
    }

    It 'refuses a pattern that matches nothing, and writes no file named by it' {
        { $engine | Export-TrtEngine -Path (Join-Path $folder '*.engine') -ErrorAction Stop } | Should -Throw '*matches nothing*-LiteralPath*'
        { $tensor | Export-TrtTensor -Path (Join-Path $folder 't?.npy') -ErrorAction Stop } | Should -Throw '*matches nothing*'
        { $tensor | Export-TrtTensor -Directory (Join-Path $folder 'd*') -ErrorAction Stop } | Should -Throw '*matches nothing*'
        @(Get-ChildItem -LiteralPath $folder).Count | Should -Be 0
    }

    It 'writes to the one file a pattern matches, and -LiteralPath writes a name as it is' {
        $engine | Export-TrtEngine -LiteralPath (Join-Path $folder '[a].engine')
        Test-Path -LiteralPath (Join-Path $folder '[a].engine') | Should -BeTrue
        $engine | Export-TrtEngine -Path (Join-Path $folder 'one.engine')
        $engine | Export-TrtEngine -Path (Join-Path $folder 'on?.engine') -Force -PassThru | ForEach-Object Name | Should -Be 'one.engine'
        { $engine | Export-TrtEngine -Path (Join-Path $folder 'x*') -ErrorAction Stop } | Should -Throw '*matches nothing*'
    }
}

Describe 'Tensors and inputs given as hashtables or as objects read from JSON' {
    It 'checks a hashtable tensor''s values as it checks an object''s' {
        $npy = Join-Path $TestDrive 'h.npy'
        { @{ Name = 'a'; Shape = 2; Data = 1e300, 1 } | Export-TrtTensor -Path $npy -ErrorAction Stop } | Should -Throw "*beyond float32's range*"
        { @{ Name = 'a'; Shape = 2; Data = 16777217, 1 } | Export-TrtTensor -Path $npy -ErrorAction Stop } | Should -Throw '*float32*'
        Test-Path -LiteralPath $npy | Should -BeFalse
        @{ Name = 'a'; Shape = 2; Data = 1.5, 2 } | Export-TrtTensor -Path $npy
        (Import-TrtTensor -Path $npy).Data | Should -Be @(1.5, 2)
    }

    It 'says what a tensor made by hand lacks, in words' {
        $err = { [TrtEngine.Core.Engines.TrtTensor]::new() | Export-TrtTensor -Path (Join-Path $TestDrive 'e.npy') -ErrorAction Stop } | Should -Throw -PassThru
        $err.Exception.Message | Should -BeLike '*has no Shape*'
        $err = { [pscustomobject]@{ Name = 'b'; Shape = 3; Data = 1, 2 } | Export-TrtTensor -Path (Join-Path $TestDrive 'b.npy') -ErrorAction Stop } | Should -Throw -PassThru
        $err.Exception.Message | Should -BeLike '*holds 3 values but the data has 2*'
        $err.Exception.Message | Should -Not -BeLike '*(Parameter*'
    }

    It 'runs on inputs read with ConvertFrom-Json, as objects or with -AsHashtable, and on a hashtable tensor' {
        $expected = Get-Logits $engine
        $batch2 = Invoke-TrtEngine -Engine $engine -Input @{ input = (Get-Content -Raw $inputJson | ConvertFrom-Json).input }
        (Invoke-TrtEngine -Engine $engine -Input (Get-Content -Raw $inputJson | ConvertFrom-Json)).Data -join ',' | Should -Be ($batch2.Data -join ',')
        (Invoke-TrtEngine -Engine $engine -Input (Get-Content -Raw $inputJson | ConvertFrom-Json -AsHashtable)).Data -join ',' | Should -Be ($batch2.Data -join ',')
        (Invoke-TrtEngine -Engine $engine -Input @{ input = @{ Shape = 2, 64; Data = $x } }).Data -join ',' | Should -Be $expected
    }
}

Describe 'The target of an error' {
    It 'is the file at fault: a damaged checkpoint piped in, a .npy input that does not exist' {
        $bad = Join-Path $TestDrive 'bad.safetensors'
        Set-Content -LiteralPath $bad -Value 'junk'
        Get-Item -LiteralPath $bad | Update-TrtEngineWeights -Engine $engine -ErrorAction SilentlyContinue -ErrorVariable errors
        $errors.FullyQualifiedErrorId | Should -BeLike 'InvalidWeights*'
        $errors[0].TargetObject | Should -Be (Get-Item -LiteralPath $bad).FullName

        $missing = Join-Path $TestDrive 'missing.npy'
        Invoke-TrtEngine -Engine $engine -Input @{ input = $missing } -ErrorAction SilentlyContinue -ErrorVariable errors
        $errors.FullyQualifiedErrorId | Should -BeLike 'TensorFileNotFound*'
        $errors[0].TargetObject | Should -Be $missing
    }

    It 'is the engine that could not be exported' {
        $file = Join-Path $TestDrive 'one.engine'
        $other = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $engine, $other | Export-TrtEngine -Path $file -ErrorAction SilentlyContinue -ErrorVariable errors
        $errors[0].Exception.Message | Should -BeLike '*already written by this command*'
        $errors[0].TargetObject | Should -Be $other
    }
}

Describe 'Small conventions' {
    It 'writes a missing filter of Remove-TrtCache as a non-terminating error with an id' {
        Remove-TrtCache -CacheDirectory $cache -LastAccessedBefore $null -ErrorAction SilentlyContinue -ErrorVariable errors
        $errors.FullyQualifiedErrorId | Should -BeLike 'NoFilter*'
        @(Get-TrtCache -CacheDirectory $cache).Count | Should -Be 1
    }

    It 'does not ask to empty a cache that holds nothing' {
        $empty = Join-Path $TestDrive 'empty-cache'
        $null = New-Item -ItemType Directory -Path $empty
        # -Confirm would prompt (and fail without a host to answer) if it asked.
        $verbose = Clear-TrtCache -CacheDirectory $empty -Confirm -Verbose 4>&1
        "$verbose" | Should -BeLike '*holds no entries; nothing to remove*'
    }

    It 'says which weights a refused refit lacks in sentences, with the way to refit some of them' {
        $err = { Update-TrtEngineWeights -Engine $engine -Weights @{ '0.bias' = [float[]]::new(128) } -ErrorAction Stop } | Should -Throw -PassThru
        $err.Exception.Message | Should -BeLike "*refused; nothing was changed. Missing *-Partial*"
    }

    It 'writes numbers in a verification failure the same in every culture' {
        $culture = [cultureinfo]::CurrentCulture
        try {
            [cultureinfo]::CurrentCulture = 'de-DE'
            $copy = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
            $err = { $copy | Update-TrtEngineWeights -Path $ckpt2 -Verify -Tolerance 1e-30 -ErrorAction Stop } | Should -Throw -PassThru
            $err.Exception.Message | Should -Match 'relative L2 error \d\.\d\dE-\d{3}, above the tolerance 1\.0E-030'
        }
        finally {
            [cultureinfo]::CurrentCulture = $culture
        }
    }
}
