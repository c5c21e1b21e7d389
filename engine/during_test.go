package engine

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/provider"
)

type sleepArgs struct {
	Seconds float64 `arg:"seconds"`
}

func init() {
	provider.Register("chaostest.testing.sleep", "Sleep seconds (or until the context ends), return true.", func(ctx context.Context, _ provider.Env, a sleepArgs) (any, error) {
		t := time.NewTimer(time.Duration(a.Seconds * float64(time.Second)))
		defer t.Stop()
		select {
		case <-t.C:
			return true, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
}

// runLogged runs src and returns the journal and the log lines ("LEVEL message").
func runLogged(t *testing.T, src string, s Settings) (*journal.Journal, []string) {
	t.Helper()
	var mu sync.Mutex
	var lines []string
	s.Log = func(l Level, m string) { mu.Lock(); lines = append(lines, string(l)+" "+m); mu.Unlock() }
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	j, err := Run(ctx, mustParse(t, src), s)
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	return j, append([]string(nil), lines...)
}

func TestDuringCheckInFlightAtMethodEndIsJournaled(t *testing.T) {
	src := experiment(
		[]string{probe("slow-check", "sleep", `{"seconds": 0.4}`, `true`)},
		[]string{act("action", "quick", "sleep", `{"seconds": 0.1}`)}, nil)
	for _, strategy := range []HypothesisStrategy{StrategyDuringMethodOnly, StrategyContinuously} {
		t.Run(string(strategy), func(t *testing.T) {
			j, lines := runLogged(t, src, Settings{HypothesisStrategy: strategy, HypothesisFrequency: 50 * time.Millisecond})
			log := strings.Join(lines, "\n")
			assert.Equal(t, journal.StatusCompleted, j.Status, log)
			require.Len(t, j.SteadyStates.During, 1, "the check in flight when the method ended is finished and journaled\n%s", log)
			st := j.SteadyStates.During[0]
			assert.True(t, st.SteadyStateMet)
			require.Len(t, st.Probes, 1)
			assert.Equal(t, journal.RunSucceeded, st.Probes[0].Status)
			assert.Equal(t, true, st.Probes[0].Output)
			assert.NotContains(t, log, "ERROR", "no spurious failure for the check in flight")
			assert.Contains(t, log, "INFO Executing the steady-state hypothesis continuously every 0.05 seconds")
			assert.Contains(t, log, "INFO Continuous steady state hypothesis terminated")
		})
	}
}

func TestDuringCrashAbortsWithARecordStatus(t *testing.T) {
	src := experiment(
		[]string{probe("crashing", "crash", `{"message": "not JSON"}`, `true`)},
		[]string{act("action", "slow", "sleep", `{"seconds": 0.3}`)}, nil)
	j, lines := runLogged(t, src, Settings{HypothesisStrategy: StrategyDuringMethodOnly, HypothesisFrequency: 50 * time.Millisecond})
	log := strings.Join(lines, "\n")
	assert.Equal(t, journal.StatusAborted, j.Status, log)
	require.Len(t, j.SteadyStates.During, 1, log)
	rec := j.SteadyStates.During[0].Probes[0]
	assert.Equal(t, journal.RunFailed, rec.Status)
	require.Len(t, rec.Exception, 1)
	assert.Equal(t, ExceptionPrefix+"not JSON\n", rec.Exception[0])
	assert.Equal(t, false, *rec.ToleranceMet)
}

func TestDuringFailFastLogsAsChaoslib(t *testing.T) {
	src := experiment(
		[]string{probe("never", "get", `{"key": "missing"}`, `true`)},
		[]string{act("action", "slow", "sleep", `{"seconds": 2}`), act("action", "skipped", "sleep", `{"seconds": 0}`)}, nil)
	j, lines := runLogged(t, src, Settings{HypothesisStrategy: StrategyDuringMethodOnly, HypothesisFrequency: 50 * time.Millisecond, FailFast: true})
	log := strings.Join(lines, "\n")
	assert.Equal(t, journal.StatusFailed, j.Status, log)
	assert.Contains(t, log, "WARNING Continuous steady state probe 'never' is not in the given tolerance")
	assert.Contains(t, log, "INFO Terminating immediately the experiment after 100.0% hypothesis deviated")
	// The first check may miss before the method starts its first activity (the checks run in
	// their own goroutine from the start), so zero or one activity ran, never the second.
	assert.LessOrEqual(t, len(j.Run), 1, "the method stops between activities once the run failed")
	for _, r := range j.Run {
		assert.NotEqual(t, "skipped", r.Name(), "the method stops between activities once the run failed")
	}
}

func TestDuringCheckCutByInterruptionLogsNoFailure(t *testing.T) {
	src := experiment(
		[]string{probe("slow-check", "sleep", `{"seconds": 5}`, `true`)},
		[]string{act("action", "long", "sleep", `{"seconds": 5}`)}, nil)
	var mu sync.Mutex
	var lines []string
	s := Settings{HypothesisStrategy: StrategyDuringMethodOnly, HypothesisFrequency: 50 * time.Millisecond}
	s.Log = func(l Level, m string) { mu.Lock(); lines = append(lines, string(l)+" "+m); mu.Unlock() }
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	j, err := Run(ctx, mustParse(t, src), s)
	require.NoError(t, err)
	mu.Lock()
	log := strings.Join(lines, "\n")
	mu.Unlock()
	assert.Equal(t, journal.StatusInterrupted, j.Status, log)
	assert.Contains(t, log, "INFO Probe: slow-check", "the check was in flight when the run was interrupted")
	assert.Empty(t, j.SteadyStates.During, "a check cut by the interruption is no verdict")
	// The method's action, cut too, is journaled as failed and says so; the check says nothing.
	assert.Equal(t, 1, strings.Count(log, "=> failed"), log)
	require.Len(t, j.Run, 1)
	assert.Equal(t, journal.RunFailed, j.Run[0].Status)
}
