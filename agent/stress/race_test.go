//go:build race

package stress

// runtimeOverhead bounds the memory a stressor's own Go runtime adds to its container after the
// move: the race detector's shadow memory makes it some 14 MiB.
const runtimeOverhead = 16
