package engine

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/chaostest/chaostest/internal/pybridge"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// Python providers without a Go provider run through internal/pybridge: one python3 child per
// run (and one for validation), started only when an activity needs it, so Python stays
// optional. Without python3 on PATH, or when python3 cannot import the module, everything
// behaves as if the bridge did not exist.

// pyCheckTimeout bounds one validation check (importing a module runs its top-level code).
const pyCheckTimeout = 60 * time.Second

// pythonBridge is a bridge started on first use. The zero value is ready.
type pythonBridge struct {
	mu     sync.Mutex
	b      *pybridge.Bridge
	absent bool // python3 is not on PATH
	closed bool
}

// get returns the bridge, or nil when python3 is not on PATH (or the bridge was closed).
func (p *pythonBridge) get() *pybridge.Bridge {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.absent {
		return nil
	}
	if p.b == nil {
		path, err := pybridge.LookPython()
		if err != nil {
			p.absent = true
			return nil
		}
		p.b = pybridge.New(pybridge.Options{Python: path})
	}
	return p.b
}

// close kills the child, if one was started. Safe to call more than once.
func (p *pythonBridge) close() {
	p.mu.Lock()
	b := p.b
	p.b, p.closed = nil, true
	p.mu.Unlock()
	if b != nil {
		_ = b.Close()
	}
}

// pythonError is a Python function's exception, journaled as chaoslib journals the
// ActivityFailed it wraps the exception in.
type pythonError struct{ e *pybridge.Error }

func (p *pythonError) Error() string { return p.e.Text }
func (p *pythonError) Unwrap() error { return p.e }

// ExceptionLines returns the exception's traceback chained to the ActivityFailed, as
// traceback.format_exception prints chaoslib's exception in a journal.
func (p *pythonError) ExceptionLines() []string {
	lines := append([]string{}, p.e.Lines...)
	if len(lines) > 0 {
		lines = append(lines, "\nDuring handling of the above exception, another exception occurred:\n\n")
	}
	return append(lines, ExceptionPrefix+p.e.Text+"\n")
}

// callPython runs a python provider that has no Go provider through the run's bridge. handled
// is false when python3 is absent or cannot import the module: the caller then reports what it
// reports without Python.
func (r *runner) callPython(ctx context.Context, name, mod, fn string, prov *jsonvalue.Object) (out any, err error, handled bool) {
	b := r.py.get()
	if b == nil {
		return nil, nil, false
	}
	rawArgs := prov.Value("arguments")
	env := r.env(name, prov)
	if env.HasValues() {
		rawArgs = r.substitute(rawArgs)
	}
	args, err := argumentsMap(rawArgs)
	if err != nil {
		return nil, provider.Crash(err), true
	}
	call := pybridge.Call{Module: mod, Func: fn, Arguments: args, Configuration: r.cfgMap}
	if call.Configuration == nil {
		call.Configuration = map[string]any{}
	}
	if prov.Has("secrets") {
		// chaoslib passes the listed scopes merged into one dict, when the provider has a
		// "secrets" key, even an empty list.
		flat := map[string]any{}
		for k, v := range env.Secrets {
			flat[k] = v
		}
		call.Secrets = flat
	}
	out, err = b.Call(ctx, call)
	if err == nil {
		return out, nil, true
	}
	var pe *pybridge.Error
	if !errors.As(err, &pe) {
		return nil, err, true // stopped (timeout, interrupt) or the child died: a failed activity
	}
	switch pe.Kind {
	case "import":
		return nil, nil, false
	case "attribute", "base", "protocol":
		// Outside chaoslib's try block (getattr) or not an Exception (SystemExit): not an
		// ActivityFailed, so the method is aborted.
		return nil, provider.Crash(pe), true
	}
	return nil, &pythonError{pe}, true
}

// checkPython validates a python provider that has no Go provider the way chaoslib does, through
// the validation's bridge. It returns false when python3 is absent or cannot import the module:
// the caller then reports what it reports without Python.
func (v *validator) checkPython(where, name, typ, mod, fn string, prov *jsonvalue.Object) bool {
	b := v.py.get()
	if b == nil {
		return false
	}
	args, argErr := argumentsMap(prov.Value("arguments"))
	names := make([]string, 0, len(args))
	for k := range args {
		names = append(names, k)
	}
	sort.Strings(names)
	if o, ok := prov.Value("arguments").(*jsonvalue.Object); ok {
		names = append(names[:0], o.Keys()...) // declaration order, as Python binds them
	}
	ctx, cancel := context.WithTimeout(context.Background(), pyCheckTimeout)
	defer cancel()
	c, err := b.Check(ctx, mod, fn, names)
	if err != nil {
		v.add(where, "provider.module", "could not check Python module '%s' in activity '%s': %v", mod, name, err)
		return true
	}
	switch {
	case !c.Importable:
		return false
	case argErr != nil:
		v.add(where, "provider.arguments", "%s", argErr)
	case !c.Found:
		v.add(where, "provider.func", "The python module '%s' does not expose a function called '%s' in %s '%s'", mod, fn, typ, name)
	case c.Missing != "":
		v.add(where, "provider.arguments", "required argument %s is missing from activity '%s'", c.Missing, fn)
	case c.Unexpected != "":
		v.add(where, "provider.arguments", "argument %s is not part of the function signature in activity '%s'", c.Unexpected, fn)
	case c.Signature != "":
		v.add(where, "provider.arguments", "the arguments of activity '%s' do not match the signature of %s.%s: %s", name, mod, fn, c.Signature)
	}
	return true
}

// warmPython starts the run's python3 child and imports the modules of the python providers
// that have no Go provider, so the first call's timeout does not pay for them. Validation does
// the same through the run's bridge; this is for runs without it.
func (r *runner) warmPython(ctx context.Context) {
	mods := pythonModules(r.exp.obj)
	if len(mods) == 0 {
		return
	}
	b := r.py.get()
	if b == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, pyCheckTimeout)
	defer cancel()
	for _, m := range mods {
		if _, _, err := b.Importable(ctx, m); err != nil {
			return
		}
	}
}

// pythonModules lists, once each, the modules of python providers with no Go provider in the
// hypothesis (tolerance probes included), method, rollbacks and dynamic configuration.
func pythonModules(exp *jsonvalue.Object) []string {
	var acts []*jsonvalue.Object
	if h, ok := exp.Value("steady-state-hypothesis").(*jsonvalue.Object); ok {
		for _, p := range objects(h.Value("probes")) {
			acts = append(acts, p)
			if tol, ok := p.Value("tolerance").(*jsonvalue.Object); ok {
				acts = append(acts, tol)
			}
		}
	}
	acts = append(acts, objects(exp.Value("method"))...)
	acts = append(acts, objects(exp.Value("rollbacks"))...)
	if cfg, ok := exp.Value("configuration").(*jsonvalue.Object); ok {
		for _, k := range cfg.Keys() {
			if o, ok := cfg.Value(k).(*jsonvalue.Object); ok && o.Value("type") == "probe" {
				acts = append(acts, o)
			}
		}
	}
	seen := map[string]bool{}
	var mods []string
	for _, a := range acts {
		prov, _ := a.Value("provider").(*jsonvalue.Object)
		if prov.Value("type") != "python" {
			continue
		}
		mod, _ := prov.Value("module").(string)
		fn, _ := prov.Value("func").(string)
		if mod == "" || seen[mod] {
			continue
		}
		if _, ok := provider.LookupFunc(mod + "." + fn); ok {
			continue
		}
		seen[mod] = true
		mods = append(mods, mod)
	}
	return mods
}
