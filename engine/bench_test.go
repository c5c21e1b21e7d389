package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chaostest/chaostest/provider"
)

// benchExperiment builds an experiment of n method activities of the given provider JSON, plus a
// one-probe hypothesis, so that the engine's own work dominates.
func benchExperiment(b *testing.B, n int, provider string) *Experiment {
	acts := make([]string, n)
	for i := range acts {
		acts[i] = fmt.Sprintf(`{"type": "action", "name": "a%d", "provider": %s}`, i, provider)
	}
	src := `{"title": "bench", "description": "d", "method": [` + strings.Join(acts, ",") + `]}`
	e, err := Parse([]byte(src), "json")
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkEngineOverheadPerActivity measures what the engine adds per activity beyond the
// provider's own work: the provider is a registered Go function that returns at once, called
// through the registry with argument binding, as an experiment file calls it.
func BenchmarkEngineOverheadPerActivity(b *testing.B) {
	const n = 100
	e := benchExperiment(b, n, `{"type": "python", "module": "chaostest.testing", "func": "set", "arguments": {"key": "k", "value": 1}}`)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		j, err := Run(ctx, e, Settings{NoValidation: true})
		if err != nil || j.Status != "completed" {
			b.Fatalf("%v %v", err, j.Status)
		}
	}
	reportPerActivity(b, n, cpu0)
}

// BenchmarkEngineOverheadGoActivity is the same with Go-native activities (no registry, no
// argument binding).
func BenchmarkEngineOverheadGoActivity(b *testing.B) {
	const n = 100
	obj := benchExperiment(b, 0, `{}`).obj
	exp := NewExperiment(obj)
	var method []any
	for i := 0; i < n; i++ {
		a := Go("noop", func(context.Context, provider.Env) (any, error) { return nil, nil }).Named(fmt.Sprint("a", i))
		a.obj.Set("type", "action")
		exp.attach(a)
		method = append(method, a.obj)
	}
	obj.Set("method", method)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := Run(ctx, exp, Settings{NoValidation: true}); err != nil {
			b.Fatal(err)
		}
	}
	reportPerActivity(b, n, cpu0)
}

// BenchmarkLoadAndValidateSeed loads and validates the workshop experiment.
func BenchmarkLoadAndValidateSeed(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "corpus", "15-aws-workshop-greeter-webapp.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		e, err := Parse(data, "json")
		if err != nil {
			b.Fatal(err)
		}
		_ = e.Validate(nil)
	}
}

// cpuTime returns the process's user+system CPU time: on a loaded machine it measures the
// engine's own work where wall time also counts waiting for a CPU.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPerActivity reports wall and CPU nanoseconds per activity.
func reportPerActivity(b *testing.B, n int, cpu0 time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/activity")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/activity")
}
