package engine

import (
	"context"
	"sync"
	"time"

	"github.com/chaostest/chaostest/journal"
)

// Runner is one run of an experiment, played in steps, for callers that need more than Run:
// package chaostest prepares the run, plays it, and plays the rollbacks from a test cleanup when
// the test's goroutine stopped (a panic, runtime.Goexit) before they ran.
type Runner struct {
	r *runner

	mu       sync.Mutex
	reached  bool // the run reached its rollbacks
	finished bool // Play returned
}

// NewRunner returns a runner for e with the settings s; nothing runs yet.
func NewRunner(e *Experiment, s Settings) *Runner {
	x := &Runner{}
	s.beforeRollbacks = func() {
		x.mu.Lock()
		x.reached = true
		x.mu.Unlock()
	}
	x.r = newRunner(e, s)
	return x
}

// Prepare checks the settings, validates the experiment (unless Settings.NoValidation) and loads
// its configuration and secrets, as Run does before playing. Its error is Run's.
func (x *Runner) Prepare(ctx context.Context) error { return x.r.prepare(ctx) }

// Play plays the prepared run (hypothesis, method, hypothesis, rollbacks) and returns its
// journal, complete and with secrets masked.
func (x *Runner) Play(ctx context.Context) *journal.Journal {
	x.r.run(ctx, x.r.hypStrategy, x.r.rbStrategy)
	x.mu.Lock()
	x.finished = true
	x.mu.Unlock()
	return x.r.j
}

// Cleanup finishes a run whose Play was cut short before its rollbacks: it marks the run
// interrupted, plays every rollback on a fresh context and returns the completed journal. It
// returns nil when there is nothing to do (Play returned, rollbacks were reached, or the run
// never started).
func (x *Runner) Cleanup() *journal.Journal {
	x.mu.Lock()
	skip := x.finished || x.reached
	x.mu.Unlock()
	r := x.r
	if skip || r.j == nil {
		return nil
	}
	r.setStatus(journal.StatusInterrupted)
	r.rollbacks(context.Background(), RollbackAlways)
	r.j.End = journal.FormatTime(time.Now())
	r.maskJournal()
	return r.j
}

// Why says why a record of this run missed its tolerance or crashed ("" when unknown), secrets
// masked. The journal does not hold it.
func (x *Runner) Why(rec *journal.Run) string { return x.r.reason(rec) }

// Aborted returns why the run was aborted ("" when it was not).
func (x *Runner) Aborted() string {
	x.r.mu.Lock()
	defer x.r.mu.Unlock()
	return x.r.aborted
}
