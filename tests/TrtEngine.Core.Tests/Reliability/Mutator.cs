using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace TrtEngine.Core.Tests.Reliability;

/// <summary>
/// Byte-level mutations a fuzzer makes: bit flips, interesting values, truncation, insertion, deletion, duplication;
/// and extreme numbers in a safetensors header.
/// </summary>
internal static class Mutator
{
    private static readonly long[] Interesting = [0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, int.MaxValue, int.MinValue, 1L << 30, uint.MaxValue, 1L << 40, long.MaxValue, long.MinValue];

    /// <summary>A mutated copy of <paramref name="seed"/>, changing only bytes at or after <paramref name="from"/>.</summary>
    public static byte[] Mutate(byte[] seed, Random random, int from = 0)
    {
        var bytes = new List<byte>(seed);
        int rounds = 1 + random.Next(4);
        for (int round = 0; round < rounds; round++)
        {
            int length = bytes.Count - from;
            if (length <= 0) break;
            int at = from + random.Next(length);
            switch (random.Next(7))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes[at] = (byte)Interesting[random.Next(Interesting.Length)];
                    break;
                case 2:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 3:
                    var inserted = new byte[1 + random.Next(16)];
                    random.NextBytes(inserted);
                    bytes.InsertRange(at, inserted);
                    break;
                case 4:
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + random.Next(32)));
                    break;
                case 5:
                    int start = from + random.Next(length), count = Math.Min(bytes.Count - start, 1 + random.Next(64));
                    bytes.InsertRange(at, bytes.GetRange(start, count));
                    break;
                default:
                    var value = new byte[8];
                    BinaryPrimitives.WriteInt64LittleEndian(value, Interesting[random.Next(Interesting.Length)]);
                    int width = random.Next(2) == 0 ? 4 : 8;
                    for (int k = 0; k < width && at + k < bytes.Count; k++) bytes[at + k] = value[k];
                    break;
            }
        }
        return [.. bytes];
    }

    private static readonly string[] HugeNumbers = ["-1", "0", "2147483648", "4294967296", "100000000000", "9223372036854775807", "1e30", "1.5", "99999999999999999999"];

    /// <summary>Replaces a number in a safetensors file's JSON header (a shape, an offset) with an extreme one, keeping the header length right.</summary>
    public static byte[] HeaderNumbers(byte[] file, Random random)
    {
        int length = (int)BinaryPrimitives.ReadInt64LittleEndian(file);
        string header = Encoding.UTF8.GetString(file, 8, length);
        var numbers = Regex.Matches(header, @"\d+");
        var pick = numbers[random.Next(numbers.Count)];
        string mutated = header[..pick.Index] + HugeNumbers[random.Next(HugeNumbers.Length)] + header[(pick.Index + pick.Length)..];
        byte[] json = Encoding.UTF8.GetBytes(mutated);
        return [.. BitConverter.GetBytes((long)json.Length), .. json, .. file.AsSpan(8 + length)];
    }
}
