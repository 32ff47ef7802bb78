# Several processes converting the same model against one cache at the same moment: one builds, the others
# wait on the key's lock and then hit, and every engine computes the same outputs. Keys agree across processes.

BeforeAll {
    $module = (Resolve-Path "$PSScriptRoot/../../out/TrtEngine/TrtEngine.psd1").Path
    Import-Module $module -Force
    $models = (Resolve-Path "$PSScriptRoot/../../examples/models").Path
}

Describe 'One cache shared by several processes' {
    It 'builds a key once while the others wait and then hit' {
        $cache = Join-Path $TestDrive 'cache'
        $gate = Join-Path $TestDrive 'gate'
        New-Item -ItemType Directory $gate | Out-Null
        $workers = 4
        $jobs = 1..$workers | ForEach-Object {
            Start-Job -ArgumentList $module, $models, $cache, $gate, $_ -ScriptBlock {
                param($module, $models, $cache, $gate, $id)
                Import-Module $module
                $x = [float[]](Get-Content -Raw (Join-Path $models 'tiny_mlp.input.json') | ConvertFrom-Json).input.data
                New-Item -ItemType File (Join-Path $gate "ready$id") | Out-Null
                while (-not (Test-Path (Join-Path $gate 'go'))) { Start-Sleep -Milliseconds 5 }
                $verbose = @()
                $engine = New-TrtEngine -Path (Join-Path $models 'tiny_mlp.onnx') -CacheDirectory $cache -OptimizationLevel 5 -Verbose 4>&1 |
                    ForEach-Object { if ($_ -is [System.Management.Automation.VerboseRecord]) { $verbose += $_.Message } else { $_ } }
                [pscustomobject]@{
                    Built   = @($verbose -like 'Building the engine*').Count
                    Logits  = (Invoke-TrtEngine -Engine $engine -Input @{ input = $x }).Data -join ','
                }
            }
        }
        $deadline = (Get-Date).AddSeconds(120)
        while (@(Get-ChildItem $gate).Count -lt $workers -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 20 }
        New-Item -ItemType File (Join-Path $gate 'go') | Out-Null
        $results = $jobs | Wait-Job -Timeout 120 | Receive-Job
        $jobs | Remove-Job -Force

        $results.Count | Should -Be $workers
        ($results | Measure-Object Built -Sum).Sum | Should -Be 1
        @($results.Logits | Sort-Object -Unique).Count | Should -Be 1
        $entry = Get-TrtCache -CacheDirectory $cache
        @($entry).Count | Should -Be 1
        $entry.HitCount | Should -Be ($workers - 1)
    }
}

Describe 'Cache keys across processes and cultures' {
    It 'gives the same key in another process running under another culture' {
        $onnx = Join-Path $models 'tiny_mlp.onnx'
        $here = (New-TrtEngine -Path $onnx -CacheDirectory (Join-Path $TestDrive 'a') -OptimizationLevel 0).CacheKey
        $there = Start-Job -ArgumentList $module, $onnx, (Join-Path $TestDrive 'b') -ScriptBlock {
            param($module, $onnx, $cache)
            [System.Threading.Thread]::CurrentThread.CurrentCulture = 'de-DE'
            [System.Threading.Thread]::CurrentThread.CurrentUICulture = 'tr-TR'
            Import-Module $module
            (New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0).CacheKey
        } | Wait-Job -Timeout 120 | Receive-Job
        $there | Should -Be $here
    }
}

Describe 'Converting while an admin script empties the cache' {
    It 'never fails or computes anything else while another process loops Get-TrtCache | Remove-TrtCache' {
        $cache = Join-Path $TestDrive 'shared'
        $stop = Join-Path $TestDrive 'stop'
        $ready = Join-Path $TestDrive 'purger-ready'
        $purged = Join-Path $TestDrive 'purger-removed-one'
        $onnx = Join-Path $models 'tiny_mlp.onnx'
        $x = [float[]](Get-Content -Raw (Join-Path $models 'tiny_mlp.input.json') | ConvertFrom-Json).input.data
        $expected = (Invoke-TrtEngine -Engine (New-TrtEngine -Path $onnx -NoCache -OptimizationLevel 0) -Input @{ input = $x }).Data -join ','
        $purger = Start-Job -ArgumentList $module, $cache, $stop, $ready, $purged -ScriptBlock {
            param($module, $cache, $stop, $ready, $purged)
            Import-Module $module
            $removed = 0
            while (-not (Test-Path $stop)) {
                $entries = @(Get-TrtCache -CacheDirectory $cache)
                $entries | Remove-TrtCache -Confirm:$false
                $removed += $entries.Count
                if (-not (Test-Path $ready)) { New-Item -ItemType File $ready | Out-Null }
                if ($removed -gt 0 -and -not (Test-Path $purged)) { New-Item -ItemType File $purged | Out-Null }
                Start-Sleep -Milliseconds 20
            }
            $removed
        }
        $workers = 1..2 | ForEach-Object {
            Start-Job -ArgumentList $module, $onnx, $cache, $x, $ready, $purged -ScriptBlock {
                param($module, $onnx, $cache, $x, $ready, $purged)
                Import-Module $module
                # Convert only while the purger loops, and until it has removed an entry at least once, so the two
                # really overlap (starting a job takes seconds; a hit takes a millisecond).
                $deadline = (Get-Date).AddSeconds(60)
                while (-not (Test-Path $ready) -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 20 }
                for ($i = 0; $i -lt 6 -or (-not (Test-Path $purged) -and (Get-Date) -lt $deadline); $i++) {
                    $engine = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0 -ErrorAction Stop
                    [pscustomobject]@{ FromCache = $engine.FromCache; Logits = (Invoke-TrtEngine -Engine $engine -Input @{ input = $x }).Data -join ',' }
                }
            }
        }
        $results = $workers | Wait-Job -Timeout 300 | Receive-Job -ErrorVariable failures
        New-Item -ItemType File $stop | Out-Null
        $removed = $purger | Wait-Job -Timeout 60 | Receive-Job
        $workers + $purger | Remove-Job -Force

        $failures | Should -BeNullOrEmpty
        $results.Count | Should -BeGreaterOrEqual 12
        $results | ForEach-Object { $_.Logits | Should -BeExactly $expected }
        $removed | Should -BeGreaterThan 0
        Test-TrtCache -CacheDirectory $cache -OrphanAge 0 | Where-Object Status -ne 'Ok' | Should -BeNullOrEmpty
    }
}
