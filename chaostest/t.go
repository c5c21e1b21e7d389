package chaostest

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/jsonvalue"
)

// TB is the part of *testing.T that T uses; *testing.T, *testing.B and *testing.F satisfy it.
// Progress lines go to Output (Go 1.25), without file:line. When the value also has
// `Deadline() (time.Time, bool)` the run ends early enough for rollbacks to finish before it;
// with `Context() context.Context` the run stops when that context ends; with
// `ArtifactDir() string` (and `go test -artifacts`) the journal is kept there; with
// `Failed() bool` and `Skipped() bool` a T whose Run was never called is reported only for a
// test that would otherwise pass.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
	Name() string
	Output() io.Writer
}

// T declares and runs one experiment inside a Go test. Build it with New, declare the steady
// state, the method and the rollbacks, then call Run (a T whose Run is never called fails the
// test). T is not safe for concurrent use; run parallel experiments with one T per (sub)test.
type T struct {
	tb         TB
	o          options
	exp        *engine.Experiment
	done       bool
	warnedTols bool
	outMu      sync.Mutex // progress lines come from several goroutines (background activities)
}

// New returns a T for an experiment declared in Go. Its title is the test's name unless Title
// says otherwise.
func New(t TB, opts ...Option) *T {
	t.Helper()
	ct := &T{tb: t}
	for _, opt := range opts {
		opt(&ct.o)
	}
	title := ct.o.title
	if title == "" {
		title = t.Name()
	}
	obj := jsonvalue.NewObject("version", "1.0.0", "title", title, "description", "Go test "+t.Name())
	if ct.o.secrets != nil {
		obj.Set("secrets", ct.o.secrets)
	}
	obj.Set("method", []any{})
	ct.exp = engine.NewExperiment(obj)
	t.Cleanup(func() {
		if ct.done {
			return
		}
		if f, ok := t.(interface{ Failed() bool }); ok && f.Failed() {
			return
		}
		if s, ok := t.(interface{ Skipped() bool }); ok && s.Skipped() {
			return
		}
		t.Errorf("chaostest: %s declared an experiment with chaostest.New but never called Run: nothing was tested", t.Name())
	})
	return ct
}

// SteadyState declares the steady-state hypothesis: its title and its probes, each with a
// tolerance (see Activity.Want). An unnamed probe is named steady-state-probe-N. Calling it
// again replaces the hypothesis.
func (ct *T) SteadyState(title string, probes ...Step) {
	ps := make([]any, 0, len(probes))
	for i, s := range probes {
		a := s.Activity()
		a.obj.Set("type", "probe")
		if a.name() == "" {
			a.Named(fmt.Sprintf("steady-state-probe-%d", i+1))
		}
		a.attachTo(ct.exp)
		ps = append(ps, a.obj)
	}
	hyp := jsonvalue.NewObject("title", title, "probes", ps)
	obj := ct.exp.Object()
	// Keep Chaos Toolkit's key order: the hypothesis comes before the method.
	obj.Delete("steady-state-hypothesis")
	keys := obj.Keys()
	for i, k := range keys {
		if k != "method" {
			continue
		}
		rest := make([]any, 0, len(keys)-i)
		for _, k := range keys[i:] {
			rest = append(rest, obj.Value(k))
			obj.Delete(k)
		}
		obj.Set("steady-state-hypothesis", hyp)
		for j, k := range keys[i:] {
			obj.Set(k, rest[j])
		}
		return
	}
	obj.Set("steady-state-hypothesis", hyp)
}

// Action appends an action to the method.
func (ct *T) Action(name string, s Step) { ct.add("method", "action", name, s) }

// Probe appends a probe to the method. Its output is recorded; a tolerance on it is not checked
// (as in Chaos Toolkit: only steady-state probes are judged), and T says so once.
func (ct *T) Probe(name string, s Step) {
	if s.Activity().obj.Has("tolerance") && !ct.warnedTols {
		ct.warnedTols = true
		ct.logf("chaostest: WARNING the tolerance of method probe '%s' is not checked: only steady-state probes (SteadyState) are judged", name)
	}
	ct.add("method", "probe", name, s)
}

// Rollback appends a rollback action.
func (ct *T) Rollback(name string, s Step) { ct.add("rollbacks", "action", name, s) }

func (ct *T) add(section, typ, name string, s Step) {
	a := s.Activity()
	a.obj.Set("type", typ)
	a.Named(name)
	a.attachTo(ct.exp)
	obj := ct.exp.Object()
	items, _ := obj.Value(section).([]any)
	obj.Set(section, append(items, a.obj))
}

// Run runs the experiment: the steady state before, the method, the steady state after, then the
// rollbacks, and returns what happened. The test fails (Errorf) unless the outcome is the
// expected one (see Expect; by default "held"):
//   - "inconclusive": the steady state was not met before the method;
//   - "deviated": the steady state did not hold after the method;
//   - "failed": an action or a rollback failed, or a check during the method missed with
//     FailFast;
//   - "aborted" or "interrupted": the run was cut short (a crash, a signal, the test's deadline,
//     a safeguard).
//
// An invalid experiment is fatal (Fatalf, nothing runs). A failure names the probe, its
// tolerance, the output seen and why. Rollbacks run even when a provider panics or the test's
// deadline approaches; if Run itself is cut short, a t.Cleanup function plays them. The journal
// is written as described in the package documentation.
func (ct *T) Run() *Result {
	ct.tb.Helper()
	if ct.done {
		ct.tb.Fatalf("chaostest: Run called twice on %s", ct.tb.Name())
		return nil
	}
	ct.done = true
	for _, p := range ct.o.pauses {
		if err := ct.exp.SetPause(p.activity, p.key, p.d); err != nil {
			ct.tb.Fatalf("chaostest: %v", err)
			return nil
		}
	}
	s := ct.o.settings
	vars := engine.Vars{}
	if s.Vars != nil {
		vars = *s.Vars
	}
	for k, v := range ct.o.vars {
		if vars.Configuration == nil {
			vars.Configuration = map[string]any{}
		}
		vars.Configuration[k] = v
	}
	s.Vars = &vars
	s.Log = ct.logLine
	s.RollbackOnInterrupt = true
	ctx := context.Background()
	if c, ok := ct.tb.(interface{ Context() context.Context }); ok && c.Context() != nil {
		ctx = c.Context()
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	rollbackDeadline, hasDeadline := time.Time{}, false
	if d, ok := ct.tb.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok {
			reserve := min(max(time.Until(dl)/10, 5*time.Second), 30*time.Second)
			var stop context.CancelFunc
			ctx, stop = context.WithDeadlineCause(ctx, dl.Add(-reserve), fmt.Errorf("the test's deadline is near (%s left for rollbacks)", reserve))
			defer stop()
			rollbackDeadline, hasDeadline = dl.Add(-time.Second), true
		}
	}
	s.RollbackContext = func() (context.Context, context.CancelFunc) {
		if hasDeadline {
			return context.WithDeadline(context.Background(), rollbackDeadline)
		}
		return context.WithCancel(context.Background())
	}
	x := engine.NewRunner(ct.exp, s)
	ct.tb.Cleanup(func() {
		// Run was cut short (a panic or runtime.Goexit in the test's goroutine): undo the faults.
		if j := x.Cleanup(); j != nil {
			ct.writeJournal(j)
		}
	})
	if err := x.Prepare(ctx); err != nil {
		ct.tb.Fatalf("chaostest: %v", err)
		return nil
	}
	j := x.Play(ctx)
	ct.writeJournal(j)
	res, fs := judge(x, j)
	ct.report(res, fs)
	return res
}

// RunFile runs a Chaos Toolkit experiment file (.json, .yaml, .yml) as a test, with the same
// verdict and journal as T.Run, and returns what happened.
func RunFile(t TB, path string, opts ...Option) *Result {
	t.Helper()
	ct := &T{tb: t, done: true}
	for _, opt := range opts {
		opt(&ct.o)
	}
	e, err := engine.LoadControlled(path, engine.LoadOptions{}, engine.Settings{Controls: ct.o.settings.Controls, Log: ct.logLine})
	if err != nil {
		t.Fatalf("chaostest: %v", err)
		return nil
	}
	ct.exp = e
	ct.done = false
	return ct.Run()
}

// logLine writes one progress line to the test's output, in chaos run's words, without
// file:line or timestamp (go test prints the test's name and keeps its own order).
func (ct *T) logLine(level engine.Level, msg string) {
	ct.logf("%s %s", level, msg)
}

func (ct *T) logf(format string, args ...any) {
	ct.outMu.Lock()
	defer ct.outMu.Unlock()
	fmt.Fprintf(ct.tb.Output(), format+"\n", args...)
}
