# Pinning cache entries (Lock-TrtCache / Unlock-TrtCache) and how eviction, Remove-TrtCache and Test-TrtCache treat pins.

BeforeAll {
    Import-Module "$PSScriptRoot/../../out/TrtEngine/TrtEngine.psd1" -Force
    $onnx = Join-Path $PSScriptRoot '../../examples/models/tiny_mlp.onnx'
}

Describe 'Lock-TrtCache and Unlock-TrtCache' {
    BeforeEach {
        # Two entries: the optimization level is part of the key.
        $cache = Join-Path $TestDrive ([guid]::NewGuid())
        $a = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 0
        $b = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 1
    }

    It 'pins entries piped from Get-TrtCache and shows the pin' {
        $pinned = Get-TrtCache -CacheDirectory $cache -Key ($a.CacheKey.Substring(0, 6) + '*') | Lock-TrtCache -PassThru
        $pinned.Key | Should -Be $a.CacheKey
        $pinned.Pinned | Should -BeTrue
        (Get-TrtCache -CacheDirectory $cache -Key $b.CacheKey).Pinned | Should -BeFalse
        (Get-TrtCache -CacheDirectory $cache | Out-String) | Should -Match 'pinned'
        (Get-TrtCache -CacheDirectory $cache -Summary).PinnedEntries | Should -Be 1
    }

    It 'pins and unpins by key, binding Key and CacheDirectory by property name' {
        [pscustomobject]@{ Key = $b.CacheKey; CacheDirectory = $cache } | Lock-TrtCache
        (Get-TrtCache -CacheDirectory $cache -Key $b.CacheKey).Pinned | Should -BeTrue
        Unlock-TrtCache -Key $b.CacheKey -CacheDirectory $cache
        (Get-TrtCache -CacheDirectory $cache -Key $b.CacheKey).Pinned | Should -BeFalse
    }

    It 'says when an entry was pinned, or not pinned, already' {
        # Found by a QA helper (session 50): pinning a pinned entry said "Pinned".
        Lock-TrtCache -Key $a.CacheKey -CacheDirectory $cache
        (Lock-TrtCache -Key $a.CacheKey -CacheDirectory $cache -Verbose 4>&1 | Out-String) | Should -Match 'was pinned already\.'
        (Unlock-TrtCache -Key $b.CacheKey -CacheDirectory $cache -Verbose 4>&1 | Out-String) | Should -Match 'was not pinned already\.'
        (Unlock-TrtCache -Key $a.CacheKey -CacheDirectory $cache -Verbose 4>&1 | Out-String) | Should -Match "Unpinned $($a.CacheKey)"
    }

    It 'changes nothing with -WhatIf' {
        Lock-TrtCache -Key * -CacheDirectory $cache -WhatIf
        @(Get-TrtCache -CacheDirectory $cache | Where-Object Pinned).Count | Should -Be 0
    }

    It 'reports an unknown key as CacheEntryNotFound' {
        { Lock-TrtCache -Key ('0' * 64) -CacheDirectory $cache -ErrorAction Stop } | Should -Throw -ErrorId 'CacheEntryNotFound*'
    }

    It 'keeps pinned entries when the cache is cleared unless -Force, saying so in -Verbose' {
        Lock-TrtCache -Key $a.CacheKey -CacheDirectory $cache
        $verbose = Clear-TrtCache -CacheDirectory $cache -Confirm:$false -Verbose 4>&1
        (Get-TrtCache -CacheDirectory $cache).Key | Should -Be $a.CacheKey
        ($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n" | Should -Match "Kept pinned entry $($a.CacheKey)"
        Clear-TrtCache -CacheDirectory $cache -Force -Confirm:$false
        @(Get-TrtCache -CacheDirectory $cache).Count | Should -Be 0
    }

    It 'refuses to remove a pinned entry named by key or piped in, unless -Force' {
        Lock-TrtCache -Key $a.CacheKey -CacheDirectory $cache
        $err = { Remove-TrtCache -Key $a.CacheKey -CacheDirectory $cache -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'CacheEntryPinned*'
        $err.CategoryInfo.Category | Should -Be 'InvalidOperation'
        $err.TargetObject.Key | Should -Be $a.CacheKey
        { Get-TrtCache -CacheDirectory $cache -Key $a.CacheKey | Remove-TrtCache -ErrorAction Stop } | Should -Throw -ErrorId 'CacheEntryPinned*'
        Get-TrtCache -CacheDirectory $cache -Key $a.CacheKey | Remove-TrtCache -Force
        @(Get-TrtCache -CacheDirectory $cache).Key | Should -Be $b.CacheKey
    }

    It 'takes keys piped as strings, as Get-TrtCache does' {
        $a.CacheKey | Lock-TrtCache -CacheDirectory $cache
        (Get-TrtCache -CacheDirectory $cache -Key $a.CacheKey).Pinned | Should -BeTrue
        $a.CacheKey | Unlock-TrtCache -CacheDirectory $cache
        $a.CacheKey | Remove-TrtCache -CacheDirectory $cache
        @(Get-TrtCache -CacheDirectory $cache).Key | Should -Be $b.CacheKey
    }

    It 'does not flag a pinned entry in Test-TrtCache' {
        Lock-TrtCache -Key $a.CacheKey -CacheDirectory $cache
        Test-TrtCache -CacheDirectory $cache -OrphanAge 0 | ForEach-Object { $_.Status | Should -Be 'Ok' }
    }

    It 'keeps a pinned entry when a new one needs room, and stores nothing when the pins leave none' {
        Lock-TrtCache -Key $a.CacheKey -CacheDirectory $cache
        $sizes = (Get-TrtCache -CacheDirectory $cache | Measure-Object SizeBytes -Sum).Sum
        # Room for the pinned entry and about one more: the third build evicts b, not the pinned a.
        $c = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 2 -CacheSizeLimit ($sizes + 200)
        (Get-TrtCache -CacheDirectory $cache).Key | Sort-Object | Should -Be (@($a.CacheKey, $c.CacheKey) | Sort-Object)
        Lock-TrtCache -Key $c.CacheKey -CacheDirectory $cache
        $d = New-TrtEngine -Path $onnx -CacheDirectory $cache -OptimizationLevel 3 -CacheSizeLimit ($sizes + 200) -WarningVariable warned -WarningAction SilentlyContinue
        $d.HasWeights | Should -BeTrue
        $warned | Should -Not -BeNullOrEmpty
        (Get-TrtCache -CacheDirectory $cache).Key | Sort-Object | Should -Be (@($a.CacheKey, $c.CacheKey) | Sort-Object)
    }
}
