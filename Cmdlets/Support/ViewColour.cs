using System.Management.Automation;

namespace TrtEngine.Cmdlets.Support;

/// <summary>
/// Colour for the format views, from the session's $PSStyle: always with OutputRendering Ansi, never with PlainText,
/// and with Host only when standard output is a terminal. PowerShell (7.4 to 7.6) keeps escape codes in formatted
/// output when the process's output is redirected to a file or a pipe, so the views check that themselves.
/// </summary>
public static class ViewColour
{
    /// <param name="style">$PSStyle.</param>
    /// <param name="colour">A property of $PSStyle.Foreground, such as Green.</param>
    public static string Paint(object? style, string colour, object? text)
    {
        string plain = text?.ToString() ?? "";
        if (style is null) return plain;
        var psStyle = PSObject.AsPSObject(style);
        string rendering = psStyle.Properties["OutputRendering"]?.Value?.ToString() ?? "PlainText";
        if (rendering == "PlainText" || (rendering == "Host" && Console.IsOutputRedirected)) return plain;
        object? foreground = psStyle.Properties["Foreground"]?.Value;
        string? code = foreground is null ? null : PSObject.AsPSObject(foreground).Properties[colour]?.Value as string;
        return code is null ? plain : code + plain + psStyle.Properties["Reset"]?.Value;
    }
}
