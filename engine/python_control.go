package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/chaostest/chaostest/internal/pybridge"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
)

// Python controls: a control module that no Go control implements runs through the run's
// python3 child (python.go) when python3 can import it. Its hooks are chaoslib's functions
// (configure_control, before_experiment_control, ..., cleanup_control), each called only when
// the module defines it, with chaoslib's arguments: context always, and state, experiment,
// configuration, secrets, settings and extensions when the hook declares them. What a hook
// changes in the context it receives (the experiment, the hypothesis, the activity) and in
// after_experiment's journal is carried back; chaoslib's InterruptExecution interrupts the run.

func init() {
	SetControlResolver(resolvePythonControl)
}

// pyImportable caches whether python3 can import a control module, per interpreter, PYTHONPATH
// and module: the resolver is asked at validation, for the warnings and at run time.
var pyImportable sync.Map

func resolvePythonControl(module string) (ControlFactory, bool) {
	python, err := pybridge.LookPython()
	if err != nil {
		return nil, false
	}
	key := python + "\x00" + os.Getenv("PYTHONPATH") + "\x00" + module
	ok, cached := pyImportable.Load(key)
	if !cached {
		b := pybridge.New(pybridge.Options{Python: python})
		ctx, cancel := context.WithTimeout(context.Background(), pyCheckTimeout)
		imp, _, err := b.Importable(ctx, module)
		cancel()
		_ = b.Close()
		ok = err == nil && imp
		pyImportable.Store(key, ok)
	}
	if !ok.(bool) {
		return nil, false
	}
	return func() Control { return &pyControl{module: module} }, true
}

// pyControl is a Python control module seen as a Control. One per run and control name.
type pyControl struct {
	module string
	mu     sync.Mutex
	bridge *pybridge.Bridge // the run's, remembered for Cleanup (which gets no environment)
	own    *pybridge.Bridge // started here when a hook runs outside a run (loader hooks)
}

// bridgeFor returns the bridge a hook runs through: the run's, or one of its own.
func (p *pyControl) bridgeFor(env *ControlEnv) *pybridge.Bridge {
	p.mu.Lock()
	defer p.mu.Unlock()
	if env != nil && env.r != nil {
		if b := env.r.py.get(); b != nil {
			p.bridge = b
			return b
		}
	}
	if p.bridge != nil {
		return p.bridge
	}
	if p.own == nil {
		p.own = pybridge.New(pybridge.Options{})
	}
	return p.own
}

// hook calls fn with context (when hasContext) and the extras a hook may declare, and returns
// what the hook left in the objects it received.
func (p *pyControl) hook(ctx context.Context, env *ControlEnv, fn string, hasContext bool, contextValue any, state any, contextIsExperiment bool) (map[string]any, error) {
	h := pybridge.Hook{Module: p.module, Func: fn, Arguments: env.Arguments, Always: map[string]any{},
		ContextIsExperiment: contextIsExperiment}
	if h.Arguments == nil {
		h.Arguments = map[string]any{}
	}
	if hasContext {
		h.Always["context"] = contextValue
	}
	h.Extra = map[string]any{
		"state":         state,
		"experiment":    env.Experiment,
		"configuration": emptyIfNil(env.Configuration),
		"secrets":       secretsValue(env.Secrets),
		"settings":      map[string]any{},
	}
	res, err := p.bridgeFor(env).Hook(ctx, h)
	if err != nil {
		return nil, controlError(err)
	}
	if !res.Called {
		return nil, nil
	}
	return res.Passed, nil
}

func emptyIfNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func secretsValue(s map[string]map[string]any) map[string]any {
	out := make(map[string]any, len(s))
	for k, v := range s {
		out[k] = v
	}
	return out
}

// controlError turns chaoslib's InterruptExecution into an *InterruptExecution.
func controlError(err error) error {
	var pe *pybridge.Error
	if errors.As(err, &pe) && pe.Interrupt {
		return &InterruptExecution{Reason: pe.Message}
	}
	return err
}

// carryBack copies into dst what the hook left in the object it received, when it changed it.
func carryBack(dst *jsonvalue.Object, passed map[string]any, key string) {
	src, ok := passed[key].(*jsonvalue.Object)
	if !ok || dst == nil || sameJSON(dst, src) {
		return
	}
	for _, k := range append([]string(nil), dst.Keys()...) {
		dst.Delete(k)
	}
	for _, k := range src.Keys() {
		dst.Set(k, src.Value(k))
	}
}

func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

func (p *pyControl) experimentHook(ctx context.Context, env *ControlEnv, fn string, state any) (map[string]any, error) {
	passed, err := p.hook(ctx, env, fn, true, env.Experiment, state, true)
	carryBack(env.Experiment, passed, "context")
	return passed, err
}

// Configure calls configure_control (no context; arguments not substituted, as chaoslib).
func (p *pyControl) Configure(env *ControlEnv) error {
	_, err := p.hook(context.Background(), env, "configure_control", false, nil, nil, false)
	return err
}

// Cleanup calls cleanup_control with no argument, then stops a bridge of its own.
func (p *pyControl) Cleanup() {
	p.mu.Lock()
	b := p.bridge
	if b == nil {
		b = p.own
	}
	p.mu.Unlock()
	if b != nil {
		ctx, cancel := context.WithTimeout(context.Background(), pyCheckTimeout)
		_, _ = b.Hook(ctx, pybridge.Hook{Module: p.module, Func: "cleanup_control", Arguments: map[string]any{}})
		cancel()
	}
	p.mu.Lock()
	own := p.own
	p.own = nil
	p.mu.Unlock()
	if own != nil {
		_ = own.Close()
	}
}

// BeforeLoadingExperiment calls before_loading_experiment_control with the source as context.
func (p *pyControl) BeforeLoadingExperiment(env *ControlEnv, source string) error {
	_, err := p.hook(context.Background(), env, "before_loading_experiment_control", true, source, nil, false)
	return err
}

// AfterLoadingExperiment calls after_loading_experiment_control with the experiment as state.
func (p *pyControl) AfterLoadingExperiment(env *ControlEnv, source string, experiment *jsonvalue.Object) error {
	passed, err := p.hook(context.Background(), env, "after_loading_experiment_control", true, source, experiment, false)
	carryBack(experiment, passed, "state")
	p.closeOwn()
	return err
}

func (p *pyControl) closeOwn() {
	p.mu.Lock()
	own := p.own
	p.own = nil
	p.mu.Unlock()
	if own != nil {
		_ = own.Close()
	}
}

// BeforeExperiment calls before_experiment_control.
func (p *pyControl) BeforeExperiment(ctx context.Context, env *ControlEnv) error {
	_, err := p.experimentHook(ctx, env, "before_experiment_control", nil)
	return err
}

// AfterExperiment calls after_experiment_control with the journal as state; what the hook
// changes in the journal is saved.
func (p *pyControl) AfterExperiment(ctx context.Context, env *ControlEnv, j *journal.Journal) error {
	sent := normalizeOutput(j)
	passed, err := p.experimentHook(ctx, env, "after_experiment_control", sent)
	if st, ok := passed["state"]; ok && j != nil && !sameJSON(sent, st) {
		data, merr := json.Marshal(st)
		if merr == nil {
			if nj, perr := journal.Parse(data); perr == nil {
				*j = *nj
			} else if err == nil {
				err = fmt.Errorf("the journal after_experiment_control left cannot be read: %w", perr)
			}
		}
	}
	return err
}

// BeforeHypothesis calls before_hypothesis_control with the hypothesis as context.
func (p *pyControl) BeforeHypothesis(ctx context.Context, env *ControlEnv, hyp *jsonvalue.Object) error {
	passed, err := p.hook(ctx, env, "before_hypothesis_control", true, hyp, nil, false)
	carryBack(hyp, passed, "context")
	return err
}

// AfterHypothesis calls after_hypothesis_control with the state of the hypothesis.
func (p *pyControl) AfterHypothesis(ctx context.Context, env *ControlEnv, hyp *jsonvalue.Object, state *journal.State) error {
	var st any
	if state != nil {
		st = normalizeOutput(state)
	}
	_, err := p.hook(ctx, env, "after_hypothesis_control", true, hyp, st, false)
	return err
}

// BeforeMethod calls before_method_control.
func (p *pyControl) BeforeMethod(ctx context.Context, env *ControlEnv) error {
	_, err := p.experimentHook(ctx, env, "before_method_control", nil)
	return err
}

// AfterMethod calls after_method_control with the method's records.
func (p *pyControl) AfterMethod(ctx context.Context, env *ControlEnv, runs []*journal.Run) error {
	_, err := p.experimentHook(ctx, env, "after_method_control", runsValue(runs))
	return err
}

// BeforeRollback calls before_rollback_control.
func (p *pyControl) BeforeRollback(ctx context.Context, env *ControlEnv) error {
	_, err := p.experimentHook(ctx, env, "before_rollback_control", nil)
	return err
}

// AfterRollback calls after_rollback_control with the rollbacks' records.
func (p *pyControl) AfterRollback(ctx context.Context, env *ControlEnv, runs []*journal.Run) error {
	_, err := p.experimentHook(ctx, env, "after_rollback_control", runsValue(runs))
	return err
}

// BeforeActivity calls before_activity_control with the activity as context: what it changes
// is what runs.
func (p *pyControl) BeforeActivity(ctx context.Context, env *ControlEnv, act *jsonvalue.Object) error {
	passed, err := p.hook(ctx, env, "before_activity_control", true, act, nil, false)
	carryBack(act, passed, "context")
	return err
}

// AfterActivity calls after_activity_control with the activity's record as state.
func (p *pyControl) AfterActivity(ctx context.Context, env *ControlEnv, act *jsonvalue.Object, run *journal.Run) error {
	var st any
	if run != nil {
		st = normalizeOutput(run)
	}
	_, err := p.hook(ctx, env, "after_activity_control", true, act, st, false)
	return err
}

func runsValue(runs []*journal.Run) any {
	if runs == nil {
		return []any{}
	}
	return normalizeOutput(runs)
}

// validateControl calls the module's validate_control(control), as chaoslib does at validation,
// through the validation's bridge; what it raises is a validation problem.
func (p *pyControl) validateControl(v *validator, where string, control *jsonvalue.Object) {
	b := v.py.get()
	if b == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), pyCheckTimeout)
	defer cancel()
	_, err := b.Hook(ctx, pybridge.Hook{Module: p.module, Func: "validate_control", Positional: []any{control}})
	if err == nil {
		return
	}
	var pe *pybridge.Error
	if errors.As(err, &pe) && pe.Message != "" {
		v.add(where, "provider", "%s", pe.Message)
		return
	}
	v.add(where, "provider", "%v", err)
}
