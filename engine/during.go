package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/chaostest/chaostest/internal/pystr"
	"github.com/chaostest/chaostest/internal/reuse"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
)

// during checks the steady state repeatedly while the method runs (chaoslib's
// run_hypothesis_continuously), with a gap of the hypothesis frequency between checks. stop is
// closed when the method ends: the check in flight then finishes and is journaled, as chaoslib
// waits for its hypothesis thread, because it runs under the run's ctx, which only a real
// interruption cancels. A check cut by an interruption is dropped (it is not a verdict).
func (r *runner) during(ctx context.Context, stop <-chan struct{}, hyp *jsonvalue.Object, done chan<- struct{}) {
	defer close(done)
	gap := r.settings.HypothesisFrequency
	if gap <= 0 {
		gap = time.Second
	}
	r.log(LevelInfo, "Executing the steady-state hypothesis continuously every "+pystr.Float(gap.Seconds())+" seconds")
	defer r.log(LevelInfo, "Continuous steady state hypothesis terminated")
	fold, _ := checkJournalDuring(r.settings.JournalDuring)
	ctx, endReuse := reuse.With(ctx) // providers may keep connections from check to check
	ctx = context.WithValue(ctx, duringCheckKey{}, true)
	defer endReuse()
	failed := 0
	for iteration := 1; ; iteration++ {
		select {
		case <-stop:
			return
		default:
		}
		if ctx.Err() != nil {
			return
		}
		if s := r.status(); s == journal.StatusFailed || s == journal.StatusInterrupted || s == journal.StatusAborted {
			return
		}
		st, err := r.hypothesis(ctx, hyp)
		if err == nil && ctx.Err() != nil && !st.SteadyStateMet {
			return // cut short by an interruption: not a verdict
		}
		r.mu.Lock()
		r.j.SteadyStates.During = journal.AppendDuring(r.j.SteadyStates.During, st, fold)
		r.mu.Unlock()
		if err != nil {
			r.abort(err)
			return
		}
		if !st.SteadyStateMet {
			failed++
			r.log(LevelWarning, "Continuous steady state probe '"+lastProbeName(st)+"' is not in the given tolerance")
			if r.settings.FailFast {
				// chaoslib's fail_fast_ratio is 0: the first miss stops the run.
				ratio := float64(failed*100) / float64(iteration)
				r.log(LevelInfo, fmt.Sprintf("Terminating immediately the experiment after %.1f%% hypothesis deviated", ratio))
				r.setStatus(journal.StatusFailed)
				return
			}
		}
		t := time.NewTimer(gap)
		select {
		case <-stop:
			t.Stop()
			return
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// duringCheckKey marks the context of the checks made while the method runs.
type duringCheckKey struct{}

// cutDuringCheck tells whether a failure under ctx is a check made while the method ran that the
// run's interruption cut short: it is dropped (not a verdict), so it logs no failure either.
func cutDuringCheck(ctx context.Context) bool {
	return ctx.Err() != nil && ctx.Value(duringCheckKey{}) != nil
}
