//go:build !race

package stress

// runtimeOverhead bounds the memory, in MiB, a stressor's own Go runtime adds to its container
// after the move (measured: about 1 MiB).
const runtimeOverhead = 3

// runtimeCPU bounds the CPU, in cores, the stressor's other threads (the Go runtime's sysmon,
// GC and timers) add beyond what its workers count.
const runtimeCPU = 0.04
