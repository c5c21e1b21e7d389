//go:build race

package stress

// runtimeOverhead bounds the memory a stressor's own Go runtime adds to its container after the
// move: the race detector's shadow memory makes it some 14 MiB.
const runtimeOverhead = 16

// runtimeCPU bounds the CPU, in cores, the stressor's other threads (the Go runtime's sysmon,
// GC and timers, slower under the race detector) add beyond what its workers count.
const runtimeCPU = 0.08
