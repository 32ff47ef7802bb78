#requires -Version 7.4
<#
.SYNOPSIS
    A tour of TrtEngine: build an engine, hit the cache, refit in a loop, export and import
    without weights, and clear the cache from the pipeline.
.DESCRIPTION
    Uses the built module (out/TrtEngine) unless TrtEngine is already imported, and a temporary
    cache folder that is removed at the end. Run it with: dotnet pwsh ./build.ps1 Demo
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

if (-not (Get-Module TrtEngine)) {
    Import-Module (Join-Path $PSScriptRoot '../out/TrtEngine/TrtEngine.psd1')
}

$plain = $PSStyle.OutputRendering -eq 'PlainText'
function Write-Heading([string] $Text) {
    $on, $off = if ($plain) { '', '' } else { "$($PSStyle.Bold)$($PSStyle.Foreground.Cyan)", $PSStyle.Reset }
    Write-Host "`n$on== $Text$off"
}
function Format-Values($Values) {
    ($Values | ForEach-Object { $_.ToString('0.0000', [cultureinfo]::InvariantCulture).PadLeft(8) }) -join ' '
}

$models = Join-Path $PSScriptRoot 'models'
$model = Join-Path $models 'tiny_mlp.onnx'
$x = [float[]](Get-Content -Raw (Join-Path $models 'tiny_mlp.input.json') | ConvertFrom-Json).input.data
$work = Join-Path ([IO.Path]::GetTempPath()) "trtengine-quickstart-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
$cache = Join-Path $work 'cache'

try {
    Write-Heading 'Build an engine from tiny_mlp.onnx (cache miss)'
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $engine = New-TrtEngine -Path $model -CacheDirectory $cache
    $buildMs = $clock.Elapsed.TotalMilliseconds
    $engine | Out-Host

    Write-Heading 'The cache now holds one weight-stripped entry'
    Get-TrtCache -CacheDirectory $cache | Out-Host

    Write-Heading 'Build the same model again (cache hit, refitted with the model''s weights)'
    $clock.Restart()
    $again = New-TrtEngine -Path $model -CacheDirectory $cache
    $hitMs = $clock.Elapsed.TotalMilliseconds
    $again | Out-Host
    Write-Host ('FromCache: {0}; build {1:N1} ms, cache hit {2:N1} ms ({3:N1}x faster)' -f $again.FromCache, $buildMs, $hitMs, ($buildMs / $hitMs))

    Write-Heading 'Refit one engine with each checkpoint and run it'
    foreach ($i in 1..3) {
        $checkpoint = Join-Path $models "tiny_mlp.ckpt$i.safetensors"
        $engine | Update-TrtEngineWeights -Path $checkpoint
        $logits = Invoke-TrtEngine -Engine $engine -Input @{ input = $x }
        Write-Host ('{0,-28} logits[0..3] = {1}' -f (Split-Path $checkpoint -Leaf), (Format-Values $logits.Data[0..3]))
    }
    $lastLogits = $logits.Data -join ','
    Write-Host "Refits so far: $($engine.RefitCount)"
    $logits | Out-Host

    Write-Heading 'Export without weights, import, refit, run'
    $file = $engine | Export-TrtEngine -Path (Join-Path $work 'tiny_mlp.stripped.engine') -ExcludeWeights -PassThru
    Write-Host "Wrote $($file.Name) ($($file.Length) bytes, no weights)"
    $imported = Import-TrtEngine -Path $file.FullName
    Write-Host "Imported: HasWeights = $($imported.HasWeights), IsRefittable = $($imported.IsRefittable)"
    $imported | Update-TrtEngineWeights -Path (Join-Path $models 'tiny_mlp.ckpt3.safetensors')
    $roundTrip = (Invoke-TrtEngine -Engine $imported -Input @{ input = $x }).Data
    Write-Host "Refitted with tiny_mlp.ckpt3: logits[0..3] = $(Format-Values $roundTrip[0..3])"
    Write-Host "Same logits as the original engine on ckpt3: $(($roundTrip -join ',') -eq $lastLogits)"

    Write-Heading 'Clear the cache from the pipeline'
    Get-TrtCache -CacheDirectory $cache | Remove-TrtCache
    Write-Host "Entries left in the cache: $(@(Get-TrtCache -CacheDirectory $cache).Count)"
}
finally {
    if (Test-Path $work) { Remove-Item $work -Recurse -Force }
}
