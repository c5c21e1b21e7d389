package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
)

// SignalInterrupt is the cause to cancel a run's context (context.WithCancelCause) with when the
// process receives a signal, so the run ends as chaoslib ends it for that signal (its exit.py
// and run.py):
//
//   - SIGINT (KeyboardInterrupt): status interrupted, rollbacks per strategy.
//   - SIGTERM (InterruptExecution): the same, logged as "SIGTERM signal received". chaostest
//     handles SIGHUP the same way (chaoslib leaves it to Python's default: no journal).
//   - SIGUSR1 (SystemExit(20), chaoslib's graceful exit): the same.
//   - SIGUSR2 (SystemExit(30), the immediate exit): interrupted, and rollbacks are never played,
//     whatever the strategy.
//
// A signal received while rollbacks run (cancelling the rollbacks' context, see
// Settings.RollbackContext, with a SignalInterrupt) stops them: the rollback running is cancelled,
// the remaining ones are not played, and the run ends interrupted.
type SignalInterrupt struct {
	// Signal is the signal's name: "SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1" or "SIGUSR2".
	Signal string
}

// Error names the signal received.
func (s *SignalInterrupt) Error() string { return s.Signal + " signal received" }

// exitCode is the SystemExit code chaoslib raises for the signal, 0 for none.
func (s *SignalInterrupt) exitCode() int {
	switch s.Signal {
	case "SIGUSR1":
		return 20
	case "SIGUSR2":
		return 30
	}
	return 0
}

// Caught returns the line chaoslib's signal handler logs as the signal arrives (before the run
// notices it), and false when it logs none.
func (s *SignalInterrupt) Caught() (Level, string, bool) {
	switch s.Signal {
	case "SIGTERM", "SIGHUP":
		return LevelWarning, "Caught " + s.Signal + " signal, interrupting experiment now", true
	}
	return "", "", false
}

// signalCause returns the SignalInterrupt that cancelled ctx, or nil.
func signalCause(ctx context.Context) *SignalInterrupt {
	var si *SignalInterrupt
	if errors.As(context.Cause(ctx), &si) {
		return si
	}
	return nil
}

// logSignalInterrupt logs how chaoslib's _run reports the run's interruption by a signal.
func (r *runner) logSignalInterrupt(si *SignalInterrupt) {
	switch code := si.exitCode(); {
	case si.Signal == "SIGINT":
		r.log(LevelWarning, "Received a termination signal (Ctrl-C)...")
	case code != 0:
		r.log(LevelWarning, fmt.Sprintf("Received the exit signal: %d", code))
		if code == 30 {
			r.log(LevelWarning, "Ignoring rollbacks as per signal")
		}
	default:
		r.log(LevelCritical, si.Error())
	}
}

// skipRollbacksForSignal reports whether the run was interrupted by SIGUSR2, after which
// chaoslib plays no rollback at all.
func (r *runner) skipRollbacksForSignal() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.signal != nil && r.signal.exitCode() == 30
}

// rollbackContext returns the context rollbacks run under: Settings.RollbackContext's, else the
// run's, else, when the run's context has already ended (the run was interrupted and the
// strategy still plays rollbacks), a context that the run's end does not cancel, so rollbacks
// really run, each under its own activity timeout.
func (r *runner) rollbackContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.settings.RollbackContext != nil {
		return r.settings.RollbackContext()
	}
	if ctx.Err() != nil {
		return context.WithCancel(context.WithoutCancel(ctx))
	}
	return context.WithCancel(ctx)
}

// rollbacksInterrupted ends the run interrupted because rctx, the rollbacks' context, ended
// before all rollbacks were played (chaoslib's run_rollback on a signal).
func (r *runner) rollbacksInterrupted(rctx context.Context) {
	r.setStatus(journal.StatusInterrupted)
	si := signalCause(rctx)
	switch {
	case si != nil && (si.Signal == "SIGTERM" || si.Signal == "SIGHUP"):
		r.log(LevelCritical, si.Error())
	case si != nil:
		r.log(LevelWarning, "Received an exit signal.Terminating now without running the remaining rollbacks.")
	default:
		cause := "interrupted"
		if err := context.Cause(rctx); err != nil {
			cause = err.Error()
		}
		r.log(LevelCritical, "Rollbacks interrupted: "+cause+"; the remaining rollbacks were not played")
	}
}

// rollbacks plays the rollbacks according to the strategy (compat §3.3), logging as chaoslib's
// run_rollback and run_rollbacks do. Rollbacks run under rollbackContext; when it ends before
// they are all played, the run ends interrupted.
func (r *runner) rollbacks(ctx context.Context, strategy RollbackStrategy) {
	if r.skipRollbacksForSignal() {
		return
	}
	st := r.status()
	play := false
	switch strategy {
	case RollbackAlways:
		r.log(LevelWarning, "Rollbacks were explicitly requested to be played")
		play = true
	case RollbackNever:
		r.log(LevelWarning, "Rollbacks were explicitly requested to not be played")
	case RollbackDeviated:
		if r.j.Deviated {
			r.log(LevelWarning, "Rollbacks will be played only because the experiment deviated")
			play = true
		} else {
			r.log(LevelWarning, "Rollbacks were explicitely requested to be played only if the experiment deviated. Since this is not the case, we will not play them.")
		}
	default:
		play = st != journal.StatusFailed && st != journal.StatusInterrupted
	}
	if !play && st == journal.StatusInterrupted && r.settings.RollbackOnInterrupt && strategy != RollbackNever {
		r.log(LevelInfo, "The run was interrupted: its rollbacks are played all the same")
		play = true
	}
	if !play {
		return
	}
	if !r.beforeRollbackControls(ctx) {
		return
	}
	defer r.afterRollbackControls(ctx)
	r.log(LevelInfo, "Let's rollback...")
	rbs := objects(r.exp.obj.Value("rollbacks"))
	if len(rbs) == 0 {
		r.log(LevelInfo, "No declared rollbacks, let's move on.")
		return
	}
	rctx, cancel := r.rollbackContext(ctx)
	defer cancel()
	var bg sync.WaitGroup
	var mu sync.Mutex
	var crashes []string
	// A crash (an error chaoslib does not catch as ActivityFailed) stops chaoslib without a
	// journal; chaostest records the rollback as failed, plays the others and aborts the run.
	play1 := func(act *jsonvalue.Object, rec *journal.Run) {
		r.executeInto(rctx, act, rec)
		if isCrash(rec) && !r.cutByControl(rctx) && !cutRecord(rctx) {
			why := r.reason(rec)
			rec.Status, rec.Exception = journal.RunFailed, exceptionLines(errors.New(why))
			mu.Lock()
			crashes = append(crashes, fmt.Sprintf("rollback '%s': %s", probeName(act), why))
			mu.Unlock()
		}
	}
	for _, a := range rbs {
		if rctx.Err() != nil {
			break
		}
		r.log(LevelInfo, "Rollback: "+pyStr(a.Value("name")))
		act := a
		if ref, ok := a.Value("ref").(string); ok {
			target, found := r.cache[ref]
			if !found {
				r.log(LevelError, fmt.Sprintf("Rollback: could not find referenced activity '%s'", ref))
				continue
			}
			act = target
		}
		rec := &journal.Run{}
		mu.Lock()
		r.j.Rollbacks = append(r.j.Rollbacks, rec)
		mu.Unlock()
		if bgFlag, _ := act.Value("background").(bool); bgFlag {
			bg.Add(1)
			go func() {
				defer bg.Done()
				play1(act, rec)
			}()
			continue
		}
		play1(act, rec)
	}
	bg.Wait()
	if rctx.Err() != nil {
		r.rollbacksInterrupted(rctx)
	} else if len(crashes) > 0 && r.status() != journal.StatusInterrupted {
		r.abort(errors.New(crashes[0]))
	}
}
