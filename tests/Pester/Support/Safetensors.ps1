# Test helper: a copy of a safetensors file with its header edited (a hashtable of tensor name →
# @{ dtype; shape; data_offsets }) and bytes appended to its data section.
function Copy-Safetensors([string] $Path, [string] $Destination, [scriptblock] $Edit, [byte[]] $Append = @()) {
    $bytes = [IO.File]::ReadAllBytes($Path)
    $length = [BitConverter]::ToInt32($bytes, 0)
    $header = [Text.Encoding]::UTF8.GetString($bytes, 8, $length) | ConvertFrom-Json -AsHashtable
    $data = $bytes.Length - 8 - $length
    # The edit is told where the data section ends, where appended bytes will start.
    & $Edit $header $data
    $json = [Text.Encoding]::UTF8.GetBytes(($header | ConvertTo-Json -Compress -Depth 4))
    # The format pads the header with spaces to a multiple of 8 bytes.
    $padded = [byte[]]::new($json.Length + (8 - $json.Length % 8) % 8)
    [Array]::Fill($padded, [byte][char]' ')
    [Array]::Copy($json, $padded, $json.Length)
    $file = [IO.File]::Create($Destination)
    try {
        $file.Write([BitConverter]::GetBytes([long]$padded.Length))
        $file.Write($padded)
        $file.Write($bytes, 8 + $length, $data)
        $file.Write($Append)
    }
    finally {
        $file.Dispose()
    }
}
