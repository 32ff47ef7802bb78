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
                    Built   = @($verbose -like 'Cache miss: building*').Count
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
