package chaostest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/chaostest/chaostest/journal"
)

// Hypothesis strategies (when the steady state is checked), as `chaos run --hypothesis-strategy`.
const (
	StrategyDefault          = "default"
	StrategyBeforeMethodOnly = "before-method-only"
	StrategyAfterMethodOnly  = "after-method-only"
	StrategyDuringMethodOnly = "during-method-only"
	StrategyContinuously     = "continuously"
)

// Rollback strategies (when rollbacks are played), as `chaos run --rollback-strategy`.
const (
	RollbackDefault  = "default"
	RollbackAlways   = "always"
	RollbackNever    = "never"
	RollbackDeviated = "deviated"
)

// Dry modes, as `chaos run --dry`.
const (
	DryProbes     = "probes"
	DryActions    = "actions"
	DryActivities = "activities"
	DryPause      = "pause"
)

// Version is written to journals as "chaoslib-version".
const Version = "chaostest 0.1.0"

// Settings controls one run. The zero value runs like `chaos run` with no flags.
type Settings struct {
	// Vars holds --var and --var-file values.
	Vars *Vars
	// HypothesisStrategy is one of the Strategy constants; "" takes the experiment's runtime
	// block, else "default".
	HypothesisStrategy string
	// HypothesisFrequency is the gap between steady-state checks while the method runs
	// (during-method-only, continuously). Zero means 1 s. Sub-second values are fine.
	HypothesisFrequency time.Duration
	// FailFast stops the run at the first steady-state miss while the method runs.
	FailFast bool
	// RollbackStrategy is one of the Rollback constants; "" takes the experiment's runtime block,
	// else "default".
	RollbackStrategy string
	// Dry is "" or one of the Dry constants.
	Dry string
	// NoValidation skips validation (`--no-validation`).
	NoValidation bool
	// Log receives progress lines; nil discards them.
	Log Logger
	// RollbackOnInterrupt plays rollbacks when the run is interrupted (its context ended), whatever
	// the strategy. chaostest.T sets it so a test that times out still undoes its faults.
	RollbackOnInterrupt bool
	// RollbackContext, when set, gives the context rollbacks run under (instead of the run's),
	// so they still run after the run's context ended.
	RollbackContext func() (context.Context, context.CancelFunc)
	// beforeRollbacks is called once the method phase is over, before rollbacks; T uses it.
	beforeRollbacks func()
}

// Level is the severity of a log line.
type Level string

// Log levels as chaos run prints them.
const (
	LevelDebug    Level = "DEBUG"
	LevelInfo     Level = "INFO"
	LevelWarning  Level = "WARNING"
	LevelError    Level = "ERROR"
	LevelCritical Level = "CRITICAL"
)

// Logger receives progress lines.
type Logger func(level Level, msg string)

// FormatLine formats a progress line as `chaos run` prints it: "[2006-01-02 15:04:05 INFO] msg".
func FormatLine(t time.Time, level Level, msg string) string {
	return "[" + t.Format("2006-01-02 15:04:05") + " " + string(level) + "] " + msg
}

// Strategies works out the hypothesis and rollback strategies as `chaos run` does: a flag wins;
// else, if the experiment has a runtime block, both come from it ("default" for one it omits);
// else "default".
func (e *Experiment) Strategies(hypothesis, rollback string) (string, string, error) {
	rt, hasRuntime := e.obj.Value("runtime").(*journal.Object)
	pick := func(flag, section string) string {
		if flag != "" {
			return flag
		}
		if hasRuntime {
			if s, ok := rt.Value(section).(*journal.Object); ok {
				if v, ok := s.Value("strategy").(string); ok && v != "" {
					return v
				}
			}
		}
		return "default"
	}
	h, rb := pick(hypothesis, "hypothesis"), pick(rollback, "rollbacks")
	if h == "continously" {
		h = StrategyContinuously
	}
	switch h {
	case StrategyDefault, StrategyBeforeMethodOnly, StrategyAfterMethodOnly, StrategyDuringMethodOnly, StrategyContinuously, "skip":
	default:
		return "", "", fmt.Errorf("unknown hypothesis strategy %q: want default, before-method-only, after-method-only, during-method-only or continuously", h)
	}
	switch rb {
	case RollbackDefault, RollbackAlways, RollbackNever, RollbackDeviated:
	default:
		return "", "", fmt.Errorf("unknown rollback strategy %q: want default, always, never or deviated", rb)
	}
	return h, rb, nil
}

// runner holds the state of one run.
type runner struct {
	exp      *Experiment
	settings Settings
	log      Logger

	config  *journal.Object
	secrets *journal.Object
	// cfgMap and scopes are config/secrets in the forms providers receive.
	cfgMap map[string]any
	scopes map[string]map[string]any

	cache map[string]*journal.Object

	hypStrategy, rbStrategy string

	mu      sync.Mutex // guards j.Status, j.SteadyStates.During, j.Run, reasons
	j       *journal.Journal
	reasons map[*journal.Run]string
}

// Run runs the experiment and returns its journal. The error is non-nil only when no journal
// could be made: the experiment is invalid (a *ValidationError) or its configuration or secrets
// cannot be loaded. Everything that goes wrong during the run is in the journal, which is always
// complete (status, steady states, runs, rollbacks, end, duration).
func Run(ctx context.Context, e *Experiment, s Settings) (*journal.Journal, error) {
	r := newRunner(e, s)
	if err := r.prepare(ctx); err != nil {
		return nil, err
	}
	r.run(ctx, r.hypStrategy, r.rbStrategy)
	return r.j, nil
}

func newRunner(e *Experiment, s Settings) *runner {
	r := &runner{exp: e, settings: s, log: s.Log, reasons: map[*journal.Run]string{}}
	if r.log == nil {
		r.log = func(Level, string) {}
	}
	if s.Vars == nil {
		r.settings.Vars = &Vars{}
	}
	return r
}

// prepare checks the settings, validates the experiment and loads configuration and secrets.
func (r *runner) prepare(ctx context.Context) error {
	e, s := r.exp, r.settings
	hyp, rb, err := e.Strategies(s.HypothesisStrategy, s.RollbackStrategy)
	if err != nil {
		return err
	}
	r.hypStrategy, r.rbStrategy = hyp, rb
	switch s.Dry {
	case "", DryProbes, DryActions, DryActivities, DryPause:
	default:
		return fmt.Errorf("unknown dry mode %q: want probes, actions, activities or pause", s.Dry)
	}
	if !s.NoValidation {
		r.log(LevelInfo, "Validating the experiment's syntax")
		if err := e.Validate(nil); err != nil {
			return err
		}
		r.log(LevelInfo, "Experiment looks valid")
	}
	r.warnDeprecated()
	return r.configure(ctx)
}

func (r *runner) configure(ctx context.Context) error {
	cfg, err := LoadConfiguration(r.exp.obj.Value("configuration"), r.settings.Vars.Configuration)
	if err != nil {
		return err
	}
	sec, err := LoadSecrets(r.exp.obj.Value("secrets"), cfg, r.settings.Vars.Secrets)
	if err != nil {
		return err
	}
	r.config, r.secrets = cfg, sec
	r.scopes = map[string]map[string]any{}
	for _, scope := range sec.Keys() {
		so, _ := sec.Value(scope).(*journal.Object)
		r.scopes[scope] = plainObject(so)
	}
	r.cfgMap = map[string]any{}
	// Dynamic configuration: probe values run now, in declaration order, and may use earlier keys.
	for _, key := range cfg.Keys() {
		v := cfg.Value(key)
		if o, ok := v.(*journal.Object); ok && o.Value("type") == "probe" {
			val, err := r.dynamicValue(ctx, key, o)
			if err != nil {
				r.log(LevelWarning, fmt.Sprintf("Failed to load the dynamic configuration key '%s': %v", key, err))
				cfg.Delete(key)
				continue
			}
			cfg.Set(key, val)
			v = val
		}
		r.cfgMap[key] = v
	}
	r.cache = map[string]*journal.Object{}
	for _, a := range objects(r.exp.obj.Value("method")) {
		if n, ok := a.Value("name").(string); ok {
			r.cache[n] = a
		}
	}
	if h, ok := r.exp.obj.Value("steady-state-hypothesis").(*journal.Object); ok {
		for _, a := range objects(h.Value("probes")) {
			if n, ok := a.Value("name").(string); ok {
				r.cache[n] = a
			}
		}
	}
	return nil
}

func (r *runner) dynamicValue(ctx context.Context, key string, o *journal.Object) (any, error) {
	act := o
	if !o.Has("name") {
		act = o.Clone()
		act.Set("name", key)
	}
	out, err := r.callProvider(ctx, act)
	if err != nil {
		return nil, err
	}
	prov, _ := o.Value("provider").(*journal.Object)
	switch prov.Value("type") {
	case "process":
		po, _ := out.(*journal.Object)
		if st, _ := po.Value("status").(int64); st != 0 {
			return nil, fmt.Errorf("the process exited with status %d", st)
		}
		s, _ := po.Value("stdout").(string)
		return strings.TrimSpace(s), nil
	case "http":
		po, _ := out.(*journal.Object)
		return po.Value("body"), nil
	}
	return out, nil
}

func plainObject(o *journal.Object) map[string]any {
	m := make(map[string]any, o.Len())
	for _, k := range o.Keys() {
		m[k] = o.Value(k)
	}
	return m
}

// substitute applies ${} substitution with the run's configuration and secrets.
func (r *runner) substitute(v any) any {
	return SubstituteValue(v, r.cfgMap, r.secrets)
}

func (r *runner) env(activity string, prov *journal.Object) Env {
	env := Env{Activity: activity, Configuration: r.cfgMap, AllSecrets: r.scopes, ScopeOrder: r.secrets.Keys()}
	if names := list(prov.Value("secrets")); len(names) > 0 {
		env.Secrets = map[string]any{}
		for _, n := range names {
			if s, ok := n.(string); ok {
				for k, v := range r.scopes[s] {
					env.Secrets[k] = v
				}
			}
		}
	}
	env.Logf = func(format string, args ...any) { r.log(LevelInfo, fmt.Sprintf(format, args...)) }
	return env
}

func (r *runner) status() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.j.Status
}

func (r *runner) setStatus(s string) {
	r.mu.Lock()
	r.j.Status = s
	r.mu.Unlock()
}

func (r *runner) run(ctx context.Context, hypStrategy, rbStrategy string) {
	start := time.Now()
	r.j = &journal.Journal{
		ChaoslibVersion: Version,
		Platform:        runtime.GOOS + "-" + runtime.GOARCH + "-" + runtime.Version(),
		Node:            hostname(),
		Experiment:      r.journalExperiment(),
		Start:           journal.FormatTime(start),
		SteadyStates:    journal.SteadyStates{During: []*journal.State{}},
		Run:             []*journal.Run{},
		Rollbacks:       []*journal.Run{},
	}
	r.log(LevelInfo, "Running experiment: "+pyStr(r.j.Experiment.Value("title")))
	if hypStrategy != StrategyDefault {
		r.log(LevelInfo, "Steady-state strategy: "+strategyLogName(hypStrategy))
	}
	if rbStrategy != RollbackDefault {
		r.log(LevelInfo, "Rollbacks strategy: "+rbStrategy)
	}
	r.warnControls()
	hyp, _ := r.exp.obj.Value("steady-state-hypothesis").(*journal.Object)
	hasProbes := hyp != nil && len(list(hyp.Value("probes"))) > 0
	methodRan := false

	proceed := true
	if hasProbes && (hypStrategy == StrategyDefault || hypStrategy == StrategyBeforeMethodOnly || hypStrategy == StrategyContinuously) {
		st, err := r.hypothesis(ctx, hyp)
		r.j.SteadyStates.Before = st
		switch {
		case err != nil:
			r.abort(err)
			proceed = false
		case ctx.Err() != nil:
			r.interrupted(ctx)
			proceed = false
		case !st.SteadyStateMet:
			r.j.Status = journal.StatusCompleted
			if anyFailed(st) {
				r.j.Status = journal.StatusFailed
			}
			r.log(LevelCritical, "Steady state probe '"+lastProbeName(st)+"' is not in the given tolerance so failing this experiment")
			proceed = false
		}
	}
	if proceed {
		methodRan = r.method(ctx, hyp, hasProbes, hypStrategy)
		if ctx.Err() != nil && r.status() == "" {
			r.interrupted(ctx)
		}
		st := r.status()
		if methodRan && hasProbes && st != journal.StatusInterrupted && st != journal.StatusAborted &&
			(hypStrategy == StrategyDefault || hypStrategy == StrategyAfterMethodOnly || hypStrategy == StrategyContinuously) {
			after, err := r.hypothesis(ctx, hyp)
			r.j.SteadyStates.After = after
			switch {
			case err != nil:
				r.abort(err)
			case ctx.Err() != nil:
				r.interrupted(ctx)
			case !after.SteadyStateMet:
				r.j.Deviated = true
				r.j.Status = journal.StatusCompleted
				if anyFailed(after) {
					r.j.Status = journal.StatusFailed
				}
				r.log(LevelCritical, "Steady state probe '"+lastProbeName(after)+"' is not in the given tolerance so failing this experiment")
			}
		}
	}
	if r.settings.beforeRollbacks != nil {
		r.settings.beforeRollbacks()
	}
	r.rollbacks(ctx, rbStrategy)
	end := time.Now()
	switch r.j.Status {
	case journal.StatusCompleted, journal.StatusFailed, journal.StatusAborted, journal.StatusInterrupted:
	default:
		r.j.Status = journal.StatusCompleted
	}
	r.j.End = journal.FormatTime(end)
	r.j.Duration = end.Sub(start).Seconds()
	if r.j.Status == journal.StatusCompleted && r.j.Deviated {
		r.log(LevelInfo, "Experiment ended with status: deviated")
		r.log(LevelInfo, "The steady-state has deviated, a weakness may have been discovered")
	} else {
		r.log(LevelInfo, "Experiment ended with status: "+r.j.Status)
	}
}

func strategyLogName(s string) string {
	if s == StrategyContinuously {
		return "continuous"
	}
	return s
}

func (r *runner) interrupted(ctx context.Context) {
	r.setStatus(journal.StatusInterrupted)
	cause := "interrupted"
	if err := context.Cause(ctx); err != nil {
		cause = err.Error()
	}
	r.log(LevelCritical, "Experiment interrupted: "+cause)
}

func (r *runner) abort(err error) {
	r.setStatus(journal.StatusAborted)
	r.log(LevelCritical, "Experiment aborted: "+err.Error())
}

// warnDeprecated logs chaoslib's deprecation warnings: process arguments given as a mapping, and
// vault secrets with a key but no path.
func (r *runner) warnDeprecated() {
	var acts []*journal.Object
	acts = append(acts, objects(r.exp.obj.Value("method"))...)
	acts = append(acts, objects(r.exp.obj.Value("rollbacks"))...)
	if h, ok := r.exp.obj.Value("steady-state-hypothesis").(*journal.Object); ok {
		acts = append(acts, objects(h.Value("probes"))...)
	}
	for _, a := range acts {
		prov, _ := a.Value("provider").(*journal.Object)
		if _, isMap := prov.Value("arguments").(*journal.Object); isMap && prov.Value("type") == "process" {
			r.log(LevelWarning, fmt.Sprintf("Process arguments should now be a list to keep the ordering of the arguments. Dictionary arguments are deprecated for process activities. (activity '%v')", a.Value("name")))
		}
	}
	secrets, _ := r.exp.obj.Value("secrets").(*journal.Object)
	for _, scope := range secrets.Keys() {
		so, _ := secrets.Value(scope).(*journal.Object)
		for _, k := range so.Keys() {
			if v, ok := so.Value(k).(*journal.Object); ok && v.Value("type") == "vault" && v.Has("key") && !v.Has("path") {
				r.log(LevelWarning, fmt.Sprintf("Vault secret '%s' in scope '%s' uses 'key' without 'path': 'key' now names the key inside the secret at 'path'", k, scope))
			}
		}
	}
}

func (r *runner) warnControls() {
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		for _, c := range objects(v) {
			name, _ := c.Value("name").(string)
			if !seen[name] {
				seen[name] = true
				r.log(LevelWarning, fmt.Sprintf("Control '%s' is ignored: chaostest does not run Python controls", name))
			}
		}
	}
	walk(r.exp.obj.Value("controls"))
	if h, ok := r.exp.obj.Value("steady-state-hypothesis").(*journal.Object); ok {
		walk(h.Value("controls"))
	}
}

// journalExperiment copies the experiment for the journal: title substituted, "dry" set, inline
// secret values masked.
func (r *runner) journalExperiment() *journal.Object {
	c := r.exp.obj.Clone()
	if t, ok := c.Get("title"); ok {
		c.Set("title", r.substitute(t))
	}
	if s, ok := c.Value("secrets").(*journal.Object); ok {
		c.Set("secrets", maskSecrets(s))
	}
	if r.settings.Dry == "" {
		c.Set("dry", nil)
	} else {
		c.Set("dry", r.settings.Dry)
	}
	return c
}

// SecretMask replaces inline secret values in journals.
const SecretMask = "********"

func maskSecrets(o *journal.Object) *journal.Object {
	out := &journal.Object{}
	for _, k := range o.Keys() {
		switch v := o.Value(k).(type) {
		case *journal.Object:
			if t, ok := v.Value("type").(string); ok && (t == "env" || t == "vault") {
				out.Set(k, v)
			} else {
				out.Set(k, maskSecrets(v))
			}
		default:
			out.Set(k, SecretMask)
		}
	}
	return out
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

func anyFailed(st *journal.State) bool {
	for _, p := range st.Probes {
		if p.Status == journal.RunFailed {
			return true
		}
	}
	return false
}

func lastProbeName(st *journal.State) string {
	if len(st.Probes) == 0 {
		return ""
	}
	n, _ := st.Probes[len(st.Probes)-1].Activity.Value("name").(string)
	return n
}

// hypothesis runs the steady-state probes once (chaoslib's run_steady_state_hypothesis). The error
// is an evaluation crash (Chaos Toolkit would stop without a journal; chaostest aborts the run).
func (r *runner) hypothesis(ctx context.Context, hyp *journal.Object) (*journal.State, error) {
	title, _ := hyp.Value("title").(string)
	r.log(LevelInfo, "Steady state hypothesis: "+title)
	st := &journal.State{Probes: []*journal.Run{}}
	for _, p := range objects(hyp.Value("probes")) {
		if ctx.Err() != nil {
			return st, nil
		}
		probe, tol := p, p.Value("tolerance")
		if ref, ok := p.Value("ref").(string); ok {
			target, found := r.cache[ref]
			if !found {
				return st, fmt.Errorf("could not find referenced activity '%s'", ref)
			}
			probe = target
		}
		rec := r.execute(ctx, probe)
		falseV, trueV := false, true
		if rec.Status == journal.RunFailed {
			rec.ToleranceMet = &falseV
			st.Probes = append(st.Probes, rec)
			return st, nil
		}
		rec.ToleranceMet = &trueV
		st.Probes = append(st.Probes, rec)
		if r.settings.Dry == DryProbes || r.settings.Dry == DryActivities {
			continue
		}
		v, err := r.checkTolerance(ctx, tol, rec.Output)
		if err != nil {
			rec.ToleranceMet = &falseV
			return st, fmt.Errorf("probe '%s': cannot evaluate its tolerance: %w", probeName(probe), err)
		}
		if tp, ok := tol.(*journal.Object); ok && tp.Value("type") == "probe" {
			rec.Activity.Set("tolerance", tp.Clone())
		}
		if !v.met {
			rec.ToleranceMet = &falseV
			r.noteMiss(rec, v.why)
			return st, nil
		}
	}
	st.SteadyStateMet = true
	r.log(LevelInfo, "Steady state hypothesis is met!")
	return st, nil
}

func probeName(a *journal.Object) string {
	n, _ := a.Value("name").(string)
	return n
}

// noteMiss records why a probe record missed its tolerance (for test failure messages; it is not
// written to the journal).
func (r *runner) noteMiss(rec *journal.Run, why string) {
	r.mu.Lock()
	r.reasons[rec] = why
	r.mu.Unlock()
}

func (r *runner) reason(rec *journal.Run) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reasons[rec]
}

// method plays the method; it reports whether the method state exists (false when aborted).
func (r *runner) method(ctx context.Context, hyp *journal.Object, hasProbes bool, hypStrategy string) bool {
	duringCtx, stopDuring := context.WithCancel(ctx)
	var duringDone chan struct{}
	if hasProbes && (hypStrategy == StrategyDuringMethodOnly || hypStrategy == StrategyContinuously) {
		duringDone = make(chan struct{})
		go r.during(duringCtx, hyp, duringDone)
	}
	r.log(LevelInfo, "Playing your experiment's method now...")
	var bg sync.WaitGroup
	aborted := false
	for i, a := range objects(r.exp.obj.Value("method")) {
		if s := r.status(); s == journal.StatusAborted || s == journal.StatusFailed || s == journal.StatusInterrupted {
			break
		}
		if ctx.Err() != nil {
			break
		}
		act := a
		if ref, ok := a.Value("ref").(string); ok {
			target, found := r.cache[ref]
			if !found {
				r.abort(fmt.Errorf("could not find referenced activity '%s'", ref))
				aborted = true
				break
			}
			act = target
		}
		if bgFlag, _ := act.Value("background").(bool); bgFlag {
			rec := r.startRecord(act)
			bg.Add(1)
			go func() {
				defer bg.Done()
				r.executeInto(ctx, act, rec)
				if isCrash(rec) {
					r.abort(fmt.Errorf("activity '%s': %s", probeName(act), r.reason(rec)))
				}
			}()
			continue
		}
		rec := r.startRecord(act)
		r.executeInto(ctx, act, rec)
		if isCrash(rec) {
			r.abort(fmt.Errorf("method[%d] '%s': %s", i, probeName(act), r.reason(rec)))
			aborted = true
			break
		}
	}
	bg.Wait()
	stopDuring()
	if duringDone != nil {
		<-duringDone
	}
	return !aborted && r.status() != journal.StatusAborted
}

func (r *runner) startRecord(act *journal.Object) *journal.Run {
	rec := &journal.Run{}
	r.mu.Lock()
	r.j.Run = append(r.j.Run, rec)
	r.mu.Unlock()
	return rec
}

// during checks the steady state repeatedly while the method runs, with a gap of the hypothesis
// frequency between checks.
func (r *runner) during(ctx context.Context, hyp *journal.Object, done chan<- struct{}) {
	defer close(done)
	gap := r.settings.HypothesisFrequency
	if gap <= 0 {
		gap = time.Second
	}
	for ctx.Err() == nil {
		if s := r.status(); s == journal.StatusFailed || s == journal.StatusInterrupted || s == journal.StatusAborted {
			return
		}
		st, err := r.hypothesis(ctx, hyp)
		if ctx.Err() != nil && !st.SteadyStateMet {
			return // cut short by the end of the method: not a verdict
		}
		r.mu.Lock()
		r.j.SteadyStates.During = append(r.j.SteadyStates.During, st)
		r.mu.Unlock()
		if err != nil {
			r.abort(err)
			return
		}
		if !st.SteadyStateMet && r.settings.FailFast {
			r.setStatus(journal.StatusFailed)
			r.log(LevelCritical, "Steady state hypothesis is not met while the method runs: failing fast")
			return
		}
		t := time.NewTimer(gap)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// rollbacks plays the rollbacks according to the strategy (compat §3.3).
func (r *runner) rollbacks(ctx context.Context, strategy string) {
	r.log(LevelInfo, "Let's rollback...")
	st := r.j.Status
	play := false
	switch strategy {
	case RollbackAlways:
		play = true
	case RollbackNever:
		play = false
	case RollbackDeviated:
		play = r.j.Deviated
	default:
		play = st != journal.StatusFailed && st != journal.StatusInterrupted
	}
	if st == journal.StatusInterrupted && r.settings.RollbackOnInterrupt && strategy != RollbackNever {
		play = true
	}
	rbs := objects(r.exp.obj.Value("rollbacks"))
	if len(rbs) == 0 {
		r.log(LevelInfo, "No declared rollbacks, let's move on.")
		return
	}
	if !play {
		r.log(LevelInfo, fmt.Sprintf("Rollbacks were not played (rollback strategy %q, status %s).", strategy, st))
		return
	}
	rctx := ctx
	if r.settings.RollbackContext != nil {
		var cancel context.CancelFunc
		rctx, cancel = r.settings.RollbackContext()
		defer cancel()
	}
	var bg sync.WaitGroup
	var mu sync.Mutex
	for _, a := range rbs {
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
				r.executeInto(rctx, act, rec)
			}()
			continue
		}
		r.executeInto(rctx, act, rec)
	}
	bg.Wait()
}

func isCrash(rec *journal.Run) bool { return rec.Status == "" }

func (r *runner) execute(ctx context.Context, act *journal.Object) *journal.Run {
	rec := &journal.Run{}
	r.executeInto(ctx, act, rec)
	return rec
}

// executeInto runs one activity (chaoslib's execute_activity) and fills rec: pauses, dry modes,
// the provider call under the activity's timeout, the record's times and status.
func (r *runner) executeInto(ctx context.Context, act *journal.Object, rec *journal.Run) {
	typ, _ := act.Value("type").(string)
	name, _ := act.Value("name").(string)
	rec.Activity = act.Clone()
	dry := r.settings.Dry == DryActivities || (typ == "action" && r.settings.Dry == DryActions) || (typ == "probe" && r.settings.Dry == DryProbes)
	skipPauses := dry || r.settings.Dry == DryPause
	pauses, _ := act.Value("pauses").(*journal.Object)
	if !skipPauses && pauses != nil {
		if d, ok := r.pauseValue(pauses, "before"); ok && d > 0 {
			r.log(LevelInfo, fmt.Sprintf("Pausing before activity for %ss...", seconds(d)))
			sleepCtx(ctx, d)
		}
	}
	if typ == "action" {
		r.log(LevelInfo, "Action: "+name)
	} else {
		r.log(LevelInfo, "Probe: "+name)
	}
	start := time.Now()
	rec.Start = journal.FormatTime(start)
	var out any
	var err error
	if !dry {
		out, err = r.callProvider(ctx, act)
	}
	end := time.Now()
	rec.End = journal.FormatTime(end)
	rec.Duration = end.Sub(start).Seconds()
	var crash *CrashError
	switch {
	case err == nil:
		rec.Status = journal.RunSucceeded
		rec.Output = normalizeOutput(out)
		r.warnOutput(act, rec.Output)
	case errors.As(err, &crash):
		r.noteMiss(rec, err.Error())
		r.log(LevelError, "  => aborted: "+err.Error())
	default:
		rec.Status = journal.RunFailed
		rec.Exception = exceptionLines(err)
		r.log(LevelError, "  => failed: "+err.Error())
	}
	if !skipPauses && pauses != nil {
		if d, ok := r.pauseValue(pauses, "after"); ok && d > 0 {
			r.log(LevelInfo, fmt.Sprintf("Pausing after activity for %ss...", seconds(d)))
			sleepCtx(ctx, d)
		}
	}
}

func (r *runner) warnOutput(act *journal.Object, out any) {
	o, ok := out.(*journal.Object)
	if !ok {
		return
	}
	prov, _ := act.Value("provider").(*journal.Object)
	if act.Has("tolerance") {
		return
	}
	switch prov.Value("type") {
	case "http":
		if st, _ := o.Value("status").(int64); st > 399 {
			r.log(LevelWarning, "This HTTP call returned a response with a HTTP status code above 400. This may indicate some error and not what you expected. Please have a look at the logs.")
		}
	case "process":
		if st, _ := o.Value("status").(int64); st != 0 {
			r.log(LevelWarning, "This process returned a non-zero exit code. This may indicate some error and not what you expected. Please have a look at the logs.")
		}
	}
}

// ExceptionPrefix starts the last line of a failed activity's exception, as in Chaos Toolkit.
const ExceptionPrefix = "chaoslib.exceptions.ActivityFailed: "

func exceptionLines(err error) []string {
	var p *panicError
	if errors.As(err, &p) {
		lines := []string{"Traceback (most recent call last):\n"}
		for _, l := range strings.Split(strings.TrimSpace(p.stack), "\n") {
			lines = append(lines, l+"\n")
		}
		return append(lines, ExceptionPrefix+err.Error()+"\n")
	}
	return []string{ExceptionPrefix + err.Error() + "\n"}
}

type panicError struct {
	value any
	stack string
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

func (r *runner) pauseValue(p *journal.Object, key string) (time.Duration, bool) {
	v, ok := p.Get(key)
	if !ok {
		return 0, false
	}
	v = r.substitute(v)
	switch x := v.(type) {
	case int64:
		return time.Duration(x) * time.Second, true
	case float64:
		return time.Duration(x * float64(time.Second)), true
	}
	r.log(LevelError, fmt.Sprintf("  => the %s pause %s is not a number; not pausing", key, pyRepr(v)))
	return 0, false
}

func seconds(d time.Duration) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", d.Seconds()), "0"), ".")
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// callProvider runs an activity's provider under its timeout. Panics become failures; a provider
// that ignores its context is abandoned when the timeout passes.
func (r *runner) callProvider(ctx context.Context, act *journal.Object) (any, error) {
	name, _ := act.Value("name").(string)
	prov, _ := act.Value("provider").(*journal.Object)
	var cancel context.CancelFunc
	timeout := time.Duration(0)
	if to, ok := act.Value("timeout").(int64); ok {
		timeout = time.Duration(to) * time.Second
	} else if to, ok := act.Value("timeout").(float64); ok {
		timeout = time.Duration(to * float64(time.Second))
	}
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if timeout <= 0 {
		// No timeout of its own: call in this goroutine (providers honour ctx for interruption).
		return r.callSafely(ctx, name, act, prov)
	}
	type result struct {
		out any
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := r.callSafely(ctx, name, act, prov)
		done <- result{out, err}
	}()
	select {
	case res := <-done:
		if res.err != nil && timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("activity took longer than its timeout of %ss: %w", seconds(timeout), res.err)
		}
		return res.out, res.err
	case <-ctx.Done():
		// Give a provider that honours its context a moment to return its own error.
		select {
		case res := <-done:
			if res.err != nil && timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("activity took longer than its timeout of %ss: %w", seconds(timeout), res.err)
			}
			return res.out, res.err
		case <-time.After(100 * time.Millisecond):
		}
		if timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("activity took longer than its timeout of %ss", seconds(timeout))
		}
		return nil, fmt.Errorf("activity interrupted: %w", context.Cause(ctx))
	}
}

// callSafely calls the provider, turning a panic into an error with its stack, and reporting a
// runtime.Goexit (t.FailNow inside a provider) instead of losing it.
func (r *runner) callSafely(ctx context.Context, name string, act, prov *journal.Object) (out any, err error) {
	returned := false
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, &panicError{value: p, stack: string(debug.Stack())}
		} else if !returned {
			r.log(LevelError, fmt.Sprintf("  => the provider of '%s' stopped its goroutine (runtime.Goexit; t.FailNow cannot be used inside a provider)", name))
		}
	}()
	out, err = r.dispatch(ctx, name, act, prov)
	returned = true
	return out, err
}

func (r *runner) dispatch(ctx context.Context, name string, act, prov *journal.Object) (any, error) {
	if a := r.exp.attached[act]; a != nil && a.run != nil {
		return a.run(ctx, r.env(name, prov))
	}
	ptype, _ := prov.Value("type").(string)
	switch ptype {
	case "python":
		mod, _ := prov.Value("module").(string)
		fn, _ := prov.Value("func").(string)
		f, ok := LookupFunc(mod + "." + fn)
		if !ok {
			return nil, fmt.Errorf("no Go provider is registered for %s.%s", mod, fn)
		}
		rawArgs := prov.Value("arguments")
		env := r.env(name, prov)
		if env.HasValues() {
			rawArgs = r.substitute(rawArgs)
		}
		args, err := argumentsMap(rawArgs)
		if err != nil {
			return nil, Crash(err)
		}
		return f.Call(ctx, env, args)
	case "go":
		return nil, Crash(fmt.Errorf("the Go provider %s has no function attached", pyRepr(prov.Value("func"))))
	}
	pt, ok := LookupProviderType(ptype)
	if !ok {
		return nil, Crash(fmt.Errorf("unknown provider type '%s'", ptype))
	}
	return pt.Run(ctx, r.env(name, prov), prov)
}

// normalizeOutput turns a provider's return value into the JSON value conventions of journals
// (ordered objects, int64 integers), so tolerances and journals see the same thing whether a
// provider returned a struct, a map or a journal.Object.
func normalizeOutput(v any) any {
	switch v.(type) {
	case nil, bool, string, int64, float64, *journal.Object:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	out, err := journal.DecodeJSON(b)
	if err != nil {
		return string(b)
	}
	return out
}
