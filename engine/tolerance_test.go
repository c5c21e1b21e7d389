package engine

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

func js(t testing.TB, src string) any {
	t.Helper()
	v, err := jsonvalue.Decode([]byte(src))
	require.NoError(t, err)
	return v
}

func testRunner(cfg map[string]any) *runner {
	return &runner{exp: NewExperiment(&jsonvalue.Object{}), cfgMap: cfg, reasons: map[*journal.Run]string{}, log: func(Level, string) {}}
}

func TestTolerances(t *testing.T) {
	httpOut := `{"status": 200, "headers": {"Content-Type": "application/json"}, "body": {"items": [{"name": "a", "ready": true}, {"name": "b", "ready": false}], "version": "1.2.3"}}`
	procOut := `{"status": 0, "stdout": "you are number 87\n", "stderr": ""}`
	cases := []struct {
		name      string
		tol, out  string
		met       bool
		whyPrefix string
	}{
		{"bool true", `true`, `true`, true, ""},
		{"bool vs 1", `true`, `1`, true, ""},
		{"bool false vs 0", `false`, `0`, true, ""},
		{"bool miss", `true`, `false`, false, "expected True, got boolean False"},
		{"bool vs null", `true`, `null`, false, "expected True, got null None"},
		{"int status", `200`, httpOut, true, ""},
		{"int status miss", `500`, httpOut, false, "expected status 500, got status 200"},
		{"int process status", `0`, procOut, true, ""},
		{"int plain", `3`, `3.0`, true, ""},
		{"int plain miss", `3`, `4`, false, "expected 3, got integer 4"},
		{"string", `"ok"`, `"ok"`, true, ""},
		{"string no status rule", `"200"`, httpOut, false, "expected the string '200'"},
		{"string vs int", `"3"`, `3`, false, "expected the string '3', got integer 3"},
		{"list status membership two items", `[200, 300]`, httpOut, true, ""},
		{"list status membership miss", `[201, 300]`, httpOut, false, "expected status in [201, 300], got status 200"},
		{"list range", `[1, 5]`, `3`, true, ""},
		{"list range inclusive", `[1, 5]`, `5`, true, ""},
		{"list range miss", `[1, 5]`, `6`, false, "expected a value between 1 and 5, got integer 6"},
		{"list range strings", `["a", "c"]`, `"b"`, true, ""},
		{"list membership", `[1, 2, 3]`, `2`, true, ""},
		{"list membership miss", `[1, 2, 3]`, `4`, false, "expected one of [1, 2, 3]"},
		{"empty list", `[]`, `1`, false, "expected one of []"},
		{"range", `{"type": "range", "range": [1, 5]}`, `2.5`, true, ""},
		{"range string with newline", `{"type": "range", "range": [40, 45]}`, `"42\n"`, true, ""},
		{"range target", `{"type": "range", "range": [80, 90], "target": "stdout"}`, `{"status": 0, "stdout": "87", "stderr": ""}`, true, ""},
		{"range not a number", `{"type": "range", "range": [1, 5]}`, `"abc"`, false, "expected a number between 1 and 5, got string 'abc'"},
		{"range bool", `{"type": "range", "range": [1, 5]}`, `true`, true, ""},
		{"range miss", `{"type": "range", "range": [1.5, 2]}`, `2.01`, false, "expected a number between 1.5 and 2"},
		{"regex target", `{"type": "regex", "pattern": "^you are number 87$", "target": "stdout"}`, procOut, true, ""},
		{"regex search unanchored", `{"type": "regex", "pattern": "number [0-9]+"}`, `"you are number 87"`, true, ""},
		{"regex miss", `{"type": "regex", "pattern": "^number"}`, `"you are number 87"`, false, "expected a match for the regex '^number', got string 'you are number 87'"},
		{"regex substituted", `{"type": "regex", "pattern": "${who}"}`, `"hello world"`, true, ""},
		{"jsonpath exists", `{"type": "jsonpath", "path": "$.items[*].name", "target": "body"}`, httpOut, true, ""},
		{"jsonpath count", `{"type": "jsonpath", "path": "$.items[*]", "count": 2, "target": "body"}`, httpOut, true, ""},
		{"jsonpath count miss", `{"type": "jsonpath", "path": "$.items[*]", "count": 3, "target": "body"}`, httpOut, false, "expected 3 match(es) of $.items[*], found 2"},
		{"jsonpath expect scalar", `{"type": "jsonpath", "path": "$.version", "expect": "1.2.3", "target": "body"}`, httpOut, true, ""},
		{"jsonpath expect list", `{"type": "jsonpath", "path": "$.items[*].name", "expect": ["a", "b"], "target": "body"}`, httpOut, true, ""},
		{"jsonpath expect replaces count", `{"type": "jsonpath", "path": "$.items[*].name", "count": 7, "expect": ["a", "b"], "target": "body"}`, httpOut, true, ""},
		{"jsonpath expect empty", `{"type": "jsonpath", "path": "$.nothing", "expect": [], "target": "body"}`, httpOut, true, ""},
		{"jsonpath filter", `{"type": "jsonpath", "path": "$.items[*][?(@.name=\"a\")].ready", "expect": true, "target": "body"}`, httpOut, true, ""},
		{"jsonpath string body decoded", `{"type": "jsonpath", "path": "$.a", "expect": 1}`, `"{\"a\": 1}"`, true, ""},
		{"jsonpath none", `{"type": "jsonpath", "path": "$.nope", "target": "body"}`, httpOut, false, "expected at least one match of $.nope"},
		{"substituted string whole value", `"${code}"`, httpOut, true, ""},
	}
	r := testRunner(map[string]any{"who": "w.rld", "code": int64(200)})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := r.checkTolerance(context.Background(), js(t, c.tol), js(t, c.out))
			require.NoError(t, err)
			require.Equal(t, c.met, v.met, "why: %s", v.why)
			if !c.met {
				require.Contains(t, v.why, c.whyPrefix)
			}
		})
	}
}

// Cases where Chaos Toolkit crashes (TypeError/KeyError): chaostest reports an error instead.
func TestToleranceEvaluationErrors(t *testing.T) {
	cases := []struct{ name, tol, out, msg string }{
		{"range vs mixed types", `[1, 5]`, `"x"`, "TypeError"},
		{"regex on an object", `{"type": "regex", "pattern": "x"}`, `{"status": 0}`, "TypeError: the regex tolerance needs a string"},
		{"range on an object", `{"type": "range", "range": [1, 2]}`, `{"status": 0}`, "TypeError: a range tolerance needs a number"},
		{"target on a string", `{"type": "regex", "pattern": "x", "target": "body"}`, `"x"`, "AttributeError"},
		{"probe tolerance without arguments", `{"type": "probe", "name": "t", "provider": {"type": "python", "module": "os.path", "func": "exists"}}`, `"x"`, "KeyError: 'arguments'"},
	}
	r := testRunner(nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := r.checkTolerance(context.Background(), js(t, c.tol), js(t, c.out))
			var te *toleranceError
			require.True(t, errors.As(err, &te), "want a tolerance error, got %v", err)
			require.Contains(t, err.Error(), c.msg)
		})
	}
}

type valueArg struct {
	Value any `arg:"value" default:"null"`
}

func init() {
	provider.Register("chaostest.testing.is_dir", "True when value is a directory.", func(_ context.Context, _ provider.Env, a valueArg) (any, error) {
		s, _ := a.Value.(string)
		fi, err := os.Stat(s)
		return err == nil && fi.IsDir(), nil
	})
}

func TestProbeTolerance(t *testing.T) {
	r := testRunner(nil)
	dir := t.TempDir()
	tol := js(t, `{"type": "probe", "name": "is-dir", "provider": {"type": "python", "module": "chaostest.testing", "func": "is_dir", "arguments": {}}}`).(*jsonvalue.Object)
	v, err := r.checkTolerance(context.Background(), tol, dir)
	require.NoError(t, err)
	require.True(t, v.met, v.why)
	// The value is injected into the tolerance's arguments, as chaoslib does (and shows in journals).
	require.Equal(t, dir, tol.Value("provider").(*jsonvalue.Object).Value("arguments").(*jsonvalue.Object).Value("value"))
	v, err = r.checkTolerance(context.Background(), tol, dir+"/nope")
	require.NoError(t, err)
	require.False(t, v.met)
	require.Contains(t, v.why, "tolerance probe 'is-dir' returned False for the value string")
}

func TestGoTolerance(t *testing.T) {
	a := Go("always 7", func(context.Context, provider.Env) (any, error) { return 7, nil }).Want(func(out any) error {
		if out != int64(7) {
			return errors.New("want 7")
		}
		return nil
	})
	r := testRunner(nil)
	r.exp.attach(a)
	tol := a.Object().Value("tolerance")
	v, err := r.checkTolerance(context.Background(), tol, int64(7))
	require.NoError(t, err)
	require.True(t, v.met)
	v, err = r.checkTolerance(context.Background(), tol, int64(8))
	require.NoError(t, err)
	require.False(t, v.met)
	require.Equal(t, "want 7", v.why)
}
