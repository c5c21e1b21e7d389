package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/chaostest/chaostest/internal/subst"
	"github.com/chaostest/chaostest/jsonvalue"
)

// Env is what a provider receives besides its own arguments.
type Env struct {
	// Activity is the name of the activity being run.
	Activity string
	// Configuration is the run's configuration, after loading (env values resolved, --var applied).
	Configuration map[string]any
	// Secrets is the flat map merged from the scopes the provider names in its "secrets" key,
	// as Chaos Toolkit passes them to Python functions. Nil when the provider names no scope.
	Secrets map[string]any
	// AllSecrets holds every secret scope of the run, by scope name.
	AllSecrets map[string]map[string]any
	// ScopeOrder names the scopes of AllSecrets in declaration order, the order substitution
	// looks names up in; scopes it does not name are searched after, by sorted name.
	ScopeOrder []string
	// Logf writes one progress line (as chaos run logs them) to the run's log.
	Logf func(format string, args ...any)
}

// Substitute applies Chaos Toolkit ${name} substitution to v with this run's configuration and
// secrets: whole-value "${x}" keeps the type of x; anything else becomes a string built the way
// Python's str() would; dicts and lists are walked. See SubstituteValue.
func (e Env) Substitute(v any) any {
	return subst.Value(v, e.Configuration, subst.OrderScopes(e.AllSecrets, e.ScopeOrder))
}

// HasValues reports whether the run has any configuration or secrets. Chaos Toolkit substitutes
// provider arguments only when it has.
func (e Env) HasValues() bool {
	return len(e.Configuration) > 0 || len(e.AllSecrets) > 0
}

// ArgSpec describes one argument of a registered function.
type ArgSpec struct {
	// Name is the argument's name in experiment files ("label_selector").
	Name string
	// Type is the Go type the value is decoded into ("string", "int", "[]string", ...).
	Type string
	// Default is the value used when the argument is not given (a JSON value); nil when Required.
	Default any
	// Required is true for an argument without a default.
	Required bool
}

// Func is a Go function registered under a Chaos Toolkit Python name such as
// "chaosk8s.pod.actions.terminate_pods".
type Func struct {
	// Name is the full dotted name: module and function.
	Name string
	// Doc is a one-line description shown by `chaostest providers`.
	Doc string
	// Args lists the function's arguments in declaration order.
	Args []ArgSpec

	call func(ctx context.Context, env Env, args map[string]any) (any, error)
	bind func(args map[string]any) (reflect.Value, error)
}

// Module returns the module part of the name ("chaosk8s.pod.actions").
func (f *Func) Module() string {
	i := strings.LastIndexByte(f.Name, '.')
	if i < 0 {
		return ""
	}
	return f.Name[:i]
}

// FuncName returns the function part of the name ("terminate_pods").
func (f *Func) FuncName() string {
	return f.Name[strings.LastIndexByte(f.Name, '.')+1:]
}

// Call decodes args into the function's argument struct and calls it.
func (f *Func) Call(ctx context.Context, env Env, args map[string]any) (any, error) {
	return f.call(ctx, env, args)
}

// CheckArgs reports, with Chaos Toolkit's messages, a missing required argument or an argument
// that is not part of the function's signature. Values are not checked.
func (f *Func) CheckArgs(args map[string]any) error {
	known := make(map[string]bool, len(f.Args))
	for _, a := range f.Args {
		known[a.Name] = true
		if _, ok := args[a.Name]; a.Required && !ok {
			return fmt.Errorf("required argument '%s' is missing from activity '%s'", a.Name, f.FuncName())
		}
	}
	names := make([]string, 0, len(args))
	for k := range args {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !known[k] {
			return fmt.Errorf("argument '%s' is not part of the function signature in activity '%s'", k, f.FuncName())
		}
	}
	return nil
}

var registry = struct {
	sync.RWMutex
	funcs map[string]*Func
	types map[string]*ProviderType
}{funcs: map[string]*Func{}, types: map[string]*ProviderType{}}

// Register makes fn callable from experiment files as a Python provider named name
// ("module.func"). A is a struct whose exported fields are the arguments: the tag `arg:"name"`
// gives the argument's name in files and `default:"<JSON>"` its default; a field without a
// default is required. Registering a name twice panics.
//
//	type scaleArgs struct {
//		Name     string `arg:"name"`
//		Replicas int    `arg:"replicas"`
//		NS       string `arg:"ns" default:"\"default\""`
//	}
//	provider.Register("chaosk8s.deployment.actions.scale_deployment", "Scale a deployment.",
//		func(ctx context.Context, env provider.Env, a scaleArgs) (any, error) { ... })
func Register[A any](name, doc string, fn func(ctx context.Context, env Env, args A) (any, error)) *Func {
	var zero A
	t := reflect.TypeOf(zero)
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("provider.Register(%q): arguments must be a struct, not %s", name, t))
	}
	f := &Func{Name: name, Doc: doc}
	type field struct {
		index int
		spec  ArgSpec
	}
	var fields []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		argName, ok := sf.Tag.Lookup("arg")
		if !ok || !sf.IsExported() {
			continue
		}
		spec := ArgSpec{Name: argName, Type: sf.Type.String(), Required: true}
		if d, ok := sf.Tag.Lookup("default"); ok {
			v, err := jsonvalue.Decode([]byte(d))
			if err != nil {
				panic(fmt.Sprintf("provider.Register(%q): default of %s is not JSON: %v", name, argName, err))
			}
			spec.Default, spec.Required = v, false
		}
		fields = append(fields, field{i, spec})
		f.Args = append(f.Args, spec)
	}
	f.bind = func(args map[string]any) (reflect.Value, error) {
		v := reflect.New(t).Elem()
		for _, fd := range fields {
			raw, ok := args[fd.spec.Name]
			if !ok {
				if fd.spec.Required {
					return v, fmt.Errorf("required argument '%s' is missing from activity '%s'", fd.spec.Name, f.FuncName())
				}
				raw = fd.spec.Default
			}
			if err := assignJSON(v.Field(fd.index), raw); err != nil {
				return v, fmt.Errorf("argument '%s' of '%s': %w", fd.spec.Name, f.FuncName(), err)
			}
		}
		return v, nil
	}
	f.call = func(ctx context.Context, env Env, args map[string]any) (any, error) {
		if err := f.CheckArgs(args); err != nil {
			return nil, err
		}
		v, err := f.bind(args)
		if err != nil {
			return nil, err
		}
		return fn(ctx, env, v.Interface().(A))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.funcs[name]; dup {
		panic(fmt.Sprintf("provider.Register: %q registered twice", name))
	}
	registry.funcs[name] = f
	return f
}

// assignJSON stores a JSON value into a Go value through encoding/json, so numbers, strings,
// lists and objects land in typed fields. A JSON null leaves the zero value.
func assignJSON(dst reflect.Value, v any) error {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	p := reflect.New(dst.Type())
	if err := json.Unmarshal(b, p.Interface()); err != nil {
		return fmt.Errorf("cannot use %s %s as %s", jsonvalue.TypeName(v), string(b), dst.Type())
	}
	dst.Set(p.Elem())
	return nil
}

// LookupFunc returns the function registered under name.
func LookupFunc(name string) (*Func, bool) {
	registry.RLock()
	defer registry.RUnlock()
	f, ok := registry.funcs[name]
	return f, ok
}

// Funcs returns every registered function, sorted by name.
func Funcs() []*Func {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]*Func, 0, len(registry.funcs))
	for _, f := range registry.funcs {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ProviderType implements one Chaos Toolkit provider "type" (http, process). Provider packages
// register theirs with RegisterProviderType from an init function.
type ProviderType struct {
	// Name is the value of the provider's "type" key.
	Name string
	// Validate checks the provider object (unsubstituted) as chaoslib does at validation time
	// and returns an error with chaoslib's message. activity is the activity's name. May be nil.
	Validate func(provider *jsonvalue.Object, activity string) error
	// Run executes the provider. It applies substitution itself, with env.Substitute, to the
	// keys Chaos Toolkit substitutes for this type. An error is an ActivityFailed unless it is
	// wrapped with Crash.
	Run func(ctx context.Context, env Env, provider *jsonvalue.Object) (any, error)
}

// RegisterProviderType registers a provider type. Registering a name twice panics.
func RegisterProviderType(pt ProviderType) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.types[pt.Name]; dup {
		panic(fmt.Sprintf("provider.RegisterProviderType: %q registered twice", pt.Name))
	}
	p := pt
	registry.types[pt.Name] = &p
}

// LookupProviderType returns the provider type registered under name.
func LookupProviderType(name string) (*ProviderType, bool) {
	registry.RLock()
	defer registry.RUnlock()
	p, ok := registry.types[name]
	return p, ok
}

// CrashError marks an error that Chaos Toolkit does not catch as an ActivityFailed (a bad URL
// scheme, an unsubstituted value where a number is needed). In the method it aborts the run
// (status "aborted"); elsewhere it fails the run.
type CrashError struct{ Err error }

// Error returns the wrapped error's message.
func (e *CrashError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *CrashError) Unwrap() error { return e.Err }

// Crash wraps err as a CrashError.
func Crash(err error) error {
	if err == nil {
		return nil
	}
	return &CrashError{Err: err}
}
