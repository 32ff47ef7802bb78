#requires -Version 7.4
<#
.SYNOPSIS
    Renders the module's main views as text captures and writes them into the README.
.DESCRIPTION
    Imports the built module, builds the example model into a fresh cache (three entries, one pinned, one hit), and
    runs each command below; a capture is the command and what PowerShell printed for it, as plain text (no escape
    codes) at a fixed width. The part of the README between the '<!-- screens:begin -->' and '<!-- screens:end -->'
    lines is replaced by the captures. The repository root in printed paths is shown as '.'.
.EXAMPLE
    dotnet pwsh ./build.ps1 Screens
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/TrtEngine/TrtEngine.psd1'),
    [string] $ReadmePath = (Join-Path $PSScriptRoot '../README.md'),
    # Rebuilt from empty on every run.
    [string] $CacheDirectory = (Join-Path $PSScriptRoot '../out/screens-cache'),
    [int] $Width = 110
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$root = (Resolve-Path (Join-Path $PSScriptRoot '..')).Path
Import-Module $ModulePath -Force

$begin, $end = '<!-- screens:begin -->', '<!-- screens:end -->'
$readme = Get-Content -Raw -LiteralPath $ReadmePath
$at, $to = $readme.IndexOf($begin), $readme.IndexOf($end)
if ($at -lt 0 -or $to -lt $at) { throw "$ReadmePath has no '$begin' ... '$end' section to fill." }

if (Test-Path $CacheDirectory) { Remove-Item -Recurse -Force $CacheDirectory }
$saved = $env:TRTENGINE_CACHE_DIR
$savedRendering = $PSStyle.OutputRendering
Push-Location $root
try {
    # The commands read as users type them: the cache comes from TRTENGINE_CACHE_DIR.
    $env:TRTENGINE_CACHE_DIR = (New-Item -ItemType Directory -Force $CacheDirectory).FullName
    $PSStyle.OutputRendering = 'PlainText'
    $engine = New-TrtEngine ./examples/models/tiny_mlp.onnx -OptimizationLevel 2
    $null = New-TrtEngine ./examples/models/tiny_mlp.onnx -OptimizationLevel 2
    $null = New-TrtEngine ./examples/models/tiny_mlp.onnx -OptimizationLevel 0
    $null = New-TrtEngine ./examples/models/tiny_mlp.onnx -InputShape @{ input = 8, 64 } -OptimizationLevel 1
    Lock-TrtCache -Key $engine.CacheKey

    $commands = @(
        { Get-TrtCache }
        { Get-TrtCache -Summary }
        { Test-TrtCache }
        { $engine }
        { Get-TrtEngineInfo $engine }
        { (Get-TrtEngineInfo $engine).Layers }
        { Invoke-TrtEngine $engine -Input @{ input = './examples/models/tiny_mlp.input.npy' } }
    )
    $captures = foreach ($command in $commands) {
        $text = (. $command | Out-String -Width $Width) -replace "`e\[[0-9;]*[A-Za-z]", ''
        $lines = ($text -split '\r?\n' | ForEach-Object { $_.TrimEnd().Replace($root, '.') }) -join "`n"
        "PS> $($command.ToString().Trim())`n`n$($lines.Trim("`n"))`n"
    }
}
finally {
    Pop-Location
    $env:TRTENGINE_CACHE_DIR = $saved
    $PSStyle.OutputRendering = $savedRendering
}

$section = "$begin`n" + (($captures | ForEach-Object { "``````text`n$_``````" }) -join "`n`n") + "`n$end"
$updated = $readme.Substring(0, $at) + $section + $readme.Substring($to + $end.Length)
Set-Content -LiteralPath $ReadmePath -Value $updated -NoNewline
Write-Host "Wrote $($captures.Count) captures into $ReadmePath."
