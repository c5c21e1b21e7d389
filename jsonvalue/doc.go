// Package jsonvalue holds the JSON values chaostest reads, passes around and writes: an
// experiment, an activity, a provider's output, a journal's contents. It is the leaf every other
// package shares (the report package journal, the engine, the providers and the Python dialects
// in internal/*), and it imports only the standard library.
//
// A value is what encoding/json produces for `any`, with two differences that keep a file's
// meaning: an object is an *Object, which keeps its keys in order (a journal lists keys in Chaos
// Toolkit's order, a copy of an experiment keeps its unknown keys where they were), and a number
// is an int64 when its text is an integer, a float64 otherwise. Decode reads such values under a
// nesting limit (MaxDepth) and reports errors with their line and column; Marshal writes them as
// Python's json module does (no HTML escaping).
package jsonvalue
