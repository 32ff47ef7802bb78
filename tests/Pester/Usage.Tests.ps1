# The module's usage patterns end to end, against the built module in out/TrtEngine:
# build or pull from the cache, refit in a loop, maintain the cache from the pipeline, export/import.

BeforeAll {
    Import-Module "$PSScriptRoot/../../out/TrtEngine/TrtEngine.psd1" -Force
    . "$PSScriptRoot/Support/Safetensors.ps1"
    $models = Join-Path $PSScriptRoot '../../examples/models'
    $onnx = Join-Path $models 'tiny_mlp.onnx'
    $checkpoints = 1..3 | ForEach-Object { Join-Path $models "tiny_mlp.ckpt$_.safetensors" }
    $x = [float[]](Get-Content -Raw (Join-Path $models 'tiny_mlp.input.json') | ConvertFrom-Json).input.data
    $feed = @{ input = $x }

    # The logits of one run, as a string, so that runs compare exactly and failures print readably.
    function Get-Logits($Engine) {
        (Invoke-TrtEngine -Engine $Engine -Input $feed | Where-Object Name -eq 'logits').Data -join ','
    }
}

Describe 'New-TrtEngine' {
    BeforeAll {
        $cache = Join-Path $TestDrive 'cache'
        $first = New-TrtEngine -Path $onnx -CacheDirectory $cache
        $second = New-TrtEngine -Path $onnx -CacheDirectory $cache
    }

    It 'builds a refittable engine with weights' {
        $first | Should -BeOfType 'TrtEngine.Core.Engines.TrtEngine'
        $first.Name | Should -Be 'tiny_mlp'
        $first.Inputs.Name | Should -Be 'input'
        $first.Inputs[0].Shape[-1] | Should -Be 64
        $first.Outputs.Name | Should -Be 'logits'
        $first.Outputs[0].Shape[-1] | Should -Be 10
        $first.HasWeights | Should -BeTrue
        $first.IsRefittable | Should -BeTrue
        $first.CacheKey | Should -Not -BeNullOrEmpty
        $first.FromCache | Should -BeFalse
    }

    It 'takes the same model from the cache the second time' {
        $second.FromCache | Should -BeTrue
        $second.CacheKey | Should -Be $first.CacheKey
        $second.HasWeights | Should -BeTrue
        $second.IsRefittable | Should -BeTrue
    }

    It 'refits a cache hit with the model''s weights' {
        Get-Logits $second | Should -Be (Get-Logits $first)
    }

    It 'refuses a disposed engine with EngineDisposed, and a later hit on its memory computes the same' {
        $expected = Get-Logits $second
        $third = New-TrtEngine -Path $onnx -CacheDirectory $cache
        $third.Dispose()
        $err = { Invoke-TrtEngine -Engine $third -Input $feed -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'EngineDisposed*'
        $err.Exception.Message | Should -BeLike '*disposed*'
        Get-Logits (New-TrtEngine -Path $onnx -CacheDirectory $cache) | Should -Be $expected
    }

    It 'keeps one entry for the model' {
        $entries = @(Get-TrtCache -CacheDirectory $cache)
        $entries.Count | Should -Be 1
        $entries[0].Key | Should -Be $first.CacheKey
        $entries[0].ModelName | Should -Be 'tiny_mlp'
        $entries[0].SizeBytes | Should -BeGreaterThan 0
        $entries[0].Path | Should -Exist
    }

    It 'accepts models piped from Get-ChildItem' {
        $engine = Get-Item $onnx | New-TrtEngine -CacheDirectory $cache
        $engine.FromCache | Should -BeTrue
    }

    It 'rebuilds and replaces the entry with -Force' {
        $engine = New-TrtEngine -Path $onnx -CacheDirectory $cache -Force
        $engine.FromCache | Should -BeFalse
        @(Get-TrtCache -CacheDirectory $cache).Count | Should -Be 1
    }

    It 'leaves the cache empty with -NoCache' {
        $empty = (New-Item -ItemType Directory (Join-Path $TestDrive 'nocache')).FullName
        $engine = New-TrtEngine -LiteralPath $onnx -CacheDirectory $empty -NoCache
        $engine.FromCache | Should -BeFalse
        @(Get-TrtCache -CacheDirectory $empty).Count | Should -Be 0
    }

    It 'tunes for -OptShape alone and still runs any batch' {
        $engine = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptShape @{ input = 8, 64 } -OptimizationLevel 0
        $engine.Inputs[0].OptShape | Should -Be @(8, 64)
        foreach ($batch in 1, 20) {
            $out = Invoke-TrtEngine -Engine $engine -Input @{ input = [float[]]::new($batch * 64) }
            $out[0].Shape | Should -Be @($batch, 10)
        }
    }

    It 'takes an input as a two-dimensional array or nested arrays in its shape' {
        $engine = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0
        $grid = [float[,]]::new(2, 64)
        for ($i = 0; $i -lt 128; $i++) { $grid[[math]::Floor($i / 64), ($i % 64)] = $x[$i] }
        $nested = @(, [float[]]$x[0..63]) + @(, [float[]]$x[64..127])
        $expected = (Invoke-TrtEngine -Engine $engine -Input $feed).Data -join ','
        foreach ($value in $grid, $nested) {
            $out = Invoke-TrtEngine -Engine $engine -Input @{ input = $value }
            $out.Shape | Should -Be @(2, 10)
            $out.Data -join ',' | Should -Be $expected
        }
    }

    It 'lets Select-Object -First stop Invoke-TrtEngine, and the script goes on' {
        $engine = New-TrtEngine -Path $onnx -CacheDirectory $cache
        $script:after = $false
        $first = Invoke-TrtEngine -Engine $engine -Input $feed | Select-Object -First 1
        $script:after = $true
        $first.Name | Should -Be 'logits'
        $script:after | Should -BeTrue
    }

    It 'takes piped files by their literal path, brackets and all' {
        $dir = New-Item -ItemType Directory (Join-Path $TestDrive 'we[ir]d')
        Copy-Item -LiteralPath $onnx -Destination (Join-Path $dir 'm[1].onnx')
        # m1.onnx is what the name would match as a pattern: it must not be the file read.
        Set-Content -LiteralPath (Join-Path $dir 'm1.onnx') -Value 'not a model'
        $engine = Get-ChildItem -LiteralPath $dir | Where-Object Name -eq 'm[1].onnx' | New-TrtEngine -CacheDirectory $cache
        $engine.FromCache | Should -BeTrue
        $engine.ModelPath | Should -Be (Join-Path $dir 'm[1].onnx')
    }

    It 'builds an engine for every model a -Path pattern matches' {
        $dir = New-Item -ItemType Directory (Join-Path $TestDrive 'several')
        'a', 'b' | ForEach-Object { Copy-Item -LiteralPath $onnx -Destination (Join-Path $dir "$_.onnx") }
        $engines = @(New-TrtEngine -Path (Join-Path $dir '*.onnx') -CacheDirectory $cache)
        $engines.ModelPath | Should -Be @((Join-Path $dir 'a.onnx'), (Join-Path $dir 'b.onnx'))
    }

    It 'takes several paths, going on past one that names no file' {
        # Found by a QA helper: -Path took one string, and a list was refused as not convertible to it.
        $dir = New-Item -ItemType Directory (Join-Path $TestDrive 'listed')
        'a', 'b' | ForEach-Object { Copy-Item -LiteralPath $onnx -Destination (Join-Path $dir "$_.onnx") }
        $paths = (Join-Path $dir 'a.onnx'), (Join-Path $dir 'missing.onnx'), (Join-Path $dir 'b.onnx')
        $engines = @(New-TrtEngine -Path $paths -CacheDirectory $cache -ErrorVariable missing -ErrorAction SilentlyContinue)
        $engines.ModelPath | Should -Be @((Join-Path $dir 'a.onnx'), (Join-Path $dir 'b.onnx'))
        $missing.FullyQualifiedErrorId | Should -BeLike 'ModelNotFound*'
        @(New-TrtEngine -LiteralPath $paths[0], $paths[2] -CacheDirectory $cache).Count | Should -Be 2
    }

    It 'refuses an empty -CacheDirectory (an unset variable) instead of using the current folder' {
        { New-TrtEngine -Path $onnx -CacheDirectory '' -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        { Get-TrtCache -CacheDirectory $notSet } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }

    It 'says with -WhatIf whether it would load the entry or build one, and touches no cache' {
        $fresh = Join-Path $TestDrive 'whatif-cache'
        $hits = (Get-TrtCache -CacheDirectory $cache)[0].HitCount
        $log = Join-Path $TestDrive 'new-whatif.txt'
        Start-Transcript -Path $log | Out-Null
        try {
            $engines = @(
                New-TrtEngine -Path $onnx -CacheDirectory $cache -WhatIf
                New-TrtEngine -Path $onnx -CacheDirectory $fresh -WhatIf
            )
        }
        finally {
            Stop-Transcript | Out-Null
        }
        $engines.Count | Should -Be 0
        $text = Get-Content -Raw $log
        $text | Should -Match ([regex]::Escape("Load cache entry $($first.CacheKey) from $cache and refit it"))
        $text | Should -Match ([regex]::Escape("Build an engine and store it as cache entry $($first.CacheKey) in $fresh"))
        $fresh | Should -Not -Exist
        (Get-TrtCache -CacheDirectory $cache)[0].HitCount | Should -Be $hits
    }

    It 'warns of switches that others make meaningless' {
        # Found by a QA helper (session 50): they were passed over without a word.
        $null = New-TrtEngine -Path $onnx -NoCache -Force -CacheSizeLimit 1MB -OptimizationLevel 0 -WarningVariable unused -WarningAction SilentlyContinue
        "$unused" | Should -Be '-NoCache neither reads nor writes the cache, so -CacheSizeLimit and -Force change nothing.'
        $stripped = New-TrtEngine -Path $onnx -NoCache -StripWeights -WeightsPath $checkpoints[1] -OptimizationLevel 0 -WarningVariable dropped -WarningAction SilentlyContinue
        $stripped.HasWeights | Should -BeFalse
        "$dropped" | Should -BeLike '-StripWeights returns the engine without weights, so those of -WeightsPath are*'
    }

    It 'says with -WhatIf where the weights of a hit come from, and that a truncated entry would be rebuilt' {
        # Found by a QA helper (session 50): a -WeightsPath hit said "the model's weights", and a truncated plan was promised as a hit.
        $copy = Join-Path $TestDrive 'whatif-damaged'
        $entry = New-TrtEngine -Path $onnx -CacheDirectory $copy -OptimizationLevel 0
        $log = Join-Path $TestDrive 'new-whatif-2.txt'
        Start-Transcript -Path $log | Out-Null
        try {
            New-TrtEngine -Path $onnx -CacheDirectory $copy -OptimizationLevel 0 -WeightsPath $checkpoints[1] -WhatIf
            $plan = Join-Path $copy $entry.CacheKey 'plan.trtp'
            $stream = [IO.File]::OpenWrite($plan); $stream.SetLength(10); $stream.Dispose()
            New-TrtEngine -Path $onnx -CacheDirectory $copy -OptimizationLevel 0 -WhatIf
        }
        finally {
            Stop-Transcript | Out-Null
        }
        $text = Get-Content -Raw $log
        $text | Should -Match (([regex]::Escape("Load cache entry $($entry.CacheKey) from $copy and refit it with the weights of '")) + "[^']*tiny_mlp\.ckpt2\.safetensors'")
        $text | Should -Match ([regex]::Escape("Build an engine and store it as cache entry $($entry.CacheKey) in $copy"))
    }

    It 'renames -WeightsPath''s weights with -NameMap: a DDP checkpoint''s prefix taken off, a tied weight''s second name left out' {
        # Both hold the second checkpoint's values (tests/fixtures/checkpoints); the tied one has head.weight beside 4.weight.
        $torch = Join-Path $PSScriptRoot '../fixtures/checkpoints'
        $want = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $want | Update-TrtEngineWeights -Path $checkpoints[1]
        $ddp = Join-Path $torch 'tiny_mlp.ddp.pth'
        $err = { New-TrtEngine -Path $onnx -WeightsPath $ddp -NoCache -OptimizationLevel 0 -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidWeights*' -PassThru
        $err.Exception.Message | Should -BeLike "*Without 'module.' they are the model's: -NameMap { `$_ -replace '^module\.', '' } takes it off."
        $renamed = New-TrtEngine -Path $onnx -WeightsPath $ddp -NameMap { $_ -replace '^module\.', '' } -NoCache -OptimizationLevel 0
        Get-Logits $renamed | Should -Be (Get-Logits $want)

        # A tied weight's other name shows the tensor 4.weight binds: left out without a warning, or by the map.
        $tied = Join-Path $torch 'tiny_mlp.tied.pt'
        $quiet = New-TrtEngine -Path $onnx -WeightsPath $tied -NoCache -OptimizationLevel 0 -WarningVariable none -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        $none | Should -BeNullOrEmpty
        "$quiet" | Should -BeLike "*'head.weight' (as '4.weight')*"
        $mapped = New-TrtEngine -Path $onnx -WeightsPath $tied -NameMap @{ 'head.weight' = $null } -NoCache -OptimizationLevel 0
        Get-Logits $mapped | Should -Be (Get-Logits $want)
        # An entry that names no tensor of the checkpoint (misspelt) is warned of.
        $null = New-TrtEngine -Path $onnx -WeightsPath $tied -NameMap @{ 'head.weigth' = $null } -NoCache -OptimizationLevel 0 -WarningVariable typo -WarningAction SilentlyContinue
        "$typo" | Should -BeLike "-NameMap names a tensor that '*tiny_mlp.tied.pt' does not hold (head.weigth)*"

        $err = { New-TrtEngine -Path $onnx -NameMap @{ a = 'b' } -NoCache -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument*' -PassThru
        $err.Exception.Message | Should -BeLike '*give -WeightsPath too*'
    }
}

Describe 'Update-TrtEngineWeights in a loop' {
    BeforeAll {
        $engine = New-TrtEngine -Path $onnx -CacheDirectory (Join-Path $TestDrive 'cache')
        $logits = foreach ($ckpt in $checkpoints) {
            $engine | Update-TrtEngineWeights -Path $ckpt
            Get-Logits $engine
        }
    }

    It 'gives logits of shape [2, 10] after a refit' {
        $out = Invoke-TrtEngine -Engine $engine -Input $feed
        $out.Name | Should -Be 'logits'
        $out.Shape -join ',' | Should -Be '2,10'
        $out.Data.Count | Should -Be 20
    }

    It 'gives different outputs for different checkpoints' {
        $logits.Count | Should -Be 3
        $logits[1] | Should -Not -Be $logits[0]
        $logits[2] | Should -Not -Be $logits[1]
    }

    It 'reads a checkpoint given under ~' {
        $name = "trtengine-test-$([guid]::NewGuid()).safetensors"
        Copy-Item $checkpoints[2] (Join-Path $HOME $name)
        try {
            Update-TrtEngineWeights -Engine $engine -Path "~/$name"
            Get-Logits $engine | Should -Be $logits[2]
        }
        finally {
            Remove-Item (Join-Path $HOME $name)
        }
    }

    It 'gives exactly the first outputs again when refitted back to the first checkpoint' {
        Update-TrtEngineWeights -Engine $engine -LiteralPath $checkpoints[0]
        Get-Logits $engine | Should -Be $logits[0]
    }

    It 'counts refits and returns the engine with -PassThru' {
        $before = $engine.RefitCount
        $returned = $engine | Update-TrtEngineWeights -Path $checkpoints[1] -PassThru
        $returned | Should -Be $engine
        $engine.RefitCount | Should -Be ($before + 1)
    }

    It 'changes nothing with -WhatIf' {
        $engine | Update-TrtEngineWeights -Path $checkpoints[0]
        $engine | Update-TrtEngineWeights -Path $checkpoints[2] -WhatIf
        Get-Logits $engine | Should -Be $logits[0]
    }

    It 'says with -WhatIf which weights would change and which would stay the same' {
        $engine | Update-TrtEngineWeights -Path $checkpoints[0]
        $log = Join-Path $TestDrive 'whatif.txt'
        Start-Transcript -Path $log | Out-Null
        try {
            $engine | Update-TrtEngineWeights -Weights @{ '4.bias' = [float[]](1..10) } -Partial -WhatIf
        }
        finally {
            Stop-Transcript | Out-Null
        }
        Get-Content -Raw $log | Should -Match 'Refit from the -Weights hashtable: 1 weight changes \(4\.bias\), 0 stay the same, 5 not supplied keep their values'
        Get-Logits $engine | Should -Be $logits[0]
    }

    It 'leaves out the integer tensors of a torch state dict, such as BatchNorm''s num_batches_tracked' {
        # The second checkpoint with an int64 step counter added, as torch saves a model's state dict.
        $stateDict = Join-Path $TestDrive 'state_dict.safetensors'
        Copy-Safetensors $checkpoints[1] $stateDict -Append ([BitConverter]::GetBytes([long]1200)) -Edit {
            param($header, $end)
            $header['bn.num_batches_tracked'] = @{ dtype = 'I64'; shape = @(); data_offsets = @($end, ($end + 8)) }
        }

        $engine | Update-TrtEngineWeights -Path $checkpoints[0]
        $engine | Update-TrtEngineWeights -Path $stateDict -Verbose 4>&1 | Out-String |
            Should -Match '1 integer tensor is not a weight and is left out \(bn\.num_batches_tracked\)'
        Get-Logits $engine | Should -Be $logits[1]
    }

    It 'leaves out a tied weight''s other name, which shows the tensor a weight of the engine is given' {
        # The second checkpoint saved by torch with head.weight tied to 4.weight (tests/fixtures/checkpoints).
        $tied = Join-Path $PSScriptRoot '../fixtures/checkpoints/tiny_mlp.tied.pt'
        $engine | Update-TrtEngineWeights -Path $checkpoints[0]
        $engine | Update-TrtEngineWeights -Path $tied -Verbose 4>&1 | Out-String |
            Should -Match '1 tensor is another name of a weight given \(tied\) and is left out \(head\.weight\)'
        Get-Logits $engine | Should -Be $logits[1]
    }
}

Describe 'Cache maintenance from the pipeline' {
    BeforeEach {
        # Two entries: the optimization level is part of the key.
        $cache = Join-Path $TestDrive ([guid]::NewGuid())
        $null = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0
        $null = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 1
        $entries = @(Get-TrtCache -CacheDirectory $cache)
    }

    It 'lists one entry per key' {
        $entries.Count | Should -Be 2
        $entries.Key | Select-Object -Unique | Should -HaveCount 2
    }

    It 'empties the cache with Get-TrtCache | Remove-TrtCache' {
        # No -CacheDirectory on Remove-TrtCache: piped entries go back to the cache they came from.
        Get-TrtCache -CacheDirectory $cache | Remove-TrtCache
        @(Get-TrtCache -CacheDirectory $cache).Count | Should -Be 0
    }

    It 'removes nothing with -WhatIf' {
        Get-TrtCache -CacheDirectory $cache | Remove-TrtCache -WhatIf
        @(Get-TrtCache -CacheDirectory $cache).Count | Should -Be 2
    }

    It 'removes by key with a wildcard' {
        $target, $other = $entries
        Remove-TrtCache -Key ($target.Key.Substring(0, 8) + '*') -CacheDirectory $cache
        @(Get-TrtCache -CacheDirectory $cache).Key | Should -Be $other.Key
    }

    It 'filters by key with a wildcard' {
        $target = $entries[0]
        @(Get-TrtCache -Key ($target.Key.Substring(0, 8) + '*') -CacheDirectory $cache).Key | Should -Be $target.Key
    }
}

Describe 'Export-TrtEngine and Import-TrtEngine' {
    BeforeAll {
        $engine = New-TrtEngine -Path $onnx -CacheDirectory (Join-Path $TestDrive 'cache')
        $ownWeights = Get-Logits $engine
        $full = Join-Path $TestDrive 'full.engine'
        $stripped = Join-Path $TestDrive 'stripped.engine'
        $engine | Export-TrtEngine -Path $full
        $strippedFile = $engine | Export-TrtEngine -Path $stripped -ExcludeWeights -PassThru

        $engine | Update-TrtEngineWeights -Path $checkpoints[1]
        $ckpt2 = Get-Logits $engine
    }

    It 'exports to a file whose name is near the file system''s limit' {
        # Written first to the name plus ".<guid>.tmp", which passed 255 bytes: "File name too long".
        $long = Join-Path $TestDrive (('e' * 240) + '.engine')
        Export-TrtEngine -Engine $engine -LiteralPath $long -ErrorAction Stop
        (Import-TrtEngine -LiteralPath $long).Name | Should -Be $engine.Name
        @(Get-ChildItem -LiteralPath $TestDrive -Force -Filter '*.tmp').Count | Should -Be 0
    }

    It 'round-trips an engine with its weights' {
        $imported = Import-TrtEngine -Path $full
        $imported.HasWeights | Should -BeTrue
        $imported.IsRefittable | Should -BeTrue
        Get-Logits $imported | Should -Be $ownWeights
    }

    It 'writes a smaller file without weights' {
        $strippedFile | Should -BeOfType System.IO.FileInfo
        $strippedFile.Length | Should -BeLessThan (Get-Item $full).Length
    }

    It 'passes the file through as Get-Item shows it' {
        $strippedFile.PSPath | Should -Be (Get-Item -LiteralPath $stripped).PSPath
        ($strippedFile | Format-Table | Out-String) | Should -Be (Get-Item -LiteralPath $stripped | Format-Table | Out-String)
    }

    It 'refuses to run an engine imported without weights until it is refitted' {
        $imported = Import-TrtEngine -LiteralPath $stripped
        $imported.HasWeights | Should -BeFalse
        $imported.IsRefittable | Should -BeTrue
        $err = { Invoke-TrtEngine -Engine $imported -Input $feed -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'EngineHasNoWeights*'

        $imported | Update-TrtEngineWeights -Path $checkpoints[1]
        $imported.HasWeights | Should -BeTrue
        Get-Logits $imported | Should -Be $ckpt2
    }

    It 'says what an ONNX model given to Import-TrtEngine is, and what to use' {
        $err = { Import-TrtEngine -Path $onnx -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidEnginePlan*' -PassThru
        $err.Exception.Message | Should -BeLike "'$((Resolve-Path $onnx).Path)' cannot be imported: *make an engine of it with New-TrtEngine."
    }

    It 'refits while importing with -WeightsPath' {
        $imported = Import-TrtEngine -Path $stripped -WeightsPath $checkpoints[1]
        $imported.HasWeights | Should -BeTrue
        Get-Logits $imported | Should -Be $ckpt2
    }

    It 'renames -WeightsPath''s weights with -NameMap: a DDP torch checkpoint, a tied weight''s second name left out' {
        # Both hold the second checkpoint's values (tests/fixtures/checkpoints); the tied one has head.weight beside 4.weight.
        $torch = Join-Path $PSScriptRoot '../fixtures/checkpoints'
        $ddp = Import-TrtEngine -Path $stripped -WeightsPath (Join-Path $torch 'tiny_mlp.ddp.pth') -NameMap { $_ -replace '^module\.', '' }
        Get-Logits $ddp | Should -Be $ckpt2
        # head.weight is 4.weight under another name: left out, as the map would leave it.
        Get-Logits (Import-TrtEngine -Path $stripped -WeightsPath (Join-Path $torch 'tiny_mlp.tied.pt')) | Should -Be $ckpt2
        $tied = Import-TrtEngine -Path $stripped -WeightsPath (Join-Path $torch 'tiny_mlp.tied.pt') -NameMap @{ 'head.weight' = $null }
        Get-Logits $tied | Should -Be $ckpt2
        # -Verbose names the name left out, as Update-TrtEngineWeights does; a misspelt entry is warned of.
        $said = Import-TrtEngine -Path $stripped -WeightsPath (Join-Path $torch 'tiny_mlp.tied.pt') -NameMap @{ 'head.weigth' = $null } -Verbose -WarningVariable typo -WarningAction SilentlyContinue 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        "$said" | Should -BeLike '*; 1 tensor is another name of a weight given (tied) and is left out (head.weight).'
        "$typo" | Should -BeLike "-NameMap names a tensor that '*tiny_mlp.tied.pt' does not hold (head.weigth)*"
        # Found by a QA helper: a damaged -WeightsPath file's error named the plan.
        $damaged = Join-Path $TestDrive 'damaged.safetensors'
        [IO.File]::WriteAllBytes($damaged, [byte[]](1..40))
        $err = { Import-TrtEngine -Path $stripped -WeightsPath $damaged -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidWeights*' -PassThru
        $err.TargetObject | Should -Be $damaged
        { Import-TrtEngine -Path $stripped -NameMap @{ a = 'b' } -ErrorAction Stop } | Should -Throw '*give -WeightsPath too*'
    }

    It 'refuses a -WeightsPath file that lacks a weight of an engine saved with its weights, unless -Partial' {
        # Found by a QA helper: the import refitted what the file had and kept the saved 4.bias without a word.
        # 4.bias's bytes under another name as integers, which a refit leaves out: the file lacks 4.bias.
        $lacking = Join-Path $TestDrive 'lacking.safetensors'
        Copy-Safetensors $checkpoints[1] $lacking -Edit { param($header) $header['counter'] = $header['4.bias']; $header['counter'].dtype = 'I32'; $header.Remove('4.bias') }
        { Import-TrtEngine -Path $full -WeightsPath $lacking -ErrorAction Stop } | Should -Throw -ErrorId 'RefitRefused*'
        $partial = Import-TrtEngine -Path $full -WeightsPath $lacking -Partial
        Get-Logits $partial | Should -Not -Be $ownWeights
        $partial.RefitCount | Should -Be 1
    }

    It 'takes the model of its graph that -WeightsPath names as the one -Verify runs later' {
        $imported = Import-TrtEngine -Path $stripped -WeightsPath $onnx
        $imported.ModelPath | Should -Be (Resolve-Path $onnx).Path
        ($imported | Update-TrtEngineWeights -Path $checkpoints[1] -Verify).Passed | Should -BeTrue
    }

    It 'warns about a -WeightsPath model of another graph, and does not take it as its model' {
        $latin1 = [Text.Encoding]::Latin1
        $tanh = Join-Path $TestDrive 'import-tanh.onnx'
        [IO.File]::WriteAllBytes($tanh, $latin1.GetBytes($latin1.GetString([IO.File]::ReadAllBytes($onnx)).Replace('Relu', 'Tanh')))
        $imported = Import-TrtEngine -Path $stripped -WeightsPath $tanh -WarningVariable other -WarningAction SilentlyContinue
        "$other" | Should -Match 'is not the graph engine .* was built from'
        $imported.ModelPath | Should -BeNullOrEmpty
    }

    It 'takes a -WeightsPath whose name has brackets as written when it matches nothing as a pattern' {
        $bracketed = Join-Path $TestDrive 'ckpt[2].safetensors'
        Copy-Item -LiteralPath $checkpoints[1] -Destination $bracketed
        Get-Logits (Import-TrtEngine -Path $stripped -WeightsPath $bracketed) | Should -Be $ckpt2
        $err = { Import-TrtEngine -Path $stripped -WeightsPath (Join-Path $TestDrive 'ckpt[9].safetensors') -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'WeightsNotFound*'
    }

    It 'overwrites an existing file only with -Force' {
        $err = { $engine | Export-TrtEngine -Path $full -ErrorAction Stop } | Should -Throw -ErrorId 'FileExists*' -PassThru
        $err.CategoryInfo.Category | Should -Be 'ResourceExists'
        { $engine | Export-TrtEngine -Path $full -Force -ErrorAction Stop } | Should -Not -Throw
    }

    It 'writes no file with -WhatIf' {
        $target = Join-Path $TestDrive 'whatif.engine'
        $engine | Export-TrtEngine -Path $target -WhatIf
        $target | Should -Not -Exist
    }
}

Describe 'Errors' {
    BeforeAll {
        $engine = New-TrtEngine -Path $onnx -CacheDirectory (Join-Path $TestDrive 'cache')
    }

    It 'reports a missing model given by -<_> as ModelNotFound (ObjectNotFound)' -ForEach 'Path', 'LiteralPath' {
        $arguments = @{ $_ = Join-Path $TestDrive 'missing.onnx' }
        $err = { New-TrtEngine @arguments -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'ModelNotFound*'
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'reports an unknown input name as InvalidInput (InvalidArgument)' {
        $err = { Invoke-TrtEngine -Engine $engine -Input @{ nope = $x } -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'InvalidInput*'
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
    }
}

Describe 'Get-TrtEngineInfo' {
    BeforeAll {
        # Eight rows: a GEMM of one row keeps its weight's rows untimed (the last test).
        $info = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 1 -InputShape @{ input = 8, 64 } | Get-TrtEngineInfo
    }

    It 'shows the layers after fusion with the model nodes each came from' {
        $info | Should -BeOfType 'TrtEngine.Core.Engines.TrtEngineInfo'
        $info.Layers.Type | Should -Be @('Gemm + bias + Relu', 'Gemm + bias + Gelu', 'Gemm + bias')
        $info.Layers[1].Origins.Count | Should -Be 6
        $info.ModelLayerCount | Should -Be 9
    }

    It 'shows the tactic chosen for every GEMM and its measured time' {
        $info.Layers | ForEach-Object {
            $_.Tactic | Should -Not -BeNullOrEmpty
            $_.TacticMicroseconds | Should -BeGreaterThan 0
        }
    }

    It 'shows each engine weight with the recipe a refit re-runs' {
        $packed = $info.Weights | Where-Object Name -eq '/0/Gemm.B'
        $packed.Recipe | Should -BeLike 'pack(transpose(0.weight)*'
        $info.ModelWeights | Should -Contain '0.weight'
        @($info.ModelWeights -like '*(folded)').Count | Should -Be 3
    }

    It 'renders its views' {
        { $info | Out-String; $info.Layers | Out-String; $info.Weights | Out-String } | Should -Not -Throw
    }

    It 'keeps a Linear weight in its rows for one row, so a refit copies it' {
        $one = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 1 | Get-TrtEngineInfo
        $one.Layers.Tactic | Should -Be @('weight_rows', 'weight_rows', 'weight_rows')
        $one.Layers.TacticMicroseconds | Should -Be @(0, 0, 0)
        ($one.Weights | Where-Object Name -eq '0.weight').Recipe | Should -Be '0.weight'
        $one.Weights.Name | Should -Not -Contain '/0/Gemm.B'
    }
}

Describe 'Update-TrtEngineWeights -Weights in the shapes users hold them' {
    It 'takes a two-dimensional array, nested arrays, a tensor and a .npy file in the weight''s own shape' {
        $engine = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $grid = [float[,]]::new(10, 96)
        $grid[0, 1] = 0.5
        $nested = @(1..10 | ForEach-Object { , [float[]]::new(96) })
        $nested[0][1] = 0.5
        $tensorPath = Join-Path $TestDrive 'head.npy'
        Export-TrtTensor -InputObject ([TrtEngine.Core.Engines.TrtTensor]@{ Name = 'head'; Shape = [int[]](10, 96); Data = [float[]](0..959 | ForEach-Object { $_ -eq 1 ? 0.5 : 0 }) }) -Path $tensorPath
        $tensor = Import-TrtTensor -Path $tensorPath
        $outputs = foreach ($value in $grid, $nested, $tensor, $tensorPath, (Get-Item $tensorPath)) {
            $engine | Update-TrtEngineWeights -Weights @{ '4.weight' = $value } -Partial
            Get-Logits $engine
        }
        $engine.RefitCount | Should -Be 5
        $outputs[1..4] | Should -Be ($outputs[0], $outputs[0], $outputs[0], $outputs[0])
    }
}

Describe 'Update-TrtEngineWeights from an ONNX model of another graph' {
    BeforeAll {
        # A copy of tiny_mlp with its text edited (operator or weight names), as bytes one to one.
        function Write-EditedModel([string] $name, [hashtable] $replace) {
            $latin1 = [Text.Encoding]::Latin1
            $text = $latin1.GetString([IO.File]::ReadAllBytes($onnx))
            foreach ($old in $replace.Keys) { $text = $text.Replace($old, $replace[$old]) }
            $path = Join-Path $TestDrive $name
            [IO.File]::WriteAllBytes($path, $latin1.GetBytes($text))
            $path
        }
    }

    It 'warns that the engine keeps its own graph, and says how to check' {
        # tiny_mlp with its Relu made Tanh: the same weights, another computation.
        $tanh = Write-EditedModel 'tanh.onnx' @{ 'Relu' = 'Tanh' }
        $engine = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $engine | Update-TrtEngineWeights -Path $onnx -WarningVariable same -WarningAction SilentlyContinue
        $same | Should -BeNullOrEmpty
        $engine | Update-TrtEngineWeights -Path $tanh -WarningVariable other -WarningAction SilentlyContinue
        $other | Should -HaveCount 1
        "$other" | Should -Match 'is not the graph engine .* was built from.*-Verify'
    }

    It 'warns the same for another engine built from another graph' {
        # Found by a QA helper: a refit from the Tanh model's engine went ahead without a word.
        $tanh = Write-EditedModel 'tanh-engine.onnx' @{ 'Relu' = 'Tanh' }
        $engine = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $sameGraph = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $otherGraph = New-TrtEngine -Path $tanh -NoCache -OptimizationLevel 0
        $engine | Update-TrtEngineWeights -SourceEngine $sameGraph -WarningVariable same -WarningAction SilentlyContinue
        $same | Should -BeNullOrEmpty
        $engine | Update-TrtEngineWeights -SourceEngine $otherGraph -WarningVariable other -WarningAction SilentlyContinue
        $other | Should -HaveCount 1
        "$other" | Should -Match "Engine 'tanh-engine' was not built from the graph engine 'tiny_mlp' was built from"
        $engine.RefitCount | Should -Be 2
    }

    It 'does not warn about a refit it refuses, which says what is wrong itself' {
        # Another graph whose weights do not fit either: 4.weight renamed.
        $renamed = Write-EditedModel 'tanh-renamed.onnx' @{ 'Relu' = 'Tanh'; '4.weight' = '4.weighu' }
        $engine = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        { $engine | Update-TrtEngineWeights -Path $renamed -WarningVariable refused -WarningAction SilentlyContinue -ErrorAction Stop } | Should -Throw -ErrorId 'RefitRefused*'
        $refused | Should -BeNullOrEmpty
        # The same graph with that weight renamed, mapped back: no warning.
        $mapped = Write-EditedModel 'renamed.onnx' @{ '4.weight' = '4.weighu' }
        $engine | Update-TrtEngineWeights -Path $mapped -NameMap @{ '4.weighu' = '4.weight' } -WarningVariable renamedWarning -WarningAction SilentlyContinue
        $renamedWarning | Should -BeNullOrEmpty
        $engine.RefitCount | Should -Be 1
    }
}

Describe 'Update-TrtEngineWeights -NameMap' {
    BeforeAll {
        $engine = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $bias = [float[]](1..10 | ForEach-Object { $_ / 10 })
    }

    It 'renames checkpoint weights with a script block' {
        $engine | Update-TrtEngineWeights -Weights @{ 'module.4.bias' = $bias } -Partial -NameMap { $_ -replace '^module\.', '' }
        $engine.RefitCount | Should -Be 1
    }

    It 'renames a checkpoint file''s weights with a script block' {
        # The DDP checkpoint holds the first checkpoint's values (the model's own) under 'module.' names.
        $ddp = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $model = Get-Logits $ddp
        $ddp | Update-TrtEngineWeights -Path $checkpoints[1]
        Get-Logits $ddp | Should -Not -Be $model
        $ddp | Update-TrtEngineWeights -Path (Join-Path $models 'tiny_mlp.ddp.safetensors') -NameMap { $_ -replace '^module\.', '' }
        $ddp.RefitCount | Should -Be 2
        Get-Logits $ddp | Should -Be $model
    }

    It 'refits from torch checkpoints: a DDP one renamed, a Lightning one as it is' {
        # Both hold the second checkpoint's values, saved by torch 2.11 (tests/fixtures/export_torch_checkpoints.py).
        $torch = Join-Path $PSScriptRoot '../fixtures/checkpoints'
        $want = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $want | Update-TrtEngineWeights -Path $checkpoints[1]
        $ddp = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $ddp | Update-TrtEngineWeights -Path (Join-Path $torch 'tiny_mlp.ddp.pth') -NameMap { $_ -replace '^module\.', '' }
        Get-Logits $ddp | Should -Be (Get-Logits $want)
        $lightning = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $lightning | Update-TrtEngineWeights -Path (Join-Path $torch 'tiny_mlp.lightning.ckpt') -Verify
        Get-Logits $lightning | Should -Be (Get-Logits $want)
        { $lightning | Update-TrtEngineWeights -Path (Join-Path $torch 'tiny_mlp.script.pt') -ErrorAction Stop } | Should -Throw '*TorchScript archive*'
        Get-Logits $lightning | Should -Be (Get-Logits $want)
    }

    It 'renames with a script block that takes the name as a parameter' {
        $named = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $named | Update-TrtEngineWeights -Weights @{ 'module.4.bias' = $bias } -Partial -NameMap { param($name) $name -replace '^module\.', '' }
        $named.RefitCount | Should -Be 1
    }

    It 'refits from checkpoint files piped from Get-ChildItem, one after another' {
        $piped = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        Get-ChildItem $checkpoints[0], $checkpoints[1] | Update-TrtEngineWeights -Engine $piped
        $piped.RefitCount | Should -Be 2
        $last = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $last | Update-TrtEngineWeights -Path $checkpoints[1]
        Get-Logits $piped | Should -Be (Get-Logits $last)
    }

    It 'renames checkpoint weights with a hashtable' {
        $engine | Update-TrtEngineWeights -Weights @{ 'head.bias' = $bias } -Partial -NameMap @{ 'head.bias' = '4.bias' }
        $engine.RefitCount | Should -Be 2
    }

    It 'refuses names that map to no engine weight, changing nothing' {
        $before = Get-Logits $engine
        { $engine | Update-TrtEngineWeights -Weights @{ 'module.4.bias' = $bias } -Partial -ErrorAction Stop } |
            Should -Throw -ErrorId 'RefitRefused*'
        Get-Logits $engine | Should -Be $before
    }

    It 'warns of hashtable entries that name no tensor of the source, ignoring case as the hashtable does' {
        $warned = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $warned | Update-TrtEngineWeights -Weights @{ 'HEAD.bias' = $bias } -Partial -NameMap @{ 'head.bias' = '4.bias'; 'head.weigth' = '4.weight' } -WarningVariable typo -WarningAction SilentlyContinue
        "$typo" | Should -Be "-NameMap names a tensor that the -Weights hashtable does not hold (head.weigth): that entry renames nothing. Check the spelling against the source's names."
        $warned.RefitCount | Should -Be 1
        $warned | Update-TrtEngineWeights -Path $checkpoints[1] -NameMap @{ 'a' = 'b'; 'c' = $null } -WarningVariable typos -WarningAction SilentlyContinue
        "$typos" | Should -BeLike "-NameMap names 2 tensors that '*tiny_mlp.ckpt2.safetensors' does not hold (a, c): those entries rename nothing.*"
        $warned | Update-TrtEngineWeights -Path $checkpoints[1] -NameMap @{ '4.bias' = '4.bias' } -WarningVariable none -WarningAction SilentlyContinue
        $none | Should -BeNullOrEmpty
    }

    It 'refuses a map that leaves out every tensor, and a partial refit given none of the engine''s weights, changing nothing' {
        $before = Get-Logits $engine
        $count = $engine.RefitCount
        $err = { $engine | Update-TrtEngineWeights -Path $checkpoints[1] -NameMap { } -Partial -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument*' -PassThru
        $err.Exception.Message | Should -BeLike "-NameMap leaves out every one of the 6 tensors of '*tiny_mlp.ckpt2.safetensors', so it would change nothing: map them to the model's weight names."
        # A state dict's counter alone: no weight of the engine, so a partial refit would do nothing.
        $counters = Join-Path $TestDrive 'counters.safetensors'
        Copy-Safetensors $checkpoints[1] $counters -Append ([BitConverter]::GetBytes([long]1200)) -Edit {
            param($header, $end)
            $header['bn.num_batches_tracked'] = @{ dtype = 'I64'; shape = @(); data_offsets = @($end, ($end + 8)) }
        }
        $err = { $engine | Update-TrtEngineWeights -Path $counters -NameMap { if ($_ -like 'bn.*') { $_ } } -Partial -ErrorAction Stop } | Should -Throw -ErrorId 'RefitRefused*' -PassThru
        $err.Exception.Message | Should -BeLike "*The source gives none of this engine's weights (only a tensor that is not a weight), so this partial refit would change nothing*"
        Get-Logits $engine | Should -Be $before
        $engine.RefitCount | Should -Be $count
    }

    It 'warns of entries a case-sensitive dictionary or a key that is not text leave unused, and refuses an empty name' {
        $exact = [System.Collections.Generic.Dictionary[string, object]]::new()
        $exact['4.BIAS'] = $null
        $engine | Update-TrtEngineWeights -Path $checkpoints[1] -NameMap $exact -WhatIf -WarningVariable cased -WarningAction SilentlyContinue
        "$cased" | Should -BeLike "-NameMap names a tensor that '*' does not hold (4.BIAS)*"
        $engine | Update-TrtEngineWeights -Weights @{ '7' = $bias } -NameMap @{ 7 = '4.bias' } -Partial -WarningVariable number -WarningAction SilentlyContinue -ErrorVariable refused -ErrorAction SilentlyContinue
        $refused[0].FullyQualifiedErrorId | Should -BeLike 'RefitRefused*'
        "$number" | Should -BeLike '*(7 (a Int32: quote it))*'
        $before = Get-Logits $engine
        { $engine | Update-TrtEngineWeights -Weights @{ 'head.bias' = $bias } -Partial -NameMap @{ 'head.bias' = '' } -ErrorAction Stop } |
            Should -Throw "-NameMap maps 'head.bias' to an empty name; *"
        { $engine | Update-TrtEngineWeights -Weights @{ 'head.bias' = $bias } -Partial -NameMap { '' } -ErrorAction Stop } |
            Should -Throw "The -NameMap script block returned an empty name for 'head.bias'*"
        Get-Logits $engine | Should -Be $before
    }

    It 'says which name a failing or ambiguous script block failed on, changing nothing' {
        $before = Get-Logits $engine
        $err = { $engine | Update-TrtEngineWeights -Weights @{ 'module.4.bias' = $bias } -Partial -NameMap { throw 'no rule' } -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidArgument*' -PassThru
        $err.Exception.Message | Should -Be "The -NameMap script block failed on 'module.4.bias': no rule"
        $err = { $engine | Update-TrtEngineWeights -Weights @{ 'module.4.bias' = $bias } -Partial -NameMap { '4.bias'; 'extra' } -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidArgument*' -PassThru
        $err.Exception.Message | Should -BeLike "*returned 2 names for 'module.4.bias' (4.bias, extra)*"
        # Found by a QA helper: a hashtable's list or number was taken as its text ("System.Object[]", "5").
        $err = { $engine | Update-TrtEngineWeights -Weights @{ 'module.4.bias' = $bias } -Partial -NameMap @{ 'module.4.bias' = '4.bias', 'extra' } -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidArgument*' -PassThru
        $err.Exception.Message | Should -Be "-NameMap maps 'module.4.bias' to a list; map each name to one model weight name (a string), or to `$null to leave it out."
        { $engine | Update-TrtEngineWeights -Weights @{ 'module.4.bias' = $bias } -Partial -NameMap @{ 'module.4.bias' = 5 } -ErrorAction Stop } |
            Should -Throw "-NameMap maps 'module.4.bias' to the Int32 5;*"
        $err = { $engine | Update-TrtEngineWeights -Weights @{ 'module.4.bias' = $bias; '4.bias' = $bias } -Partial -NameMap { $_ -replace '^module\.', '' } -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidArgument*' -PassThru
        $err.Exception.Message | Should -BeLike "-NameMap maps both '*4.bias' and '*4.bias' to '4.bias'; *"
        $err.Exception.Message | Should -BeLike "*'module.4.bias'*"
        Get-Logits $engine | Should -Be $before
    }
}

Describe 'Update-TrtEngineWeights -Verify and -SourceEngine' {
    BeforeAll {
        $engine = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
    }

    It 'verifies a refit on generated inputs and writes the comparison' {
        $result = $engine | Update-TrtEngineWeights -Path $checkpoints[1] -Verify
        $result.GetType().FullName | Should -Be 'TrtEngine.Core.Verification.RefitVerification'
        $result.Passed | Should -BeTrue
        $result.GeneratedInputs | Should -BeTrue
        $result.Outputs.Name | Should -Be 'logits'
        $result.MaxRelativeL2 | Should -BeLessOrEqual 1e-4
        $result.Tolerance | Should -Be 1e-4
        ($result | Format-Table | Out-String) | Should -Match 'generated \(seed 0\)'
    }

    It 'verifies on given inputs with -VerifyInput and a tighter -Tolerance' {
        $result = $engine | Update-TrtEngineWeights -Path $checkpoints[2] -VerifyInput $feed -Tolerance 1e-5
        $result.GeneratedInputs | Should -BeFalse
        $result.Passed | Should -BeTrue
    }

    It 'verifies when given -Tolerance alone, as -VerifyInput does' {
        $result = $engine | Update-TrtEngineWeights -Path $checkpoints[1] -Tolerance 1e-3
        $result.Tolerance | Should -Be 1e-3
        $result.Passed | Should -BeTrue
    }

    It 'refuses an empty -VerifyInput, saying what to give, before refitting' {
        $count = $engine.RefitCount
        $err = { $engine | Update-TrtEngineWeights -Path $checkpoints[0] -VerifyInput @{} -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument*' -PassThru
        $err.Exception.Message | Should -BeLike '-VerifyInput is empty*'
        $engine.RefitCount | Should -Be $count
    }

    It 'refuses under -WhatIf a verification the refit would refuse: <Case>' -ForEach @(
        # Found by a QA helper: -WhatIf said the refit would go ahead.
        @{ Case = 'inputs of the wrong length'; Arguments = { @{ VerifyInput = @{ input = [float[]]::new(10) } } }; Id = 'InvalidInput' }
        @{ Case = 'an input the engine lacks'; Arguments = { @{ VerifyInput = @{ nope = [float[]]::new(64) } } }; Id = 'InvalidInput' }
        @{ Case = 'an imported engine that knows no model'; Arguments = { @{ Verify = $true } }; Id = 'VerificationUnavailable'; Imported = $true }
    ) {
        $target = $engine
        if ($Imported) {
            $plan = Join-Path $TestDrive 'whatif-stripped.engine'
            $engine | Export-TrtEngine -Path $plan -ExcludeWeights -Force
            $target = Import-TrtEngine -Path $plan
        }
        $arguments = & $Arguments
        $count = $target.RefitCount
        foreach ($whatIf in $true, $false) {
            { $target | Update-TrtEngineWeights -Path $checkpoints[1] @arguments -WhatIf:$whatIf -ErrorAction Stop } | Should -Throw -ErrorId "$Id*"
        }
        $target.RefitCount | Should -Be $count
    }

    It 'says when the model a verification runs is gone, before refitting' {
        $moved = Join-Path $TestDrive 'moved.onnx'
        Copy-Item -LiteralPath $onnx -Destination $moved
        $own = New-TrtEngine -Path $moved -NoCache -OptimizationLevel 0
        Remove-Item -LiteralPath $moved
        $err = { $own | Update-TrtEngineWeights -Path $checkpoints[1] -Verify -ErrorAction Stop } | Should -Throw -ErrorId 'VerificationUnavailable*' -PassThru
        $err.Exception.Message | Should -BeLike "*model '$moved', which the verification runs with the new weights, does not exist*"
        $own.RefitCount | Should -Be 0
    }

    It 'writes RefitVerificationFailed above the tolerance and keeps the previous weights' {
        $engine | Update-TrtEngineWeights -Path $checkpoints[0]
        $before = Get-Logits $engine
        $count = $engine.RefitCount
        { $engine | Update-TrtEngineWeights -Path $checkpoints[1] -Verify -Tolerance 0 -ErrorAction Stop } |
            Should -Throw -ErrorId 'RefitVerificationFailed*'
        Get-Logits $engine | Should -Be $before
        $engine.RefitCount | Should -Be $count
    }

    It 'refits from another engine with -SourceEngine' {
        $other = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $other | Update-TrtEngineWeights -Path $checkpoints[2]
        $engine | Update-TrtEngineWeights -SourceEngine $other
        Get-Logits $engine | Should -Be (Get-Logits $other)
    }

    It 'refuses as a source an engine imported from a plan, as InvalidSourceEngine' {
        $plan = Join-Path $TestDrive 'full.engine'
        $engine | Export-TrtEngine -Path $plan
        $imported = Import-TrtEngine -Path $plan
        $before = Get-Logits $engine
        $err = { $engine | Update-TrtEngineWeights -SourceEngine $imported -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSourceEngine*' -PassThru
        # The source is at fault, not the engine refitted (found by a QA helper, session 50).
        [object]::ReferenceEquals($err.TargetObject, $imported) | Should -BeTrue
        Get-Logits $engine | Should -Be $before
    }

    It 'counts the weights given alike in every report, folded constants left out' {
        # tiny_mlp's graph holds three constants the build folded; another engine gives them with its weights.
        $other = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $said = $engine | Update-TrtEngineWeights -SourceEngine $other -Verbose 4>&1 | Out-String
        $said | Should -Match "from engine 'tiny_mlp': 6 weights supplied\."
        $said | Should -Match '\(6 of 6 model weights given changed\)'
        $log = Join-Path $TestDrive 'counts.txt'
        Start-Transcript -Path $log | Out-Null
        try { $engine | Update-TrtEngineWeights -SourceEngine $other -WhatIf } finally { Stop-Transcript | Out-Null }
        Get-Content -Raw $log | Should -Match '0 weights change, 6 stay the same'
    }

    It 'says a disposed source is the source' {
        $gone = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $gone.Dispose()
        $err = { $engine | Update-TrtEngineWeights -SourceEngine $gone -ErrorAction Stop } | Should -Throw -ErrorId 'EngineDisposed*' -PassThru
        $err.Exception.Message | Should -BeLike "The source engine 'tiny_mlp' has been disposed*"
    }
}

Describe 'Get-TrtCache -Summary' {
    It 'counts misses, builds, hits and what is stored against the limit' {
        $cache = Join-Path $TestDrive 'summary'
        New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0 | Out-Null
        New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0 | Out-Null
        New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0 | Out-Null
        $summary = Get-TrtCache -CacheDirectory $cache -Summary
        $summary | Should -BeOfType 'TrtEngine.Core.Cache.TrtCacheSummary'
        $summary.Entries | Should -Be 1
        $summary.Misses | Should -Be 1
        $summary.Builds | Should -Be 1
        $summary.Hits | Should -Be 2
        $summary.HitRate | Should -BeGreaterThan 0.66
        $summary.SizeBytes | Should -Be (Get-TrtCache -CacheDirectory $cache).SizeBytes
        $summary.SizeLimitBytes | Should -Be 5GB
        { $summary | Out-String } | Should -Not -Throw
    }
}

Describe 'Test-TrtCache' {
    BeforeAll {
        $cache = Join-Path $TestDrive 'check'
        $good = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0
        $bad = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 1
        $plan = Join-Path $cache $bad.CacheKey 'plan.trtp'
        $bytes = [IO.File]::ReadAllBytes($plan)
        $bytes[$bytes.Length - 3] = $bytes[$bytes.Length - 3] -bxor 0x40
        [IO.File]::WriteAllBytes($plan, $bytes)
        $orphan = New-Item -ItemType Directory (Join-Path $cache '.tmp' 'left-by-a-crash')
    }

    It 'reports each entry and leftover without loading engines' {
        $checks = Test-TrtCache -CacheDirectory $cache -OrphanAge 0
        ($checks | Where-Object Key -eq $good.CacheKey).Status | Should -Be 'Ok'
        ($checks | Where-Object Key -eq $bad.CacheKey).Status | Should -Be 'Corrupt'
        ($checks | Where-Object Key -eq $bad.CacheKey).Problem | Should -BeLike '*checksum*'
        ($checks | Where-Object Status -eq 'Orphaned').Path | Should -Be $orphan.FullName
        { $checks | Out-String } | Should -Not -Throw
    }

    It 'leaves young temporary directories alone (a write may be in progress)' {
        @(Test-TrtCache -CacheDirectory $cache | Where-Object Status -eq 'Orphaned').Count | Should -Be 0
    }

    It 'repairs nothing with -WhatIf' {
        Test-TrtCache -CacheDirectory $cache -OrphanAge 0 -Repair -WhatIf | Out-Null
        @(Get-TrtCache -CacheDirectory $cache).Count | Should -Be 2
        Test-Path $orphan.FullName | Should -BeTrue
    }

    It 'checks only the entries piped in, or named by key, <Case>' -ForEach @(
        @{ Case = 'as entries'; Check = { Get-TrtCache -CacheDirectory $cache -Key $bad.CacheKey | Test-TrtCache } }
        @{ Case = 'as entries with -CacheDirectory'; Check = { Get-TrtCache -CacheDirectory $cache -Key $bad.CacheKey | Test-TrtCache -CacheDirectory $cache } }
        @{ Case = 'as piped key strings'; Check = { $bad.CacheKey | Test-TrtCache -CacheDirectory $cache } }
        @{ Case = 'by -Key with a wildcard'; Check = { Test-TrtCache -CacheDirectory $cache -Key ($bad.CacheKey.Substring(0, 12) + '*') } }
    ) {
        $checks = @(& $Check)
        $checks.Count | Should -Be 1
        $checks[0].Key | Should -Be $bad.CacheKey
        $checks[0].Status | Should -Be 'Corrupt'
    }

    It 'takes a key as its first positional argument, as Get-TrtCache does' {
        # Found by a QA helper: a bare key bound to -CacheDirectory, which named no cache, and nothing was said.
        $env:TRTENGINE_CACHE_DIR, $saved = $cache, $env:TRTENGINE_CACHE_DIR
        try {
            $checks = @(Test-TrtCache ($bad.CacheKey.Substring(0, 12) + '*'))
        }
        finally {
            $env:TRTENGINE_CACHE_DIR = $saved
        }
        $checks.Count | Should -Be 1
        $checks[0].Key | Should -Be $bad.CacheKey
    }

    It 'warns that a -CacheDirectory does not exist, acting on it as an empty cache, with <_>' -ForEach 'Get-TrtCache', 'Test-TrtCache', 'Remove-TrtCache', 'Clear-TrtCache', 'Lock-TrtCache' {
        # Found by a QA helper: a mistyped cache path listed nothing, and nothing said why.
        $missing = Join-Path $TestDrive 'no-such-cache'
        $arguments = @{ CacheDirectory = $missing }
        if ($_ -in 'Remove-TrtCache', 'Lock-TrtCache') { $arguments.Key = '*' }
        if ($_ -in 'Remove-TrtCache', 'Clear-TrtCache') { $arguments.Confirm = $false }
        $output = & $_ @arguments -ErrorAction Stop -WarningVariable warnings -WarningAction SilentlyContinue
        $output | Where-Object { $_ -isnot [TrtEngine.Core.Cache.TrtCacheCheck] -or $_.Status -ne 'Ok' } | Should -BeNullOrEmpty
        "$warnings" | Should -BeLike "Cache directory '$missing' does not exist, so it holds no entries*"
        $missing | Should -Not -Exist
    }

    It 'removes what is broken with -Repair, keeping the healthy entry' {
        $repaired = Test-TrtCache -CacheDirectory $cache -OrphanAge 0 -Repair | Where-Object Repaired
        @($repaired).Count | Should -Be 2
        (Get-TrtCache -CacheDirectory $cache).Key | Should -Be $good.CacheKey
        Test-Path $orphan.FullName | Should -BeFalse
        Test-TrtCache -CacheDirectory $cache | ForEach-Object { $_.Status | Should -Be 'Ok' }
    }

    It 'leaves a folder holding files it did not write alone when repairing, and says so' {
        $yours = New-Item -ItemType Directory (Join-Path $cache ('ab' * 20))
        Set-Content -LiteralPath (Join-Path $yours 'notes.txt') -Value 'mine'
        $verbose = Test-TrtCache -CacheDirectory $cache -Repair -Verbose -ErrorAction Stop 4>&1
        ($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -BeLike "Left $($yours.FullName) alone*"
        ($verbose | Where-Object Path -eq $yours.FullName).Status | Should -Be 'Foreign'
        Get-Content -LiteralPath (Join-Path $yours 'notes.txt') | Should -Be 'mine'
    }
}

Describe 'Test-TrtCache piped on' {
    BeforeAll {
        $savedCache = $env:TRTENGINE_CACHE_DIR
        $env:TRTENGINE_CACHE_DIR = Join-Path $TestDrive 'default'
        $checked = Join-Path $TestDrive 'checked'
        # The same model in both caches: one key, two entries.
        $key = (New-TrtEngine -Path $onnx -OptimizationLevel 0).CacheKey
        New-TrtEngine -Path $onnx -CacheDirectory $checked -OptimizationLevel 0 | Out-Null
    }
    AfterAll { $env:TRTENGINE_CACHE_DIR = $savedCache }

    It 'acts on the cache it checked, not the default one, with <_>' -ForEach 'Lock-TrtCache', 'Unlock-TrtCache', 'Remove-TrtCache' {
        Test-TrtCache -CacheDirectory $checked | & $_ -Confirm:$false
        $entry = Get-TrtCache -CacheDirectory $checked -Key $key
        switch ($_) {
            'Lock-TrtCache' { $entry.Pinned | Should -BeTrue }
            'Unlock-TrtCache' { $entry.Pinned | Should -BeFalse }
            'Remove-TrtCache' { $entry | Should -BeNullOrEmpty }
        }
        $default = Get-TrtCache -Key $key
        $default | Should -Not -BeNullOrEmpty
        $default.Pinned | Should -BeFalse
    }
}

Describe 'Get-TrtCacheOption, Set-TrtCacheOption and Reset-TrtCacheOption' {
    BeforeAll {
        $savedConfig = $env:TRTENGINE_CONFIG_DIR
        $savedCache = $env:TRTENGINE_CACHE_DIR
        $env:TRTENGINE_CONFIG_DIR = Join-Path $TestDrive 'config'
    }
    AfterAll {
        $env:TRTENGINE_CONFIG_DIR = $savedConfig
        $env:TRTENGINE_CACHE_DIR = $savedCache
    }

    It 'starts from the defaults' {
        $env:TRTENGINE_CACHE_DIR = $null
        $options = Get-TrtCacheOption
        $options.SizeLimitBytes | Should -Be 5GB
        $options.SizeLimitSource | Should -Be 'Default'
        $options.CacheDirectorySource | Should -Be 'Default'
        $options.SettingsPath | Should -BeLike "$env:TRTENGINE_CONFIG_DIR*"
    }

    It 'changes nothing with -WhatIf' {
        Set-TrtCacheOption -SizeLimit 1GB -WhatIf
        Test-Path (Get-TrtCacheOption).SettingsPath | Should -BeFalse
    }

    It 'keeps a size limit and a directory that later calls use' {
        $env:TRTENGINE_CACHE_DIR = $null
        $dir = Join-Path $TestDrive 'configured-cache'
        $options = Set-TrtCacheOption -SizeLimit 1GB -CacheDirectory $dir -PassThru
        $options.SizeLimitBytes | Should -Be 1GB
        $options.CacheDirectory | Should -Be $dir
        $options.CacheDirectorySource | Should -Be 'Settings'
        $engine = New-TrtEngine -Path $onnx -OptimizationLevel 0
        $engine.CacheDirectory | Should -Be $dir
        (Get-TrtCache -Summary).SizeLimitBytes | Should -Be 1GB
    }

    It 'tells what to do about a damaged settings file, and Set-TrtCacheOption replaces it, keeping a copy' {
        $env:TRTENGINE_CACHE_DIR = $null
        $settings = (Get-TrtCacheOption).SettingsPath
        New-Item -ItemType Directory -Force (Split-Path $settings) | Out-Null
        Set-Content -LiteralPath $settings -Value '{bad'
        { Get-TrtCacheOption -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSettings*'
        $err = { Get-TrtCache -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSettings*' -PassThru
        $err.CategoryInfo.Category | Should -Be 'InvalidData'
        $err.Exception.Message | Should -BeLike "*$settings*Set-TrtCacheOption*"
        (New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0).HasWeights | Should -BeTrue

        Set-TrtCacheOption -SizeLimit 2GB -WarningVariable warned -WarningAction SilentlyContinue
        $warned | Should -BeLike '*damaged*'
        $copy = Get-ChildItem -LiteralPath (Split-Path $settings) -Filter 'settings.json.damaged-*'
        Get-Content -Raw -LiteralPath $copy.FullName | Should -BeLike '{bad*'
        (Get-TrtCacheOption).SizeLimitBytes | Should -Be 2GB
    }

    It 'resets the options named, or both, to their defaults; changes nothing with -WhatIf' {
        $env:TRTENGINE_CACHE_DIR = $null
        $dir = Join-Path $TestDrive 'saved-cache'
        Set-TrtCacheOption -SizeLimit 1GB -CacheDirectory $dir
        Reset-TrtCacheOption -WhatIf
        (Get-TrtCacheOption).SizeLimitBytes | Should -Be 1GB

        $options = Reset-TrtCacheOption SizeLimit -PassThru
        $options.SizeLimitBytes | Should -Be 5GB
        $options.SizeLimitSource | Should -Be 'Default'
        $options.CacheDirectory | Should -Be $dir
        Reset-TrtCacheOption
        $options = Get-TrtCacheOption
        $options.CacheDirectorySource | Should -Be 'Default'
        $options.CacheDirectory | Should -Not -Be $dir
        { Reset-TrtCacheOption Size -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }

    It 'says why it cannot reset when a folder stands where the settings file goes' {
        # Found by a QA helper: Reset-TrtCacheOption took the folder for "no settings" and reported nothing.
        $config = Join-Path $TestDrive 'config-folder'
        $saved = $env:TRTENGINE_CONFIG_DIR
        $env:TRTENGINE_CONFIG_DIR = $config
        try {
            New-Item -ItemType Directory -Force (Join-Path $config 'settings.json') | Out-Null
            $err = { Reset-TrtCacheOption -ErrorAction Stop } | Should -Throw -PassThru
            $err.TargetObject | Should -Be (Join-Path $config 'settings.json')
        }
        finally { $env:TRTENGINE_CONFIG_DIR = $saved }
    }

    It 'replaces a damaged settings file when resetting, keeping a copy' {
        $settings = (Get-TrtCacheOption).SettingsPath
        Get-ChildItem -LiteralPath (Split-Path $settings) -Filter 'settings.json.damaged-*' | Remove-Item
        Set-Content -LiteralPath $settings -Value '{"SizeLimitBytes": -4}'
        { Get-TrtCacheOption -ErrorAction Stop } | Should -Throw '*Reset-TrtCacheOption*'
        Reset-TrtCacheOption -WarningVariable warned -WarningAction SilentlyContinue
        $warned | Should -BeLike '*damaged*every one is at its default now*'
        (Get-ChildItem -LiteralPath (Split-Path $settings) -Filter 'settings.json.damaged-*').Count | Should -Be 1
        (Get-TrtCacheOption).SizeLimitSource | Should -Be 'Default'
    }

    It 'lets TRTENGINE_CACHE_DIR take precedence over the saved directory' {
        $env:TRTENGINE_CACHE_DIR = Join-Path $TestDrive 'from-env'
        (Get-TrtCacheOption).CacheDirectorySource | Should -Be 'TRTENGINE_CACHE_DIR'
    }

    It 'evicts under a per-call -CacheSizeLimit smaller than one entry, with a warning' {
        $small = Join-Path $TestDrive 'tiny-limit'
        $engine = New-TrtEngine -Path $onnx -CacheDirectory $small -CacheSizeLimit 100 -OptimizationLevel 0 -WarningVariable warned -WarningAction SilentlyContinue
        $engine.HasWeights | Should -BeTrue
        $warned | Should -Not -BeNullOrEmpty
        @(Get-TrtCache -CacheDirectory $small).Count | Should -Be 0
    }
}

Describe 'Remove-TrtCache by age and size, Clear-TrtCache; key completion' {
    BeforeEach {
        $cache = Join-Path $TestDrive ([guid]::NewGuid())
        $old = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0
        $new = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 1
        # Make the first entry look unused for two days: its last access is its creation (no hits yet).
        $manifest = Join-Path $cache $old.CacheKey 'manifest.json'
        $json = Get-Content -Raw $manifest | ConvertFrom-Json
        $json.CreatedUtc = (Get-Date).ToUniversalTime().AddDays(-2).ToString('o')
        $json | ConvertTo-Json | Set-Content $manifest
    }

    It 'removes the entries last used before a time' {
        Remove-TrtCache -CacheDirectory $cache -LastAccessedBefore (Get-Date).AddDays(-1)
        (Get-TrtCache -CacheDirectory $cache).Key | Should -Be $new.CacheKey
    }

    It 'removes the entries last used before a UTC time as the same instant, west of UTC too' {
        # In New York (UTC-5) an hour ago in UTC, compared by its clock reading, was four hours ahead of the local
        # LastAccessed of an entry built a moment ago: the entry just built was removed.
        $module = Join-Path $PSScriptRoot '../../out/TrtEngine/TrtEngine.psd1'
        $script = "Import-Module '$module'; Remove-TrtCache -CacheDirectory '$cache' -LastAccessedBefore ([datetime]::UtcNow.AddHours(-1))"
        $tz = $env:TZ
        try {
            $env:TZ = 'America/New_York'
            & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -Command $script 2>&1 | Out-String | Should -BeNullOrEmpty
        }
        finally {
            $env:TZ = $tz
        }
        (Get-TrtCache -CacheDirectory $cache).Key | Should -Be $new.CacheKey
    }

    It 'removes the entries larger than a size, and none with a bigger threshold' {
        Remove-TrtCache -CacheDirectory $cache -LargerThan 1MB
        @(Get-TrtCache -CacheDirectory $cache).Count | Should -Be 2
        Remove-TrtCache -CacheDirectory $cache -LargerThan 100
        @(Get-TrtCache -CacheDirectory $cache).Count | Should -Be 0
    }

    It 'counts and leaves alone a folder holding files the cache did not write when clearing' {
        $yours = New-Item -ItemType Directory (Join-Path $cache ('cd' * 20))
        Set-Content -LiteralPath (Join-Path $yours 'notes.txt') -Value 'mine'
        $log = Join-Path $TestDrive "clear-whatif-$([guid]::NewGuid()).txt"
        Start-Transcript -Path $log | Out-Null
        try { Clear-TrtCache -CacheDirectory $cache -WhatIf }
        finally { Stop-Transcript | Out-Null }
        Get-Content -Raw $log | Should -Match 'Remove all 2 cache entries \([^)]*\), leaving 1 folder\(s\) holding files the cache did not write'
        Clear-TrtCache -CacheDirectory $cache -Confirm:$false -ErrorAction Stop
        (Get-TrtCache -CacheDirectory $cache).Path | Should -Be $yours.FullName
        Get-Content -LiteralPath (Join-Path $yours 'notes.txt') | Should -Be 'mine'
    }

    It 'empties the cache with Clear-TrtCache, which asks first, and not with -WhatIf' {
        Clear-TrtCache -CacheDirectory $cache -WhatIf
        @(Get-TrtCache -CacheDirectory $cache).Count | Should -Be 2
        # High impact: a host that cannot ask refuses instead of wiping.
        $module = Join-Path $PSScriptRoot '../../out/TrtEngine/TrtEngine.psd1'
        $script = "Import-Module '$module'; Clear-TrtCache -CacheDirectory '$cache'"
        & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -Command $script 2>&1 | Out-String | Should -Match 'NonInteractive'
        @(Get-TrtCache -CacheDirectory $cache).Count | Should -Be 2
        Clear-TrtCache -CacheDirectory $cache -Confirm:$false
        @(Get-TrtCache -CacheDirectory $cache).Count | Should -Be 0
    }

    It 'completes cache keys' {
        $line = "Get-TrtCache -CacheDirectory '$cache' -Key $($new.CacheKey.Substring(0, 6))"
        $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $completion.CompletionMatches.CompletionText | Should -Contain $new.CacheKey
    }

    It 'completes cache keys of a cache directory on a PSDrive' {
        New-PSDrive -Name TrtCaches -PSProvider FileSystem -Root (Split-Path $cache) | Out-Null
        try {
            $line = "Lock-TrtCache -CacheDirectory 'TrtCaches:/$(Split-Path -Leaf $cache)' -Key $($old.CacheKey.Substring(0, 6))"
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be $old.CacheKey
        }
        finally { Remove-PSDrive -Name TrtCaches }
    }

    It 'completes cache keys of a cache directory given relative to the current location' {
        Push-Location (Split-Path $cache)
        try {
            $line = "Remove-TrtCache -CacheDirectory ./$(Split-Path -Leaf $cache) -Key $($old.CacheKey.Substring(0, 6))"
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be $old.CacheKey
        }
        finally {
            Pop-Location
        }
    }
}

Describe 'Models of token ids' {
    BeforeAll {
        # A TextCNN exported by torch: int64 token ids [batch, 12] of a 50-word vocabulary, three logits.
        $text = New-TrtEngine -Path (Join-Path $PSScriptRoot '../fixtures/patterns/text_cnn_o17.onnx') -CacheDirectory (Join-Path $TestDrive 'text')
        $sentence = [long[]](3, 17, 42, 8, 8, 1, 49, 0, 0, 0, 0, 0)
    }

    It 'takes integer inputs as the model declares them' {
        $text.Inputs[0].DataType | Should -Be 'Int64'
        $out = Invoke-TrtEngine -Engine $text -Input @{ ids = @(, $sentence) }
        $out.Shape | Should -Be @(1, 3)
        $again = Invoke-TrtEngine -Engine $text -Input @{ ids = @($sentence, $sentence) }
        $again.Shape | Should -Be @(2, 3)
        ($again.Data[0..2] -join ',') | Should -BeExactly ($out.Data -join ',')
        $other = Invoke-TrtEngine -Engine $text -Input @{ ids = @(, [long[]](5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5)) }
        ($other.Data -join ',') | Should -Not -Be ($out.Data -join ',')
    }

    It 'refuses <Case> as InvalidInput, saying so' -ForEach @(
        @{ Case = 'an id outside the vocabulary'; Ids = [long[]](3, 17, 50, 8, 8, 1, 49, 0, 0, 0, 0, 0); Says = '*index 50*[-50, 49]*' }
        @{ Case = 'a fraction'; Ids = [double[]](3, 17, 4.5, 8, 8, 1, 49, 0, 0, 0, 0, 0); Says = '*Int64: element 2 is 4.5*' }
    ) {
        $err = { Invoke-TrtEngine -Engine $text -Input @{ ids = @(, $Ids) } -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'InvalidInput*'
        $err.Exception.Message | Should -BeLike $Says
        (Invoke-TrtEngine -Engine $text -Input @{ ids = @(, $sentence) }).Shape | Should -Be @(1, 3)
    }
}
