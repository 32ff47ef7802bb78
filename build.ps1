#requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, demonstrates and benchmarks the TrtEngine module.
.DESCRIPTION
    Build  publishes the cmdlet assembly and assembles out/TrtEngine from an explicit file list.
    Test   builds, runs the xunit projects and the Pester tests (against the built module), then the
           Native and Core suites again with AVX-512 off and with AVX off (where the CPU has them: the
           portable kernels of a CPU without AVX, such as ARM64), and prints one summary line.
    Soak   runs the reliability tests (tests/TrtEngine.Core.Tests/Reliability) at their full counts
           (TRTENGINE_SOAK=1): 1,000 corruption trials, 50 kills, 8 processes x 20 conversions,
           10,000 mutated files of each kind. Summaries go to out/reliability/*.soak.txt.
    Demo   builds and runs examples/Quickstart.ps1 in a fresh pwsh.
    Bench  builds and runs tests/TrtEngine.Bench; extra arguments are passed through.
    Screens builds and renders the README's captures of the main views (tools/New-ReadmeScreens.ps1).
    Clean  removes out/.
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 Test
.EXAMPLE
    dotnet pwsh ./build.ps1 Test -TestFilter Refit
    Runs only xunit tests whose full name contains 'Refit' and Pester tests whose full name matches *Refit*.
.EXAMPLE
    dotnet pwsh ./build.ps1 Bench --quick
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Soak', 'Demo', 'Bench', 'Screens', 'Clean')]
    [string] $Task = 'Build',

    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # Substring of test names to run (xunit FullyQualifiedName~X, Pester *X*).
    [string] $TestFilter,

    # Passed through to the benchmark.
    [Parameter(ValueFromRemainingArguments)]
    [string[]] $BenchArguments = @()
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
# Exit codes are checked by hand: a failing 'dotnet test' must not stop the run before the summary.
$PSNativeCommandUseErrorActionPreference = $false

$root = $PSScriptRoot
$out = Join-Path $root 'out'
$moduleDir = Join-Path $out 'TrtEngine'
$manifestPath = Join-Path $moduleDir 'TrtEngine.psd1'

function Assert-ExitCode([string] $What) {
    if ($LASTEXITCODE -ne 0) { throw "$What failed with exit code $LASTEXITCODE." }
}

# Child pwsh processes run the pinned tool from the repo root, so tests never see this session's state.
function Invoke-FreshPwsh([string[]] $Arguments) {
    Push-Location $root
    try { dotnet pwsh -NoLogo -NoProfile -NonInteractive @Arguments }
    finally { Pop-Location }
}

function Get-ModuleVersion {
    $node = ([xml](Get-Content -Raw (Join-Path $root 'Directory.Build.props'))).SelectSingleNode('//VersionPrefix')
    if (-not $node) { throw 'Directory.Build.props has no <VersionPrefix>.' }
    [version] $node.InnerText
}

function Invoke-Build {
    $publishDir = Join-Path $out 'publish'
    $genDir = Join-Path $out 'gen'
    foreach ($dir in $publishDir, $genDir, $moduleDir) {
        if (Test-Path $dir) { Remove-Item $dir -Recurse -Force }
    }
    $null = New-Item -ItemType Directory $genDir

    dotnet publish (Join-Path $root 'Cmdlets/TrtEngine.Cmdlets.csproj') -c $Configuration -o $publishDir --nologo | Out-Host
    Assert-ExitCode 'dotnet publish'

    $version = Get-ModuleVersion
    $versionLine = "(?m)^(\s*ModuleVersion\s*=\s*)'[^']*'"
    $manifestText = Get-Content -Raw (Join-Path $root 'TrtEngine.psd1')
    if ($manifestText -notmatch $versionLine) { throw "TrtEngine.psd1 has no ModuleVersion = '...' line to stamp." }
    Set-Content -Path (Join-Path $genDir 'TrtEngine.psd1') -NoNewline -Value ($manifestText -replace $versionLine, "`${1}'$version'")

    $helpXml = Join-Path $genDir 'TrtEngine.Cmdlets.dll-Help.xml'
    Invoke-FreshPwsh @('-File', (Join-Path $root 'tools/New-MamlHelp.ps1'),
        '-HelpData', (Join-Path $root 'Module/help/TrtEngine.Help.psd1'),
        '-AssemblyPath', (Join-Path $publishDir 'TrtEngine.Cmdlets.dll'),
        '-OutFile', $helpXml) | Out-Host
    Assert-ExitCode 'Generating MAML help'

    # The module is exactly these files; PowerShell's own assemblies (published alongside) stay out.
    $files = [ordered]@{
        'TrtEngine.psd1'                     = Join-Path $genDir 'TrtEngine.psd1'
        'TrtEngine.Cmdlets.dll'              = Join-Path $publishDir 'TrtEngine.Cmdlets.dll'
        'TrtEngine.Core.dll'                 = Join-Path $publishDir 'TrtEngine.Core.dll'
        'TrtEngine.Native.dll'               = Join-Path $publishDir 'TrtEngine.Native.dll'
        'TrtEngine.format.ps1xml'            = Join-Path $root 'Module/TrtEngine.format.ps1xml'
        'en-US/about_TrtEngine.help.txt'     = Join-Path $root 'Module/en-US/about_TrtEngine.help.txt'
        'en-US/TrtEngine.Cmdlets.dll-Help.xml' = $helpXml
    }
    $missing = @($files.Values | Where-Object { -not (Test-Path -LiteralPath $_ -PathType Leaf) })
    if ($missing) { throw "Cannot assemble the module; missing file(s):`n  $($missing -join "`n  ")" }

    foreach ($name in $files.Keys) {
        $target = Join-Path $moduleDir $name
        $null = New-Item -ItemType Directory -Force (Split-Path $target)
        Copy-Item -LiteralPath $files[$name] -Destination $target
    }
    $null = Test-ModuleManifest -Path $manifestPath
    Write-Host "Built TrtEngine $version -> $moduleDir"
}

# Counts from one xunit project's TRX file; $null when the suite did not run.
# A variant runs an xunit project again, built already, with the runtime told to leave some instructions unused (the
# test host alone gets the variable).
function Invoke-XunitProject([string] $Project, [string] $ResultsDir, [hashtable] $Variant) {
    $name = [IO.Path]::GetFileNameWithoutExtension($Project)
    $trxName = if ($Variant) { "$name.$($Variant.Tag).trx" } else { "$name.trx" }
    $trx = Join-Path $ResultsDir $trxName
    # Perf tests only print throughput; they are not part of the suite (timings are not assertions).
    $filterArgs = if ($TestFilter) { @('--filter', "FullyQualifiedName~$TestFilter&Category!=Perf") } else { @('--filter', 'Category!=Perf') }
    $variantArgs = if ($Variant) { @('--no-build', '-e', $Variant.Variable) } else { @() }
    dotnet test $Project -c $Configuration --nologo --results-directory $ResultsDir --logger "trx;LogFileName=$trxName" @filterArgs @variantArgs | Out-Host
    $exit = $LASTEXITCODE
    if (-not (Test-Path -LiteralPath $trx)) {
        Write-Warning "$name produced no TRX results (exit code $exit)."
        return $null
    }
    $c = ([xml](Get-Content -Raw $trx)).TestRun.ResultSummary.Counters
    $counts = [pscustomobject]@{
        Suite   = if ($Variant) { "$name ($($Variant.Name))" } else { $name }
        Passed  = [int]$c.passed
        Failed  = [int]$c.failed + [int]$c.error + [int]$c.timeout + [int]$c.aborted
        # xunit's skips appear only as total minus executed in the TRX counters.
        Skipped = [int]$c.total - [int]$c.executed + [int]$c.inconclusive
    }
    # A non-zero exit with no failed test means the run itself broke (build error, crashed host).
    if ($exit -ne 0 -and $counts.Failed -eq 0) {
        Write-Warning "$name exited with code $exit without a failed test."
        return $null
    }
    $counts
}

function Get-PesterModulePath {
    $line = dotnet nuget locals global-packages --list
    Assert-ExitCode 'dotnet nuget locals'
    $packages = ("$line" -replace '^\s*global-packages:\s*', '').Trim()
    $path = Join-Path $packages 'pester/6.2.0/tools/Pester.psd1'
    if (-not (Test-Path -LiteralPath $path)) {
        # The PackageDownload in TrtEngine.Testing brings Pester into the global packages folder.
        dotnet restore (Join-Path $root 'tests/TrtEngine.Testing/TrtEngine.Testing.csproj') --nologo | Out-Host
        Assert-ExitCode 'dotnet restore (Pester)'
    }
    if (-not (Test-Path -LiteralPath $path)) { throw "Pester 6.2.0 not found at $path." }
    $path
}

function Invoke-PesterSuite([string] $ResultsDir) {
    $resultFile = Join-Path $ResultsDir 'pester.xml'
    $testFiles = @(Get-ChildItem (Join-Path $root 'tests') -Recurse -Filter '*.Tests.ps1' | ForEach-Object FullName)
    if (-not $testFiles) { Write-Warning 'No Pester test files under tests/.'; return $null }
    # Tests must never touch the user's real cache, even one that forgets -CacheDirectory.
    $cacheDir = Join-Path $ResultsDir 'pester-cache'
    $runner = {
        param($PesterPath, $Paths, $ResultFile, $Filter, $CacheDir)
        $env:TRTENGINE_CACHE_DIR = $CacheDir
        Import-Module $PesterPath
        $config = New-PesterConfiguration
        $config.Run.Path = $Paths
        $config.Run.Exit = $true
        $config.Output.Verbosity = 'Detailed'
        $config.TestResult.Enabled = $true
        $config.TestResult.OutputFormat = 'NUnit3'
        $config.TestResult.OutputPath = $ResultFile
        if ($Filter) { $config.Filter.FullName = "*$Filter*" }
        Invoke-Pester -Configuration $config
    }
    $q = { "'" + ($args[0] -replace "'", "''") + "'" }   # a single-quoted PowerShell literal
    $command = "& { $runner } -PesterPath $(& $q (Get-PesterModulePath)) -Paths @($(($testFiles | ForEach-Object { & $q $_ }) -join ',')) " +
               "-ResultFile $(& $q $resultFile) -Filter $(& $q "$TestFilter") -CacheDir $(& $q $cacheDir)"
    Invoke-FreshPwsh @('-OutputFormat', 'Text', '-EncodedCommand', [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($command))) | Out-Host
    $exit = $LASTEXITCODE
    if (-not (Test-Path -LiteralPath $resultFile)) {
        Write-Warning "Pester produced no results (exit code $exit)."
        return $null
    }
    $run = ([xml](Get-Content -Raw $resultFile)).'test-run'
    $counts = [pscustomobject]@{
        Suite   = 'Pester'
        Passed  = [int]$run.passed
        Failed  = [int]$run.failed
        Skipped = [int]$run.skipped + [int]$run.inconclusive
    }
    # Run.Exit makes the exit code count failed tests *and* failed blocks/containers (e.g. a broken BeforeAll).
    if ($exit -ne 0 -and $counts.Failed -eq 0) {
        Write-Warning "Pester exited with code $exit without a failed test (a container or block failed)."
        return $null
    }
    $counts
}

# The machines this one is not, run by the suites of the projects that hold the engine: the 256-bit kernels of a CPU
# without AVX-512 (where this one has it), the portable ones of a CPU without AVX, whose vectors are 128-bit (ARM64's
# NEON), and worker pools of four threads, as on most users' machines (on two cores, a pool has one worker and
# cannot show what happens when several are awake at once).
function Get-MachineVariants {
    if ([System.Runtime.Intrinsics.X86.Avx512F]::IsSupported) { @{ Name = 'no AVX-512'; Tag = 'no-avx512'; Variable = 'DOTNET_EnableAVX512=0' } }
    if ([System.Runtime.Intrinsics.X86.Avx]::IsSupported) { @{ Name = 'no AVX'; Tag = 'no-avx'; Variable = 'DOTNET_EnableAVX=0' } }
    if ([Environment]::ProcessorCount -lt 4) { @{ Name = '4 threads'; Tag = 'threads4'; Variable = 'DOTNET_PROCESSOR_COUNT=4' } }
}

function Invoke-Test([switch] $MachineVariants) {
    Invoke-Build
    $resultsDir = Join-Path $out 'TestResults'
    if (Test-Path $resultsDir) { Remove-Item $resultsDir -Recurse -Force }
    $null = New-Item -ItemType Directory $resultsDir

    # Every xunit project is named *.Tests.csproj, so new ones are picked up without editing this file.
    $projects = Get-ChildItem (Join-Path $root 'tests') -Recurse -Filter '*.Tests.csproj' | Sort-Object Name
    $suites = @(foreach ($p in $projects) { Invoke-XunitProject $p.FullName $resultsDir }) +
              @(Invoke-PesterSuite $resultsDir)
    if ($MachineVariants) {
        $engineProjects = $projects.Where({ $_.Name -in 'TrtEngine.Native.Tests.csproj', 'TrtEngine.Core.Tests.csproj' })
        $suites += @(foreach ($v in Get-MachineVariants) { foreach ($p in $engineProjects) { Invoke-XunitProject $p.FullName $resultsDir $v } })
    }
    $broken = $suites.Where({ $null -eq $_ }).Count
    $ran = @($suites.Where({ $null -ne $_ }))
    foreach ($s in $ran) { Write-Host ("{0}: {1} passed, {2} failed, {3} skipped" -f $s.Suite, $s.Passed, $s.Failed, $s.Skipped) }

    $passed = ($ran | Measure-Object Passed -Sum).Sum ?? 0
    $failed = ($ran | Measure-Object Failed -Sum).Sum ?? 0
    $skipped = ($ran | Measure-Object Skipped -Sum).Sum ?? 0
    if ($broken) { Write-Host "$broken suite(s) could not run." }
    "$passed passed, $failed failed" + $(if ($skipped) { ", $skipped skipped" })
    if ($failed -or $broken) { exit 1 }
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test -MachineVariants }
    'Soak' {
        $env:TRTENGINE_SOAK = '1'
        $TestFilter = 'Reliability'
        Invoke-Test
    }
    'Demo' {
        Invoke-Build
        Invoke-FreshPwsh @('-File', (Join-Path $root 'examples/Quickstart.ps1'))
        Assert-ExitCode 'examples/Quickstart.ps1'
    }
    'Bench' {
        Invoke-Build
        dotnet run -c $Configuration --project (Join-Path $root 'tests/TrtEngine.Bench') -- @BenchArguments
        Assert-ExitCode 'TrtEngine.Bench'
    }
    'Screens' {
        Invoke-Build
        Invoke-FreshPwsh @('-File', (Join-Path $root 'tools/New-ReadmeScreens.ps1'))
        Assert-ExitCode 'tools/New-ReadmeScreens.ps1'
    }
    'Clean' {
        if (Test-Path $out) { Remove-Item $out -Recurse -Force }
    }
}
