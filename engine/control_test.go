package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
)

// recorder records each hook it gets as "<name>:<hook>[:<activity>]" with event(). With the
// argument "interrupt" naming a hook ("before_method"), it interrupts the run there; with "fail"
// naming one, it returns a plain error there.
type recorder struct{ NopControl }

func (recorder) note(env *ControlEnv, hook, detail string) error {
	if m, ok := env.Arguments["mode"]; ok {
		setState(hook+" mode", m)
	}
	e := env.Name + ":" + hook
	if detail != "" {
		e += ":" + detail
	}
	event(e)
	if env.Arguments["interrupt"] == hook {
		return Interrupt("stopped by " + env.Name + " at " + hook)
	}
	if env.Arguments["fail"] == hook {
		return errors.New("broken " + hook)
	}
	return nil
}

func (c recorder) Configure(env *ControlEnv) error { return c.note(env, "configure", "") }
func (c recorder) Cleanup()                        { event("cleanup") }
func (c recorder) BeforeExperiment(_ context.Context, env *ControlEnv) error {
	return c.note(env, "before_experiment", "")
}
func (c recorder) AfterExperiment(_ context.Context, env *ControlEnv, j *journal.Journal) error {
	j.Experiment.Set("recorded-by-"+env.Name, true)
	return c.note(env, "after_experiment", j.Status)
}
func (c recorder) BeforeHypothesis(_ context.Context, env *ControlEnv, _ *jsonvalue.Object) error {
	return c.note(env, "before_hypothesis", "")
}
func (c recorder) AfterHypothesis(_ context.Context, env *ControlEnv, _ *jsonvalue.Object, st *journal.State) error {
	d := "nil"
	if st != nil {
		d = strings.Join(statuses(st.Probes), ",")
	}
	return c.note(env, "after_hypothesis", d)
}
func (c recorder) BeforeMethod(_ context.Context, env *ControlEnv) error {
	return c.note(env, "before_method", "")
}
func (c recorder) AfterMethod(_ context.Context, env *ControlEnv, runs []*journal.Run) error {
	d := "nil"
	if runs != nil {
		d = strings.Join(statuses(runs), ",")
	}
	return c.note(env, "after_method", d)
}
func (c recorder) BeforeRollback(_ context.Context, env *ControlEnv) error {
	return c.note(env, "before_rollback", "")
}
func (c recorder) AfterRollback(_ context.Context, env *ControlEnv, runs []*journal.Run) error {
	return c.note(env, "after_rollback", strings.Join(statuses(runs), ","))
}
func (c recorder) BeforeActivity(_ context.Context, env *ControlEnv, a *jsonvalue.Object) error {
	return c.note(env, "before_activity", pyStr(a.Value("name")))
}
func (c recorder) AfterActivity(_ context.Context, env *ControlEnv, a *jsonvalue.Object, run *journal.Run) error {
	d := pyStr(a.Value("name"))
	if run == nil {
		d += "=nil"
	}
	return c.note(env, "after_activity", d)
}

func init() {
	RegisterControl("chaostest.testing.recorder", func() Control { return recorder{} })
}

// ctl returns a control declaration for the recorder.
func ctl(name string, extra string, args string) string {
	if args == "" {
		args = "{}"
	}
	s := `{"name": "` + name + `", "provider": {"type": "python", "module": "chaostest.testing.recorder", "arguments": ` + args + `}`
	if extra != "" {
		s += ", " + extra
	}
	return s + "}"
}

func withControls(src, key string, controls ...string) string {
	return strings.Replace(src, key, `"controls": [`+strings.Join(controls, ",")+`], `+key, 1)
}

func TestControlValidation(t *testing.T) {
	mod := `"provider": {"type": "python", "module": "chaostest.testing.recorder"}`
	act := `{"type": "action", "name": "a", "provider": {"type": "python", "module": "chaostest.testing", "func": "set", "arguments": {"key": "k"}}, "controls": %s}`
	hyp := `"steady-state-hypothesis": {"title": "h", "controls": %s, "probes": [{"type": "probe", "name": "p", "tolerance": true, "provider": {"type": "python", "module": "chaostest.testing", "func": "get", "arguments": {"key": "k"}}}]}`
	at := func(level, controls string) string {
		switch level {
		case "experiment":
			return `{` + base + `, "controls": ` + controls + `, "method": []}`
		case "hypothesis":
			return `{` + base + `, ` + strings.Replace(hyp, "%s", controls, 1) + `, "method": []}`
		case "method":
			return `{` + base + `, "method": [` + strings.Replace(act, "%s", controls, 1) + `]}`
		default:
			return `{` + base + `, "method": [], "rollbacks": [` + strings.Replace(act, "%s", controls, 1) + `]}`
		}
	}
	where := map[string]string{"experiment": "", "hypothesis": "steady-state-hypothesis", "method": "method[0] (action 'a')", "rollback": "rollbacks[0] (action 'a')"}
	cases := []struct{ name, controls, msg, key string }{
		{"mapping", `{"tracing": {}}`, "A control must have a `name` property", "controls"},
		{"no name", `[{` + mod + `}]`, "A control must have a `name` property", "name"},
		{"string item", `["tracing"]`, "A control must have a `name` property", "name"},
		{"no provider", `[{"name": "c"}]`, "Control 'c' must have a `provider` property", "provider"},
		{"bad scope", `[{"name": "c", "scope": "post", ` + mod + `}]`, "Control 'c' scope property must be 'before' or 'after' only", "scope"},
		{"unknown ref", `[{"name": "c", "ref": "nowhere", ` + mod + `}]`, "Control reference '{}' declaration cannot be found", "ref"},
		{"no module", `[{"name": "c", "provider": {"type": "python"}}]`, "Control 'c' must have a module path", "provider.module"},
	}
	for _, level := range []string{"experiment", "hypothesis", "method", "rollback"} {
		for _, c := range cases {
			t.Run(level+"/"+c.name, func(t *testing.T) {
				ps := problems(t, mustParse(t, at(level, c.controls)).Validate(nil))
				require.Len(t, ps, 1, "%v", ps)
				assert.Equal(t, c.msg, ps[0].Message)
				assert.Equal(t, c.key, ps[0].Key)
				w := where[level]
				if c.key != "controls" {
					if w != "" {
						w += " "
					}
					w += "controls[0]"
				}
				assert.Equal(t, w, ps[0].Where)
			})
		}
		t.Run(level+"/valid", func(t *testing.T) {
			e := mustParse(t, at(level, `[{"name": "c", "scope": "before", `+mod+`}, {"name": "m", "provider": {"type": "python", "module": "no.such.module"}}]`))
			require.NoError(t, e.Validate(nil))
			assert.Equal(t, []string{"Could not find Python module 'no.such.module' in control 'm'. Did you install the Python module? The experiment will carry on running nonetheless."}, e.ControlWarnings())
		})
	}
	t.Run("ref to a declared control", func(t *testing.T) {
		src := `{` + base + `, "controls": [{"name": "top", "automatic": false, ` + mod + `}], "method": [` +
			strings.Replace(act, "%s", `[{"name": "use", "ref": "top", `+mod+`}]`, 1) + `]}`
		require.NoError(t, mustParse(t, src).Validate(nil))
	})
}

func TestControlWarningIsLoggedAndRunCarriesOn(t *testing.T) {
	src := withControls(experiment(nil, []string{act("action", "a", "set", `{"key": "k", "value": 1}`)}, nil), `"method"`,
		`{"name": "tracing", "provider": {"type": "python", "module": "chaostracing.control"}}`)
	var lines []string
	e := mustParse(t, src)
	j, err := Run(context.Background(), e, Settings{Log: func(l Level, m string) { lines = append(lines, string(l)+" "+m) }})
	require.NoError(t, err)
	assert.Equal(t, journal.StatusCompleted, j.Status)
	assert.Equal(t, []string{"a:succeeded"}, statuses(j.Run))
	assert.Contains(t, lines, "WARNING Could not find Python module 'chaostracing.control' in control 'tracing'. Did you install the Python module? The experiment will carry on running nonetheless.")
}

// TestControlHookOrder checks the levels and their order against the list confirmed with
// chaoslib 1.44 (compat §1.5): a global control, an automatic and a non-automatic top-level
// control, a hypothesis-level and an activity-level one.
func TestControlHookOrder(t *testing.T) {
	method := []string{
		strings.Replace(act("action", "break", "set", `{"key": "up", "value": true}`), `"provider"`, `"controls": [`+ctl("X", "", "")+`], "provider"`, 1),
		act("action", "noop", "get", `{"key": "up"}`),
	}
	src := experiment([]string{probe("healthy", "get", `{"key": "up"}`, `true`)}, method, []string{rollbackIt})
	src = strings.Replace(src, `"probes"`, `"controls": [`+ctl("H", "", "")+`], "probes"`, 1)
	src = withControls(src, `"steady-state-hypothesis"`, ctl("A", "", `{"mode": "${mode}"}`), ctl("B", `"automatic": false`, ""))
	src = strings.Replace(src, `"title": "t"`, `"title": "t", "configuration": {"mode": "strict"}`, 1)
	resetState()
	setState("up", true)
	e := mustParse(t, src)
	j, err := Run(context.Background(), e, Settings{Controls: []ControlSpec{{Name: "G", Control: recorder{}}}})
	require.NoError(t, err)
	assert.Equal(t, journal.StatusCompleted, j.Status)
	want := []string{
		"G:configure", "A:configure", "B:configure", "H:configure", "X:configure",
		"G:before_experiment", "A:before_experiment", "B:before_experiment",
		"A:before_hypothesis", "G:before_hypothesis", "H:before_hypothesis",
		"A:before_activity:healthy", "G:before_activity:healthy", "get up", "A:after_activity:healthy", "G:after_activity:healthy",
		"A:after_hypothesis:healthy:succeeded", "G:after_hypothesis:healthy:succeeded", "H:after_hypothesis:healthy:succeeded",
		"A:before_method",
		"A:before_activity:break", "G:before_activity:break", "X:before_activity:break", "set up", "A:after_activity:break", "G:after_activity:break", "X:after_activity:break",
		"A:before_activity:noop", "G:before_activity:noop", "get up", "A:after_activity:noop", "G:after_activity:noop",
		"A:after_method:break:succeeded,noop:succeeded",
		"A:before_hypothesis", "G:before_hypothesis", "H:before_hypothesis",
		"A:before_activity:healthy", "G:before_activity:healthy", "get up", "A:after_activity:healthy", "G:after_activity:healthy",
		"A:after_hypothesis:healthy:succeeded", "G:after_hypothesis:healthy:succeeded", "H:after_hypothesis:healthy:succeeded",
		"A:before_rollback",
		"A:before_activity:repair", "G:before_activity:repair", "set repaired", "A:after_activity:repair", "G:after_activity:repair",
		"A:after_rollback:repair:succeeded",
		"G:after_experiment:completed", "A:after_experiment:completed", "B:after_experiment:completed",
		"cleanup", "cleanup", "cleanup", "cleanup", "cleanup",
	}
	assert.Equal(t, want, takeEvents())
	assert.Equal(t, true, j.Experiment.Value("recorded-by-A"), "after_experiment changes the saved journal")
	// Arguments: substituted in hooks, as written in configure.
	assert.Equal(t, "${mode}", getState("configure mode"), "configure gets the arguments unsubstituted")
	assert.Equal(t, "strict", getState("before_experiment mode"), "hooks get them substituted")
}

func TestControlActivityLevelOnly(t *testing.T) {
	// No top-level controls: an activity's own control applies to it alone.
	method := []string{
		strings.Replace(act("action", "one", "set", `{"key": "k", "value": 1}`), `"provider"`, `"controls": [`+ctl("X", `"scope": "after"`, "")+`], "provider"`, 1),
		act("action", "two", "set", `{"key": "k", "value": 2}`),
	}
	resetState()
	_, err := Run(context.Background(), mustParse(t, experiment(nil, method, nil)), Settings{})
	require.NoError(t, err)
	assert.Equal(t, []string{"X:configure", "set k", "X:after_activity:one", "set k", "cleanup"}, takeEvents(), "scope after: no before hooks")
}

func TestControlInterruptBeforeMethod(t *testing.T) {
	for _, strategy := range []RollbackStrategy{RollbackDefault, RollbackAlways} {
		t.Run(string(strategy), func(t *testing.T) {
			src := withControls(experiment([]string{healthyProbe}, []string{breakIt}, []string{rollbackIt}), `"steady-state-hypothesis"`,
				ctl("stop", "", `{"interrupt": "before_method"}`))
			resetState()
			setState("up", true)
			var lines []string
			j, err := Run(context.Background(), mustParse(t, src), Settings{RollbackStrategy: strategy,
				Log: func(l Level, m string) { lines = append(lines, string(l)+" "+m) }})
			require.NoError(t, err)
			assert.Equal(t, journal.StatusInterrupted, j.Status)
			assert.False(t, j.Deviated)
			assert.Empty(t, j.Run, "the method did not run")
			assert.Nil(t, j.SteadyStates.After, "no hypothesis after an interrupted method")
			ev := takeEvents()
			assert.Contains(t, ev, "stop:after_method:nil", "after_method is still called, with no state")
			assert.NotContains(t, ev, "set up")
			assert.Contains(t, lines, "CRITICAL Experiment interrupted: stopped by stop at before_method")
			if strategy == RollbackAlways {
				assert.Equal(t, []string{"repair:succeeded"}, statuses(j.Rollbacks))
				assert.Contains(t, ev, "set repaired")
			} else {
				assert.Empty(t, j.Rollbacks)
				assert.NotContains(t, ev, "set repaired")
			}
			assert.Equal(t, "stop:after_experiment:interrupted", ev[len(ev)-2])
		})
	}
}

func TestControlInterruptBeforeExperimentAndActivity(t *testing.T) {
	t.Run("before_experiment", func(t *testing.T) {
		src := withControls(experiment([]string{healthyProbe}, []string{breakIt}, []string{rollbackIt}), `"steady-state-hypothesis"`,
			ctl("stop", "", `{"interrupt": "before_experiment"}`))
		resetState()
		j, err := Run(context.Background(), mustParse(t, src), Settings{})
		require.NoError(t, err)
		assert.Equal(t, journal.StatusInterrupted, j.Status)
		assert.Nil(t, j.SteadyStates.Before)
		assert.Empty(t, j.Run)
		assert.Empty(t, j.Rollbacks)
		assert.Equal(t, []string{"stop:configure", "stop:before_experiment", "stop:after_experiment:interrupted", "cleanup"}, takeEvents())
	})
	t.Run("before_activity", func(t *testing.T) {
		second := act("action", "second", "set", `{"key": "second", "value": 1}`)
		src := withControls(experiment(nil, []string{breakIt, second}, []string{rollbackIt}), `"method"`,
			ctl("stop", "", `{"interrupt": "before_activity"}`))
		resetState()
		j, err := Run(context.Background(), mustParse(t, src), Settings{RollbackStrategy: RollbackAlways})
		require.NoError(t, err)
		assert.Equal(t, journal.StatusInterrupted, j.Status)
		require.Len(t, j.Run, 1, "the second activity never starts")
		assert.Equal(t, "", j.Run[0].Status, "the cut record has no status")
		assert.NotEmpty(t, j.Run[0].Start)
		ev := takeEvents()
		assert.NotContains(t, ev, "set up")
		assert.Contains(t, ev, "stop:after_activity:break=nil")
		// The rollback's own before_activity is an interruption too, once rollbacks started it
		// is ignored: the rollback runs.
		assert.Contains(t, ev, "set repaired")
	})
	t.Run("a failing control is logged and ignored", func(t *testing.T) {
		src := withControls(experiment(nil, []string{breakIt}, nil), `"method"`, ctl("flaky", "", `{"fail": "before_method"}`))
		resetState()
		var lines []string
		j, err := Run(context.Background(), mustParse(t, src), Settings{Log: func(l Level, m string) { lines = append(lines, string(l)+" "+m) }})
		require.NoError(t, err)
		assert.Equal(t, journal.StatusCompleted, j.Status)
		assert.Equal(t, []string{"break:succeeded"}, statuses(j.Run))
		assert.Contains(t, lines, "WARNING Before-control 'flaky' failed on 'method': broken before_method")
	})
}

// loadRecorder is recorder plus the loader hooks.
type loadRecorder struct{ recorder }

func (loadRecorder) BeforeLoadingExperiment(env *ControlEnv, source string) error {
	event(env.Name + ":before_loading:" + filepath.Base(source))
	return nil
}

func (loadRecorder) AfterLoadingExperiment(env *ControlEnv, _ string, exp *jsonvalue.Object) error {
	event(env.Name + ":after_loading:" + pyStr(exp.Value("title")))
	return nil
}

func TestWithControlOnLoadControlled(t *testing.T) {
	resetState()
	p := filepath.Join(t.TempDir(), "exp.json")
	require.NoError(t, os.WriteFile(p, []byte(experiment(nil, []string{act("action", "a", "set", `{"key": "k", "value": 1}`)}, nil)), 0o644))
	s := Settings{Controls: []ControlSpec{{Name: "rec", Control: loadRecorder{}}}}
	e, err := LoadControlled(p, LoadOptions{}, s)
	require.NoError(t, err)
	j, err := Run(context.Background(), e, s)
	require.NoError(t, err)
	assert.Equal(t, journal.StatusCompleted, j.Status)
	ev := takeEvents()
	require.GreaterOrEqual(t, len(ev), 3)
	assert.Equal(t, []string{"rec:before_loading:exp.json", "rec:after_loading:t", "rec:configure"}, ev[:3])
	assert.Contains(t, ev, "rec:before_activity:a")
}

// TestControlsWithConcurrentHooks: with the hypothesis checked while the method runs and a
// background activity, hooks run on several goroutines; the run stays consistent (go test -race).
func TestControlsWithConcurrentHooks(t *testing.T) {
	bgAct := act("action", "bg", "wait", fmt.Sprintf(`{"name": "bg-%d", "seconds": 0.3}`, time.Now().UnixNano()))
	bgAct = strings.Replace(bgAct, `"provider"`, `"background": true, "controls": [`+ctl("B", "", "")+`], "provider"`, 1)
	fg := act("action", "fg", "wait", fmt.Sprintf(`{"name": "fg-%d", "seconds": 0.3}`, time.Now().UnixNano()))
	src := withControls(experiment([]string{healthyProbe}, []string{bgAct, fg}, nil), `"steady-state-hypothesis"`, ctl("A", "", ""))
	resetState()
	setState("up", true)
	e := mustParse(t, src)
	j, err := Run(context.Background(), e, Settings{HypothesisStrategy: StrategyContinuously, HypothesisFrequency: 20 * time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, journal.StatusCompleted, j.Status)
	assert.NotEmpty(t, j.SteadyStates.During)
	ev := takeEvents()
	count := func(e string) int {
		n := 0
		for _, x := range ev {
			if x == e {
				n++
			}
		}
		return n
	}
	checks, _ := journal.DuringCounts(j.SteadyStates.During)
	assert.Equal(t, 2+checks, count("A:before_hypothesis"), "before, after and each check during the method")
	assert.Equal(t, 1, count("B:before_activity:bg"))
	assert.Equal(t, 1, count("A:after_activity:fg"))
}

func TestControlConfiguredOncePerNameWithFirstArguments(t *testing.T) {
	method := []string{strings.Replace(act("action", "one", "set", `{"key": "k", "value": 1}`), `"provider"`,
		`"controls": [`+ctl("A", "", `{"mode": "second"}`)+`], "provider"`, 1)}
	src := withControls(experiment(nil, method, nil), `"method"`, ctl("A", `"automatic": false`, `{"mode": "first"}`))
	resetState()
	_, err := Run(context.Background(), mustParse(t, src), Settings{})
	require.NoError(t, err)
	ev := takeEvents()
	assert.Equal(t, "first", getState("configure mode"), "the first declaration's arguments")
	assert.Equal(t, "second", getState("before_activity mode"), "the activity's own declaration at its level")
	n := 0
	for _, e := range ev {
		if e == "A:configure" || e == "cleanup" {
			n++
		}
	}
	assert.Equal(t, 2, n, "one configure and one cleanup for the name: %v", ev)
}
