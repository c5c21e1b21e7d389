package provider

import "github.com/chaostest/chaostest/internal/capped"

// MaxOutputSize is the most the http and process providers keep of one output stream (an HTTP
// body, a process's stdout, its stderr), in bytes: 10 MiB. The rest is dropped, and the output
// object records the cut under the key OutputTruncatedKey, e.g.
// "truncated": {"stdout": {"kept": 10485760, "size": 104857600}}; the run logs a WARNING.
const MaxOutputSize = capped.Max

// OutputTruncatedKey is the output key recording that a stream was cut (see MaxOutputSize).
const OutputTruncatedKey = capped.Key
