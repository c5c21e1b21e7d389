package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/chaostest/chaostest/internal/subst"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// runner holds the state of one run.
type runner struct {
	exp      *Experiment
	settings Settings
	log      Logger

	config  *jsonvalue.Object
	secrets *jsonvalue.Object
	// cfgMap and scopes are config/secrets in the forms providers receive.
	cfgMap map[string]any
	scopes map[string]map[string]any

	cache map[string]*jsonvalue.Object

	// masker hides secret values in log lines and the journal (secretmask.go).
	masker *secretMasker

	hypStrategy HypothesisStrategy
	rbStrategy  RollbackStrategy

	py pythonBridge // python providers without a Go provider (python.go)

	mu      sync.Mutex // guards j.Status, j.SteadyStates.During, j.Run, reasons, aborted
	j       *journal.Journal
	reasons map[*journal.Run]string
	ctl     *controlRun      // nil when the run has no control
	aborted string           // why the run was aborted (the first reason)
	signal  *SignalInterrupt // the signal that interrupted the run, if one did
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
	r.log = r.maskingLog(r.log)
	if s.Vars == nil {
		r.settings.Vars = &Vars{}
	}
	return r
}

// prepare checks the settings, validates the experiment and loads configuration and secrets.
func (r *runner) prepare(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			r.py.close()
		}
	}()
	e, s := r.exp, r.settings
	if _, err := checkJournalDuring(s.JournalDuring); err != nil {
		return err
	}
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
		if err := e.validate(nil, &r.py); err != nil {
			return err
		}
		r.warnControls()
		r.log(LevelInfo, "Experiment looks valid")
	}
	r.warnDeprecated()
	if s.NoValidation {
		r.warmPython(ctx)
	}
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
	r.masker = newMasker(sec)
	r.scopes = map[string]map[string]any{}
	for _, scope := range sec.Keys() {
		so, _ := sec.Value(scope).(*jsonvalue.Object)
		r.scopes[scope] = plainObject(so)
	}
	r.cfgMap = map[string]any{}
	// Dynamic configuration: probe values run now, in declaration order, and may use earlier keys.
	for _, key := range cfg.Keys() {
		v := cfg.Value(key)
		if o, ok := v.(*jsonvalue.Object); ok && o.Value("type") == "probe" {
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
	r.cache = map[string]*jsonvalue.Object{}
	for _, a := range objects(r.exp.obj.Value("method")) {
		if n, ok := a.Value("name").(string); ok {
			r.cache[n] = a
		}
	}
	if h, ok := r.exp.obj.Value("steady-state-hypothesis").(*jsonvalue.Object); ok {
		for _, a := range objects(h.Value("probes")) {
			if n, ok := a.Value("name").(string); ok {
				r.cache[n] = a
			}
		}
	}
	return nil
}

func (r *runner) dynamicValue(ctx context.Context, key string, o *jsonvalue.Object) (any, error) {
	act := o
	if !o.Has("name") {
		act = o.Clone()
		act.Set("name", key)
	}
	out, err := r.callProvider(ctx, act)
	if err != nil {
		return nil, err
	}
	prov, _ := o.Value("provider").(*jsonvalue.Object)
	switch prov.Value("type") {
	case "process":
		po, _ := out.(*jsonvalue.Object)
		if st, _ := po.Value("status").(int64); st != 0 {
			return nil, fmt.Errorf("the process exited with status %d", st)
		}
		s, _ := po.Value("stdout").(string)
		return strings.TrimSpace(s), nil
	case "http":
		po, _ := out.(*jsonvalue.Object)
		return po.Value("body"), nil
	}
	return out, nil
}

func plainObject(o *jsonvalue.Object) map[string]any {
	m := make(map[string]any, o.Len())
	for _, k := range o.Keys() {
		m[k] = o.Value(k)
	}
	return m
}

// substitute applies ${} substitution with the run's configuration and secrets.
func (r *runner) substitute(v any) any {
	return subst.Value(v, r.cfgMap, r.secrets)
}

func (r *runner) env(activity string, prov *jsonvalue.Object) provider.Env {
	env := provider.Env{Activity: activity, Configuration: r.cfgMap, AllSecrets: r.scopes, ScopeOrder: r.secrets.Keys()}
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

func (r *runner) run(ctx context.Context, hypStrategy HypothesisStrategy, rbStrategy RollbackStrategy) {
	defer r.py.close()
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
	if r.settings.Dry != "" {
		r.log(LevelWarning, "Running experiment with dry "+r.settings.Dry)
	}
	ctx = r.startControls(ctx)
	defer r.endControls()
	r.log(LevelInfo, "Steady-state strategy: "+strategyLogName(hypStrategy))
	r.log(LevelInfo, "Rollbacks strategy: "+string(rbStrategy))
	hyp, _ := r.exp.obj.Value("steady-state-hypothesis").(*jsonvalue.Object)
	hasProbes := hyp != nil && len(list(hyp.Value("probes"))) > 0
	if hypStrategy == StrategySkip {
		r.log(LevelInfo, "Skipping Steady-State Hypothesis as requested")
	} else if !hasProbes {
		r.log(LevelInfo, "No steady state hypothesis defined. That's ok, just exploring.")
	}
	methodRan := false

	proceed := r.status() == ""
	if proceed && hasProbes && (hypStrategy == StrategyDefault || hypStrategy == StrategyBeforeMethodOnly || hypStrategy == StrategyContinuously) {
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
	r.maskJournal()
	if r.j.Status == journal.StatusCompleted && r.j.Deviated {
		r.log(LevelInfo, "Experiment ended with status: deviated")
		r.log(LevelInfo, "The steady-state has deviated, a weakness may have been discovered")
	} else {
		r.log(LevelInfo, "Experiment ended with status: "+r.j.Status)
	}
}

func strategyLogName(s HypothesisStrategy) string {
	if s == StrategyContinuously {
		return "continuous"
	}
	return string(s)
}

func (r *runner) interrupted(ctx context.Context) {
	r.setStatus(journal.StatusInterrupted)
	if si := signalCause(ctx); si != nil {
		r.mu.Lock()
		r.signal = si
		r.mu.Unlock()
		r.logSignalInterrupt(si)
		return
	}
	cause := "interrupted"
	if err := context.Cause(ctx); err != nil {
		cause = err.Error()
	}
	r.log(LevelCritical, "Experiment interrupted: "+cause)
}

func (r *runner) abort(err error) {
	if r.interruptedByControl() {
		return // the run is being interrupted, not aborted
	}
	r.mu.Lock()
	r.j.Status = journal.StatusAborted
	if r.aborted == "" {
		r.aborted = err.Error()
	}
	r.mu.Unlock()
	r.log(LevelCritical, "Experiment aborted: "+err.Error())
}

// warnDeprecated logs chaoslib's deprecation warnings: process arguments given as a mapping, and
// vault secrets with a key but no path.
func (r *runner) warnDeprecated() {
	var acts []*jsonvalue.Object
	acts = append(acts, objects(r.exp.obj.Value("method"))...)
	acts = append(acts, objects(r.exp.obj.Value("rollbacks"))...)
	if h, ok := r.exp.obj.Value("steady-state-hypothesis").(*jsonvalue.Object); ok {
		acts = append(acts, objects(h.Value("probes"))...)
	}
	for _, a := range acts {
		prov, _ := a.Value("provider").(*jsonvalue.Object)
		if _, isMap := prov.Value("arguments").(*jsonvalue.Object); isMap && prov.Value("type") == "process" {
			r.log(LevelWarning, fmt.Sprintf("Process arguments should now be a list to keep the ordering of the arguments. Dictionary arguments are deprecated for process activities. (activity '%v')", a.Value("name")))
		}
	}
	secrets, _ := r.exp.obj.Value("secrets").(*jsonvalue.Object)
	for _, scope := range secrets.Keys() {
		so, _ := secrets.Value(scope).(*jsonvalue.Object)
		for _, k := range so.Keys() {
			if v, ok := so.Value(k).(*jsonvalue.Object); ok && v.Value("type") == "vault" && v.Has("key") && !v.Has("path") {
				r.log(LevelWarning, fmt.Sprintf("Vault secret '%s' in scope '%s' uses 'key' without 'path': 'key' now names the key inside the secret at 'path'", k, scope))
			}
		}
	}
}

// journalExperiment copies the experiment for the journal: title substituted, "dry" set, inline
// secret values masked.
func (r *runner) journalExperiment() *jsonvalue.Object {
	c := r.exp.obj.Clone()
	if t, ok := c.Get("title"); ok {
		c.Set("title", r.substitute(t))
	}
	if s, ok := c.Value("secrets").(*jsonvalue.Object); ok {
		c.Set("secrets", maskSecrets(s))
	}
	if r.settings.Dry == "" {
		c.Set("dry", nil)
	} else {
		c.Set("dry", r.settings.Dry)
	}
	return c
}

func maskSecrets(o *jsonvalue.Object) *jsonvalue.Object {
	out := &jsonvalue.Object{}
	for _, k := range o.Keys() {
		switch v := o.Value(k).(type) {
		case *jsonvalue.Object:
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

// hypothesisRun runs the steady-state probes once (chaoslib's run_steady_state_hypothesis). The error
// is an evaluation crash (Chaos Toolkit would stop without a journal; chaostest aborts the run).
func (r *runner) hypothesisRun(ctx context.Context, hyp *jsonvalue.Object) (*journal.State, error) {
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
		if isCrash(rec) {
			// chaoslib crashes here; chaostest aborts, and the record says why.
			why := r.reason(rec)
			rec.Status, rec.Exception, rec.ToleranceMet = journal.RunFailed, exceptionLines(errors.New(why)), &falseV
			st.Probes = append(st.Probes, rec)
			return st, fmt.Errorf("probe '%s': %s", probeName(probe), why)
		}
		if rec.Status == journal.RunFailed {
			rec.ToleranceMet = &falseV
			st.Probes = append(st.Probes, rec)
			if ctx.Err() == nil {
				r.log(LevelWarning, "Probe terminated unexpectedly, so its tolerance could not be validated")
			}
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
		if tp, ok := tol.(*jsonvalue.Object); ok && tp.Value("type") == "probe" {
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

func probeName(a *jsonvalue.Object) string {
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
	return r.masker.String(r.reasons[rec])
}

// methodRun plays the method; it reports whether the method state exists (false when aborted).
func (r *runner) methodRun(ctx context.Context, hyp *jsonvalue.Object, hasProbes bool, hypStrategy HypothesisStrategy) bool {
	stopDuring := make(chan struct{})
	var duringDone chan struct{}
	if hasProbes && (hypStrategy == StrategyDuringMethodOnly || hypStrategy == StrategyContinuously) {
		duringDone = make(chan struct{})
		go r.during(ctx, stopDuring, hyp, duringDone)
	}
	r.log(LevelInfo, "Playing your experiment's method now...")
	var bg sync.WaitGroup
	aborted := false
	for i := 0; ; i++ { // re-read each time: a control may insert
		a, ok := nthObject(r.exp.obj.Value("method"), i)
		if !ok {
			break
		}
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
				if isCrash(rec) && !cutRecord(ctx) {
					r.abort(fmt.Errorf("activity '%s': %s", probeName(act), r.reason(rec)))
				}
			}()
			continue
		}
		rec := r.startRecord(act)
		r.executeInto(ctx, act, rec)
		if isCrash(rec) && !cutRecord(ctx) {
			r.abort(fmt.Errorf("method[%d] '%s': %s", i, probeName(act), r.reason(rec)))
			aborted = true
			break
		}
	}
	bg.Wait()
	close(stopDuring)
	if duringDone != nil {
		<-duringDone
	}
	return !aborted && r.status() != journal.StatusAborted
}
