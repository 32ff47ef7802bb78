# The format views colour through $PSStyle: with OutputRendering Ansi, never with PlainText, and with Host only when
# standard output is a terminal (PowerShell itself keeps escape codes in output redirected to a file or a pipe).

BeforeAll {
    $module = (Resolve-Path "$PSScriptRoot/../../out/TrtEngine/TrtEngine.psd1").Path
    Import-Module $module -Force
    $onnx = (Resolve-Path "$PSScriptRoot/../../examples/models/tiny_mlp.onnx").Path
    $cache = Join-Path $TestDrive 'cache'
    $engine = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0
    Lock-TrtCache -Key $engine.CacheKey -CacheDirectory $cache
    $green = "$($PSStyle.Foreground.Green)Ok$($PSStyle.Reset)"
    $cyan = "$($PSStyle.Foreground.Cyan)pinned$($PSStyle.Reset)"

    # The views as another pwsh renders them to its standard output, which is a pipe here.
    function Get-RedirectedOutput([string] $Rendering) {
        $script = "`$PSStyle.OutputRendering = '$Rendering'; Import-Module '$module'; Test-TrtCache -CacheDirectory '$cache'; Get-TrtCache -CacheDirectory '$cache'"
        (& dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -Command $script) -join "`n"
    }
}

Describe 'Colour in the views' {
    AfterEach { $PSStyle.OutputRendering = 'Host' }

    It 'colours status and pins with OutputRendering Ansi' {
        $PSStyle.OutputRendering = 'Ansi'
        (Test-TrtCache -CacheDirectory $cache | Out-String).Contains($green) | Should -BeTrue
        (Get-TrtCache -CacheDirectory $cache | Out-String).Contains($cyan) | Should -BeTrue
    }

    It 'marks a disposed engine where its name is, in the table and the list' {
        $PSStyle.OutputRendering = 'PlainText'
        $gone = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0
        ($gone | Out-String) | Should -Not -Match 'disposed'
        $gone.Dispose()
        ($gone | Format-Table | Out-String) | Should -Match 'tiny_mlp \(disposed\)'
        ($gone | Format-List | Out-String) | Should -Match 'Name +: tiny_mlp \(disposed\)'
    }

    It 'fits the tables into an 80-column window, every heading on one line' {
        # Found by a QA helper (session 50): "Pinned" and "BuildTime" stood on end, one letter a line, and the Weights column fell off.
        $PSStyle.OutputRendering = 'PlainText'
        $stripped = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0 -StripWeights
        foreach ($table in @(
                ($engine, $stripped | Out-String -Width 80),
                (Get-TrtCache -CacheDirectory $cache | Out-String -Width 80),
                (Test-TrtCache -CacheDirectory $cache | Out-String -Width 80),
                ((Get-TrtEngineInfo $engine).Layers | Out-String -Width 80))) {
            $lines = $table -split "`n" | Where-Object { $_.Trim() }
            $lines | ForEach-Object { $_.TrimEnd().Length | Should -BeLessOrEqual 80 }
            $lines[1] | Should -Match '^ *-+( +-+)+ *$'
        }
        ($engine, $stripped | Out-String -Width 80) | Should -Match 'BuildTime +Weights'
        # An engine without weights holds none: no bytes beside its name.
        ($stripped | Out-String -Width 80) | Should -Match 'tiny_mlp \(no weights\) .* ms *\r?\n'
        # A tactic the build did not time (tiny_mlp's small GEMMs) shows no time rather than 0.0.
        ((Get-TrtEngineInfo $engine).Layers | Out-String -Width 80) | Should -Not -Match ' 0\.0 '
        (Get-TrtCache -CacheDirectory $cache | Out-String -Width 80) | Should -Match 'HitCount Pinned'
    }

    It 'puts every output type into a string as words, not its type name' {
        $info = Get-TrtEngineInfo $engine
        $objects = @((Test-TrtCache -CacheDirectory $cache)[0], (Get-TrtCache -CacheDirectory $cache -Summary), (Get-TrtCacheOption), $info, $info.Layers[0], $info.Weights[0])
        foreach ($o in $objects) { "$o" | Should -Not -BeLike 'TrtEngine.*' }
        "$($info.Weights[0])" | Should -BeLike "$($info.Weights[0].Name) = *"
        "$((Test-TrtCache -CacheDirectory $cache)[0])" | Should -BeLike "Ok $($engine.CacheKey)"
    }

    It 'shows a verification''s outputs with their errors in scientific notation, not as 0.00' {
        $PSStyle.OutputRendering = 'PlainText'
        $other = New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0
        $result = $other | Update-TrtEngineWeights -Path (Join-Path (Split-Path $onnx) 'tiny_mlp.ckpt2.safetensors') -Verify
        $table = $result.Outputs | Format-Table | Out-String
        $table | Should -Match "logits +\[1, 10\] +$([regex]::Escape($result.Outputs[0].RelativeL2.ToString('E2', [cultureinfo]::InvariantCulture)))"
    }

    It 'writes no escape codes with OutputRendering PlainText' {
        $PSStyle.OutputRendering = 'PlainText'
        (Test-TrtCache -CacheDirectory $cache | Out-String) + (Get-TrtCache -CacheDirectory $cache | Out-String) + ($engine | Format-List | Out-String) |
            Should -Not -Match "`e"
    }

    It 'leaves colour out of output redirected to a pipe, and puts it in when asked for Ansi' {
        $redirected = Get-RedirectedOutput 'Host'
        $redirected | Should -BeLike '*Ok*pinned*'
        $redirected.Contains($green) | Should -BeFalse
        $redirected.Contains($cyan) | Should -BeFalse
        (Get-RedirectedOutput 'Ansi').Contains($green) | Should -BeTrue
    }
}

Describe 'Sizes in the views' {
    It 'shows byte counts in binary units: <Bytes> as <Text>' -ForEach @(
        @{ Bytes = 512; Text = '512 B' }
        @{ Bytes = 86733; Text = '{0:N1} KiB' -f 84.7 }
        @{ Bytes = 5GB; Text = '{0:N1} GiB' -f 5 }
    ) {
        [TrtEngine.Cmdlets.Support.ByteSize]::Format($Bytes) | Should -Be $Text
    }

    It 'shows the cache options with the size limit readable' {
        $options = [TrtEngine.Core.Cache.TrtCacheOptions]@{
            CacheDirectory = '/c'; CacheDirectorySource = 'Default'; SizeLimitBytes = 5GB; SizeLimitSource = 'Settings'; SettingsPath = '/s.json'
        }
        ($options | Out-String) -match 'SizeLimit\s+: (.+)' | Should -BeTrue
        $Matches[1].Trim() | Should -Be ('{0:N1} GiB' -f 5)
    }
}

Describe 'tools/New-ReadmeScreens.ps1' {
    It 'fills the README''s screens section with plain-text captures of the main views' {
        $readme = Join-Path $TestDrive 'README.md'
        Set-Content $readme "# Title`n`n<!-- screens:begin -->`nold`n<!-- screens:end -->`n`nAfter."
        $script = (Resolve-Path "$PSScriptRoot/../../tools/New-ReadmeScreens.ps1").Path
        & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $script -ReadmePath $readme -CacheDirectory (Join-Path $TestDrive 'screens') | Out-Null
        $LASTEXITCODE | Should -Be 0
        $text = Get-Content -Raw $readme
        $text | Should -Not -Match "`e"
        $text | Should -Not -Match 'old'
        $text | Should -BeLike "*After.*"
        foreach ($command in 'Get-TrtCache', 'Get-TrtCache -Summary', 'Test-TrtCache', 'Get-TrtEngineInfo $engine', 'Invoke-TrtEngine $engine') {
            $text | Should -BeLike "*PS> $command*"
        }
        $text | Should -BeLike '*Entries*: 3 (1 pinned)*'
        $text | Should -BeLike '*logits*[2, 10]*Float32*'
    }
}
