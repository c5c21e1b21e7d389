package http_test

import (
	"context"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
)

// outageServer answers 200 "ok" on every path but /outage, which starts an outage: for the
// next d, every request is answered 500.
func outageServer(t testing.TB, d time.Duration) (*httptest.Server, *atomic.Int64) {
	var until atomic.Int64 // unix nanoseconds
	served500 := &atomic.Int64{}
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if r.URL.Path == "/outage" {
			until.Store(time.Now().Add(d).UnixNano())
			_, _ = io.WriteString(w, "outage started")
			return
		}
		if time.Now().UnixNano() < until.Load() {
			served500.Add(1)
			w.WriteHeader(nethttp.StatusInternalServerError)
			_, _ = io.WriteString(w, "down")
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, served500
}

// probingExperiment checks the server's / continuously (tolerance 200) while the method starts
// an outage after `before` seconds and waits `after` seconds.
func probingExperiment(t testing.TB, url string, before, after float64) *engine.Experiment {
	exp, err := engine.Parse([]byte(fmt.Sprintf(`{"title": "continuous probing", "description": "d",
  "steady-state-hypothesis": {"title": "up", "probes": [
    {"type": "probe", "name": "site-up", "tolerance": 200, "provider": {"type": "http", "url": %q, "timeout": 3}}]},
  "method": [{"type": "action", "name": "start-outage", "provider": {"type": "http", "url": %q, "method": "POST"},
    "pauses": {"before": %v, "after": %v}}]}`, url+"/", url+"/outage", before, after)), "json")
	require.NoError(t, err)
	return exp
}

// oneMillisecondOutages runs the outage experiment n times: each run probes continuously
// while the server answers 500 for 1 ms, 50 ms into the method. It checks each journal (every
// 500 served is a missed check in it, kept whole between folded good checks) and returns in how
// many runs the outage was seen, and the longest gap between two checks.
func oneMillisecondOutages(t testing.TB, n int) (caught int, worstGap time.Duration) {
	for i := range n {
		srv, served500 := outageServer(t, time.Millisecond)
		exp := probingExperiment(t, srv.URL, 0.05, 0.02)
		j, err := engine.Run(context.Background(), exp, engine.Settings{
			HypothesisStrategy: engine.StrategyDuringMethodOnly, HypothesisFrequency: time.Nanosecond})
		require.NoError(t, err)
		checks, missed := journal.DuringCounts(j.SteadyStates.During)
		assert.Positive(t, checks, "run %d: checks made while the method ran", i)
		assert.EqualValues(t, served500.Load(), missed, "run %d: every 500 served is a missed check in the journal", i)
		var last time.Time
		for k, st := range j.SteadyStates.During {
			first, _ := journal.ParseTime(st.Probes[0].Start)
			if st.First != "" {
				first, _ = journal.ParseTime(st.First)
			}
			if k > 0 && first.Sub(last) > worstGap {
				worstGap = first.Sub(last)
			}
			last, _ = journal.ParseTime(st.Probes[0].End)
			if st.Last != "" {
				last, _ = journal.ParseTime(st.Last)
			}
			if st.SteadyStateMet {
				continue
			}
			assert.Equal(t, int64(500), st.Probes[0].Output.(*jsonvalue.Object).Value("status"), "run %d", i)
		}
		for k := 1; k < len(j.SteadyStates.During); k++ {
			assert.False(t, journal.SameOutcome(j.SteadyStates.During[k-1], j.SteadyStates.During[k]),
				"run %d: alike neighbours are folded into one record", i)
		}
		if missed > 0 {
			caught++
			assert.LessOrEqual(t, len(j.SteadyStates.During), 3, "run %d: good (folded), missed (folded), good (folded)", i)
		}
	}
	return caught, worstGap
}

// TestContinuousProbingJournalsEveryServed500 checks, over 20 runs with a 1 ms outage each,
// that every 500 the server answered is a missed check in the folded journal, and that the
// outage is seen. Whether all 20 are caught depends on the machine's load (a 1 ms window is
// shorter than a scheduler time slice); BenchmarkOneMillisecondOutage reports that figure.
func TestContinuousProbingJournalsEveryServed500(t *testing.T) {
	caught, gap := oneMillisecondOutages(t, 20)
	t.Logf("1 ms outage caught in %d of 20 runs; longest gap between checks %v", caught, gap)
	assert.Positive(t, caught, "a 1 ms outage must be seen")
}

// BenchmarkOneMillisecondOutage reports in how many of 20 runs a 1 ms outage (500 answers) is
// caught by continuous probing (goal: 20), and the longest gap between two checks.
//
//	go test -run '^$' -bench OneMillisecondOutage -benchtime 1x ./providers/http/
func BenchmarkOneMillisecondOutage(b *testing.B) {
	for b.Loop() {
		caught, gap := oneMillisecondOutages(b, 20)
		b.ReportMetric(float64(caught), "caught/20")
		b.ReportMetric(float64(gap.Microseconds()), "max-gap-µs")
	}
}

// BenchmarkContinuousProbing runs one second of continuous checks of an http probe (tolerance
// 200, each check's tolerance evaluated and journaled, folded) against a loopback Go server,
// with no failure. It reports checks per second, the journal's bytes per probing second, and
// the memory allocated per check (engine, http client and server together).
//
//	go test -run '^$' -bench ContinuousProbing -benchtime 3x ./providers/http/
func BenchmarkContinuousProbing(b *testing.B) {
	for _, mode := range []string{engine.JournalDuringFolded, engine.JournalDuringFull} {
		b.Run(mode, func(b *testing.B) {
			srv, _ := outageServer(b, 0)
			exp := probingExperiment(b, srv.URL+"/never", 1, 0) // /never: no outage
			var checks, journalBytes int
			var probing time.Duration
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			for b.Loop() {
				j, err := engine.Run(context.Background(), exp, engine.Settings{
					HypothesisStrategy: engine.StrategyDuringMethodOnly, HypothesisFrequency: time.Nanosecond,
					JournalDuring: mode})
				if err != nil {
					b.Fatal(err)
				}
				n, missed := journal.DuringCounts(j.SteadyStates.During)
				if missed != 0 {
					b.Fatalf("%d checks missed with no outage", missed)
				}
				checks += n
				data, err := journal.Encode(j)
				if err != nil {
					b.Fatal(err)
				}
				journalBytes += len(data)
				start, _ := journal.ParseTime(j.Start)
				end, _ := journal.ParseTime(j.End)
				probing += end.Sub(start)
			}
			runtime.ReadMemStats(&m1)
			b.ReportMetric(float64(checks)/probing.Seconds(), "checks/s")
			b.ReportMetric(float64(journalBytes)/probing.Seconds(), "journal-B/s")
			b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(checks), "B/check")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(checks), "allocs/check")
		})
	}
}
