package engine

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/chaostest/chaostest/internal/jsonpath2"
	"github.com/chaostest/chaostest/internal/pyre"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// toleranceError is an error met while evaluating a tolerance that Chaos Toolkit would crash on
// (a TypeError or KeyError). chaostest records it and aborts the run instead of crashing.
type toleranceError struct{ msg string }

func (e *toleranceError) Error() string { return e.msg }

func tolErr(format string, args ...any) error { return &toleranceError{fmt.Sprintf(format, args...)} }

// verdict is the result of checking an output against a tolerance.
type verdict struct {
	met bool
	// why explains a miss: what was expected and what came.
	why string
}

func met() verdict { return verdict{met: true} }

func miss(format string, args ...any) verdict {
	return verdict{why: fmt.Sprintf(format, args...)}
}

// checkTolerance evaluates value against tol with chaoslib's within_tolerance rules (compat §2.2).
// tolObj is the tolerance as stored in the activity (for attached Go checks); rec receives the
// tolerance probe's injected value.
func (r *runner) checkTolerance(ctx context.Context, tol any, value any) (verdict, error) {
	if s, ok := tol.(string); ok {
		tol = r.substitute(s)
	}
	switch t := tol.(type) {
	case bool:
		if pyEqual(value, t) {
			return met(), nil
		}
		return miss("expected %s, got %s", pyRepr(t), describe(value)), nil
	case int64:
		if o, ok := value.(*jsonvalue.Object); ok && o.Has("status") {
			if pyEqual(o.Value("status"), t) {
				return met(), nil
			}
			return miss("expected status %d, got status %s (%s)", t, pyRepr(o.Value("status")), describe(value)), nil
		}
		if pyEqual(value, t) {
			return met(), nil
		}
		return miss("expected %d, got %s", t, describe(value)), nil
	case float64:
		if pyEqual(value, t) {
			return met(), nil
		}
		return miss("expected %s, got %s", pyRepr(t), describe(value)), nil
	case string:
		if s, ok := value.(string); ok && s == t {
			return met(), nil
		}
		return miss("expected the string %s, got %s", pyRepr(t), describe(value)), nil
	case []any:
		return checkList(t, value)
	case *jsonvalue.Object:
		return r.checkObject(ctx, t, value)
	case nil:
		if value == nil {
			return met(), nil
		}
		return miss("expected None, got %s", describe(value)), nil
	}
	return verdict{}, tolErr("unsupported tolerance %s", describe(tol))
}

func checkList(t []any, value any) (verdict, error) {
	if o, ok := value.(*jsonvalue.Object); ok && o.Has("status") {
		st := o.Value("status")
		for _, e := range t {
			if pyEqual(st, e) {
				return met(), nil
			}
		}
		return miss("expected status in %s, got status %s", pyRepr(t), pyRepr(st)), nil
	}
	if len(t) == 2 {
		lo, err := pyCompare(t[0], value)
		if err != nil {
			return verdict{}, err
		}
		hi, err := pyCompare(value, t[1])
		if err != nil {
			return verdict{}, err
		}
		if lo <= 0 && hi <= 0 {
			return met(), nil
		}
		return miss("expected a value between %s and %s, got %s", pyRepr(t[0]), pyRepr(t[1]), describe(value)), nil
	}
	for _, e := range t {
		if pyEqual(value, e) {
			return met(), nil
		}
	}
	return miss("expected one of %s, got %s", pyRepr(t), describe(value)), nil
}

func (r *runner) checkObject(ctx context.Context, t *jsonvalue.Object, value any) (verdict, error) {
	switch t.Value("type") {
	case "go":
		a := r.exp.attached[t]
		if a == nil || a.Check == nil {
			return verdict{}, tolErr("the Go tolerance %s has no function attached", pyRepr(t.Value("func")))
		}
		if err := callCheck(a.Check, value); err != nil {
			return miss("%v", err), nil
		}
		return met(), nil
	case "probe":
		prov, _ := t.Value("provider").(*jsonvalue.Object)
		args, ok := prov.Value("arguments").(*jsonvalue.Object)
		if !ok {
			return verdict{}, tolErr("KeyError: 'arguments': a probe tolerance needs an \"arguments\" object to receive the value")
		}
		args.Set("value", value)
		out, err := r.callProvider(ctx, t)
		if err != nil {
			var crash *provider.CrashError
			if errors.As(err, &crash) {
				return verdict{}, err
			}
			return miss("tolerance probe '%v' failed: %v", t.Value("name"), err), nil
		}
		if truthy(out) {
			return met(), nil
		}
		return miss("tolerance probe '%v' returned %s for the value %s", t.Value("name"), pyRepr(out), describe(value)), nil
	case "regex":
		pattern, _ := r.substitute(t.Value("pattern")).(string)
		v, err := targetOf(t, value)
		if err != nil {
			return verdict{}, err
		}
		s, ok := v.(string)
		if !ok {
			return verdict{}, tolErr("TypeError: the regex tolerance needs a string, got %s (set \"target\" to pick a key of the output)", describe(v))
		}
		re, err := pyre.Compile(pattern)
		if err != nil {
			return verdict{}, tolErr("regex %q: %v", pattern, err)
		}
		if re.Search(s) {
			return met(), nil
		}
		return miss("expected a match for the regex %s, got %s", pyRepr(pattern), describe(s)), nil
	case "jsonpath":
		return r.checkJSONPath(t, value)
	case "range":
		return checkRange(t, value)
	}
	return verdict{}, tolErr("hypothesis probe tolerance type '%s' is unsupported", pyStr(t.Value("type")))
}

// callCheck runs a Go tolerance, turning a panic into a miss.
func callCheck(fn func(any) error, value any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the tolerance panicked: %v", p)
		}
	}()
	return fn(jsonvalue.Plain(value))
}

func targetOf(t *jsonvalue.Object, value any) (any, error) {
	target, ok := t.Get("target")
	if !ok || target == nil {
		return value, nil
	}
	key, _ := target.(string)
	switch o := value.(type) {
	case *jsonvalue.Object:
		if v, ok := o.Get(key); ok {
			return v, nil
		}
		return value, nil
	default:
		return nil, tolErr("AttributeError: the tolerance target %s needs an object output, got %s", pyRepr(key), describe(value))
	}
}

func (r *runner) checkJSONPath(t *jsonvalue.Object, value any) (verdict, error) {
	path, _ := r.substitute(t.Value("path")).(string)
	v, err := targetOf(t, value)
	if err != nil {
		return verdict{}, err
	}
	if s, ok := v.(string); ok {
		if decoded, err := jsonvalue.Decode([]byte(s)); err == nil {
			v = decoded
		}
	}
	p, err := jsonpath2.Compile(path)
	if err != nil {
		return verdict{}, tolErr("JSON path %s is invalid: %v", path, err)
	}
	values := p.Find(v)
	if values == nil {
		values = []any{}
	}
	if expect, ok := t.Get("expect"); ok {
		expect = r.substitute(expect)
		want, isList := expect.([]any)
		if !isList {
			want = []any{expect}
		}
		if pyEqual(values, want) {
			return met(), nil
		}
		return miss("expected %s at %s, found %s", pyRepr(want), path, pyRepr(values)), nil
	}
	if c, ok := t.Get("count"); ok {
		if pyEqual(int64(len(values)), c) {
			return met(), nil
		}
		return miss("expected %s match(es) of %s, found %d: %s", pyRepr(c), path, len(values), pyRepr(values)), nil
	}
	if len(values) > 0 {
		return met(), nil
	}
	return miss("expected at least one match of %s in %s, found none", path, describe(v)), nil
}

func checkRange(t *jsonvalue.Object, value any) (verdict, error) {
	bounds, _ := t.Value("range").([]any)
	if len(bounds) != 2 {
		return verdict{}, tolErr("hypothesis range sequence must be made of two values")
	}
	v, err := targetOf(t, value)
	if err != nil {
		return verdict{}, err
	}
	switch v.(type) {
	case *jsonvalue.Object, []any:
		return verdict{}, tolErr("TypeError: a range tolerance needs a number, got %s (set \"target\" to pick a key of the output)", describe(v))
	}
	lo, ok1 := decimal(bounds[0])
	hi, ok2 := decimal(bounds[1])
	if !ok1 || !ok2 {
		return verdict{}, tolErr("hypothesis range boundaries must be numbers")
	}
	x, ok := decimal(v)
	if !ok {
		return miss("expected a number between %s and %s, got %s", pyRepr(bounds[0]), pyRepr(bounds[1]), describe(v)), nil
	}
	if lo.Cmp(x) <= 0 && x.Cmp(hi) <= 0 {
		return met(), nil
	}
	return miss("expected a number between %s and %s, got %s", pyRepr(bounds[0]), pyRepr(bounds[1]), describe(v)), nil
}

// decimal parses a value as Python's Decimal() would for range tolerances: numbers, booleans and
// strings holding a number (surrounding whitespace allowed).
func decimal(v any) (*big.Float, bool) {
	switch x := v.(type) {
	case int64:
		return new(big.Float).SetInt64(x), true
	case float64:
		return big.NewFloat(x), true
	case bool:
		if x {
			return big.NewFloat(1), true
		}
		return big.NewFloat(0), true
	case string:
		s := strings.ReplaceAll(strings.TrimSpace(x), "_", "")
		f, _, err := big.ParseFloat(s, 10, 200, big.ToNearestEven)
		if err != nil {
			return nil, false
		}
		return f, true
	}
	return nil, false
}

// pyEqual is Python's == for JSON values (numbers compare by value across int, float and bool).
var pyEqual = jsonpath2.Equal

func pyNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case int:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// pyCompare orders two values as Python's < does, or fails with a TypeError for types Python
// cannot order.
func pyCompare(a, b any) (int, error) {
	if fa, ok := pyNumber(a); ok {
		if fb, ok := pyNumber(b); ok {
			switch {
			case fa < fb:
				return -1, nil
			case fa > fb:
				return 1, nil
			}
			return 0, nil
		}
	}
	if sa, ok := a.(string); ok {
		if sb, ok := b.(string); ok {
			return strings.Compare(sa, sb), nil
		}
	}
	if la, ok := a.([]any); ok {
		if lb, ok := b.([]any); ok {
			for i := 0; i < len(la) && i < len(lb); i++ {
				if !pyEqual(la[i], lb[i]) {
					return pyCompare(la[i], lb[i])
				}
			}
			return len(la) - len(lb), nil
		}
	}
	return 0, tolErr("TypeError: '<=' not supported between %s and %s", describe(a), describe(b))
}

// describe shows a value for a tolerance explanation, cut to a readable length.
func describe(v any) string {
	s := pyRepr(v)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return jsonvalue.TypeName(v) + " " + s
}
