package chaostest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"

	"github.com/chaostest/chaostest/internal/gojson"
	"github.com/chaostest/chaostest/internal/jsonpath2"
	"github.com/chaostest/chaostest/internal/pystr"
	"github.com/chaostest/chaostest/jsonvalue"
)

// Want sets the tolerance the probe's output must meet in the steady-state hypothesis.
// tolerance may be:
//   - a bool, a number or a string, with Chaos Toolkit's rules (a number also matches the
//     "status" of an http or process output);
//   - a Tolerance: Between, OneOf, Regex, JSONPath;
//   - a func(output T) error, checked in Go: nil means met, an error explains the miss. T is any
//     type the output decodes into from JSON: http.Result or process.Result for those
//     providers, a struct of your own, int, string, map[string]any, or any (the output as
//     plain Go values: maps, []any, int64, float64, string, bool, nil);
//   - a Step, another probe, which receives the output as its "value" argument (a registered
//     provider) and must return a true value. A Go probe (Go) as tolerance just runs: use a
//     func tolerance to look at the output.
//
// A list is Chaos Toolkit's list tolerance, except a list of two values, which Chaos Toolkit
// reads as a range for plain outputs but as a choice for a status: say which with Between or
// OneOf. Want panics, naming the line that called it, on a tolerance it cannot use.
func (a *Activity) Want(tolerance any) *Activity {
	switch tol := tolerance.(type) {
	case Tolerance:
		a.obj.Set("tolerance", tol.obj)
		a.check = tol.fn
		return a
	case Step:
		t := tol.Activity()
		a.tolerance = t
		a.obj.Set("tolerance", t.obj)
		return a
	case nil, bool, string:
		a.obj.Set("tolerance", tol)
		return a
	}
	v := reflect.ValueOf(tolerance)
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		a.obj.Set("tolerance", gojson.Value(tolerance))
		return a
	case reflect.Slice, reflect.Array:
		if v.Len() == 2 {
			wantPanic(tolerance, "a list of two values is a range in Chaos Toolkit for a plain output but a choice for a status; say which with chaostest.Between(lo, hi) or chaostest.OneOf(a, b)")
		}
		l, _ := gojson.Value(tolerance).([]any)
		for _, e := range l {
			switch e.(type) {
			case nil, bool, string, int64, float64:
			default:
				wantPanic(tolerance, "a list tolerance holds numbers, strings or booleans")
			}
		}
		a.obj.Set("tolerance", l)
		return a
	case reflect.Func:
		check, err := funcCheck(v)
		if err != nil {
			wantPanic(tolerance, err.Error())
		}
		a.obj.Set("tolerance", jsonvalue.NewObject("type", "go", "func", funcName(tolerance)))
		a.check = check
		return a
	}
	wantPanic(tolerance, "want a bool, a number, a string, a list, a Tolerance (Between, OneOf, Regex, JSONPath), a func(output T) error or a probe")
	return a
}

// wantPanic panics with a Go message that names the line that declared the tolerance.
func wantPanic(tolerance any, why string) {
	panic(fmt.Sprintf("chaostest: %sWant(%s): %s", callerLine(), describeGo(tolerance), why))
}

func describeGo(v any) string {
	if reflect.TypeOf(v).Kind() == reflect.Func {
		return reflect.TypeOf(v).String()
	}
	return fmt.Sprintf("%#v", v)
}

// callerLine returns "file.go:12: " for the first caller outside this module's chaostest and
// provider packages (the line that declared the activity), or "".
func callerLine() string {
	pcs := make([]uintptr, 16)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "github.com/chaostest/chaostest/chaostest.") &&
			!strings.HasPrefix(f.Function, "github.com/chaostest/chaostest/providers/") {
			return fmt.Sprintf("%s:%d: ", f.File[strings.LastIndexByte(f.File, '/')+1:], f.Line)
		}
		if !more {
			return ""
		}
	}
}

var errorType = reflect.TypeFor[error]()

// funcCheck turns a func(T) error into a check of the plain output: T = any gets it as is, any
// other T is decoded from the output's JSON.
func funcCheck(fn reflect.Value) (func(any) error, error) {
	t := fn.Type()
	if t.NumIn() != 1 || t.NumOut() != 1 || t.Out(0) != errorType || t.IsVariadic() {
		return nil, fmt.Errorf("a Go tolerance is a func(output T) error, not %s", t)
	}
	in := t.In(0)
	switch in.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return nil, fmt.Errorf("the output cannot be decoded into %s", in)
	}
	return func(output any) error {
		arg := reflect.New(in).Elem()
		if in.Kind() == reflect.Interface && reflect.TypeOf(output) != nil && reflect.TypeOf(output).Implements(in) {
			arg.Set(reflect.ValueOf(output))
		} else if output != nil {
			b, err := json.Marshal(output)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(b, arg.Addr().Interface()); err != nil {
				return fmt.Errorf("the output %s does not decode into %s: %v", truncate(string(b), 200), in, err)
			}
		}
		out := fn.Call([]reflect.Value{arg})[0]
		if out.IsNil() {
			return nil
		}
		return out.Interface().(error)
	}, nil
}

func funcName(fn any) string {
	if f := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()); f != nil {
		return f.Name()
	}
	return "func"
}

// Tolerance is a structured tolerance for Activity.Want: Between, OneOf, Regex or JSONPath.
type Tolerance struct {
	obj *jsonvalue.Object
	fn  func(output any) error
}

// Between returns a tolerance met when the output (or its Target key) is a number within
// [lo, hi], bounds included: Chaos Toolkit's "range" tolerance. Strings holding numbers ("42\n")
// count as numbers. For the status of an http or process output, add Target("status").
func Between(lo, hi float64) Tolerance {
	return Tolerance{obj: jsonvalue.NewObject("type", "range", "range", []any{gojson.Number(lo), gojson.Number(hi)})}
}

// OneOf returns a tolerance met when the output equals one of values (numbers compare by value,
// 200 equals 200.0); for an http or process output, its "status" is compared. Any number of
// values means membership, where a Chaos Toolkit list of two values means a range.
func OneOf(values ...any) Tolerance {
	want := make([]any, len(values))
	for i, v := range values {
		want[i] = gojson.Value(v)
	}
	return Tolerance{
		obj: jsonvalue.NewObject("type", "go", "func", "chaostest.OneOf", "values", want),
		fn: func(output any) error {
			got, what := output, ""
			if m, ok := output.(map[string]any); ok {
				if st, ok := m["status"]; ok {
					got, what = st, "status "
				}
			}
			for _, w := range want {
				if jsonpath2.Equal(got, w) {
					return nil
				}
			}
			return fmt.Errorf("expected %sone of %s, got %s%s", what, pystr.Repr(want), what, truncate(pystr.Repr(got), 200))
		},
	}
}

// Regex returns a tolerance met when the Python regular expression pattern is found in the
// output (re.search), or in its Target key.
func Regex(pattern string) Tolerance {
	return Tolerance{obj: jsonvalue.NewObject("type", "regex", "pattern", pattern)}
}

// JSONPath returns a tolerance met when the JSONPath (jsonpath2 dialect) finds at least one
// value in the output (or its Target key), or exactly Count values.
func JSONPath(path string) Tolerance {
	return Tolerance{obj: jsonvalue.NewObject("type", "jsonpath", "path", path)}
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
