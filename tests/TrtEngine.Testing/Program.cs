namespace TrtEngine.Testing;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("usage: TrtEngine.Testing fixtures <dir>");
        return 2;
    }
}
