//go:build !race

package stress

// runtimeOverhead bounds the memory, in MiB, a stressor's own Go runtime adds to its container
// after the move (measured: about 1 MiB).
const runtimeOverhead = 3
