package chaostest

import (
	"context"
	"strings"
	"time"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/internal/gojson"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// Activity is one probe or action: a provider to call, a name, and (for steady-state probes) a
// tolerance. Its JSON form is exactly what a Chaos Toolkit experiment file holds, so an activity
// declared in Go and one read from a file run through the same code and look the same in the
// journal. Builder methods change the activity and return it, so calls chain:
//
//	chaostest.Python("chaosk8s.pod.probes.pods_in_phase", map[string]any{"label_selector": "app=web"}).
//		Named("pods-running").Want(true)
type Activity struct {
	obj   *jsonvalue.Object
	run   func(ctx context.Context, env provider.Env) (any, error)
	check func(output any) error
	// tolerance is the probe given to Want as a tolerance, whose Go parts are attached too.
	tolerance *Activity
}

// Step is anything that yields an activity: *Activity itself and the request builders of the
// provider packages (providers/http, providers/process, providers/k8s).
type Step interface {
	Activity() *Activity
}

// Activity returns a itself, so *Activity is a Step.
func (a *Activity) Activity() *Activity { return a }

// NewActivity returns a probe with no name whose provider is the given Chaos Toolkit provider
// object, e.g. {"type": "http", "url": "http://127.0.0.1:8080/"}. Provider packages build their
// activities with it.
func NewActivity(provider *jsonvalue.Object) *Activity {
	return &Activity{obj: jsonvalue.NewObject("type", "probe", "name", "", "provider", provider)}
}

// Python returns a probe calling the Go function registered (with provider.Register) under the
// Chaos Toolkit name name ("chaosk8s.pod.probes.pods_in_phase") with the given arguments. In
// the journal it reads like the Python provider Chaos Toolkit would have called.
func Python(name string, args map[string]any) *Activity {
	i := strings.LastIndexByte(name, '.')
	prov := jsonvalue.NewObject("type", "python", "module", name[:max(i, 0)], "func", name[i+1:])
	if len(args) > 0 {
		prov.Set("arguments", gojson.Object(args))
	}
	return NewActivity(prov)
}

// Go returns a probe that runs fn, a plain Go function; its return value is the output (a
// struct or a map is journaled as JSON). desc names it in the journal, where the provider reads
// {"type": "go", "func": desc}. Experiment files cannot name such providers.
func Go(desc string, fn func(ctx context.Context, env provider.Env) (any, error)) *Activity {
	a := NewActivity(jsonvalue.NewObject("type", "go", "func", desc))
	a.run = fn
	return a
}

// RunFunc makes the activity call fn instead of dispatching its provider through the registry;
// the provider object still describes the call in the journal. Provider packages use it to bind a
// call to a client (for example a Kubernetes client from an e2e-framework envconf.Config).
func (a *Activity) RunFunc(fn func(ctx context.Context, env provider.Env) (any, error)) *Activity {
	a.run = fn
	return a
}

// Named sets the activity's name.
func (a *Activity) Named(name string) *Activity {
	a.obj.Set("name", name)
	return a
}

// name returns the activity's name ("" when unset; for a ref, the ref).
func (a *Activity) name() string {
	if n, ok := a.obj.Value("name").(string); ok {
		return n
	}
	if r, ok := a.obj.Value("ref").(string); ok {
		return r
	}
	return ""
}

// Object returns the activity's Chaos Toolkit JSON form. The result is shared: copy it with Clone
// before changing it.
func (a *Activity) Object() *jsonvalue.Object { return a.obj }

// Timeout sets the activity's timeout. Chaos Toolkit only validates this key; chaostest enforces
// it: the provider's context is cancelled when it expires and the activity fails.
func (a *Activity) Timeout(d time.Duration) *Activity {
	a.obj.Set("timeout", d.Seconds())
	return a
}

// PauseAfter makes the run wait d after the activity (even when it failed): `"pauses":
// {"after": d}`.
func (a *Activity) PauseAfter(d time.Duration) *Activity {
	p, _ := a.obj.Value("pauses").(*jsonvalue.Object)
	if p == nil {
		p = &jsonvalue.Object{}
		a.obj.Set("pauses", p)
	}
	p.Set("after", gojson.Duration(d))
	return a
}

// InBackground makes the activity run concurrently with the ones after it; the method waits for it
// before the steady state is checked again. On a safeguard probe, it runs the probe once
// alongside the experiment instead of before it.
func (a *Activity) InBackground() *Activity {
	a.obj.Set("background", true)
	return a
}

// attachTo binds the activity's Go parts (runner, Go tolerance, a Go probe used as its
// tolerance) to its object in e.
func (a *Activity) attachTo(e *engine.Experiment) {
	e.Attach(a.obj, engine.Code{Run: a.run, Check: a.check})
	if t := a.tolerance; t != nil && t.obj == a.obj.Value("tolerance") {
		if t.name() == "" {
			t.Named(a.name() + "-tolerance")
		}
		t.obj.Set("type", "probe")
		if prov, ok := t.obj.Value("provider").(*jsonvalue.Object); ok && !prov.Has("arguments") && t.run != nil {
			// The engine hands the output to a probe tolerance as its "value" argument.
			prov.Set("arguments", &jsonvalue.Object{})
		}
		t.attachTo(e)
	}
}
