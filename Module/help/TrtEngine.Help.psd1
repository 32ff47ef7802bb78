# Cmdlet help text. build.ps1 turns this into en-US/TrtEngine.Cmdlets.dll-Help.xml (MAML);
# syntax, types and pipeline details come from the compiled cmdlets. Blank lines separate paragraphs.
@{
    'New-TrtEngine' = @{
        Synopsis    = 'Builds an inference engine from an ONNX model, or takes it from the engine cache and refits it.'
        Description = @'
New-TrtEngine converts an ONNX model into an engine that runs on the CPU. Building times candidate kernels for every layer, which is slow; the result is therefore kept in an engine cache, keyed by the model's structure, its input shapes and profiles, the build settings and the machine.

The cache always holds weight-stripped engines. On a cache hit the stripped engine is loaded and refitted with the model's current weights, so two checkpoints of the same architecture share one entry. The cache remembers which entry each model file and settings used last and loads it while the model is parsed (the key computed from the model still decides), so a repeated conversion's hit overlaps the parse. The engine returned is refittable either way: use Update-TrtEngineWeights to load other weights as often as needed.

The engine's FromCache property tells whether it came from the cache. Use -Verbose to see the cache key and why an entry was or was not used.

A build shows a progress bar with its phase and the layer being tuned (n of m); a cache hit shows none. Ctrl+C stops a build promptly and leaves the cache as it was: no entry, no temporary files, no lock.

With -WhatIf the model is read and its key computed, and New-TrtEngine says what it would do (load the cache entry and refit it, or build an engine and store it under that key, and where) without building, refitting or writing anything. -Confirm asks the same question before a build or a load.
'@
        Parameters  = @{
            Path              = 'Paths to ONNX models, one or several. Wildcards are resolved, and each model they match gets an engine; relative paths and ~ work.'
            LiteralPath       = 'Paths to ONNX models, used exactly as written (no wildcards). Binds from the PSPath or FullName property of piped objects, so Get-ChildItem output can be piped, whatever characters the file names hold.'
            WeightsPath       = 'A safetensors file or torch checkpoint (.pt, .pth, .bin, .ckpt: its state dict) whose tensors replace the model''s weights (initializers, Constant-node values, or graph inputs exported without values) of the same names, as a refit from that file would. Each must be floating point and of the shape the model declares (a symbolic dimension takes any size); every misfit is listed in one InvalidWeights error and nothing is built. Integer tensors that name no weight (torch''s num_batches_tracked counters) are left out, as is a tied weight''s other name (a torch checkpoint''s one tensor under a name the model lacks); other tensors that name none are warned about.'
            NameMap           = 'Renames the -WeightsPath file''s tensors to the model''s weight names, as Update-TrtEngineWeights -NameMap does: a hashtable (file name → model name; $null leaves a tensor out) or a script block that gets each file name as $_ and returns the model name (or nothing). A checkpoint saved from a DistributedDataParallel module takes { $_ -replace ''^module\.'', '''' }. Tab completion of the shape parameters applies a hashtable map; a script block is not run while completing.'
            AllowNonFinite    = 'Accepts NaN and infinite values in the -WeightsPath file''s tensors. Without it such a value is refused (InvalidWeights, naming the tensor and the index), as Update-TrtEngineWeights refuses it, unless the model holds the same value itself (a mask of -Infinity).'
            InputShape        = 'Fixed shapes for the model inputs, as a hashtable of input name to an int array, for example @{ input = 8, 64 }. Overrides dynamic dimensions, already when the model is imported: shape arithmetic that reads them (an older export''s interpolation sizes computed from the input''s height) then folds, where without a fixed shape it is refused. Tab after the parameter name completes a hashtable of the model''s inputs and shapes.'
            MinShape          = 'Smallest shapes the engine must accept for dynamic inputs (input name to int array); 1 in every dynamic dimension when not given. Tab completes a hashtable of the model''s inputs and shapes, as for -InputShape.'
            OptShape          = 'Shapes the engine is tuned for (input name to int array). Alone, it tunes the engine for these shapes and the engine still runs any size; without it the engine is tuned for -MaxShape (or -MinShape). Tab completes a hashtable of the model''s inputs and shapes.'
            MaxShape          = 'Largest shapes the engine must accept for dynamic inputs (input name to int array); unbounded in every dynamic dimension when not given. Tab completes a hashtable of the model''s inputs and shapes.'
            CacheDirectory    = 'Engine cache folder. Defaults to $env:TRTENGINE_CACHE_DIR, the folder saved by Set-TrtCacheOption, or the per-user cache folder of the platform.'
            NoCache           = 'Neither reads nor writes the engine cache.'
            CacheSizeLimit    = 'Bytes the cache may take on disk for this call (2GB literals work); by default the limit Set-TrtCacheOption saved, else 5 GiB. Inserting evicts the least recently used entries until the cache fits.'
            Force             = 'Rebuilds the engine even when the cache holds one, and replaces the cache entry. The cache directory''s timing cache keeps the tactic timings it holds, so a rebuild re-times only what it has not timed before; a build that must time everything again takes a new -CacheDirectory.'
            OptimizationLevel = 'How hard the builder searches for fast kernels, from 0 (fastest build: no timing) to 5 (most tactics timed). Defaults to 3. Part of the cache key.'
            StripWeights      = 'Returns an engine without weights (HasWeights False). It must be refitted with Update-TrtEngineWeights before Invoke-TrtEngine runs it.'
        }
        Examples    = @(
            @{
                Code    = '$engine = New-TrtEngine -Path ./examples/models/tiny_mlp.onnx'
                Remarks = 'Builds an engine, or takes it from the cache and refits it with the model''s weights.'
            }
            @{
                Code    = 'Get-ChildItem ./examples/models/*.onnx | New-TrtEngine -CacheDirectory ./cache -Verbose'
                Remarks = 'Builds an engine for every model in a folder, using a project-local cache and reporting cache hits and misses.'
            }
            @{
                Code    = 'New-TrtEngine ./examples/models/tiny_mlp.onnx -MinShape @{ input = 1, 64 } -OptShape @{ input = 8, 64 } -MaxShape @{ input = 32, 64 }'
                Remarks = 'Builds an engine for batch sizes 1 to 32, tuned for batch 8.'
            }
            @{
                Code    = 'New-TrtEngine ./examples/models/tiny_mlp.onnx -WeightsPath ./examples/models/tiny_mlp.ddp.safetensors -NameMap { $_ -replace ''^module\.'', '''' }'
                Remarks = 'Builds an engine with the weights of a checkpoint saved from a DistributedDataParallel module, whose names carry a module. prefix that the model''s lack.'
            }
            @{
                Code    = 'New-TrtEngine ./examples/models/tiny_mlp.onnx -CacheDirectory ./cache -WhatIf'
                Remarks = 'Says whether the model would be a cache hit (and under which key) or a build, without building or writing anything.'
            }
        )
        Links       = @('Invoke-TrtEngine', 'Update-TrtEngineWeights', 'Get-TrtCache', 'about_TrtEngine')
    }

    'Invoke-TrtEngine' = @{
        Synopsis    = 'Runs an engine on input data and returns its output tensors.'
        Description = @'
Invoke-TrtEngine runs inference with an engine from New-TrtEngine or Import-TrtEngine and writes one TrtTensor object per model output, with Name, Shape, DataType and Data.

Inputs are given as a hashtable of input name to a value, which is one of: a flat array of numbers in row-major order; a multi-dimensional or nested array, whose shape comes along (a transposed array is refused, not read in the wrong order); a TrtTensor, such as an output of an earlier Invoke-TrtEngine or a tensor read by Import-TrtTensor, whose shape comes along (also one back from Import-Clixml, Receive-Job or ConvertFrom-Json: an object with the tensor's Shape and Data); or a .npy file, given as a path string ending in .npy or a FileInfo object. Without -InputShape, a flat array's shape is the engine's input shape with its dynamic dimension (usually the batch) derived from the array length. An input the model declares int64, int32 or bool (token ids, masks; the engine's Inputs say which, in DataType) takes integers (0 and 1, or $true and $false, for bool): a fraction, an integer beyond 2^24 or a token id outside its embedding table is an InvalidInput error. Integer and bool outputs (an argmax) come with that DataType.

Outputs can be saved for Python tools with Export-TrtTensor. An engine without weights (built with -StripWeights or imported without weights) refuses to run; refit it first with Update-TrtEngineWeights.
'@
        Parameters  = @{
            Engine     = 'The engine to run. Accepts engines from the pipeline.'
            Input      = 'The input data: a hashtable of input name to an array of numbers (row-major), a TrtTensor (or an object or hashtable with Shape and Data), or a .npy file (a path ending in .npy, or a FileInfo). An object in place of the hashtable (ConvertFrom-Json''s) gives the inputs by its property names. Input names complete with Tab after -Input. With -Engine given, input sets can be piped, one hashtable (or object) each: the engine runs once per set.'
            InputShape = 'Explicit shapes for the inputs, as a hashtable of input name to an int array. Needed only when a shape cannot be inferred from the array length; it overrides the shape of a tensor or .npy file. One dimension may be -1, which the number of values gives (as numpy''s reshape takes it): @{ input = -1, 784 }.'
        }
        Examples    = @(
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
$x = (Get-Content ./examples/models/tiny_mlp.input.json | ConvertFrom-Json).input.data
$logits = Invoke-TrtEngine -Engine $engine -Input @{ input = $x }
$logits.Data[0..9]
'@
                Remarks = 'Runs the engine on a batch read from a JSON file and shows the first ten logits.'
            }
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
$engine | Invoke-TrtEngine -Input @{ input = [float[]]::new(64 * 4) } -InputShape @{ input = 4, 64 }
'@
                Remarks = 'Runs a batch of four zero vectors with an explicit shape.'
            }
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
Get-ChildItem ./examples/models/*.input.npy | ForEach-Object { @{ input = $_ } } | Invoke-TrtEngine $engine
'@
                Remarks = 'Runs the engine once per input set piped to it (a hashtable each), here one per .npy file.'
            }
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
Invoke-TrtEngine $engine -Input @{ input = './examples/models/tiny_mlp.input.npy' } | Export-TrtTensor -Directory ./outputs -Force
'@
                Remarks = 'Reads the input from a .npy file written by numpy and saves each output as ./outputs/<name>.npy, which np.load reads.'
            }
        )
        Links       = @('New-TrtEngine', 'Import-TrtTensor', 'Export-TrtTensor', 'Update-TrtEngineWeights', 'about_TrtEngine')
    }

    'Import-TrtTensor' = @{
        Synopsis    = 'Reads .npy files (numpy''s np.save format) as tensors.'
        Description = @'
Import-TrtTensor reads NumPy .npy files, versions 1.0 to 3.0, and writes one TrtTensor per file, named after the file (input.npy becomes a tensor named input). The tensor can be given to Invoke-TrtEngine as an input value; its shape comes along.

The engine computes in float32: float32 arrays are read as they are; float64, float16, integer and boolean arrays are converted, and a value float32 cannot hold (an integer beyond 2^24 that would change, a float64 beyond float32's range) is an error rather than a silent change. Arrays must be in C order (Fortran-ordered arrays are refused, saying how to convert them); complex, string, object and structured arrays are refused. Malformed files are InvalidTensorFile errors that name the file and the problem.
'@
        Parameters  = @{
            Path        = 'Paths to .npy files, one or several. Wildcards are resolved, and each file they match is read; relative paths and ~ work.'
            LiteralPath = 'Paths to .npy files, used exactly as written (no wildcards). Binds from the PSPath or FullName property of piped objects, so Get-ChildItem output can be piped.'
            Name        = 'The tensor''s name. By default the file name without its extension.'
        }
        Examples    = @(
            @{
                Code    = @'
$x = Import-TrtTensor ./examples/models/tiny_mlp.input.npy
$x.Shape
'@
                Remarks = 'Reads an input batch saved by numpy and shows its shape (2, 64).'
            }
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
Get-ChildItem ./examples/models/*.npy | Import-TrtTensor | ForEach-Object { Invoke-TrtEngine $engine -Input @{ input = $_ } }
'@
                Remarks = 'Runs the engine on every .npy file of a folder.'
            }
        )
        Links       = @('Export-TrtTensor', 'Invoke-TrtEngine', 'about_TrtEngine')
    }

    'Export-TrtTensor' = @{
        Synopsis    = 'Saves tensors as .npy files that numpy''s np.load reads.'
        Description = @'
Export-TrtTensor writes tensors, such as the outputs of Invoke-TrtEngine, in NumPy's .npy format (float32, or int64, int32 and bool for tensors of those DataTypes; C order, numpy's own header layout). With -Path one tensor goes to one file; with -Directory each tensor goes to <Name>.npy in that folder, characters that cannot be in a file name replaced by _.

Files are written beside the target and renamed into place, so a failed export never leaves half a file. An existing file is overwritten only with -Force.
'@
        Parameters  = @{
            InputObject = 'The tensor to save. Accepts tensors from the pipeline, such as the output of Invoke-TrtEngine or Import-TrtTensor.'
            Path        = 'The .npy file to write. Relative paths and ~ work. Only one tensor may go to one path; use -Directory for several. Wildcards must match exactly one existing file (as for Out-File); give a new name with wildcard characters with -LiteralPath.'
            LiteralPath = 'The .npy file to write, used exactly as written.'
            Directory   = 'A folder to write each tensor to, as <Name>.npy. Created if missing. Wildcards must match exactly one existing folder.'
            Force       = 'Overwrites existing files.'
            PassThru    = 'Writes a FileInfo object for each file written.'
        }
        Examples    = @(
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
$x = Import-TrtTensor ./examples/models/tiny_mlp.input.npy
Invoke-TrtEngine $engine -Input @{ input = $x } | Export-TrtTensor -Path ./logits.npy -Force -PassThru
'@
                Remarks = 'Runs the engine and saves its logits; in Python, np.load(''logits.npy'') reads them.'
            }
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
$x = Import-TrtTensor ./examples/models/tiny_mlp.input.npy
Invoke-TrtEngine $engine -Input @{ input = $x } | Export-TrtTensor -Directory ./outputs -Force -WhatIf
'@
                Remarks = 'Shows which file each output would be written to, writing nothing.'
            }
        )
        Links       = @('Import-TrtTensor', 'Invoke-TrtEngine', 'about_TrtEngine')
    }

    'Update-TrtEngineWeights' = @{
        Synopsis    = 'Refits an engine with new weights, in place.'
        Description = @'
Update-TrtEngineWeights loads new weights into an existing engine without rebuilding it. The engine keeps its kernels and memory plan; only the weights change, so a refit is far cheaper than a build. An engine can be refitted any number of times, for example once per checkpoint in a loop.

Refit is all or nothing: every weight's name, shape and data type is checked before any weight changes. Without -Partial, every weight of the engine must be supplied. The engine's weights are float32: a checkpoint's F16 and BF16 tensors are widened exactly and F64 ones rounded to float32; an integer tensor (I64, I32) under a weight's name is refused as mismatched, and integer tensors under other names (such as the num_batches_tracked counters torch saves beside each BatchNorm) are not weights and are left out. With -WhatIf it runs the recipes aside and reports which weights would change, which would stay the same and, with -Partial, how many not supplied keep their values, changing nothing.

Weights come from an ONNX model of the same structure, a safetensors file or a torch checkpoint (-Path or -LiteralPath), from a hashtable of weight name to array (-Weights), or from another engine of the same model (-SourceEngine). Only the engine weights whose model weights changed are re-derived: each supplied weight is compared with the engine's own copy, so refitting the same values again costs little more than reading them. The engine keeps its own copy of arrays passed in -Weights (changing them afterwards changes nothing), and keeps the values read from a file or another engine as they are.

With -Verify the refitted engine is first run aside, on -VerifyInput or on seeded random inputs at the engine's opt shapes, and compared with a reference execution of the model with the new weights (every layer as imported, no fusion, float64). If any output's relative L2 error is above -Tolerance, the cmdlet writes a RefitVerificationFailed error and the engine keeps its previous weights; otherwise the new weights are applied and the comparison is written to the pipeline. The reference takes its structure from the -Path model when it is an .onnx file, else from the model the engine was built from; an engine imported from a plan can be verified only when refitted from its .onnx model.
'@
        Parameters  = @{
            Engine      = 'The engine to refit. Accepts engines from the pipeline.'
            Path        = 'Path to an ONNX model, a safetensors file or a torch checkpoint (.pt, .pth, .bin, .ckpt) with the new weights. Wildcards are resolved; relative paths and ~ work. An ONNX model whose graph is not the one the engine was built from (its weights fitting) gets a warning: the engine keeps its own graph; check with -Verify.'
            LiteralPath = 'Path to an ONNX model, a safetensors file or a torch checkpoint with the new weights, used exactly as written. Binds from the PSPath or FullName property of piped objects, so checkpoints can be piped from Get-ChildItem with -Engine given: Get-ChildItem ./ckpt/*.safetensors | Update-TrtEngineWeights -Engine $engine refits from each in turn.'
            Weights     = 'New weights as a hashtable of weight name to numbers: a flat array (taken in the weight''s shape when the count fits), or a multi-dimensional array, nested arrays, a tensor (Import-TrtTensor) or a .npy file (a path or a FileInfo), whose shape must be the weight''s (a transposed matrix is refused, not read in the wrong order). An object in place of the hashtable (ConvertFrom-Json''s) gives the weights by its property names.'
            Partial     = 'Allows supplying only some of the weights; the others keep their current values. Requires an engine that already has weights. A source that gives none of the engine''s weights is refused: it would change nothing.'
            PassThru    = 'Writes the refitted engine to the pipeline.'
            AllowNonFinite = 'Accepts NaN and infinite values in the new weights, and in the engine weights derived from them. Without it such values are refused, naming the weight and the index; so are finite weights whose fold is not (a negative running variance under a BatchNormalization''s square root).'
            SourceEngine = 'Another engine of the same model: its model weights (those it was built or last refitted with) refit this engine. An engine imported from a plan has only packed weights until it is refitted, and is refused. An engine built from another graph whose weights fit gets a warning, as its ONNX model would.'
            Verify      = 'Runs the refitted engine aside and compares it with a reference execution of the model with the new weights (no fusion, float64) before applying them. Writes the comparison (relative L2 error per output and the tolerance); above the tolerance it writes a RefitVerificationFailed error and leaves the engine unchanged. The model is the .onnx given to -Path, else the engine''s own (ModelPath): an engine imported from a plan has none until it is refitted from the .onnx model of its graph, and a refit it cannot verify (no model, a model file gone, inputs the engine does not take) is refused before anything changes, and under -WhatIf too.'
            VerifyInput = 'Inputs for -Verify as a hashtable of input name to values, as for Invoke-TrtEngine -Input: arrays of numbers, tensors (Import-TrtTensor) or .npy files. Implies -Verify. Without it, seeded random values in [-1, 1) at each input''s opt shape are used (0 and 1 for integer and bool inputs). Tab after -VerifyInput completes the engine''s input names. An object in place of the hashtable (ConvertFrom-Json''s) gives the inputs by its property names.'
            Tolerance   = 'The largest relative L2 error -Verify accepts on any output. The default is 1e-4. Implies -Verify (unless -Verify:$false).'
            NameMap     = 'Renames the source''s weights to the model''s names: a hashtable of source name to model name, or a script block that receives each source name as $_ (and as its first argument, for a param() block) and returns the model name ($null leaves the weight out). For checkpoints whose names differ, such as a module. prefix. A hashtable entry that names no tensor of the source (misspelt) is warned of; a map that leaves out every tensor is refused.'
        }
        Examples    = @(
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
$engine | Update-TrtEngineWeights -Path ./examples/models/tiny_mlp.ddp.safetensors -NameMap { $_ -replace '^module\.', '' }
'@
                Remarks = 'Refits from a checkpoint saved by a wrapped (DistributedDataParallel) model, whose weight names start with module.'
            }
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
$x = Import-TrtTensor ./examples/models/tiny_mlp.input.npy
foreach ($ckpt in Get-ChildItem ./examples/models/tiny_mlp.ckpt*.safetensors) {
    $engine | Update-TrtEngineWeights -Path $ckpt
    (Invoke-TrtEngine -Engine $engine -Input @{ input = $x }).Data[0..3]
}
'@
                Remarks = 'Refits one engine with each checkpoint in turn and runs it after each refit.'
            }
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
$engine | Update-TrtEngineWeights -Weights @{ '4.bias' = [float[]]::new(10) } -Partial -WhatIf
'@
                Remarks = 'Shows which engine would have one bias replaced, without changing it.'
            }
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
$engine | Update-TrtEngineWeights -Path ./examples/models/tiny_mlp.ckpt2.safetensors -Verify -Tolerance 1e-5
'@
                Remarks = 'Refits only if the refitted engine matches the reference execution of its model with the checkpoint''s weights to a relative L2 error of 1e-5 on generated inputs; writes the comparison.'
            }
            @{
                Code    = @'
$production = New-TrtEngine ./examples/models/tiny_mlp.onnx
$candidate = New-TrtEngine ./examples/models/tiny_mlp.onnx
$candidate | Update-TrtEngineWeights -Path ./examples/models/tiny_mlp.ckpt3.safetensors
$x = Import-TrtTensor ./examples/models/tiny_mlp.input.npy
$production | Update-TrtEngineWeights -SourceEngine $candidate -VerifyInput @{ input = $x }
'@
                Remarks = 'Copies the model weights of another engine of the same model, checked on a given input first.'
            }
        )
        Links       = @('New-TrtEngine', 'Import-TrtEngine', 'about_TrtEngine')
    }

    'Export-TrtEngine' = @{
        Synopsis    = 'Saves an engine to a file, with or without its weights.'
        Description = @'
Export-TrtEngine serializes an engine to a file that Import-TrtEngine reads back. The file always keeps the refit information, so an imported engine stays refittable.

With -ExcludeWeights the file holds no weight bytes: it is small and can be shared, and the imported engine must be refitted before it runs.
'@
        Parameters  = @{
            Engine         = 'The engine to save. Accepts engines from the pipeline.'
            Path           = 'Destination file. Relative paths and ~ work. Wildcards must match exactly one existing file (as for Out-File); give a new name with wildcard characters with -LiteralPath.'
            LiteralPath    = 'Destination file, used exactly as written.'
            ExcludeWeights = 'Writes a weight-stripped engine.'
            Force          = 'Overwrites an existing file.'
            PassThru       = 'Writes the created file (a FileInfo object) to the pipeline.'
        }
        Examples    = @(
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
$engine | Export-TrtEngine -Path ./tiny_mlp.engine -Force
'@
                Remarks = 'Saves the engine with its weights.'
            }
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
$file = $engine | Export-TrtEngine -Path ./tiny_mlp.stripped.engine -ExcludeWeights -Force -PassThru
$file.Length
'@
                Remarks = 'Saves a weight-stripped engine, overwriting an older file, and shows its size.'
            }
        )
        Links       = @('Import-TrtEngine', 'Update-TrtEngineWeights', 'about_TrtEngine')
    }

    'Import-TrtEngine' = @{
        Synopsis    = 'Loads an engine saved by Export-TrtEngine.'
        Description = @'
Import-TrtEngine reads an engine file and returns the engine. The file is verified (format version, checksum, compatibility with this machine) before it is used.

An engine saved with -ExcludeWeights comes back with HasWeights False; give -WeightsPath, or refit it with Update-TrtEngineWeights, before running it.
'@
        Parameters  = @{
            Path        = 'Paths to engine files, one or several. Wildcards are resolved, and each file they match is imported; relative paths and ~ work.'
            LiteralPath = 'Paths to engine files, used exactly as written. Binds from the PSPath or FullName property of piped objects.'
            WeightsPath = 'A safetensors or torch checkpoint, or an ONNX model, to refit the engine with as it is loaded: all or nothing, as Update-TrtEngineWeights refits (it must supply every weight unless -Partial). An ONNX model of the engine''s graph becomes the model that Update-TrtEngineWeights -Verify runs; one of another graph is warned about.'
            Partial     = 'Accept a -WeightsPath file that lacks some of the engine''s weights: those keep the values the saved engine holds. An engine saved with -ExcludeWeights needs them all.'
            NameMap     = 'Renames the -WeightsPath file''s weights to the engine''s names, as Update-TrtEngineWeights -NameMap does: a hashtable (file name → engine name; $null leaves a weight out) or a script block that gets each name as $_ and returns the engine''s. Needs -WeightsPath.'
        }
        Examples    = @(
            @{
                Code    = @'
New-TrtEngine ./examples/models/tiny_mlp.onnx | Export-TrtEngine -Path ./tiny_mlp.engine -Force
$engine = Import-TrtEngine -Path ./tiny_mlp.engine
'@
                Remarks = 'Loads an engine saved with its weights; it can run at once.'
            }
            @{
                Code    = @'
New-TrtEngine ./examples/models/tiny_mlp.onnx | Export-TrtEngine -Path ./tiny_mlp.stripped.engine -ExcludeWeights -Force
$engine = Import-TrtEngine ./tiny_mlp.stripped.engine -WeightsPath ./examples/models/tiny_mlp.ckpt2.safetensors
'@
                Remarks = 'Loads a weight-stripped engine and refits it with a checkpoint in one step.'
            }
            @{
                Code    = @'
New-TrtEngine ./examples/models/tiny_mlp.onnx | Export-TrtEngine -Path ./tiny_mlp.stripped.engine -ExcludeWeights -Force
$engine = Import-TrtEngine ./tiny_mlp.stripped.engine -WeightsPath ./examples/models/tiny_mlp.ddp.safetensors -NameMap { $_ -replace '^module\.', '' }
'@
                Remarks = 'Loads a weight-stripped engine and refits it from a checkpoint saved under DistributedDataParallel, whose names start with module.; the same works for torch checkpoints (.pt, .pth, .bin, .ckpt).'
            }
        )
        Links       = @('Export-TrtEngine', 'Update-TrtEngineWeights', 'about_TrtEngine')
    }

    'Get-TrtCache' = @{
        Synopsis    = 'Lists the entries of the engine cache.'
        Description = @'
Get-TrtCache writes one TrtCacheEntry object per cached engine, with its Key, ModelName, SizeBytes, Created, LastAccessed, HitCount and Path. Cache entries are weight-stripped engines; they hold no model weights.

The objects can be filtered and sorted like any other, and piped to Remove-TrtCache.
'@
        Parameters  = @{
            Key            = 'Keys of the entries to list. Wildcards are permitted. Lists every entry when omitted. A piped engine stands for its own entry.'
            CacheDirectory = 'Engine cache folder. Defaults to $env:TRTENGINE_CACHE_DIR, the folder saved by Set-TrtCacheOption, or the per-user cache folder of the platform. A folder given that does not exist is warned about (it holds no entries) and not created.'
            Summary        = 'Writes one summary of the cache instead of its entries: entries and bytes stored against the size limit, and the hits, misses, builds and evictions counted since the cache was created. Builds counts the entries built and stored: a build the cache could not take (larger than the limit, or no room beside pinned entries) is a miss without a build.'
        }
        Examples    = @(
            @{
                Code    = 'Get-TrtCache -Summary'
                Remarks = 'Shows how full the default cache is and how often it was hit.'
            }
            @{
                Code    = 'Get-TrtCache | Sort-Object SizeBytes -Descending | Select-Object -First 5'
                Remarks = 'Shows the five largest cache entries.'
            }
            @{
                Code    = 'Get-TrtCache -CacheDirectory ./cache | Measure-Object SizeBytes -Sum'
                Remarks = 'Shows how much disk space a cache folder uses.'
            }
        )
        Links       = @('Remove-TrtCache', 'New-TrtEngine', 'about_TrtEngine')
    }

    'Remove-TrtCache' = @{
        Synopsis    = 'Removes entries from the engine cache.'
        Description = @'
Remove-TrtCache deletes cache entries, given as objects from Get-TrtCache or by key. Piped entries are removed from the cache folder they came from. Keys accept wildcards.

Removing an entry never affects engines already loaded; the next New-TrtEngine for that model builds again. The hints that named the entry (which entry a model file's last conversion used, kept so the next one can load it while it parses the model) go with it.

Pinned entries (see Lock-TrtCache) need -Force. Removals by -LastAccessedBefore or -LargerThan skip them and say so in -Verbose; an entry named by key or piped in that is pinned is a CacheEntryPinned error. To empty a cache, use Clear-TrtCache.
'@
        Parameters  = @{
            InputObject    = 'Cache entries to remove, as written by Get-TrtCache.'
            Key            = 'Keys of the entries to remove. Wildcards are permitted. Binds from piped strings and from the Key property of piped objects; a piped engine stands for its own entry (its CacheKey, in its CacheDirectory).'
            CacheDirectory = 'Engine cache folder used with -Key, -LastAccessedBefore and -LargerThan. Defaults to $env:TRTENGINE_CACHE_DIR, the folder saved by Set-TrtCacheOption, or the per-user cache folder of the platform. A folder given that does not exist is warned about (it holds no entries) and not created.'
            LastAccessedBefore = 'Removes the entries last used before this time.'
            LargerThan     = 'Removes the entries that take more than this many bytes on disk (100MB literals work). With -LastAccessedBefore, both must hold.'
            Force          = 'Removes pinned entries too.'
        }
        Examples    = @(
            @{
                Code    = 'Remove-TrtCache -LastAccessedBefore (Get-Date).AddDays(-7) -LargerThan 100MB'
                Remarks = 'Removes the entries over 100 MiB that have not been used for a week.'
            }
            @{
                Code    = 'Get-TrtCache | Where-Object LastAccessed -lt (Get-Date).AddDays(-30) | Remove-TrtCache'
                Remarks = 'Removes the entries that have not been used for 30 days.'
            }
            @{
                Code    = 'Remove-TrtCache -Key 3fa2* -WhatIf'
                Remarks = 'Shows which entries whose key starts with 3fa2 would be removed.'
            }
        )
        Links       = @('Get-TrtCache', 'Clear-TrtCache', 'Lock-TrtCache', 'about_TrtEngine')
    }

    'Clear-TrtCache' = @{
        Synopsis    = 'Empties the engine cache, after asking.'
        Description = @'
Clear-TrtCache removes every entry of a cache folder in one step. It wipes a whole store, so it asks for confirmation first (ConfirmImpact High): in scripts, give -Confirm:$false. With -WhatIf it says how many entries, and how many bytes, it would remove.

Pinned entries (see Lock-TrtCache) are kept unless -Force is given; -Verbose names each one kept. Engines already loaded are not affected; the next New-TrtEngine for a model builds again. The timing cache (tactic timings the builder reuses) and the hit and miss counts of Get-TrtCache -Summary are kept.
'@
        Parameters  = @{
            CacheDirectory = 'Engine cache folder to empty. Defaults to $env:TRTENGINE_CACHE_DIR, the folder saved by Set-TrtCacheOption, or the per-user cache folder of the platform. A folder given that does not exist is warned about (it holds no entries) and not created.'
            Force          = 'Removes pinned entries too.'
        }
        Examples    = @(
            @{
                Code    = 'Clear-TrtCache -CacheDirectory ./cache -WhatIf'
                Remarks = 'Says how many entries and bytes clearing ./cache would remove, removing nothing.'
            }
            @{
                Code    = 'Clear-TrtCache -CacheDirectory ./cache -Confirm:$false -Verbose'
                Remarks = 'Empties ./cache without asking, keeping pinned entries and naming them.'
            }
        )
        Links       = @('Remove-TrtCache', 'Lock-TrtCache', 'Get-TrtCache', 'about_TrtEngine')
    }

    'Lock-TrtCache' = @{
        Synopsis    = 'Pins cache entries so that eviction and bulk removals leave them alone.'
        Description = @'
Lock-TrtCache pins entries of the engine cache. A pinned entry is never evicted to make room for a new one: when the pinned entries alone leave no room for a new entry, that entry is not stored, with a warning. Remove-TrtCache by age or size and Clear-TrtCache skip pinned entries, and Remove-TrtCache refuses one named by key or piped in (CacheEntryPinned), unless -Force is given. Get-TrtCache shows the pin in the Pinned property.

Pinning writes an empty marker file (pinned) in the entry's folder, beside its manifest and plan, which do not change. Unlock-TrtCache removes the pin.
'@
        Parameters  = @{
            InputObject    = 'Cache entries to pin, as written by Get-TrtCache. Each is pinned in the cache folder it came from.'
            Key            = 'Keys of the entries to pin. Wildcards are permitted. Binds from piped strings and from the Key property of piped objects; a piped engine stands for its own entry (its CacheKey, in its CacheDirectory).'
            CacheDirectory = 'Engine cache folder used with -Key. Defaults to $env:TRTENGINE_CACHE_DIR, the folder saved by Set-TrtCacheOption, or the per-user cache folder of the platform. A folder given that does not exist is warned about (it holds no entries) and not created.'
            PassThru       = 'Writes each pinned entry, as it is now, to the pipeline.'
        }
        Examples    = @(
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
Get-TrtCache -Key $engine.CacheKey | Lock-TrtCache -PassThru
'@
                Remarks = 'Pins the entry of the engine just built and shows it, with Pinned True.'
            }
            @{
                Code    = @'
Get-TrtCache | Where-Object ModelName -eq 'tiny_mlp' | Lock-TrtCache
Clear-TrtCache -Confirm:$false -Verbose
'@
                Remarks = 'Pins every entry built from tiny_mlp, then empties the rest of the cache; -Verbose lists the pinned entries it kept.'
            }
        )
        Links       = @('Unlock-TrtCache', 'Get-TrtCache', 'Remove-TrtCache', 'about_TrtEngine')
    }

    'Unlock-TrtCache' = @{
        Synopsis    = 'Unpins cache entries, so that eviction and removals treat them like any other.'
        Description = @'
Unlock-TrtCache removes the pin that Lock-TrtCache put on cache entries. Unpinned entries can be evicted when the cache is over its size limit, least recently used first, and Remove-TrtCache removes them without -Force. Unpinning an entry that is not pinned changes nothing.
'@
        Parameters  = @{
            InputObject    = 'Cache entries to unpin, as written by Get-TrtCache. Each is unpinned in the cache folder it came from.'
            Key            = 'Keys of the entries to unpin. Wildcards are permitted. Binds from piped strings and from the Key property of piped objects; a piped engine stands for its own entry (its CacheKey, in its CacheDirectory).'
            CacheDirectory = 'Engine cache folder used with -Key. Defaults to $env:TRTENGINE_CACHE_DIR, the folder saved by Set-TrtCacheOption, or the per-user cache folder of the platform. A folder given that does not exist is warned about (it holds no entries) and not created.'
            PassThru       = 'Writes each unpinned entry, as it is now, to the pipeline.'
        }
        Examples    = @(
            @{
                Code    = 'Get-TrtCache | Where-Object Pinned | Unlock-TrtCache -PassThru'
                Remarks = 'Unpins every pinned entry and shows them.'
            }
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
Unlock-TrtCache -Key $engine.CacheKey -WhatIf
'@
                Remarks = 'Shows which entry would be unpinned, changing nothing.'
            }
        )
        Links       = @('Lock-TrtCache', 'Get-TrtCache', 'Remove-TrtCache', 'about_TrtEngine')
    }

    'Get-TrtEngineInfo' = @{
        Synopsis    = 'Shows what an engine is made of: layers after fusion, their origins and tactics, and its weights with their recipes.'
        Description = @'
Get-TrtEngineInfo inspects an engine, as TensorRT's engine inspector does. It writes one TrtEngineInfo object with the engine's inputs and outputs, the instruction set and thread count its tactics were timed for, and:

- Layers: each layer after fusion, with its type (including the convolution algorithm and any fused activation, residual or channel scale: a squeeze-excitation's Mul folded into the 1x1 convolution after it shows as "x channel scale"), a convolution's algorithm alone (Algorithm: im2col or 1x1 GEMM, depthwise, grouped direct (groups of 2 or 4 channels), or Winograd F(4x4,3x3), F(3x3,3x3) or F(2x2,3x3), which the builder times against each other at the opt shape, taking, among those within 15% of the fastest, one with at most two thirds the weight of the heaviest of them where that weight is 1 MiB or more; "fused inverted residual" for a 1x1 -> depthwise -> 1x1 chain run as one layer band by band, or a squeeze-excitation block's 1x1 -> depthwise, which the builder times against the separate layers, a network's stem convolution taking the 1x1's place where the first block has none; "fused convolution and pool" for a stem convolution and the pool after it, run as one layer where the convolution's output image is over 1 MiB), the model nodes it was built from (Origins), the GEMM tactic the builder chose and the measured time of the chosen algorithm and tactic, and its output shape.
- Weights: each engine weight with its shape, size and the recipe that derives it from the model's weights (identity, a BatchNormalization fold, packing for a GEMM tactic). A refit re-runs these recipes.
- ModelWeights: the names a refit takes; folded constants (baked into a fused kernel) are marked.
- ComputedWeights: weights the model computes from others with no run-time input (an export without constant folding: a transposed, scaled or sliced parameter), as "name = Operation(inputs)". Every refit computes them again from their inputs; a refit that supplies one is refused.
'@
        Parameters  = @{
            Engine = 'The engine to inspect. Accepts engines from the pipeline.'
        }
        Examples    = @(
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
(Get-TrtEngineInfo $engine).Layers | Format-Table Index, Type, Tactic, TacticMicroseconds, Origins
'@
                Remarks = 'Lists the layers after fusion with the tactic chosen for each and the model nodes each one computes.'
            }
            @{
                Code    = @'
$engine = New-TrtEngine ./examples/models/tiny_mlp.onnx
$engine | Get-TrtEngineInfo | Select-Object -ExpandProperty Weights | Format-Table Name, Shape, SizeBytes, Recipe
'@
                Remarks = 'Lists the engine weights with the recipe a refit re-runs for each.'
            }
        )
        Links       = @('New-TrtEngine', 'Update-TrtEngineWeights', 'about_TrtEngine')
    }

    'Test-TrtCache' = @{
        Synopsis    = 'Verifies the entries of an engine cache without loading engines, and optionally removes what is broken.'
        Description = @'
Test-TrtCache checks each cache entry as New-TrtEngine would before using it, without building or loading an engine: the manifest reads, the plan has the size and SHA-256 checksum the manifest records, and the entry's format version and instruction set match this TrtEngine and this machine. It also finds temporary directories and files (an entry's, the timing cache's, a hint's) left behind by a process that died while writing them.

It writes one TrtCacheCheck per item with a Status of Ok, Corrupt, Incompatible, Orphaned or Foreign and the Problem in words. With -Repair it removes the broken entries and the orphaned directories and files (supports -WhatIf and -Confirm); New-TrtEngine rebuilds a removed entry the next time it needs it. A Foreign item is a directory holding files the cache did not write (a folder of yours whose name looks like a cache key, in a cache directory that is a folder of yours): neither -Repair nor Remove-TrtCache ever deletes it (-Repair -Verbose says it left it); remove it by hand if it should go.

Entries piped from Get-TrtCache, or named by -Key, are checked one by one, and nothing else is: the leftovers of dead writers are looked for only when a whole cache is tested.
'@
        Parameters  = @{
            CacheDirectory = 'Engine cache folder to test whole. Defaults to $env:TRTENGINE_CACHE_DIR, the folder saved by Set-TrtCacheOption, or the per-user cache folder of the platform. A folder given that does not exist is warned about (it holds no entries) and not created.'
            InputObject    = 'Cache entries to check, as written by Get-TrtCache; only these are checked.'
            Key            = 'Keys of the entries to check (wildcards permitted), in -CacheDirectory; only these are checked. The first positional argument, as for Get-TrtCache. Binds from piped strings and from the Key property of piped objects; a piped engine stands for its own entry.'
            Repair         = 'Removes corrupt and incompatible entries and orphaned temporary directories.'
            OrphanAge      = 'Temporary directories younger than this are left alone, since they may belong to a write in progress. Defaults to 10 minutes.'
        }
        Examples    = @(
            @{
                Code    = 'Test-TrtCache | Where-Object Status -ne Ok'
                Remarks = 'Lists the entries of the default cache that would be rebuilt, and why.'
            }
            @{
                Code    = 'Test-TrtCache -CacheDirectory ./cache -Repair -WhatIf'
                Remarks = 'Shows what -Repair would remove without removing anything.'
            }
            @{
                Code    = 'Get-TrtCache -CacheDirectory ./cache | Where-Object ModelName -eq resnet18 | Test-TrtCache'
                Remarks = 'Checks only the entries built from resnet18.'
            }
        )
        Links       = @('Get-TrtCache', 'Remove-TrtCache', 'about_TrtEngine')
    }

    'Get-TrtCacheOption' = @{
        Synopsis    = 'Shows the cache directory and size limit in force, and where each comes from.'
        Description = @'
Get-TrtCacheOption writes one TrtCacheOptions object: the CacheDirectory New-TrtEngine and the cache cmdlets (Get-, Test-, Remove-, Clear-, Lock- and Unlock-TrtCache) use when -CacheDirectory is not given, and the SizeLimitBytes that inserts keep the cache under. CacheDirectorySource and SizeLimitSource say where each value comes from: the TRTENGINE_CACHE_DIR environment variable, the per-user settings file that Set-TrtCacheOption writes (SettingsPath), or the built-in default (the platform's per-user cache folder, 5 GiB).
'@
        Parameters  = @{}
        Examples    = @(
            @{
                Code    = 'Get-TrtCacheOption'
                Remarks = 'Shows the cache directory and size limit in force.'
            }
            @{
                Code    = '(Get-TrtCacheOption).SizeLimitBytes / 1GB'
                Remarks = 'Shows the size limit in GiB.'
            }
        )
        Links       = @('Set-TrtCacheOption', 'Reset-TrtCacheOption', 'Get-TrtCache', 'about_TrtEngine')
    }

    'Set-TrtCacheOption' = @{
        Synopsis    = 'Sets the default cache directory and size limit for this user, persistently.'
        Description = @'
Set-TrtCacheOption saves the default cache directory and size limit in a per-user settings file (see Get-TrtCacheOption for its path), written atomically. They apply to every later session. The TRTENGINE_CACHE_DIR environment variable still takes precedence over the saved directory, and -CacheDirectory or -CacheSizeLimit on a single call take precedence over both.

A lower limit takes effect at the next insert, which evicts the least recently used entries until the cache fits.
'@
        Parameters  = @{
            CacheDirectory = 'The default engine cache folder. Relative paths and ~ are resolved now.'
            SizeLimit      = 'The bytes the cache may take on disk; 2GB and 500MB literals work.'
            PassThru       = 'Writes the options in force after the change.'
        }
        Examples    = @(
            @{
                Code    = 'Set-TrtCacheOption -SizeLimit 2GB'
                Remarks = 'Keeps the cache under 2 GiB from now on.'
            }
            @{
                Code    = 'Set-TrtCacheOption -CacheDirectory ./trt-cache -PassThru'
                Remarks = 'Moves the default cache to a folder of its own (say, on a data disk) and shows the result; relative paths are resolved now and saved in full.'
            }
        )
        Links       = @('Get-TrtCacheOption', 'Reset-TrtCacheOption', 'Get-TrtCache', 'about_TrtEngine')
    }

    'Reset-TrtCacheOption' = @{
        Synopsis    = 'Forgets the saved cache directory and size limit, so that their defaults apply again.'
        Description = @'
Reset-TrtCacheOption removes what Set-TrtCacheOption saved, for both options or for those named: the cache directory goes back to the per-user cache folder of the platform (or $env:TRTENGINE_CACHE_DIR, when set), the size limit to 5 GiB. The entries of a cache folder that is no longer the default stay where they are; remove them with Clear-TrtCache -CacheDirectory first if they are not wanted.

The settings file is written atomically. A damaged one is replaced, and a copy of it kept beside it, as Set-TrtCacheOption does. With -WhatIf it says what it would reset and writes nothing.
'@
        Parameters  = @{
            Name     = 'The options to reset: CacheDirectory, SizeLimit, or both (the default).'
            PassThru = 'Writes the options in force after the reset.'
        }
        Examples    = @(
            @{
                Code    = 'Reset-TrtCacheOption'
                Remarks = 'Goes back to the default cache folder and size limit.'
            }
            @{
                Code    = 'Reset-TrtCacheOption SizeLimit -PassThru'
                Remarks = 'Goes back to the 5 GiB limit, keeps the saved cache folder, and shows the options in force.'
            }
        )
        Links       = @('Set-TrtCacheOption', 'Get-TrtCacheOption', 'about_TrtEngine')
    }
}
