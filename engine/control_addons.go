package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
)

// The controls of chaostoolkit-addons most used, implemented in Go under their Python names.
func init() {
	RegisterControl("chaosaddons.controls.safeguards", func() Control { return &safeguards{} })
	RegisterControl("chaosaddons.controls.repeat", func() Control { return repeatControl{} })
	RegisterControl("chaosaddons.controls.bypass", func() Control { return bypassControl{} })
}

// safeguards is chaosaddons.controls.safeguards: probes, each with a tolerance, that end the run
// (status interrupted) as soon as one is not met. Probes without "background" or "frequency"
// run before the experiment starts, together, and the experiment waits for them; "background":
// true ones run once, in the background; "frequency": N ones run every N seconds until the run
// ends.
type safeguards struct {
	NopControl
	// steps are the probes declared in Go (Safeguards), by name: their Go parts run them.
	steps map[string]GoProbe
	stop  context.CancelFunc
	wg    sync.WaitGroup
}

func (*safeguards) validateControl(v *validator, where string, c *jsonvalue.Object) {
	prov, _ := c.Value("provider").(*jsonvalue.Object)
	args, _ := prov.Value("arguments").(*jsonvalue.Object)
	raw := args.Value("probes")
	if !truthy(raw) {
		v.add(where, "provider.arguments.probes", "safeguard control must have at least one probe")
		return
	}
	for i, p := range list(raw) {
		w := where + " " + activityWhere("provider.arguments.probes", i, p)
		if !v.activity(w, p) {
			continue
		}
		po, _ := p.(*jsonvalue.Object)
		name := pyStr(po.Value("name"))
		if po.Has("ref") {
			name = pyStr(po.Value("ref"))
		} else if typ := pyStr(po.Value("type")); typ != "probe" {
			v.add(w, "type", "safeguard control '%s' should be of type 'probe' not '%s'", name, typ)
			continue
		}
		if !po.Has("tolerance") {
			v.add(w, "tolerance", "safeguard control is invalid as the probe '%s' is missing a tolerance property", name)
			continue
		}
		v.tolerance(w, po.Value("tolerance"))
		if f, ok := po.Get("frequency"); ok && truthy(f) && !isNumber(f) {
			v.add(w, "frequency", "safeguard probe '%s' frequency must be a number of seconds, not %s", name, pyRepr(f))
		}
	}
}

func (s *safeguards) BeforeExperiment(ctx context.Context, env *ControlEnv) error {
	r := env.r
	if r == nil {
		return nil
	}
	ctx, s.stop = context.WithCancel(ctx)
	for _, a := range s.steps {
		r.exp.Attach(a.Object, a.Code)
	}
	var blocking []*jsonvalue.Object
	for _, p := range objects(env.Arguments["probes"]) {
		freq := secondsValue(p.Value("frequency"))
		switch {
		case freq > 0:
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				for ctx.Err() == nil {
					if !s.check(ctx, env, p) {
						return
					}
					sleepCtx(ctx, freq)
				}
			}()
		case truthy(p.Value("background")):
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.check(ctx, env, p)
			}()
		default:
			blocking = append(blocking, p)
		}
	}
	// The probes that must pass first run together; the experiment waits for all of them.
	var wg sync.WaitGroup
	for _, p := range blocking {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.check(ctx, env, p)
		}()
	}
	wg.Wait()
	return nil
}

// check runs one safeguard probe and interrupts the run when its tolerance is not met; it
// reports whether the probe was met (or could not be judged).
func (s *safeguards) check(ctx context.Context, env *ControlEnv, p *jsonvalue.Object) bool {
	r := env.r
	if a, ok := s.steps[pyStr(p.Value("name"))]; ok {
		p = a.Object // the declared object, which its Go parts are attached to
	}
	act := p
	if ref, ok := p.Value("ref").(string); ok {
		target, found := r.cache[ref]
		if !found {
			r.log(LevelError, fmt.Sprintf("Safeguard: could not find referenced activity '%s'", ref))
			return true
		}
		act = target
	}
	name := probeName(act)
	out, err := r.callProvider(ctx, act)
	if ctx.Err() != nil {
		return true // the run is ending: not a verdict
	}
	var output any
	if err == nil {
		output = normalizeOutput(out)
	}
	v, terr := r.checkTolerance(ctx, p.Value("tolerance"), output)
	if terr != nil {
		r.log(LevelWarning, fmt.Sprintf("Safeguard '%s' failed: %v", name, terr))
		return true
	}
	if v.met {
		return true
	}
	env.cr.interruptWith(&InterruptExecution{Reason: fmt.Sprintf("safeguard '%s' is not met: %s", name, safeguardWhy(v, err))}, func() {
		r.log(LevelCritical, fmt.Sprintf("Safeguard '%s' triggered the end of the experiment", name))
	})
	return false
}

func safeguardWhy(v verdict, err error) string {
	if err != nil {
		return "the probe failed: " + err.Error()
	}
	if v.why != "" {
		return v.why
	}
	return "its tolerance is not met"
}

func (s *safeguards) AfterExperiment(context.Context, *ControlEnv, *journal.Journal) error {
	if s.stop != nil {
		s.stop()
		s.wg.Wait()
	}
	return nil
}

// secondsValue reads a number of seconds (0 when v is not a positive number).
func secondsValue(v any) time.Duration {
	switch x := v.(type) {
	case int64:
		return time.Duration(x) * time.Second
	case float64:
		return time.Duration(x * float64(time.Second))
	}
	return 0
}

// repeatControl is chaosaddons.controls.repeat: after a method activity ran, it inserts
// repeat_count-1 copies of it right after it (each with an "iteration_index"), so it runs
// repeat_count times in all; the copies appear in the run records and in the journal's
// experiment.method. With break_if_previous_iteration_failed, copies are not added when the
// activity did not succeed.
type repeatControl struct{ NopControl }

func (repeatControl) AfterActivity(_ context.Context, env *ControlEnv, act *jsonvalue.Object, run *journal.Run) error {
	r := env.r
	if r == nil || act.Has("iteration_index") {
		return nil
	}
	n := 0
	switch c := env.Arguments["repeat_count"].(type) {
	case int64:
		n = int(c) - 1
	case float64:
		n = int(c) - 1
	}
	if n <= 0 {
		return nil
	}
	if b, _ := env.Arguments["break_if_previous_iteration_failed"].(bool); b && (run == nil || run.Status != journal.RunSucceeded) {
		return nil
	}
	name := act.Value("name")
	insert := func(holder *jsonvalue.Object, attach bool) {
		items := list(holder.Value("method"))
		for pos, a := range items {
			if ao, ok := a.(*jsonvalue.Object); !ok || ao.Value("name") != name {
				continue
			}
			copies := make([]any, 0, n)
			for i := 1; i <= n; i++ {
				c := act.Clone()
				c.Set("iteration_index", int64(i))
				if attach {
					if g := r.exp.attached[act]; g != nil {
						r.exp.attached[c] = g
					}
				}
				copies = append(copies, c)
			}
			out := append(append(append([]any{}, items[:pos+1]...), copies...), items[pos+1:]...)
			holder.Set("method", out)
			return
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	insert(r.exp.obj, true)
	if r.j != nil && r.j.Experiment != nil {
		insert(r.j.Experiment, false)
	}
	return nil
}

// bypassControl is chaosaddons.controls.bypass: the activities named in target_names, or all
// of type target_type, are skipped (chaostest skips them; chaoslib 1.44 runs them anyway).
type bypassControl struct{ NopControl }

func (bypassControl) BeforeExperiment(_ context.Context, env *ControlEnv) error {
	if t, _ := env.Arguments["target_type"].(string); t != "" {
		env.Log(LevelWarning, fmt.Sprintf("No '%s' will be executed as configured by the bypass control", t))
	}
	if names := stringList(env.Arguments["target_names"]); len(names) > 0 {
		env.Log(LevelWarning, "The following activities will not be executed: "+strings.Join(names, ", "))
	}
	return nil
}

func (bypassControl) BeforeActivity(_ context.Context, env *ControlEnv, act *jsonvalue.Object) error {
	if t, _ := env.Arguments["target_type"].(string); t != "" && act.Value("type") == t {
		return SkipActivity
	}
	name := pyStr(act.Value("name"))
	for _, n := range stringList(env.Arguments["target_names"]) {
		if n == name {
			return SkipActivity
		}
	}
	return nil
}

func stringList(v any) []string {
	var out []string
	for _, x := range list(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// SafeguardsModule is the Python name of the safeguards control.
const SafeguardsModule = "chaosaddons.controls.safeguards"

// GoProbe is a probe declared in Go: its Chaos Toolkit activity object and the Go code attached
// to it (see Experiment.Attach).
type GoProbe struct {
	Object *jsonvalue.Object
	Code
}

// Safeguards returns a global control (for Settings.Controls) that runs
// chaosaddons.controls.safeguards with probes declared in Go. Each probe object needs a name and
// a tolerance; chaostest.Safeguards builds them from activities and checks both.
func Safeguards(name string, probes ...GoProbe) ControlSpec {
	sg := &safeguards{steps: map[string]GoProbe{}}
	objs := make([]any, 0, len(probes))
	for _, p := range probes {
		n, _ := p.Object.Value("name").(string)
		sg.steps[n] = p
		objs = append(objs, p.Object)
	}
	return ControlSpec{Name: name, Control: sg, Module: SafeguardsModule, Arguments: map[string]any{"probes": objs}}
}
