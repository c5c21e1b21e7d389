package engine

import (
	"crypto/tls"
	"fmt"
	nethttp "net/http"
	"strings"

	"github.com/chaostest/chaostest/internal/jsonpath2"
	"github.com/chaostest/chaostest/internal/pyre"
	"github.com/chaostest/chaostest/internal/pystr"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

func insecureTransport() *nethttp.Transport {
	t := nethttp.DefaultTransport.(*nethttp.Transport).Clone()
	t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by --no-verify-tls
	return t
}

// Problem is one rule an experiment breaks.
type Problem struct {
	// Where locates the problem: "method[1] (action 'terminate-pods')", "steady-state-hypothesis".
	Where string
	// Key is the key at fault, as a dotted path inside Where ("provider.func"); may be empty.
	Key string
	// Message is Chaos Toolkit's message for the rule.
	Message string
}

// String returns the message followed by its location, "(at method[0], key 'name')".
func (p Problem) String() string {
	loc := p.Where
	if p.Key != "" {
		if loc != "" {
			loc += ", "
		}
		loc += "key '" + p.Key + "'"
	}
	if loc == "" {
		return p.Message
	}
	return p.Message + " (at " + loc + ")"
}

// ValidationError lists every rule an experiment breaks, in Chaos Toolkit's order.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems as chaoslib does: one on a line, or all of them after a heading.
func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "experiment is not valid: " + e.Problems[0].String()
	}
	var b strings.Builder
	b.WriteString("Experiment is not valid, please fix the following errors:")
	for _, p := range e.Problems {
		b.WriteString("\n- ")
		b.WriteString(p.String())
	}
	return b.String()
}

type validator struct {
	e        *Experiment
	py       *pythonBridge // for python providers without a Go provider
	problems []Problem
	// cache holds the activities a ref can point at: method, then hypothesis probes.
	cache map[string]*jsonvalue.Object
}

func (v *validator) add(where, key, format string, args ...any) {
	v.problems = append(v.problems, Problem{Where: where, Key: key, Message: fmt.Sprintf(format, args...)})
}

// Validate checks the experiment with every rule of chaoslib's ensure_experiment_is_valid, in its
// order, and returns a *ValidationError listing them all. Configuration and secrets are loaded
// (without --var values, as Chaos Toolkit does) and their errors are reported too. vars may hold
// --var/--var-file values; pass nil to validate exactly as `chaos validate` does.
func (e *Experiment) Validate(vars *Vars) error {
	py := &pythonBridge{}
	defer py.close()
	return e.validate(vars, py)
}

// validate is Validate with the bridge that python providers without a Go provider are checked
// through (a run passes its own, so its child imports each module once).
func (e *Experiment) validate(vars *Vars, py *pythonBridge) error {
	v := &validator{e: e, py: py}
	obj := e.obj
	if obj.Len() == 0 {
		return &ValidationError{[]Problem{{Message: "an empty experiment is not an experiment"}}}
	}
	if !truthy(obj.Value("title")) {
		v.add("", "title", "experiment requires a title")
	}
	if !truthy(obj.Value("description")) {
		v.add("", "description", "experiment requires a description")
	}
	if tags, ok := obj.Get("tags"); ok && truthy(tags) {
		list, isList := tags.([]any)
		bad := !isList
		for _, t := range list {
			if s, ok := t.(string); !ok || s == "" {
				bad = true
			}
		}
		if bad {
			v.add("", "tags", "experiment tags must be a non-empty string")
		}
	}
	if exts, ok := obj.Get("extensions"); ok && exts != nil {
		list, _ := exts.([]any)
		for i, x := range list {
			xo, _ := x.(*jsonvalue.Object)
			name, _ := xo.Value("name").(string)
			if strings.TrimSpace(name) == "" {
				v.add(fmt.Sprintf("extensions[%d]", i), "name", "All extensions require a non-empty name")
			}
		}
	}
	if vars == nil {
		vars = &Vars{}
	}
	cfg, err := LoadConfiguration(obj.Value("configuration"), vars.Configuration)
	if err != nil {
		v.add("", "configuration", "%s", err)
	}
	if _, err := LoadSecrets(obj.Value("secrets"), cfg, vars.Secrets); err != nil {
		v.add("", "secrets", "%s", err)
	}
	v.buildCache()
	v.hypothesis()
	v.method()
	v.rollbacks()
	v.allControls()
	if len(v.problems) > 0 {
		return &ValidationError{Problems: v.problems}
	}
	return nil
}

func (v *validator) buildCache() {
	v.cache = map[string]*jsonvalue.Object{}
	for _, a := range objects(v.e.obj.Value("method")) {
		if n, ok := a.Value("name").(string); ok {
			v.cache[n] = a
		}
	}
	if h, ok := v.e.obj.Value("steady-state-hypothesis").(*jsonvalue.Object); ok {
		for _, a := range objects(h.Value("probes")) {
			if n, ok := a.Value("name").(string); ok {
				v.cache[n] = a
			}
		}
	}
}

func (v *validator) hypothesis() {
	raw, ok := v.e.obj.Get("steady-state-hypothesis")
	if !ok || raw == nil {
		return
	}
	h, _ := raw.(*jsonvalue.Object)
	if !truthy(h.Value("title")) {
		v.add("steady-state-hypothesis", "title", "hypothesis requires a title")
	}
	for i, p := range list(h.Value("probes")) {
		where := activityWhere("steady-state-hypothesis.probes", i, p)
		po, _ := p.(*jsonvalue.Object)
		if !v.activity(where, p) {
			continue
		}
		if !po.Has("tolerance") {
			v.add(where, "tolerance", "hypothesis probe must have a tolerance entry")
			continue
		}
		v.tolerance(where, po.Value("tolerance"))
	}
}

func (v *validator) method() {
	raw, ok := v.e.obj.Get("method")
	if !ok || raw == nil {
		v.add("", "method", "an experiment requires a method, which can be empty for only checking steady state hypothesis ")
		return
	}
	if _, isList := raw.([]any); !isList {
		v.add("", "method", "the method must be a list of activities, not %s", jsonvalue.TypeName(raw))
		return
	}
	for i, a := range list(raw) {
		where := activityWhere("method", i, a)
		if !v.activity(where, a) {
			continue
		}
		if ao, _ := a.(*jsonvalue.Object); ao.Has("ref") {
			ref, _ := ao.Value("ref").(string)
			if _, found := v.cache[ref]; !found {
				v.add(where, "ref", "referenced activity '%s' could not be found in the experiment", ref)
			}
		}
	}
}

func (v *validator) rollbacks() {
	for i, a := range list(v.e.obj.Value("rollbacks")) {
		v.activity(activityWhere("rollbacks", i, a), a)
	}
}

func activityWhere(section string, i int, a any) string {
	ao, _ := a.(*jsonvalue.Object)
	name, _ := ao.Value("name").(string)
	if name == "" {
		name, _ = ao.Value("ref").(string)
	}
	t, _ := ao.Value("type").(string)
	if t == "" {
		t = "activity"
	}
	if name == "" {
		return fmt.Sprintf("%s[%d]", section, i)
	}
	return fmt.Sprintf("%s[%d] (%s '%s')", section, i, t, name)
}

// activity applies chaoslib's ensure_activity_is_valid; it reports whether the activity passed.
func (v *validator) activity(where string, raw any) bool {
	before := len(v.problems)
	a, _ := raw.(*jsonvalue.Object)
	if !truthy(raw) || a == nil {
		v.add(where, "", "empty activity is no activity")
		return false
	}
	if a.Has("ref") {
		if s, ok := a.Value("ref").(string); !ok || s == "" {
			v.add(where, "ref", "reference to activity must be non-empty strings")
			return false
		}
		return true
	}
	t, hasType := a.Get("type")
	if !hasType || !truthy(t) {
		v.add(where, "type", "an activity must have a type")
		return false
	}
	if t != "probe" && t != "action" {
		v.add(where, "type", "'%v' is not a supported activity type", pyStr(t))
		return false
	}
	if !truthy(a.Value("name")) {
		v.add(where, "name", "an activity must have a name")
		return false
	}
	prov, _ := a.Value("provider").(*jsonvalue.Object)
	if !truthy(a.Value("provider")) || prov == nil {
		v.add(where, "provider", "an activity requires a provider")
		return false
	}
	pt, _ := prov.Value("type").(string)
	if pt == "" {
		v.add(where, "provider.type", "a provider must have a type")
		return false
	}
	if pt != "python" && pt != "http" && pt != "process" && !(pt == "go" && v.e.attached[a] != nil) {
		v.add(where, "provider.type", "unknown provider type '%s'", pt)
		return false
	}
	if to, ok := a.Get("timeout"); ok && !isNumber(to) {
		v.add(where, "timeout", "activity timeout must be a number")
	}
	if p, ok := a.Value("pauses").(*jsonvalue.Object); ok {
		for _, key := range []string{"before", "after"} {
			pv, present := p.Get(key)
			if !present {
				continue
			}
			s, isStr := pv.(string)
			if !isNumber(pv) && !(isStr && strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}")) {
				v.add(where, "pauses."+key, "activity %s pause must be a number or a pattern to a variable from the configuration or secrets", key)
			}
		}
	}
	if bg, ok := a.Get("background"); ok {
		if _, isBool := bg.(bool); !isBool {
			v.add(where, "background", "activity background must be a boolean")
		}
	}
	name, _ := a.Value("name").(string)
	switch pt {
	case "python":
		v.python(where, name, t.(string), prov, a)
	case "http", "process":
		ptype, ok := provider.LookupProviderType(pt)
		if !ok {
			v.add(where, "provider.type", "provider type '%s' is not linked into this program: import _ \"github.com/chaostest/chaostest/providers/%s\"", pt, pt)
			break
		}
		if ptype.Validate != nil {
			if err := ptype.Validate(prov, name); err != nil {
				v.add(where, "provider", "%s", err)
			}
		}
	}
	return len(v.problems) == before
}

func (v *validator) python(where, name, typ string, prov, act *jsonvalue.Object) {
	mod, _ := prov.Value("module").(string)
	fn, _ := prov.Value("func").(string)
	if mod == "" {
		v.add(where, "provider.module", "a Python activity must have a module path")
		return
	}
	if fn == "" {
		v.add(where, "provider.func", "a Python activity must have a function name")
		return
	}
	f, ok := provider.LookupFunc(mod + "." + fn)
	if !ok {
		if v.checkPython(where, name, typ, mod, fn, prov) {
			return
		}
		if !moduleKnown(mod) {
			v.add(where, "provider.module", "could not find Python module '%s' in activity '%s' (no Go provider is registered for %s.%s: import the provider package that registers it)", mod, name, mod, fn)
		} else {
			v.add(where, "provider.func", "The python module '%s' does not expose a function called '%s' in %s '%s'", mod, fn, typ, name)
		}
		return
	}
	if v.e.attached[act] != nil {
		return // a Go-bound call: its arguments were typed in Go
	}
	args, err := argumentsMap(prov.Value("arguments"))
	if err != nil {
		v.add(where, "provider.arguments", "%s", err)
		return
	}
	if err := f.CheckArgs(args); err != nil {
		v.add(where, "provider.arguments", "%s", err)
	}
}

func moduleKnown(mod string) bool {
	for _, f := range provider.Funcs() {
		if f.Module() == mod {
			return true
		}
	}
	return false
}

// argumentsMap returns a provider's arguments as a plain map (ordered objects flattened).
func argumentsMap(raw any) (map[string]any, error) {
	switch a := raw.(type) {
	case nil:
		return map[string]any{}, nil
	case *jsonvalue.Object:
		m := make(map[string]any, a.Len())
		for _, k := range a.Keys() {
			m[k] = a.Value(k)
		}
		return m, nil
	default:
		return nil, fmt.Errorf("the arguments of a Python activity must be a mapping, not %s", jsonvalue.TypeName(raw))
	}
}

const toleranceTypeMessage = "hypothesis probe tolerance must either be an integer, a string, a boolean or a pair of values for boundaries. It can also be a dictionary which is a probe activity definition that takes an argument called `value` with the value of the probe itself to be validated"

func (v *validator) tolerance(where string, tol any) {
	switch t := tol.(type) {
	case bool, int64, string, []any:
		return
	case *jsonvalue.Object:
		typ, _ := t.Get("type")
		switch typ {
		case "probe":
			v.activity(where+" tolerance", t)
		case "go":
			if v.e.attached[t] == nil {
				v.add(where, "tolerance.type", "hypothesis probe tolerance type 'go' is unsupported")
			}
		case "regex":
			p, ok := t.Get("pattern")
			if !ok {
				v.add(where, "tolerance", "hypothesis regex probe tolerance must have a `pattern` key")
				return
			}
			ps, isStr := p.(string)
			if !isStr {
				v.add(where, "tolerance.pattern", "hypothesis probe tolerance pattern %s has an invalid type", pyStr(p))
				return
			}
			if _, err := pyre.Compile(ps); err != nil {
				v.add(where, "tolerance.pattern", "hypothesis probe tolerance pattern %s seems invalid: %v", ps, err)
			}
		case "jsonpath":
			p, ok := t.Get("path")
			if !ok {
				v.add(where, "tolerance", "hypothesis jsonpath probe tolerance must have a `path` key")
				return
			}
			ps, _ := p.(string)
			if strings.TrimSpace(ps) == "" {
				v.add(where, "tolerance.path", "hypothesis probe tolerance JSON path cannot be empty")
				return
			}
			if strings.Contains(ps, "${") {
				return // substituted at run time
			}
			if _, err := jsonpath2.Compile(ps); err != nil {
				v.add(where, "tolerance.path", "hypothesis probe tolerance JSON path %s is invalid: %v", ps, err)
			}
		case "range":
			r, ok := t.Get("range")
			if !ok {
				v.add(where, "tolerance", "hypothesis range probe tolerance must have a `range` key")
				return
			}
			l, isList := r.([]any)
			if !isList {
				v.add(where, "tolerance.range", "hypothesis range must be a sequence")
				return
			}
			if len(l) != 2 {
				v.add(where, "tolerance.range", "hypothesis range sequence must be made of two values")
				return
			}
			if !isNumber(l[0]) {
				v.add(where, "tolerance.range", "hypothesis range lower boundary must be a number")
			}
			if !isNumber(l[1]) {
				v.add(where, "tolerance.range", "hypothesis range upper boundary must be a number")
			}
		default:
			v.add(where, "tolerance.type", "hypothesis probe tolerance type '%s' is unsupported", pyStr(typ))
		}
	default:
		v.add(where, "tolerance", "%s", toleranceTypeMessage)
	}
}

// truthy is Python's truth value of a JSON value.
func truthy(v any) bool { return pystr.Truthy(v) }

func isNumber(v any) bool {
	switch v.(type) {
	case int64, float64, int:
		return true
	}
	return false
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// nthObject returns the i-th object of the list v, counting as objects does (other elements
// skipped), without building the list.
func nthObject(v any, i int) (*jsonvalue.Object, bool) {
	for _, e := range list(v) {
		if o, ok := e.(*jsonvalue.Object); ok {
			if i == 0 {
				return o, true
			}
			i--
		}
	}
	return nil, false
}

func objects(v any) []*jsonvalue.Object {
	var out []*jsonvalue.Object
	for _, e := range list(v) {
		if o, ok := e.(*jsonvalue.Object); ok {
			out = append(out, o)
		}
	}
	return out
}
