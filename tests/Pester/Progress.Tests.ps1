# Progress bars for builds (phase, layer being tuned, n of m), none for refits and inferences, and a build stopped
# mid-way (PowerShell.Stop(), what Ctrl+C does) that leaves the cache exactly as it was.

BeforeAll {
    $module = (Resolve-Path "$PSScriptRoot/../../out/TrtEngine/TrtEngine.psd1").Path
    Import-Module $module -Force
    $models = (Resolve-Path "$PSScriptRoot/../../examples/models").Path
    $onnx = Join-Path $models 'tiny_mlp.onnx'
    $checkpoint = Join-Path $models 'tiny_mlp.ckpt1.safetensors'

    # A runspace of its own, so its streams (progress included) can be read and its pipeline stopped.
    function New-Shell {
        $ps = [powershell]::Create()
        $null = $ps.AddCommand('Import-Module').AddArgument($module).Invoke()
        $ps.Commands.Clear()
        $ps
    }
}

Describe 'Progress' {
    It 'reports the phases of a build and each layer being tuned, n of m' {
        $ps = New-Shell
        try {
            $null = $ps.AddCommand('New-TrtEngine').AddParameter('Path', $onnx).AddParameter('NoCache').AddParameter('OptimizationLevel', 1).Invoke()
            $records = @($ps.Streams.Progress)
            $records.StatusDescription | Should -Contain 'Fusing layers'
            $records.StatusDescription | Should -Contain 'Tuning tactics (1 of 3)'
            $records.StatusDescription | Should -Contain 'Tuning tactics (3 of 3)'
            $records.StatusDescription | Should -Contain 'Packing weights'
            ($records | Where-Object StatusDescription -eq 'Tuning tactics (1 of 3)').CurrentOperation | Should -Not -BeNullOrEmpty
            ($records | Where-Object StatusDescription -eq 'Tuning tactics (1 of 3)').PercentComplete | Should -Be 0
            $records[-1].RecordType | Should -Be 'Completed'
        }
        finally { $ps.Dispose() }
    }

    It 'writes no progress for refits, inferences and cache hits in a loop' {
        $ps = New-Shell
        try {
            $cache = Join-Path $TestDrive 'quiet'
            $null = $ps.AddScript("New-TrtEngine -Path '$onnx' -CacheDirectory '$cache' -OptimizationLevel 0").Invoke()
            $ps.Commands.Clear()
            $ps.Streams.Progress.Clear()
            $null = $ps.AddScript(@"
`$engine = New-TrtEngine -Path '$onnx' -CacheDirectory '$cache' -OptimizationLevel 0
foreach (`$i in 1..20) {
    `$engine | Update-TrtEngineWeights -Path '$checkpoint'
    `$null = Invoke-TrtEngine -Engine `$engine -Input @{ input = [float[]]::new(64) }
}
`$engine.RefitCount
"@).Invoke()
            $ps.HadErrors | Should -BeFalse
            $ps.Streams.Progress.Count | Should -Be 0
        }
        finally { $ps.Dispose() }
    }
}

Describe 'Stopping a build' {
    It 'stops mid-way and leaves the cache as it was: the same entries, no temporary directory, no held lock' {
        $cache = Join-Path $TestDrive 'stopped'
        $existing = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0
        $before = Get-TrtCache -CacheDirectory $cache | ForEach-Object { "$($_.Key) $($_.SizeBytes)" }

        $ps = New-Shell
        try {
            # Tuning for batch 4096 at level 5 times many large GEMMs: a build that takes a while.
            $null = $ps.AddCommand('New-TrtEngine').AddParameter('Path', $onnx).AddParameter('CacheDirectory', $cache).
                AddParameter('OptimizationLevel', 5).AddParameter('MinShape', @{ input = @(1, 64) }).
                AddParameter('OptShape', @{ input = @(4096, 64) }).AddParameter('MaxShape', @{ input = @(4096, 64) })
            $async = $ps.BeginInvoke()
            $deadline = [datetime]::UtcNow.AddMinutes(2) # a guard against a hang, not a measurement
            $progress = $ps.Streams.Progress
            while ($ps.InvocationStateInfo.State -eq 'Running' -and [datetime]::UtcNow -lt $deadline -and
                   -not ($progress.Count -and $progress[$progress.Count - 1].StatusDescription -like 'Tuning tactics*')) {
                Start-Sleep -Milliseconds 2
            }
            $ps.Stop()
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            # Stopped inside the tuning: the last layer was never reached, and nothing was returned.
            $tuning = @($ps.Streams.Progress) | Where-Object StatusDescription -like 'Tuning tactics*'
            $tuning.StatusDescription | Should -Not -Contain 'Tuning tactics (3 of 3)'
            @($ps.Streams.Progress).StatusDescription | Should -Not -Contain 'Packing weights'
        }
        finally { $ps.Dispose() }

        Get-TrtCache -CacheDirectory $cache | ForEach-Object { "$($_.Key) $($_.SizeBytes)" } | Should -Be $before
        $temp = Join-Path $cache '.tmp'
        if (Test-Path $temp) { Get-ChildItem $temp -Force | Should -BeNullOrEmpty }
        foreach ($lock in Get-ChildItem (Join-Path $cache '.locks') -Filter *.lock) {
            # An exclusive open fails while a builder holds the lock.
            { [IO.File]::Open($lock.FullName, 'Open', 'ReadWrite', 'None').Dispose() } | Should -Not -Throw
        }
        (Test-TrtCache -CacheDirectory $cache -OrphanAge 0).Status | Should -Be 'Ok'
    }
}
