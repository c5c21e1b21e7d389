package chaostest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chaostest/chaostest/journal"
)

// TB is the part of *testing.T that T uses, so experiments also run outside `go test`.
// *testing.T and *testing.B satisfy it. When the value also has `Deadline() (time.Time, bool)`
// the run ends early enough for rollbacks to finish before it, and when it has
// `ArtifactDir() string` the journal is written there.
type TB interface {
	Helper()
	Log(args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
	Name() string
}

// T declares and runs one experiment inside a Go test. Build it with New, declare the steady
// state, the method and the rollbacks, then call Run. T is not safe for concurrent use; run
// parallel experiments with one T per (sub)test.
type T struct {
	tb   TB
	o    options
	exp  *Experiment
	hyp  *journal.Object
	done bool
	j    *journal.Journal
}

type options struct {
	title, description string
	tags               []string
	config             *journal.Object
	secrets            *journal.Object
	vars               Vars
	varFiles           []string
	settings           Settings
	journalDir         string
	expectDeviation    bool
	pauses             []pauseOpt
	ctx                context.Context
	reserve            time.Duration
}

type pauseOpt struct {
	activity string
	key      string
	d        time.Duration
}

// Option changes how an experiment runs in a test. Options apply to New and RunFile.
type Option func(*options)

// Title sets the experiment's title (default: the test's name).
func Title(title string) Option { return func(o *options) { o.title = title } }

// Description sets the experiment's description (default: "Go test <name>").
func Description(d string) Option { return func(o *options) { o.description = d } }

// Tags sets the experiment's tags.
func Tags(tags ...string) Option { return func(o *options) { o.tags = tags } }

// Configuration declares a configuration key of an experiment built in Go. value may be a plain
// value or an env reference written as map[string]any{"type": "env", "key": "WEBAPP_URL"}.
func Configuration(key string, value any) Option {
	return func(o *options) {
		if o.config == nil {
			o.config = &journal.Object{}
		}
		o.config.Set(key, normalizeValue(value))
	}
}

// Secret declares a secret value in a scope of an experiment built in Go. Secrets are masked in
// journals.
func Secret(scope, key string, value any) Option {
	return func(o *options) {
		if o.secrets == nil {
			o.secrets = &journal.Object{}
		}
		s, _ := o.secrets.Value(scope).(*journal.Object)
		if s == nil {
			s = &journal.Object{}
			o.secrets.Set(scope, s)
		}
		s.Set(key, normalizeValue(value))
	}
}

// Var overrides a configuration key declared by the experiment, like `chaos run --var`. As in
// Chaos Toolkit, a key the experiment does not declare is ignored.
func Var(key string, value any) Option {
	return func(o *options) {
		if o.vars.Configuration == nil {
			o.vars.Configuration = map[string]any{}
		}
		o.vars.Configuration[key] = normalizeValue(value)
	}
}

// VarFile reads a --var-file (JSON/YAML with configuration and secrets, or a .env file).
func VarFile(path string) Option { return func(o *options) { o.varFiles = append(o.varFiles, path) } }

// HypothesisStrategy sets when the steady state is checked (a Strategy constant).
func HypothesisStrategy(s string) Option {
	return func(o *options) { o.settings.HypothesisStrategy = s }
}

// HypothesisFrequency sets the gap between steady-state checks while the method runs.
func HypothesisFrequency(d time.Duration) Option {
	return func(o *options) { o.settings.HypothesisFrequency = d }
}

// FailFast stops the run at the first steady-state miss while the method runs.
func FailFast() Option { return func(o *options) { o.settings.FailFast = true } }

// RollbackStrategy sets when rollbacks are played (a Rollback constant).
func RollbackStrategy(s string) Option { return func(o *options) { o.settings.RollbackStrategy = s } }

// Dry sets a dry mode (a Dry constant).
func Dry(mode string) Option { return func(o *options) { o.settings.Dry = mode } }

// JournalDir writes journal.json into dir as well (created if needed).
func JournalDir(dir string) Option { return func(o *options) { o.journalDir = dir } }

// ExpectDeviation turns the verdict around: the test passes only when the steady state deviates
// after the method (a known weakness kept under test), and fails when it holds.
func ExpectDeviation() Option { return func(o *options) { o.expectDeviation = true } }

// AddPauseAfter adds (or replaces) a pause of d after the named method activity, without editing
// the experiment file: `"pauses": {"after": d}`.
func AddPauseAfter(activity string, d time.Duration) Option {
	return func(o *options) { o.pauses = append(o.pauses, pauseOpt{activity, "after", d}) }
}

// AddPauseBefore adds (or replaces) a pause of d before the named method activity.
func AddPauseBefore(activity string, d time.Duration) Option {
	return func(o *options) { o.pauses = append(o.pauses, pauseOpt{activity, "before", d}) }
}

// Context makes the run stop (status interrupted) when ctx ends. Rollbacks still run.
func Context(ctx context.Context) Option { return func(o *options) { o.ctx = ctx } }

// RollbackReserve sets how long before the test's deadline (go test -timeout) the run is
// interrupted so that rollbacks can still run. Default: 10% of the time left, between 5 s and 30 s.
func RollbackReserve(d time.Duration) Option { return func(o *options) { o.reserve = d } }

// New returns a T for an experiment declared in Go.
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
	desc := ct.o.description
	if desc == "" {
		desc = "Go test " + t.Name()
	}
	obj := journal.NewObject("version", "1.0.0", "title", title, "description", desc)
	if len(ct.o.tags) > 0 {
		obj.Set("tags", normalizeValue(ct.o.tags))
	}
	if ct.o.config != nil {
		obj.Set("configuration", ct.o.config)
	}
	if ct.o.secrets != nil {
		obj.Set("secrets", ct.o.secrets)
	}
	obj.Set("method", []any{})
	ct.exp = NewExperiment(obj)
	return ct
}

// Experiment returns the experiment being declared (or loaded, for RunFile).
func (ct *T) Experiment() *Experiment { return ct.exp }

// SteadyState declares the steady-state hypothesis: its title and its probes, each with a
// tolerance (see Activity.Want). Calling it again replaces the hypothesis.
func (ct *T) SteadyState(title string, probes ...Step) {
	ps := make([]any, 0, len(probes))
	for i, s := range probes {
		a := s.Activity()
		a.obj.Set("type", "probe")
		if a.Name() == "" {
			a.Named(fmt.Sprintf("steady-state-probe-%d", i+1))
		}
		ct.exp.attach(a)
		ps = append(ps, a.obj)
	}
	ct.hyp = journal.NewObject("title", title, "probes", ps)
	obj := ct.exp.obj
	// Keep Chaos Toolkit's key order: the hypothesis comes before the method.
	rebuilt := &journal.Object{}
	for _, k := range obj.Keys() {
		if k == "steady-state-hypothesis" {
			continue
		}
		if k == "method" {
			rebuilt.Set("steady-state-hypothesis", ct.hyp)
		}
		rebuilt.Set(k, obj.Value(k))
	}
	ct.exp.obj = rebuilt
}

// Action appends an action to the method.
func (ct *T) Action(name string, s Step) { ct.add("method", "action", name, s) }

// Probe appends a probe to the method. Its output is recorded; its tolerance is not checked
// (as in Chaos Toolkit).
func (ct *T) Probe(name string, s Step) { ct.add("method", "probe", name, s) }

// Rollback appends a rollback action.
func (ct *T) Rollback(name string, s Step) { ct.add("rollbacks", "action", name, s) }

func (ct *T) add(section, typ, name string, s Step) {
	a := s.Activity()
	a.obj.Set("type", typ)
	a.Named(name)
	ct.exp.attach(a)
	ct.exp.obj.Set(section, append(list(ct.exp.obj.Value(section)), a.obj))
}

// Journal returns the journal of the last Run, nil before.
func (ct *T) Journal() *journal.Journal { return ct.j }

// Run runs the experiment: the steady state before, the method, the steady state after, then the
// rollbacks. It writes journal.json to the test's artifact directory (go test -artifacts), to
// $CHAOSTEST_JOURNAL_DIR/<test name>/ when set, and to JournalDir when given, and returns the
// journal. The test fails when:
//   - the experiment is invalid (Fatalf, nothing runs);
//   - the steady state is not met before the method (inconclusive);
//   - the steady state deviates after the method (unless ExpectDeviation);
//   - an action of the method fails, or the run is aborted, interrupted or failed.
//
// The failure message names the probe, its tolerance and the output seen. Rollbacks run even when
// a provider panics or the test's deadline approaches; if Run itself is cut short, a t.Cleanup
// function plays them.
func (ct *T) Run() *journal.Journal {
	ct.tb.Helper()
	if ct.done {
		ct.tb.Fatalf("chaostest: Run called twice on %s", ct.tb.Name())
		return ct.j
	}
	ct.done = true
	for _, p := range ct.o.pauses {
		if err := addPause(ct.exp, p); err != nil {
			ct.tb.Fatalf("chaostest: %v", err)
			return nil
		}
	}
	vars := ct.o.vars
	for _, f := range ct.o.varFiles {
		if err := vars.LoadFile(f); err != nil {
			ct.tb.Fatalf("chaostest: %v", err)
			return nil
		}
	}
	s := ct.o.settings
	s.Vars = &vars
	var logMu sync.Mutex
	s.Log = func(level Level, msg string) {
		logMu.Lock()
		defer logMu.Unlock()
		ct.tb.Log(FormatLine(time.Now(), level, msg))
	}
	s.RollbackOnInterrupt = true
	ctx := ct.o.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	rollbackDeadline, hasDeadline := time.Time{}, false
	if d, ok := ct.tb.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok {
			reserve := ct.o.reserve
			if reserve == 0 {
				reserve = min(max(time.Until(dl)/10, 5*time.Second), 30*time.Second)
			}
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
	r := newRunner(ct.exp, s)
	var mu sync.Mutex
	reachedRollbacks := false
	s.beforeRollbacks = func() {
		mu.Lock()
		reachedRollbacks = true
		mu.Unlock()
	}
	r.settings.beforeRollbacks = s.beforeRollbacks
	finished := false
	ct.tb.Cleanup(func() {
		mu.Lock()
		played := reachedRollbacks
		mu.Unlock()
		if finished || played || r.j == nil {
			return
		}
		// Run was cut short (a panic or runtime.Goexit in the test's goroutine): undo the faults.
		r.setStatus(journal.StatusInterrupted)
		r.rollbacks(context.Background(), RollbackAlways)
		r.j.End = journal.FormatTime(time.Now())
		ct.j = r.j
		ct.writeJournal(r.j)
	})
	if err := r.prepare(ctx); err != nil {
		ct.tb.Fatalf("chaostest: %v", err)
		return nil
	}
	r.run(ctx, r.hypStrategy, r.rbStrategy)
	finished = true
	ct.j = r.j
	ct.writeJournal(r.j)
	ct.verdict(r)
	return r.j
}

func addPause(e *Experiment, p pauseOpt) error {
	return e.SetPause(p.activity, p.key, p.d)
}

// JournalPaths returns where Run writes the journal for this test.
func (ct *T) journalPaths() []string {
	var paths []string
	if a, ok := ct.tb.(interface{ ArtifactDir() string }); ok {
		paths = append(paths, filepath.Join(a.ArtifactDir(), "journal.json"))
	}
	if dir := os.Getenv("CHAOSTEST_JOURNAL_DIR"); dir != "" {
		paths = append(paths, filepath.Join(dir, SanitizeName(ct.tb.Name()), "journal.json"))
	}
	if ct.o.journalDir != "" {
		paths = append(paths, filepath.Join(ct.o.journalDir, "journal.json"))
	}
	return paths
}

// SanitizeName turns a test name into the directory name used under $CHAOSTEST_JOURNAL_DIR.
func SanitizeName(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '/', '\\', ':', '*', '?', '"', '<', '>', '|', ' ':
			return '_'
		}
		return r
	}, name)
}

func (ct *T) writeJournal(j *journal.Journal) {
	for _, p := range ct.journalPaths() {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			ct.tb.Errorf("chaostest: cannot write the journal: %v", err)
			continue
		}
		if err := journal.Write(p, j); err != nil {
			ct.tb.Errorf("chaostest: cannot write the journal: %v", err)
			continue
		}
		ct.tb.Log("chaostest: journal written to " + p)
	}
}

// verdict fails the test as documented on Run.
func (ct *T) verdict(r *runner) {
	ct.tb.Helper()
	j := r.j
	if b := j.SteadyStates.Before; b != nil && !b.SteadyStateMet {
		ct.tb.Errorf("chaostest: inconclusive: the steady state was not met before the method, so the experiment says nothing about resilience.\n%s", ct.explain(r, b))
		return
	}
	switch j.Status {
	case journal.StatusAborted:
		ct.tb.Errorf("chaostest: the experiment was aborted: %s", ct.lastCrash(r))
	case journal.StatusInterrupted:
		ct.tb.Errorf("chaostest: the experiment was interrupted (rollbacks were played)")
	}
	if j.Deviated && !ct.o.expectDeviation {
		ct.tb.Errorf("chaostest: the steady state deviated after the method: a weakness was found.\n%s", ct.explain(r, j.SteadyStates.After))
	}
	if !j.Deviated && ct.o.expectDeviation && j.Status != journal.StatusAborted && j.Status != journal.StatusInterrupted {
		ct.tb.Errorf("chaostest: expected the steady state to deviate after the method (ExpectDeviation), but it held")
	}
	if j.Status == journal.StatusFailed && !j.Deviated {
		for _, st := range j.SteadyStates.During {
			if !st.SteadyStateMet {
				ct.tb.Errorf("chaostest: the steady state was not met while the method ran (fail fast).\n%s", ct.explain(r, st))
				break
			}
		}
	}
	for _, rec := range j.Run {
		if rec.Status == journal.RunFailed && rec.Type() == "action" {
			ct.tb.Errorf("chaostest: action '%s' failed: %s", rec.Name(), failure(rec))
		}
	}
	for _, rec := range j.Rollbacks {
		if rec.Status == journal.RunFailed {
			ct.tb.Errorf("chaostest: rollback '%s' failed: %s", rec.Name(), failure(rec))
		}
	}
}

func (ct *T) lastCrash(r *runner) string {
	for _, rec := range append(append([]*journal.Run{}, r.j.Run...), r.j.Rollbacks...) {
		if rec.Status == "" {
			return fmt.Sprintf("activity '%s': %s", rec.Name(), r.reason(rec))
		}
	}
	return "see the log above"
}

// explain describes the probe that missed: its name, tolerance, output and why.
func (ct *T) explain(r *runner, st *journal.State) string {
	if st == nil || len(st.Probes) == 0 {
		return "(no probe ran)"
	}
	rec := st.Probes[len(st.Probes)-1]
	tol := rec.Activity.Value("tolerance")
	var b strings.Builder
	fmt.Fprintf(&b, "  probe:     %s\n", rec.Name())
	fmt.Fprintf(&b, "  tolerance: %s\n", compactJSON(tol))
	if rec.Status == journal.RunFailed {
		fmt.Fprintf(&b, "  output:    none, the probe failed: %s", failure(rec))
		return b.String()
	}
	fmt.Fprintf(&b, "  output:    %s", truncate(compactJSON(rec.Output), 600))
	if why := r.reason(rec); why != "" {
		fmt.Fprintf(&b, "\n  why:       %s", why)
	}
	return b.String()
}

// RunFile runs a Chaos Toolkit experiment file (.json, .yaml, .yml) as a test, with the same
// verdict and journal as T.Run, and returns the journal.
func RunFile(t TB, path string, opts ...Option) *journal.Journal {
	t.Helper()
	e, err := Load(path)
	if err != nil {
		t.Fatalf("chaostest: %v", err)
		return nil
	}
	ct := &T{tb: t, exp: e}
	for _, opt := range opts {
		opt(&ct.o)
	}
	return ct.Run()
}

// failure returns a failed record's message without the Chaos Toolkit exception prefix.
func failure(rec *journal.Run) string {
	return strings.TrimPrefix(rec.ExceptionMessage(), strings.TrimSpace(ExceptionPrefix)+" ")
}
