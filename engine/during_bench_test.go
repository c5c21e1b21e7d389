package engine

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

func init() {
	provider.Register("chaostest.testing.status200", "Return {\"status\": 200} at once.",
		func(context.Context, provider.Env, struct{}) (any, error) {
			return jsonvalue.NewObject("status", int64(200)), nil
		})
}

// BenchmarkDuringCheckEngineCost measures the engine's own cost per check made while the method
// runs: the probe is a Go function that returns {"status": 200} at once, so what is measured is
// the check's record, the tolerance (200 against an http-like output), the log-free loop, the
// lock and the folded journal. It reports checks per second and wall time, bytes and
// allocations per check.
//
//	go test -run '^$' -bench DuringCheckEngineCost -benchtime 3x ./engine/
func BenchmarkDuringCheckEngineCost(b *testing.B) {
	e, err := Parse([]byte(`{"title": "t", "description": "d",
  "steady-state-hypothesis": {"title": "up", "probes": [
    {"type": "probe", "name": "ok", "tolerance": 200, "provider": {"type": "python", "module": "chaostest.testing", "func": "status200"}}]},
  "method": [{"type": "action", "name": "wait", "provider": {"type": "python", "module": "chaostest.testing", "func": "status200"}, "pauses": {"after": 0.5}}]}`), "json")
	if err != nil {
		b.Fatal(err)
	}
	var checks int
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for b.Loop() {
		j, err := Run(context.Background(), e, Settings{HypothesisStrategy: StrategyDuringMethodOnly, HypothesisFrequency: time.Nanosecond})
		if err != nil {
			b.Fatal(err)
		}
		n, missed := journal.DuringCounts(j.SteadyStates.During)
		if missed != 0 || len(j.SteadyStates.During) != 1 {
			b.Fatalf("%d missed, %d records", missed, len(j.SteadyStates.During))
		}
		checks += n
	}
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(checks)/b.Elapsed().Seconds(), "checks/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(checks), "ns/check")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(checks), "B/check")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(checks), "allocs/check")
}
