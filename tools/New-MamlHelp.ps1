#requires -Version 7.4
<#
.SYNOPSIS
    Writes MAML cmdlet help from the help data file and the cmdlets' own metadata.
.DESCRIPTION
    Text (synopsis, description, parameter descriptions, examples, links) comes from the .psd1;
    syntax, parameter types, positions, pipeline input and output types come from the compiled
    cmdlets, so they cannot drift from the code. build.ps1 runs this in a fresh pwsh because it
    loads the assembly.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $HelpData,
    [Parameter(Mandatory)] [string] $AssemblyPath,
    [Parameter(Mandatory)] [string] $OutFile
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$help = Import-PowerShellDataFile -LiteralPath $HelpData
$module = Import-Module -Name $AssemblyPath -PassThru
$commands = @{}
foreach ($c in Get-Command -Module $module.Name -CommandType Cmdlet) { $commands[$c.Name] = $c }

foreach ($name in $commands.Keys | Where-Object { -not $help.ContainsKey($_) }) {
    throw "Cmdlet $name has no entry in $HelpData."
}

$ns = @{
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
}
# Common parameters are described by about_CommonParameters; -WhatIf/-Confirm are listed like any other.
$common = [System.Management.Automation.Internal.CommonParameters].GetProperties().Name
$shouldProcessText = @{
    WhatIf  = 'Shows what would happen if the cmdlet runs. The cmdlet is not run.'
    Confirm = 'Prompts you for confirmation before running the cmdlet.'
}

$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
$w = [System.Xml.XmlWriter]::Create($OutFile, $settings)

# XmlWriter escapes all text, so help text may contain <, > and &.
function Write-Paras([string] $Prefix, [string] $Element, [string] $Text) {
    $w.WriteStartElement($Prefix, $Element, $ns[$Prefix])
    foreach ($para in $Text.Trim() -split '\r?\n\s*\r?\n') {
        $w.WriteElementString('maml', 'para', $ns.maml, ($para -replace '\s*\r?\n\s*', ' '))
    }
    $w.WriteEndElement()
}

function Write-TypeName([string] $Element, [string] $TypeName) {
    $w.WriteStartElement('command', $Element, $ns.command)
    $w.WriteStartElement('dev', 'type', $ns.dev)
    $w.WriteElementString('maml', 'name', $ns.maml, $TypeName)
    $w.WriteEndElement()
    $w.WriteEndElement()
}

function Get-PipelineText($Attributes) {
    $modes = @(
        if ($Attributes.Where({ $_.ValueFromPipeline })) { 'ByValue' }
        if ($Attributes.Where({ $_.ValueFromPipelineByPropertyName })) { 'ByPropertyName' }
    )
    if ($modes) { "True ($($modes -join ', '))" } else { 'False' }
}

# One <command:parameter>; $SetParameter is the parameter as seen in one set (syntax), or $null (the PARAMETERS section).
function Write-Parameter([string] $CmdletName, $Parameter, $SetParameter) {
    $description = $help[$CmdletName].Parameters[$Parameter.Name] ?? $shouldProcessText[$Parameter.Name]
    if (-not $description) { throw "$CmdletName -$($Parameter.Name) has no description in the help data." }
    $attributes = @($Parameter.Attributes.Where({ $_ -is [System.Management.Automation.ParameterAttribute] }))
    $required = if ($SetParameter) { $SetParameter.IsMandatory } else { [bool]$attributes.Where({ $_.Mandatory }) }
    $position = if ($SetParameter) { $SetParameter.Position } else { ($attributes.Position | Measure-Object -Maximum).Maximum }
    $isSwitch = $Parameter.SwitchParameter
    # Nullable<long> reads as "Nullable`1" in the syntax: show the value type, as Get-Command -Syntax does.
    $valueType = [Nullable]::GetUnderlyingType($Parameter.ParameterType) ?? $Parameter.ParameterType
    $typeName = $valueType.Name

    $w.WriteStartElement('command', 'parameter', $ns.command)
    $w.WriteAttributeString('required', "$required".ToLowerInvariant())
    $w.WriteAttributeString('variableLength', "$($Parameter.ParameterType.IsArray)".ToLowerInvariant())
    $w.WriteAttributeString('globbing', "$([bool]$Parameter.Attributes.Where({ $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }))".ToLowerInvariant())
    $w.WriteAttributeString('pipelineInput', (Get-PipelineText $attributes))
    $w.WriteAttributeString('position', $(if ($position -ge 0) { "$($position + 1)" } else { 'named' }))
    $w.WriteAttributeString('aliases', $(if ($Parameter.Aliases.Count) { $Parameter.Aliases -join ', ' } else { 'none' }))
    $w.WriteElementString('maml', 'name', $ns.maml, $Parameter.Name)
    Write-Paras 'maml' 'description' $description
    if (-not $isSwitch) {
        $w.WriteStartElement('command', 'parameterValue', $ns.command)
        $w.WriteAttributeString('required', 'true')
        $w.WriteAttributeString('variableLength', "$($Parameter.ParameterType.IsArray)".ToLowerInvariant())
        $w.WriteString($typeName)
        $w.WriteEndElement()
    }
    $w.WriteStartElement('dev', 'type', $ns.dev)
    $w.WriteElementString('maml', 'name', $ns.maml, $valueType.FullName)
    $w.WriteEndElement()
    $w.WriteElementString('dev', 'defaultValue', $ns.dev, $(if ($isSwitch) { 'False' } else { 'None' }))
    $w.WriteEndElement()
}

$w.WriteStartDocument()
$w.WriteStartElement('helpItems', 'http://msh')
$w.WriteAttributeString('schema', 'maml')
foreach ($name in $help.Keys | Sort-Object) {
    $entry = $help[$name]
    $cmd = $commands[$name]
    if (-not $cmd) { Write-Warning "$name is documented but not defined in $AssemblyPath; its help has no syntax or parameters." }
    $verb, $noun = $name -split '-', 2

    $w.WriteStartElement('command', 'command', $ns.command)
    foreach ($prefix in 'maml', 'command', 'dev') { $w.WriteAttributeString('xmlns', $prefix, $null, $ns[$prefix]) }

    $w.WriteStartElement('command', 'details', $ns.command)
    $w.WriteElementString('command', 'name', $ns.command, $name)
    $w.WriteElementString('command', 'verb', $ns.command, $verb)
    $w.WriteElementString('command', 'noun', $ns.command, $noun)
    Write-Paras 'maml' 'description' $entry.Synopsis
    $w.WriteEndElement()
    Write-Paras 'maml' 'description' $entry.Description

    if ($cmd) {
        $parameters = @($cmd.Parameters.Values.Where({ $_.Name -notin $common }))
        $w.WriteStartElement('command', 'syntax', $ns.command)
        foreach ($set in $cmd.ParameterSets) {
            $w.WriteStartElement('command', 'syntaxItem', $ns.command)
            $w.WriteElementString('maml', 'name', $ns.maml, $name)
            foreach ($p in $set.Parameters.Where({ $_.Name -notin $common })) {
                Write-Parameter $name $cmd.Parameters[$p.Name] $p
            }
            $w.WriteEndElement()
        }
        $w.WriteEndElement()

        $w.WriteStartElement('command', 'parameters', $ns.command)
        foreach ($p in $parameters) { Write-Parameter $name $p $null }
        $w.WriteEndElement()

        $w.WriteStartElement('command', 'inputTypes', $ns.command)
        $pipelineTypes = $parameters |
            Where-Object { (Get-PipelineText $_.Attributes.Where({ $_ -is [System.Management.Automation.ParameterAttribute] })) -ne 'False' } |
            ForEach-Object { $_.ParameterType.FullName } | Select-Object -Unique
        # As PowerShell's own help says of a cmdlet that takes nothing from the pipeline.
        foreach ($t in $pipelineTypes ?? 'None') { Write-TypeName 'inputType' $t }
        $w.WriteEndElement()

        $w.WriteStartElement('command', 'returnValues', $ns.command)
        foreach ($t in $cmd.OutputType | ForEach-Object Name | Select-Object -Unique) { Write-TypeName 'returnValue' $t }
        $w.WriteEndElement()
    }

    $w.WriteStartElement('command', 'examples', $ns.command)
    $i = 0
    foreach ($example in $entry.Examples) {
        $i++
        $w.WriteStartElement('command', 'example', $ns.command)
        $w.WriteElementString('maml', 'title', $ns.maml, "-------------------------- Example $i --------------------------")
        $w.WriteElementString('dev', 'code', $ns.dev, $example.Code.Trim())
        Write-Paras 'dev' 'remarks' $example.Remarks
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'relatedLinks', $ns.command)
    foreach ($link in $entry['Links'] ?? @()) {
        $w.WriteStartElement('maml', 'navigationLink', $ns.maml)
        $w.WriteElementString('maml', 'linkText', $ns.maml, $link)
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteEndElement()
}
$w.WriteEndElement()
$w.WriteEndDocument()
$w.Dispose()
