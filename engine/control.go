package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/chaostest/chaostest/internal/gojson"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
)

// Control is a Chaos Toolkit control implemented in Go: code called around each part of a run,
// at chaoslib's hook points. Embed NopControl and override the hooks you need.
//
// A hook that returns an *InterruptExecution (see Interrupt) ends the run as chaoslib's
// InterruptExecution does: status "interrupted", exit 1, the matching After hook still called
// (with a nil state), rollbacks skipped under the default strategy and played under "always".
// Any other error, or a panic, is logged and ignored. Hooks run on the run's goroutine, except
// those of the hypothesis checked while the method runs (during-method-only, continuously) and
// of background activities, which run on their goroutines: a control used with those must be
// safe for concurrent use. The Before hooks may change what they receive (the experiment, the hypothesis, the
// activity about to run), the After hooks the state (the run records, the journal).
type Control interface {
	// Configure is called once per control name, before the experiment starts, with the
	// arguments of the first declaration (not substituted, as chaoslib passes them).
	Configure(c *ControlEnv) error
	// Cleanup is called once per control name, after AfterExperiment.
	Cleanup()
	// BeforeLoadingExperiment and AfterLoadingExperiment are called, for controls given in the
	// settings only, around loading the experiment file (LoadWith, RunFile with WithControl).
	BeforeLoadingExperiment(c *ControlEnv, source string) error
	AfterLoadingExperiment(c *ControlEnv, source string, experiment *jsonvalue.Object) error
	// BeforeExperiment is called before the steady state is first checked; AfterExperiment once
	// the run ended, with the journal that will be saved (what it adds, say to "extensions", is
	// saved).
	BeforeExperiment(ctx context.Context, c *ControlEnv) error
	AfterExperiment(ctx context.Context, c *ControlEnv, j *journal.Journal) error
	// BeforeHypothesis and AfterHypothesis wrap each run of the steady-state hypothesis.
	BeforeHypothesis(ctx context.Context, c *ControlEnv, hypothesis *jsonvalue.Object) error
	AfterHypothesis(ctx context.Context, c *ControlEnv, hypothesis *jsonvalue.Object, state *journal.State) error
	// BeforeMethod and AfterMethod wrap the method; runs are the journal's method records.
	BeforeMethod(ctx context.Context, c *ControlEnv) error
	AfterMethod(ctx context.Context, c *ControlEnv, runs []*journal.Run) error
	// BeforeRollback and AfterRollback wrap the rollbacks, when they are played.
	BeforeRollback(ctx context.Context, c *ControlEnv) error
	AfterRollback(ctx context.Context, c *ControlEnv, runs []*journal.Run) error
	// BeforeActivity is called before each activity (hypothesis probe, method activity,
	// rollback) with the activity itself: what it changes is what runs. Returning SkipActivity
	// skips the activity (recorded as succeeded with a null output, as a dry activity).
	// AfterActivity receives the activity's record (nil when BeforeActivity interrupted).
	BeforeActivity(ctx context.Context, c *ControlEnv, activity *jsonvalue.Object) error
	AfterActivity(ctx context.Context, c *ControlEnv, activity *jsonvalue.Object, run *journal.Run) error
}

// NopControl implements every Control hook as a no-op; embed it in a control.
type NopControl struct{}

// Configure does nothing.
func (NopControl) Configure(*ControlEnv) error { return nil }

// Cleanup does nothing.
func (NopControl) Cleanup() {}

// BeforeLoadingExperiment does nothing.
func (NopControl) BeforeLoadingExperiment(*ControlEnv, string) error { return nil }

// AfterLoadingExperiment does nothing.
func (NopControl) AfterLoadingExperiment(*ControlEnv, string, *jsonvalue.Object) error { return nil }

// BeforeExperiment does nothing.
func (NopControl) BeforeExperiment(context.Context, *ControlEnv) error { return nil }

// AfterExperiment does nothing.
func (NopControl) AfterExperiment(context.Context, *ControlEnv, *journal.Journal) error { return nil }

// BeforeHypothesis does nothing.
func (NopControl) BeforeHypothesis(context.Context, *ControlEnv, *jsonvalue.Object) error { return nil }

// AfterHypothesis does nothing.
func (NopControl) AfterHypothesis(context.Context, *ControlEnv, *jsonvalue.Object, *journal.State) error {
	return nil
}

// BeforeMethod does nothing.
func (NopControl) BeforeMethod(context.Context, *ControlEnv) error { return nil }

// AfterMethod does nothing.
func (NopControl) AfterMethod(context.Context, *ControlEnv, []*journal.Run) error { return nil }

// BeforeRollback does nothing.
func (NopControl) BeforeRollback(context.Context, *ControlEnv) error { return nil }

// AfterRollback does nothing.
func (NopControl) AfterRollback(context.Context, *ControlEnv, []*journal.Run) error { return nil }

// BeforeActivity does nothing.
func (NopControl) BeforeActivity(context.Context, *ControlEnv, *jsonvalue.Object) error { return nil }

// AfterActivity does nothing.
func (NopControl) AfterActivity(context.Context, *ControlEnv, *jsonvalue.Object, *journal.Run) error {
	return nil
}

// ControlValidator is implemented by a Control that checks its declaration at validation time
// (chaoslib's validate_control). The error is reported as a validation problem.
type ControlValidator interface {
	ValidateControl(control *jsonvalue.Object) error
}

// InterruptExecution is chaoslib's InterruptExecution: returned by a hook, it ends the run with
// status "interrupted".
type InterruptExecution struct {
	// Reason is logged and is the run's interruption cause.
	Reason string
}

// Error returns the reason the run was interrupted.
func (e *InterruptExecution) Error() string { return e.Reason }

// Interrupt returns an *InterruptExecution with the given reason.
func Interrupt(reason string) error { return &InterruptExecution{Reason: reason} }

// SkipActivity, returned by BeforeActivity, skips the activity: it is recorded as succeeded
// with a null output, like an activity of a dry run.
var SkipActivity = errors.New("activity skipped by a control")

// ControlEnv is what a control hook receives besides its state.
type ControlEnv struct {
	// Name is the control's name.
	Name string
	// Level is "loader", "experiment", "hypothesis", "method", "rollback" or "activity"
	// ("" for Configure).
	Level string
	// Arguments are the control's provider arguments, substituted with the run's configuration
	// and secrets (except in Configure, as chaoslib). A fresh copy for each call.
	Arguments map[string]any
	// Experiment is the experiment being run (shared: what a Before hook changes applies), nil
	// at the loader level.
	Experiment *jsonvalue.Object
	// Configuration and Secrets are the run's loaded configuration and secret scopes.
	Configuration map[string]any
	Secrets       map[string]map[string]any

	r  *runner
	cr *controlRun
}

// Log writes one progress line to the run's log.
func (c *ControlEnv) Log(level Level, msg string) {
	if c.r != nil {
		c.r.log(level, msg)
	}
}

// Interrupt ends the run as interrupted (as chaoslib's exit_gracefully), from any goroutine: the
// activity running is cancelled (its process killed), nothing else of the method or the
// hypothesis runs, and rollbacks follow the strategy. It does nothing once rollbacks have
// started.
func (c *ControlEnv) Interrupt(reason string) {
	if c.cr != nil {
		c.cr.interrupt(&InterruptExecution{Reason: reason})
	}
}

// ControlFactory makes a Control for one run.
type ControlFactory func() Control

var controlRegistry = struct {
	sync.RWMutex
	byModule map[string]ControlFactory
	resolver func(module string) (ControlFactory, bool)
}{byModule: map[string]ControlFactory{}}

// RegisterControl makes factory the implementation of the Python control module named module
// ("chaosaddons.controls.safeguards"): experiment files that declare a control with that module
// get a fresh Control from factory for each run. Registering a module twice panics.
func RegisterControl(module string, factory ControlFactory) {
	controlRegistry.Lock()
	defer controlRegistry.Unlock()
	if _, dup := controlRegistry.byModule[module]; dup {
		panic(fmt.Sprintf("engine.RegisterControl: %q registered twice", module))
	}
	controlRegistry.byModule[module] = factory
}

// SetControlResolver installs the fallback asked for a control module no Go control is
// registered for (a Python bridge sets it). It returns the factory and true when it can run the
// module, false otherwise (then chaoslib's "Could not find Python module" warning is logged and
// the control does nothing). nil removes it.
func SetControlResolver(resolve func(module string) (ControlFactory, bool)) {
	controlRegistry.Lock()
	defer controlRegistry.Unlock()
	controlRegistry.resolver = resolve
}

// LookupControl returns the factory for a control module: the registered one, else the
// resolver's answer.
func LookupControl(module string) (ControlFactory, bool) {
	controlRegistry.RLock()
	f, ok := controlRegistry.byModule[module]
	resolve := controlRegistry.resolver
	controlRegistry.RUnlock()
	if ok {
		return f, true
	}
	if resolve != nil {
		return resolve(module)
	}
	return nil, false
}

// ControlModules returns the registered control modules, sorted.
func ControlModules() []string {
	controlRegistry.RLock()
	defer controlRegistry.RUnlock()
	out := make([]string, 0, len(controlRegistry.byModule))
	for m := range controlRegistry.byModule {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// ControlSpec declares a global control, as the `controls` of Chaos Toolkit's settings: applied
// at every level, before the experiment's own controls.
type ControlSpec struct {
	// Name is the control's name.
	Name string
	// Control is the Go implementation. When nil, Module is looked up (RegisterControl).
	Control Control
	// Module is the Python module name of the control, used when Control is nil.
	Module string
	// Arguments are the control's provider arguments (JSON values: maps, slices, strings,
	// numbers, bools).
	Arguments map[string]any
	// Scope is "" (both), "before" or "after".
	Scope string
}

// object returns the spec as a control declaration object, as chaoslib holds settings controls.
func (s ControlSpec) object() *jsonvalue.Object {
	prov := jsonvalue.NewObject("type", "python", "module", s.Module)
	if s.Arguments != nil {
		prov.Set("arguments", gojson.Value(s.Arguments))
	}
	o := jsonvalue.NewObject("name", s.Name, "provider", prov)
	if s.Scope != "" {
		o.Set("scope", s.Scope)
	}
	return o
}

// ctlDecl is one control declaration: from the experiment (obj), or global (spec).
type ctlDecl struct {
	obj    *jsonvalue.Object
	name   string
	scope  string
	auto   bool
	ref    string
	isRef  bool
	global *globalCtl
}

type globalCtl struct {
	spec ControlSpec
	obj  *jsonvalue.Object
	inst Control
}

func parseDecls(raw any) []*ctlDecl {
	var out []*ctlDecl
	for _, o := range objects(raw) {
		d := &ctlDecl{obj: o, auto: true}
		d.name = pyStr(o.Value("name"))
		d.scope, _ = o.Value("scope").(string)
		if a, ok := o.Value("automatic").(bool); ok {
			d.auto = a
		}
		if ref, ok := o.Get("ref"); ok {
			d.isRef, d.ref = true, pyStr(ref)
		}
		out = append(out, d)
	}
	return out
}

// controlRun holds the controls of one run.
type controlRun struct {
	r       *runner
	parent  context.Context
	cancel  context.CancelCauseFunc
	global  []*globalCtl
	instMu  sync.Mutex         // guards inst and tried: hooks of the during-method hypothesis
	inst    map[string]Control // and background activities run on their own goroutines
	tried   map[string]bool
	mu      sync.Mutex
	cause   error
	closed  bool // rollbacks started: interruptions are ignored
	stopped []func()
}

// experimentDecls returns every control declared in the experiment in chaoslib's get_controls
// order: top level, hypothesis, then the activities of the hypothesis, method and rollbacks.
func experimentDecls(exp *jsonvalue.Object) []*ctlDecl {
	out := parseDecls(exp.Value("controls"))
	h, _ := exp.Value("steady-state-hypothesis").(*jsonvalue.Object)
	out = append(out, parseDecls(h.Value("controls"))...)
	var acts []*jsonvalue.Object
	acts = append(acts, objects(h.Value("probes"))...)
	acts = append(acts, objects(exp.Value("method"))...)
	acts = append(acts, objects(exp.Value("rollbacks"))...)
	for _, a := range acts {
		out = append(out, parseDecls(a.Value("controls"))...)
	}
	return out
}

// instance returns the experiment control named by d, made on first use from its module.
func (cr *controlRun) instance(d *ctlDecl) Control {
	if d.global != nil {
		return d.global.inst
	}
	cr.instMu.Lock()
	defer cr.instMu.Unlock()
	if c, ok := cr.inst[d.name]; ok || cr.tried[d.name] {
		return c
	}
	cr.tried[d.name] = true
	prov, _ := d.obj.Value("provider").(*jsonvalue.Object)
	if prov.Value("type") != "python" {
		return nil
	}
	mod, _ := prov.Value("module").(string)
	f, ok := LookupControl(mod)
	if !ok || f == nil {
		return nil
	}
	c := f()
	if c != nil {
		cr.inst[d.name] = c
	}
	return c
}

// startControls configures the controls (global ones first) and applies before_experiment. It
// returns the context the run goes on with: cancelled when a control interrupts the run. With
// no control at all it changes nothing.
func (r *runner) startControls(ctx context.Context) context.Context {
	if len(r.settings.Controls) == 0 && len(experimentDecls(r.exp.obj)) == 0 {
		return ctx
	}
	cr := &controlRun{r: r, parent: ctx, inst: map[string]Control{}, tried: map[string]bool{}}
	r.ctl = cr
	runCtx, cancel := context.WithCancelCause(ctx)
	cr.cancel = cancel
	prev := r.settings.beforeRollbacks
	r.settings.beforeRollbacks = func() {
		cr.close()
		if prev != nil {
			prev()
		}
	}
	for _, s := range r.settings.Controls {
		g := &globalCtl{spec: s, obj: s.object(), inst: s.Control}
		if g.inst == nil {
			if f, ok := LookupControl(s.Module); ok && f != nil {
				g.inst = f()
			} else {
				r.log(LevelWarning, fmt.Sprintf("Could not find Python module '%s' in control '%s'. Did you install the Python module? The experiment will carry on running nonetheless.", s.Module, s.Name))
				continue
			}
		}
		if err := cr.call(g.inst, s.Name, "configure", "", func(c Control, env *ControlEnv) error { return c.Configure(env) }, g.obj, false); err != nil {
			r.log(LevelWarning, fmt.Sprintf("Control initialization '%s' failed. It will not be registered: %v", s.Name, err))
			continue
		}
		cr.global = append(cr.global, g)
	}
	seen := map[string]bool{}
	for _, d := range experimentDecls(r.exp.obj) {
		if d.name == "" || seen[d.name] {
			continue
		}
		seen[d.name] = true
		if c := cr.instance(d); c != nil {
			if err := cr.call(c, d.name, "configure", "", func(c Control, env *ControlEnv) error { return c.Configure(env) }, d.obj, false); err != nil {
				r.log(LevelWarning, fmt.Sprintf("Control initialization '%s' failed: %v", d.name, err))
			}
		}
	}
	cr.apply(ctx, "experiment", "before", nil, func(c Control, env *ControlEnv) error { return c.BeforeExperiment(runCtx, env) })
	if cr.interrupted() {
		r.interrupted(runCtx)
	}
	return runCtx
}

// endControls applies after_experiment with the journal, then cleans the controls up.
func (r *runner) endControls() {
	cr := r.ctl
	if cr == nil {
		return
	}
	cr.close()
	cr.apply(cr.parent, "experiment", "after", nil, func(c Control, env *ControlEnv) error {
		return c.AfterExperiment(cr.parent, env, r.j)
	})
	seen := map[string]bool{}
	for _, d := range experimentDecls(r.exp.obj) {
		if d.name == "" || seen[d.name] {
			continue
		}
		seen[d.name] = true
		cr.instMu.Lock()
		c := cr.inst[d.name]
		cr.instMu.Unlock()
		if c != nil {
			cr.safely(d.name, "cleanup", func() error { c.Cleanup(); return nil })
		}
	}
	for _, g := range cr.global {
		cr.safely(g.spec.Name, "cleanup", func() error { g.inst.Cleanup(); return nil })
	}
	for _, stop := range cr.stopped {
		stop()
	}
	cr.cancel(nil)
}

// interrupt records the first interruption and cancels the run's context. It reports false
// once rollbacks have started: the interruption is then ignored.
func (cr *controlRun) interrupt(err error) bool { return cr.interruptWith(err, nil) }

// interruptWith is interrupt; first, when this is the run's first interruption, it calls
// announce (to log why before anything reacts to the cancellation).
func (cr *controlRun) interruptWith(err error, announce func()) bool {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if cr.closed {
		return false
	}
	if cr.cause == nil {
		if announce != nil {
			announce()
		}
		cr.cause = err
		cr.cancel(err)
	}
	return true
}

func (cr *controlRun) interrupted() bool {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	return cr.cause != nil
}

func (cr *controlRun) close() {
	cr.mu.Lock()
	cr.closed = true
	cr.mu.Unlock()
}

// onEnd registers f to run when the run's controls are cleaned up.
func (cr *controlRun) onEnd(f func()) { cr.stopped = append(cr.stopped, f) }

// contextControls is chaoslib's get_context_controls: the controls that apply at level for a
// context declaring own. Global controls come first, then the context's own; when the
// experiment declares top-level controls, method and rollback get only the automatic top-level
// ones, and the hypothesis and activities get the automatic top-level ones first (once each:
// chaoslib inserts them once per own control), except one the context redeclares by name.
func (cr *controlRun) contextControls(level string, own []*ctlDecl) []*ctlDecl {
	var glob []*ctlDecl
	for _, g := range cr.global {
		glob = append(glob, &ctlDecl{obj: g.obj, name: g.spec.Name, scope: g.spec.Scope, auto: true, global: g})
	}
	top := parseDecls(cr.r.exp.obj.Value("controls"))
	controls := append(glob, own...)
	if len(top) == 0 {
		return controls
	}
	automatic := func() []*ctlDecl {
		var out []*ctlDecl
		for _, t := range top {
			if t.auto {
				out = append(out, t)
			}
		}
		return out
	}
	if len(controls) == 0 || level == "method" || level == "rollback" {
		return automatic()
	}
	out := append([]*ctlDecl{}, controls...)
	insert := map[*ctlDecl]bool{}
	for _, c := range controls {
		if c.isRef {
			for _, t := range top {
				if t.name == c.ref {
					out = append(out, t)
					break
				}
			}
			continue
		}
		for _, t := range top {
			if c.name != t.name && level != "experiment" && t.auto {
				insert[t] = true
			}
		}
	}
	var front []*ctlDecl
	for _, t := range top {
		if insert[t] {
			front = append(front, t)
		}
	}
	return append(front, out...)
}

// apply calls hook on each control that applies at level for scope ("before" or "after").
// own are the context's own declarations (nil for experiment, method and rollback, whose
// context is the experiment). It stops at the first interruption and reports it.
func (cr *controlRun) apply(ctx context.Context, level, scope string, own []*ctlDecl, hook func(Control, *ControlEnv) error) bool {
	if level == "experiment" {
		own = parseDecls(cr.r.exp.obj.Value("controls"))
	}
	for _, d := range cr.contextControls(level, own) {
		if d.scope != "" && d.scope != scope {
			continue
		}
		c := cr.instance(d)
		if c == nil {
			continue
		}
		if err := cr.call(c, d.name, scope, level, hook, d.obj, true); err != nil {
			var ie *InterruptExecution
			if errors.As(err, &ie) {
				if cr.interrupt(err) {
					return true
				}
				err = fmt.Errorf("%w (ignored: rollbacks have started)", err)
			}
			cr.r.log(LevelWarning, fmt.Sprintf("%s-control '%s' failed on '%s': %v", title(scope), d.name, level, err))
		}
	}
	return false
}

func title(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// call runs one hook with its environment, turning a panic into an error.
func (cr *controlRun) call(c Control, name, scope, level string, hook func(Control, *ControlEnv) error, decl *jsonvalue.Object, substitute bool) (err error) {
	r := cr.r
	prov, _ := decl.Value("provider").(*jsonvalue.Object)
	args := prov.Value("arguments")
	if a, ok := args.(*jsonvalue.Object); ok {
		args = a.Clone()
	}
	if substitute && (len(r.cfgMap) > 0 || r.secrets.Len() > 0) {
		args = r.substitute(args)
	}
	m, _ := argumentsMap(args)
	env := &ControlEnv{Name: name, Level: level, Arguments: m, Experiment: r.exp.obj,
		Configuration: r.cfgMap, Secrets: r.scopes, r: r, cr: cr}
	return cr.safely(name, scope, func() error { return hook(c, env) })
}

func (cr *controlRun) safely(name, what string, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return f()
}

// The hooks below are called by the runner; each does nothing when the run has no control.

// hypothesis wraps one run of the steady-state hypothesis with its controls.
func (r *runner) hypothesis(ctx context.Context, hyp *jsonvalue.Object) (*journal.State, error) {
	cr := r.ctl
	if cr == nil {
		return r.hypothesisRun(ctx, hyp)
	}
	own := parseDecls(hyp.Value("controls"))
	// After an interrupted before-hook the hypothesis does not run: an empty state for the
	// runner, a nil one for the after-hooks (chaoslib's None).
	st, state := &journal.State{Probes: []*journal.Run{}}, (*journal.State)(nil)
	var err error
	if !cr.apply(ctx, "hypothesis", "before", own, func(c Control, env *ControlEnv) error { return c.BeforeHypothesis(ctx, env, hyp) }) {
		st, err = r.hypothesisRun(ctx, hyp)
		state = st
	}
	cr.apply(ctx, "hypothesis", "after", own, func(c Control, env *ControlEnv) error { return c.AfterHypothesis(ctx, env, hyp, state) })
	return st, err
}

// method wraps the method with its controls.
func (r *runner) method(ctx context.Context, hyp *jsonvalue.Object, hasProbes bool, hypStrategy HypothesisStrategy) bool {
	cr := r.ctl
	if cr == nil {
		return r.methodRun(ctx, hyp, hasProbes, hypStrategy)
	}
	ran, played := false, false
	if !cr.apply(ctx, "method", "before", nil, func(c Control, env *ControlEnv) error { return c.BeforeMethod(ctx, env) }) {
		ran, played = r.methodRun(ctx, hyp, hasProbes, hypStrategy), true
	}
	var runs []*journal.Run // nil (chaoslib's None) when before_method interrupted the run
	if played {
		r.mu.Lock()
		runs = append([]*journal.Run{}, r.j.Run...)
		r.mu.Unlock()
	}
	cr.apply(ctx, "method", "after", nil, func(c Control, env *ControlEnv) error { return c.AfterMethod(ctx, env, runs) })
	if cr.interrupted() && r.status() == "" {
		r.interrupted(ctx)
		return false
	}
	return ran
}

// beforeRollbacks applies before_rollback_control; false means a control interrupted the run
// and no rollback must run.
func (r *runner) beforeRollbackControls(ctx context.Context) bool {
	cr := r.ctl
	if cr == nil {
		return true
	}
	ctx = cr.parent
	if cr.apply(ctx, "rollback", "before", nil, func(c Control, env *ControlEnv) error { return c.BeforeRollback(ctx, env) }) {
		r.setStatus(journal.StatusInterrupted)
		r.log(LevelCritical, "Experiment interrupted: "+cr.cause.Error())
		return false
	}
	return true
}

// afterRollbackControls applies after_rollback_control with the rollback records.
func (r *runner) afterRollbackControls(ctx context.Context) {
	cr := r.ctl
	if cr == nil {
		return
	}
	ctx = cr.parent
	cr.apply(ctx, "rollback", "after", nil, func(c Control, env *ControlEnv) error { return c.AfterRollback(ctx, env, r.j.Rollbacks) })
}

// executeInto runs one activity with its controls.
func (r *runner) executeInto(ctx context.Context, act *jsonvalue.Object, rec *journal.Run) {
	cr := r.ctl
	if cr == nil {
		r.executeRun(ctx, act, rec)
		return
	}
	own := parseDecls(act.Value("controls"))
	skip := false
	interrupted := cr.apply(ctx, "activity", "before", own, func(c Control, env *ControlEnv) error {
		err := c.BeforeActivity(ctx, env, act)
		if errors.Is(err, SkipActivity) {
			skip = true
			return nil
		}
		return err
	})
	var state *journal.Run
	switch {
	case interrupted:
		// As a record cut by an exit signal: times, no status.
		now := journal.FormatTime(time.Now())
		rec.Activity, rec.Start, rec.End = act.Clone(), now, now
	case skip:
		typ, _ := act.Value("type").(string)
		r.log(LevelInfo, fmt.Sprintf("%s: %s [bypassed by a control]", title(typ), pyStr(act.Value("name"))))
		now := journal.FormatTime(time.Now())
		rec.Activity, rec.Start, rec.End, rec.Status = act.Clone(), now, now, journal.RunSucceeded
		state = rec
	default:
		r.executeRun(ctx, act, rec)
		state = rec
	}
	cr.apply(ctx, "activity", "after", own, func(c Control, env *ControlEnv) error { return c.AfterActivity(ctx, env, act, state) })
}

// cutByControl reports whether ctx was cancelled because a control interrupted the run: the
// activity's record then has no status, as chaoslib leaves one cut by an exit signal.
func (r *runner) cutByControl(ctx context.Context) bool {
	return r.ctl != nil && ctx.Err() != nil && r.ctl.interrupted()
}

// interruptedByControl reports whether a control interrupted the run.
func (r *runner) interruptedByControl() bool {
	return r.ctl != nil && r.ctl.interrupted()
}

// LoadControlled is LoadWith with the loader hooks of the global controls of s
// (Settings.Controls): BeforeLoadingExperiment with the source, then AfterLoadingExperiment
// with the experiment read. A hook that returns an *InterruptExecution stops the loading with
// that error; other errors are logged to s.Log and ignored.
func LoadControlled(source string, o LoadOptions, s Settings) (*Experiment, error) {
	r := newRunner(&Experiment{obj: &jsonvalue.Object{}}, s)
	defer r.py.close() // a Python control's loader hooks run through it
	type loaded struct {
		spec ControlSpec
		inst Control
	}
	var ctls []loaded
	for _, spec := range s.Controls {
		c := spec.Control
		if c == nil {
			f, ok := LookupControl(spec.Module)
			if !ok || f == nil {
				continue
			}
			c = f()
		}
		ctls = append(ctls, loaded{spec, c})
	}
	apply := func(scope string, hook func(Control, *ControlEnv) error) error {
		for _, l := range ctls {
			if l.spec.Scope != "" && l.spec.Scope != scope {
				continue
			}
			args, _ := argumentsMap(l.spec.object().Value("provider").(*jsonvalue.Object).Value("arguments"))
			env := &ControlEnv{Name: l.spec.Name, Level: "loader", Arguments: args, r: r}
			cr := &controlRun{r: r}
			if err := cr.safely(l.spec.Name, scope, func() error { return hook(l.inst, env) }); err != nil {
				var ie *InterruptExecution
				if errors.As(err, &ie) {
					return err
				}
				r.log(LevelWarning, fmt.Sprintf("%s-control '%s' failed on 'loader': %v", title(scope), l.spec.Name, err))
			}
		}
		return nil
	}
	if err := apply("before", func(c Control, env *ControlEnv) error { return c.BeforeLoadingExperiment(env, source) }); err != nil {
		return nil, &LoadError{source, err}
	}
	e, err := LoadWith(source, o)
	if err != nil {
		return nil, err
	}
	if err := apply("after", func(c Control, env *ControlEnv) error {
		return c.AfterLoadingExperiment(env, source, e.obj)
	}); err != nil {
		return nil, &LoadError{source, err}
	}
	return e, nil
}
