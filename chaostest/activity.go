package chaostest

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"time"

	"github.com/chaostest/chaostest/journal"
)

// Activity is one probe or action: a provider to call, a name, and (for steady-state probes) a
// tolerance. Its JSON form is exactly what a Chaos Toolkit experiment file holds, so an activity
// declared in Go and one read from a file run through the same code and look the same in the
// journal. Builder methods change the activity and return it, so calls chain:
//
//	chaostest.Python("chaosk8s.pod.probes.pods_in_phase", map[string]any{"label_selector": "app=web"}).
//		Named("pods-running").Want(true)
type Activity struct {
	obj   *journal.Object
	run   func(ctx context.Context, env Env) (any, error)
	check func(output any) error
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
func NewActivity(provider *journal.Object) *Activity {
	return &Activity{obj: journal.NewObject("type", "probe", "name", "", "provider", provider)}
}

// Python returns a probe calling the Go function registered (with Register) under the Chaos
// Toolkit name name ("chaosk8s.pod.probes.pods_in_phase") with the given arguments. In the
// journal it reads like the Python provider Chaos Toolkit would have called.
func Python(name string, args map[string]any) *Activity {
	i := strings.LastIndexByte(name, '.')
	prov := journal.NewObject("type", "python", "module", name[:max(i, 0)], "func", name[i+1:])
	if len(args) > 0 {
		prov.Set("arguments", objectFromMap(args))
	}
	return NewActivity(prov)
}

// Go returns a probe that runs fn, a plain Go function. desc names it in the journal, where the
// provider reads {"type": "go", "func": desc}. Experiment files cannot name such providers.
func Go(desc string, fn func(ctx context.Context, env Env) (any, error)) *Activity {
	a := NewActivity(journal.NewObject("type", "go", "func", desc))
	a.run = fn
	return a
}

// FromObject returns an activity for a Chaos Toolkit activity object (as in an experiment file).
// The object is used as is, not copied.
func FromObject(obj *journal.Object) *Activity {
	return &Activity{obj: obj}
}

// RunFunc makes the activity call fn instead of dispatching its provider through the registry;
// the provider object still describes the call in the journal. Provider packages use it to bind a
// call to a client (for example a Kubernetes client from an e2e-framework envconf.Config).
func (a *Activity) RunFunc(fn func(ctx context.Context, env Env) (any, error)) *Activity {
	a.run = fn
	return a
}

// Named sets the activity's name.
func (a *Activity) Named(name string) *Activity {
	a.obj.Set("name", name)
	return a
}

// Name returns the activity's name ("" when unset; for a ref, the ref).
func (a *Activity) Name() string {
	if n, ok := a.obj.Value("name").(string); ok {
		return n
	}
	if r, ok := a.obj.Value("ref").(string); ok {
		return r
	}
	return ""
}

// Type returns "probe" or "action" (or whatever the file said).
func (a *Activity) Type() string {
	t, _ := a.obj.Value("type").(string)
	return t
}

// Object returns the activity's Chaos Toolkit JSON form. The result is shared: copy it with Clone
// before changing it.
func (a *Activity) Object() *journal.Object { return a.obj }

// Want sets the tolerance the probe's output must meet in the steady-state hypothesis.
// tolerance may be:
//   - a bool, an int, a string or a list, with Chaos Toolkit's rules (an int or a list also
//     matches the "status" of an http or process output);
//   - a Tolerance from Range, Regex or JSONPath;
//   - a Step (a probe that receives the output as its "value" argument and must return true);
//   - a func(output any) error, checked in Go: nil means met, an error explains the miss.
func (a *Activity) Want(tolerance any) *Activity {
	switch tol := tolerance.(type) {
	case Tolerance:
		a.obj.Set("tolerance", tol.obj)
		a.check = tol.fn
	case func(output any) error:
		a.obj.Set("tolerance", journal.NewObject("type", "go", "func", funcName(tol)))
		a.check = tol
	case Step:
		a.obj.Set("tolerance", tol.Activity().obj)
	case int:
		a.obj.Set("tolerance", int64(tol))
	case []string:
		l := make([]any, len(tol))
		for i, s := range tol {
			l[i] = s
		}
		a.obj.Set("tolerance", l)
	case []int:
		l := make([]any, len(tol))
		for i, n := range tol {
			l[i] = int64(n)
		}
		a.obj.Set("tolerance", l)
	default:
		a.obj.Set("tolerance", normalizeValue(tolerance))
	}
	return a
}

// Timeout sets the activity's timeout. Chaos Toolkit only validates this key; chaostest enforces
// it: the provider's context is cancelled when it expires and the activity fails.
func (a *Activity) Timeout(d time.Duration) *Activity {
	a.obj.Set("timeout", d.Seconds())
	return a
}

// PauseBefore makes the run wait d before the activity.
func (a *Activity) PauseBefore(d time.Duration) *Activity { return a.pause("before", d) }

// PauseAfter makes the run wait d after the activity (even when it failed).
func (a *Activity) PauseAfter(d time.Duration) *Activity { return a.pause("after", d) }

func (a *Activity) pause(key string, d time.Duration) *Activity {
	p, _ := a.obj.Value("pauses").(*journal.Object)
	if p == nil {
		p = &journal.Object{}
		a.obj.Set("pauses", p)
	}
	p.Set(key, durationValue(d))
	return a
}

// InBackground makes the activity run concurrently with the ones after it; the method waits for it
// before the steady state is checked again.
func (a *Activity) InBackground() *Activity {
	a.obj.Set("background", true)
	return a
}

// durationValue writes d in seconds, as an integer when it is whole.
func durationValue(d time.Duration) any {
	if d%time.Second == 0 {
		return int64(d / time.Second)
	}
	return d.Seconds()
}

// Tolerance is a structured tolerance: Range, Regex, JSONPath or Check.
type Tolerance struct {
	obj *journal.Object
	fn  func(output any) error
}

// Range returns a tolerance met when the output (or its Target key) is a number within
// [lo, hi], bounds included. Strings holding numbers ("42\n") count as numbers.
func Range(lo, hi float64) Tolerance {
	return Tolerance{obj: journal.NewObject("type", "range", "range", []any{numberValue(lo), numberValue(hi)})}
}

// Regex returns a tolerance met when the Python regular expression pattern is found in the
// output (re.search), or in its Target key.
func Regex(pattern string) Tolerance {
	return Tolerance{obj: journal.NewObject("type", "regex", "pattern", pattern)}
}

// JSONPath returns a tolerance met when the JSONPath (jsonpath2 dialect) finds at least one
// value in the output (or its Target key); see Count and Expect.
func JSONPath(path string) Tolerance {
	return Tolerance{obj: journal.NewObject("type", "jsonpath", "path", path)}
}

// Check returns a tolerance checked by fn, described as desc in the journal.
func Check(desc string, fn func(output any) error) Tolerance {
	return Tolerance{obj: journal.NewObject("type", "go", "func", desc), fn: fn}
}

// Target makes the tolerance look at one key of the output (for example "body" of an http
// output or "stdout" of a process output).
func (t Tolerance) Target(key string) Tolerance {
	o := t.obj.Clone()
	o.Set("target", key)
	return Tolerance{obj: o, fn: t.fn}
}

// Count makes a JSONPath tolerance require exactly n matches.
func (t Tolerance) Count(n int) Tolerance {
	o := t.obj.Clone()
	o.Set("count", int64(n))
	return Tolerance{obj: o, fn: t.fn}
}

// Expect makes a JSONPath tolerance require the matches to equal v (a list compares to all
// matches, any other value to the single match).
func (t Tolerance) Expect(v any) Tolerance {
	o := t.obj.Clone()
	o.Set("expect", normalizeValue(v))
	return Tolerance{obj: o, fn: t.fn}
}

// Object returns the tolerance's Chaos Toolkit JSON form.
func (t Tolerance) Object() *journal.Object { return t.obj }

func numberValue(f float64) any {
	if f == float64(int64(f)) {
		return int64(f)
	}
	return f
}

func funcName(fn any) string {
	if f := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()); f != nil {
		return f.Name()
	}
	return "func"
}

// objectFromMap turns a Go map into an ordered object with sorted keys (Go maps have no order).
func objectFromMap(m map[string]any) *journal.Object {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	o := &journal.Object{}
	for _, k := range keys {
		o.Set(k, normalizeValue(m[k]))
	}
	return o
}

// normalizeValue converts Go values into the JSON value conventions of journal.Object:
// maps become *journal.Object, integers int64, slices []any, durations seconds.
func normalizeValue(v any) any {
	switch x := v.(type) {
	case nil, bool, string, int64, float64, *journal.Object:
		return v
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case uint:
		return int64(x)
	case float32:
		return float64(x)
	case time.Duration:
		return durationValue(x)
	case map[string]any:
		return objectFromMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeValue(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = normalizeValue(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		m := map[string]any{}
		for _, k := range rv.MapKeys() {
			m[fmt.Sprint(k.Interface())] = rv.MapIndex(k).Interface()
		}
		return objectFromMap(m)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint())
	case reflect.String:
		return rv.String()
	}
	return v
}
