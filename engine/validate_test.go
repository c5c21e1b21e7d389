package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func mustParse(t *testing.T, src string) *Experiment {
	t.Helper()
	e, err := Parse([]byte(src), "json")
	require.NoError(t, err)
	return e
}

func problems(t *testing.T, err error) []Problem {
	t.Helper()
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "want a *ValidationError, got %v", err)
	return ve.Problems
}

const base = `"title": "t", "description": "d"`

func TestValidateRules(t *testing.T) {
	t.Setenv("CHAOSTEST_SET", "1")
	cases := []struct {
		name, src       string
		msg, where, key string
	}{
		{"empty", `{}`, "an empty experiment is not an experiment", "", ""},
		{"no title", `{"description": "d", "method": []}`, "experiment requires a title", "", "title"},
		{"empty title", `{"title": "", "description": "d", "method": []}`, "experiment requires a title", "", "title"},
		{"no description", `{"title": "t", "method": []}`, "experiment requires a description", "", "description"},
		{"bad tag", `{` + base + `, "tags": ["a", ""], "method": []}`, "experiment tags must be a non-empty string", "", "tags"},
		{"tag not string", `{` + base + `, "tags": [1], "method": []}`, "experiment tags must be a non-empty string", "", "tags"},
		{"extension without name", `{` + base + `, "extensions": [{"name": " "}], "method": []}`, "All extensions require a non-empty name", "extensions[0]", "name"},
		{"missing env config", `{` + base + `, "configuration": {"u": {"type": "env", "key": "CHAOSTEST_SURELY_UNSET"}}, "method": []}`,
			"Configuration makes reference to an environment key that does not exist: CHAOSTEST_SURELY_UNSET", "", "configuration"},
		{"missing env secret", `{` + base + `, "secrets": {"k8s": {"token": {"type": "env", "key": "CHAOSTEST_SURELY_UNSET"}}}, "method": []}`,
			"Secrets make reference to an environment key that does not exist: CHAOSTEST_SURELY_UNSET", "", "secrets"},
		{"bad env type", `{` + base + `, "configuration": {"u": {"type": "env", "key": "CHAOSTEST_SET", "env_var_type": "list"}}, "method": []}`,
			"variable type can only be: bool, str, int, float, bytes or json", "", "configuration"},
		{"hypothesis title", `{` + base + `, "steady-state-hypothesis": {}, "method": []}`, "hypothesis requires a title", "steady-state-hypothesis", "title"},
		{"no method", `{` + base + `}`, "an experiment requires a method, which can be empty for only checking steady state hypothesis ", "", "method"},
		{"empty activity", `{` + base + `, "method": [{}]}`, "empty activity is no activity", "method[0]", ""},
		{"empty ref", `{` + base + `, "method": [{"ref": ""}]}`, "reference to activity must be non-empty strings", "method[0]", "ref"},
		{"unknown ref", `{` + base + `, "method": [{"ref": "nope"}]}`, "referenced activity 'nope' could not be found in the experiment", "method[0] (activity 'nope')", "ref"},
		{"no type", `{` + base + `, "method": [{"name": "a"}]}`, "an activity must have a type", "method[0] (activity 'a')", "type"},
		{"bad type", `{` + base + `, "method": [{"name": "a", "type": "sleep"}]}`, "'sleep' is not a supported activity type", "method[0] (sleep 'a')", "type"},
		{"no name", `{` + base + `, "method": [{"type": "action"}]}`, "an activity must have a name", "method[0]", "name"},
		{"no provider", `{` + base + `, "method": [{"type": "action", "name": "a"}]}`, "an activity requires a provider", "method[0] (action 'a')", "provider"},
		{"provider no type", `{` + base + `, "method": [{"type": "action", "name": "a", "provider": {"x": 1}}]}`, "a provider must have a type", "method[0] (action 'a')", "provider.type"},
		{"provider bad type", `{` + base + `, "method": [{"type": "action", "name": "a", "provider": {"type": "ruby"}}]}`, "unknown provider type 'ruby'", "method[0] (action 'a')", "provider.type"},
		{"timeout", `{` + base + `, "method": [{"type": "action", "name": "a", "timeout": "3", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}}]}`,
			"activity timeout must be a number", "method[0] (action 'a')", "timeout"},
		{"pause before", `{` + base + `, "method": [{"type": "action", "name": "a", "pauses": {"before": "3"}, "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}}]}`,
			"activity before pause must be a number or a pattern to a variable from the configuration or secrets", "method[0] (action 'a')", "pauses.before"},
		{"pause after", `{` + base + `, "method": [{"type": "action", "name": "a", "pauses": {"after": true}, "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}}]}`,
			"activity after pause must be a number or a pattern to a variable from the configuration or secrets", "method[0] (action 'a')", "pauses.after"},
		{"background", `{` + base + `, "method": [{"type": "action", "name": "a", "background": "yes", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}}]}`,
			"activity background must be a boolean", "method[0] (action 'a')", "background"},
		{"python no module", `{` + base + `, "method": [{"type": "action", "name": "a", "provider": {"type": "python", "func": "f"}}]}`,
			"a Python activity must have a module path", "method[0] (action 'a')", "provider.module"},
		{"python no func", `{` + base + `, "method": [{"type": "action", "name": "a", "provider": {"type": "python", "module": "os.path"}}]}`,
			"a Python activity must have a function name", "method[0] (action 'a')", "provider.func"},
		{"python unknown module", `{` + base + `, "method": [{"type": "action", "name": "kill", "provider": {"type": "python", "module": "chaosfoo.actions", "func": "boom"}}]}`,
			"could not find Python module 'chaosfoo.actions' in activity 'kill' (no Go provider is registered for chaosfoo.actions.boom", "method[0] (action 'kill')", "provider.module"},
		{"python unknown func", `{` + base + `, "method": [{"type": "probe", "name": "p", "provider": {"type": "python", "module": "os.path", "func": "isdirectory"}}]}`,
			"The python module 'os.path' does not expose a function called 'isdirectory' in probe 'p'", "method[0] (probe 'p')", "provider.func"},
		{"python missing arg", `{` + base + `, "method": [{"type": "probe", "name": "p", "provider": {"type": "python", "module": "os.path", "func": "exists"}}]}`,
			"required argument 'path' is missing from activity 'exists'", "method[0] (probe 'p')", "provider.arguments"},
		{"python extra arg", `{` + base + `, "method": [{"type": "probe", "name": "p", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/", "follow": true}}}]}`,
			"argument 'follow' is not part of the function signature in activity 'exists'", "method[0] (probe 'p')", "provider.arguments"},
		{"no tolerance", `{` + base + `, "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}}]}, "method": []}`,
			"hypothesis probe must have a tolerance entry", "steady-state-hypothesis.probes[0] (probe 'p')", "tolerance"},
		{"float tolerance", hyp(`1.5`), toleranceTypeMessage, "steady-state-hypothesis.probes[0] (probe 'p')", "tolerance"},
		{"null tolerance", hyp(`null`), toleranceTypeMessage, "steady-state-hypothesis.probes[0] (probe 'p')", "tolerance"},
		{"regex no pattern", hyp(`{"type": "regex"}`), "hypothesis regex probe tolerance must have a `pattern` key", "steady-state-hypothesis.probes[0] (probe 'p')", "tolerance"},
		{"regex bad type", hyp(`{"type": "regex", "pattern": 12}`), "hypothesis probe tolerance pattern 12 has an invalid type", "steady-state-hypothesis.probes[0] (probe 'p')", "tolerance.pattern"},
		{"regex invalid", hyp(`{"type": "regex", "pattern": "a("}`), "hypothesis probe tolerance pattern a( seems invalid: ", "steady-state-hypothesis.probes[0] (probe 'p')", "tolerance.pattern"},
		{"jsonpath no path", hyp(`{"type": "jsonpath"}`), "hypothesis jsonpath probe tolerance must have a `path` key", "steady-state-hypothesis.probes[0] (probe 'p')", "tolerance"},
		{"jsonpath empty", hyp(`{"type": "jsonpath", "path": " "}`), "hypothesis probe tolerance JSON path cannot be empty", "steady-state-hypothesis.probes[0] (probe 'p')", "tolerance.path"},
		{"jsonpath invalid", hyp(`{"type": "jsonpath", "path": "$[?("}`), "hypothesis probe tolerance JSON path $[?( is invalid", "steady-state-hypothesis.probes[0] (probe 'p')", "tolerance.path"},
		{"range missing", hyp(`{"type": "range"}`), "hypothesis range probe tolerance must have a `range` key", "steady-state-hypothesis.probes[0] (probe 'p')", "tolerance"},
		{"range not list", hyp(`{"type": "range", "range": 3}`), "hypothesis range must be a sequence", "steady-state-hypothesis.probes[0] (probe 'p')", "tolerance.range"},
		{"range length", hyp(`{"type": "range", "range": [1, 2, 3]}`), "hypothesis range sequence must be made of two values", "steady-state-hypothesis.probes[0] (probe 'p')", "tolerance.range"},
		{"range lower", hyp(`{"type": "range", "range": ["a", 2]}`), "hypothesis range lower boundary must be a number", "steady-state-hypothesis.probes[0] (probe 'p')", "tolerance.range"},
		{"range upper", hyp(`{"type": "range", "range": [1, "b"]}`), "hypothesis range upper boundary must be a number", "steady-state-hypothesis.probes[0] (probe 'p')", "tolerance.range"},
		{"tolerance type", hyp(`{"type": "between"}`), "hypothesis probe tolerance type 'between' is unsupported", "steady-state-hypothesis.probes[0] (probe 'p')", "tolerance.type"},
		{"tolerance no type", hyp(`{"x": 1}`), "hypothesis probe tolerance type 'None' is unsupported", "steady-state-hypothesis.probes[0] (probe 'p')", "tolerance.type"},
		{"probe tolerance without value default", hyp(`{"type": "probe", "name": "t", "provider": {"type": "python", "module": "os.path", "func": "exists"}}`),
			"required argument 'path' is missing from activity 'exists'", "steady-state-hypothesis.probes[0] (probe 'p') tolerance", "provider.arguments"},
		{"control no name", `{` + base + `, "controls": [{"provider": {}}], "method": []}`, "A control must have a `name` property", "controls[0]", "name"},
		{"control no provider", `{` + base + `, "controls": [{"name": "c"}], "method": []}`, "Control 'c' must have a `provider` property", "controls[0]", "provider"},
		{"control scope", `{` + base + `, "controls": [{"name": "c", "scope": "post", "provider": {"type": "python", "module": "m"}}], "method": []}`,
			"Control 'c' scope property must be 'before' or 'after' only", "controls[0]", "scope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := mustParse(t, c.src).Validate(nil)
			require.Error(t, err)
			ps := problems(t, err)
			require.Len(t, ps, 1, "problems: %v", ps)
			require.True(t, strings.HasPrefix(ps[0].Message, c.msg), "message %q does not start with %q", ps[0].Message, c.msg)
			require.Equal(t, c.where, ps[0].Where)
			require.Equal(t, c.key, ps[0].Key)
		})
	}
}

func hyp(tol string) string {
	return `{` + base + `, "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "tolerance": ` + tol +
		`, "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}}]}, "method": []}`
}

func TestValidateAcceptsWhatChaosToolkitAccepts(t *testing.T) {
	cases := map[string]string{
		"minimal":             `{` + base + `, "method": []}`,
		"ref skips checks":    `{` + base + `, "method": [{"type": "action", "name": "a", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}}, {"ref": "a"}]}`,
		"ref to hypothesis":   `{` + base + `, "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "tolerance": true, "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}}]}, "method": [{"ref": "p"}]}`,
		"rollback ref":        `{` + base + `, "method": [], "rollbacks": [{"ref": "not-resolved-at-validation"}]}`,
		"list tolerance free": hyp(`["a", 1, true]`),
		"empty list":          hyp(`[]`),
		"pause pattern":       `{` + base + `, "method": [{"type": "action", "name": "a", "pauses": {"before": "${x}", "after": 0.5}, "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}}]}`,
		"env default null":    `{` + base + `, "configuration": {"u": {"type": "env", "key": "CHAOSTEST_SURELY_UNSET", "default": null}}, "method": []}`,
		"jsonpath dialect":    hyp(`{"type": "jsonpath", "path": "$.foo.*[?(@.baz=\"hello\")]"}`),
		"unknown keys":        `{` + base + `, "x-team": "sre", "method": [], "contributions": {"reliability": "high"}}`,
		"empty hypothesis":    `{` + base + `, "steady-state-hypothesis": {"title": "h"}, "method": []}`,
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, mustParse(t, src).Validate(nil))
		})
	}
}

func TestValidateReportsEveryProblemInOrder(t *testing.T) {
	e := mustParse(t, `{"tags": [""], "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}}]}}`)
	ps := problems(t, e.Validate(nil))
	var msgs []string
	for _, p := range ps {
		msgs = append(msgs, p.Message)
	}
	require.Equal(t, []string{
		"experiment requires a title",
		"experiment requires a description",
		"experiment tags must be a non-empty string",
		"hypothesis probe must have a tolerance entry",
		"an experiment requires a method, which can be empty for only checking steady state hypothesis ",
	}, msgs)
	require.Contains(t, e.Validate(nil).Error(), "Experiment is not valid, please fix the following errors:\n- experiment requires a title (at key 'title')")
}

func TestLoadRejectsOtherExtensions(t *testing.T) {
	p := filepath.Join(t.TempDir(), "exp.txt")
	require.NoError(t, os.WriteFile(p, []byte(`{}`), 0o644))
	_, err := Load(p)
	require.ErrorContains(t, err, "only files with json, yaml or yml extensions are supported")
}
