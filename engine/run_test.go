package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// Test providers, registered under Python names so experiments in JSON can call them.
var (
	stateMu sync.Mutex
	state   = map[string]any{}
	events  []string
)

func setState(k string, v any) {
	stateMu.Lock()
	defer stateMu.Unlock()
	state[k] = v
}

func getState(k string) any {
	stateMu.Lock()
	defer stateMu.Unlock()
	return state[k]
}

func event(e string) {
	stateMu.Lock()
	defer stateMu.Unlock()
	events = append(events, e)
}

func takeEvents() []string {
	stateMu.Lock()
	defer stateMu.Unlock()
	e := events
	events = nil
	return e
}

func resetState() {
	stateMu.Lock()
	defer stateMu.Unlock()
	state = map[string]any{}
	events = nil
}

type kvArgs struct {
	Key   string `arg:"key"`
	Value any    `arg:"value" default:"null"`
}

type msgArgs struct {
	Message string `arg:"message" default:"\"boom\""`
}

type waitArgs struct {
	Name    string  `arg:"name"`
	Seconds float64 `arg:"seconds" default:"3600"`
	For     string  `arg:"for" default:"\"\""`
}

var (
	signalsMu sync.Mutex
	signals   = map[string]chan struct{}{}
)

func signal(name string) chan struct{} {
	signalsMu.Lock()
	defer signalsMu.Unlock()
	if c, ok := signals[name]; ok {
		return c
	}
	c := make(chan struct{})
	signals[name] = c
	return c
}

func init() {
	provider.Register("chaostest.testing.set", "Set key to value; record an event.", func(_ context.Context, _ provider.Env, a kvArgs) (any, error) {
		setState(a.Key, a.Value)
		event("set " + a.Key)
		return a.Value, nil
	})
	provider.Register("chaostest.testing.get", "Return the value of key.", func(_ context.Context, _ provider.Env, a kvArgs) (any, error) {
		event("get " + a.Key)
		return getState(a.Key), nil
	})
	provider.Register("chaostest.testing.fail", "Fail with message.", func(_ context.Context, _ provider.Env, a msgArgs) (any, error) {
		event("fail")
		return nil, errors.New(a.Message)
	})
	provider.Register("chaostest.testing.crash", "Crash with message.", func(_ context.Context, _ provider.Env, a msgArgs) (any, error) {
		event("crash")
		return nil, provider.Crash(errors.New(a.Message))
	})
	provider.Register("chaostest.testing.panic", "Panic with message.", func(_ context.Context, _ provider.Env, a msgArgs) (any, error) {
		event("panic")
		panic(a.Message)
	})
	// wait announces it started (closing signal name), optionally waits for another signal, then
	// sleeps up to seconds or until its context ends.
	provider.Register("chaostest.testing.wait", "Announce, wait for another, sleep.", func(ctx context.Context, _ provider.Env, a waitArgs) (any, error) {
		event("start " + a.Name)
		close(signal(a.Name))
		if a.For != "" {
			select {
			case <-signal(a.For):
			case <-ctx.Done():
				return nil, fmt.Errorf("%s: gave up waiting for %s: %w", a.Name, a.For, ctx.Err())
			}
			event("end " + a.Name)
			return a.Name, nil
		}
		t := time.NewTimer(time.Duration(a.Seconds * float64(time.Second)))
		defer t.Stop()
		select {
		case <-t.C:
			event("end " + a.Name)
			return a.Name, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
}

func act(typ, name, fn string, args string) string {
	if args == "" {
		args = "{}"
	}
	return fmt.Sprintf(`{"type": %q, "name": %q, "provider": {"type": "python", "module": "chaostest.testing", "func": %q, "arguments": %s}}`, typ, name, fn, args)
}

func probe(name, fn, args, tol string) string {
	a := act("probe", name, fn, args)
	return a[:len(a)-1] + `, "tolerance": ` + tol + `}`
}

func experiment(hypProbes []string, method []string, rollbacks []string) string {
	s := `{"title": "t", "description": "d"`
	if hypProbes != nil {
		s += `, "steady-state-hypothesis": {"title": "h", "probes": [` + strings.Join(hypProbes, ",") + `]}`
	}
	s += `, "method": [` + strings.Join(method, ",") + `]`
	if rollbacks != nil {
		s += `, "rollbacks": [` + strings.Join(rollbacks, ",") + `]`
	}
	return s + "}"
}

func runJSON(t *testing.T, src string, s Settings) *journal.Journal {
	t.Helper()
	resetState()
	e := mustParse(t, src)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var lines []string
	var mu sync.Mutex
	s.Log = func(l Level, m string) { mu.Lock(); lines = append(lines, string(l)+" "+m); mu.Unlock() }
	j, err := Run(ctx, e, s)
	require.NoError(t, err)
	require.NotEmpty(t, j.End)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", strings.Join(lines, "\n"))
		}
	})
	return j
}

var (
	healthyProbe = probe("healthy", "get", `{"key": "up"}`, `true`)
	breakIt      = act("action", "break", "set", `{"key": "up", "value": false}`)
	rollbackIt   = act("action", "repair", "set", `{"key": "repaired", "value": true}`)
	failAction   = act("action", "failing", "fail", `{"message": "boom"}`)
	failProbe    = probe("raising", "fail", `{"message": "cannot reach"}`, `true`)
)

func statuses(runs []*journal.Run) []string {
	var s []string
	for _, r := range runs {
		s = append(s, r.Name()+":"+r.Status)
	}
	return s
}

func TestFailureMatrix(t *testing.T) {
	setUp := act("action", "set-up", "set", `{"key": "up", "value": true}`)
	// A hypothesis probe that reads "up": the method can change what it sees.
	cases := []struct {
		name           string
		src            string
		settings       Settings
		status         string
		deviated       bool
		rollbacksRun   bool
		methodStatuses []string
	}{
		{"all good", experiment([]string{probe("fixed", "set", `{"key": "x", "value": 1}`, `1`)}, []string{setUp}, []string{rollbackIt}),
			Settings{}, "completed", false, true, []string{"set-up:succeeded"}},
		{"failed action does not fail the run", experiment([]string{probe("fixed", "set", `{"key": "x", "value": 1}`, `1`)}, []string{failAction, setUp}, []string{rollbackIt}),
			Settings{}, "completed", false, true, []string{"failing:failed", "set-up:succeeded"}},
		{"method probe tolerance is not checked", experiment(nil, []string{probe("p", "set", `{"key": "x", "value": 1}`, `2`)}, []string{rollbackIt}),
			Settings{}, "completed", false, true, []string{"p:succeeded"}},
		{"before hypothesis missed by tolerance", experiment([]string{probe("fixed", "set", `{"key": "x", "value": 1}`, `2`)}, []string{setUp}, []string{rollbackIt}),
			Settings{}, "completed", false, true, nil},
		{"before hypothesis probe raised", experiment([]string{failProbe}, []string{setUp}, []string{rollbackIt}),
			Settings{}, "failed", false, false, nil},
		{"before hypothesis probe raised, always", experiment([]string{failProbe}, []string{setUp}, []string{rollbackIt}),
			Settings{RollbackStrategy: "always"}, "failed", false, true, nil},
		{"after hypothesis missed", experiment([]string{probe("up", "get", `{"key": "up"}`, `[true, null, "unset"]`)}, []string{breakIt}, []string{rollbackIt}),
			Settings{}, "completed", true, true, []string{"break:succeeded"}},
		{"crash aborts the method", experiment(nil, []string{act("action", "crashing", "crash", ""), setUp}, []string{rollbackIt}),
			Settings{}, "aborted", false, true, []string{"crashing:"}},
		{"deviated strategy plays on deviation", experiment([]string{probe("up", "get", `{"key": "up"}`, `[true, null, "unset"]`)}, []string{breakIt}, []string{rollbackIt}),
			Settings{RollbackStrategy: "deviated"}, "completed", true, true, []string{"break:succeeded"}},
		{"deviated strategy skips otherwise", experiment(nil, []string{setUp}, []string{rollbackIt}),
			Settings{RollbackStrategy: "deviated"}, "completed", false, false, []string{"set-up:succeeded"}},
		{"never", experiment(nil, []string{setUp}, []string{rollbackIt}),
			Settings{RollbackStrategy: "never"}, "completed", false, false, []string{"set-up:succeeded"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := runJSON(t, c.src, c.settings)
			require.Equal(t, c.status, j.Status)
			require.Equal(t, c.deviated, j.Deviated)
			require.Equal(t, c.rollbacksRun, len(j.Rollbacks) == 1, "rollbacks: %v", statuses(j.Rollbacks))
			require.Equal(t, c.methodStatuses, statuses(j.Run))
		})
	}
}

func TestAfterHypothesisProbeRaisingFailsAndSkipsRollbacks(t *testing.T) {
	// The probe fails only once "broken" is set by the method.
	src := experiment([]string{probe("guard", "get", `{"key": "broken"}`, `[null, "a", "b"]`)},
		[]string{act("action", "break", "set", `{"key": "broken", "value": true}`)}, []string{rollbackIt})
	src = strings.Replace(src, `"probes": [`, `"probes": [`+probe("first", "set", `{"key": "z", "value": 0}`, `0`)+`,`, 1)
	j := runJSON(t, src, Settings{})
	require.Equal(t, "completed", j.Status)
	require.True(t, j.Deviated)

	// Now a raising after-probe: status failed, deviated, rollbacks skipped (Ferkhan journal).
	src = experiment([]string{probe("reach", "get", `{"key": "ok"}`, `null`)},
		[]string{act("action", "swap", "set", `{"key": "ok", "value": 1}`)}, []string{rollbackIt})
	hyp := `{"title": "h", "probes": [` + probe("reach", "get", `{"key": "ok"}`, `null`) + `]}`
	_ = hyp
	e := mustParse(t, src)
	// Replace the hypothesis probe with a Go probe that raises after the method ran.
	p := Go("raise after", func(context.Context, provider.Env) (any, error) {
		if getState("ok") != nil {
			return nil, errors.New("connection refused")
		}
		return nil, nil
	}).Named("reach").Want(true)
	p.obj.Set("type", "probe")
	e.attach(p)
	e.obj.Value("steady-state-hypothesis").(*jsonvalue.Object).Set("probes", []any{p.obj})
	resetState()
	p.check = nil
	p.obj.Set("tolerance", nil)
	j, err := Run(context.Background(), e, Settings{NoValidation: true})
	require.NoError(t, err)
	require.Equal(t, "failed", j.Status)
	require.True(t, j.Deviated)
	require.Empty(t, j.Rollbacks)
	require.Equal(t, journal.RunFailed, j.SteadyStates.After.Probes[0].Status)
	require.False(t, *j.SteadyStates.After.Probes[0].ToleranceMet)
	require.Equal(t, []string{"chaoslib.exceptions.ActivityFailed: connection refused\n"}, j.SteadyStates.After.Probes[0].Exception)
}

func TestHypothesisStopsAtFirstMiss(t *testing.T) {
	src := experiment([]string{
		probe("a", "set", `{"key": "a", "value": 1}`, `1`),
		probe("b", "set", `{"key": "b", "value": 2}`, `3`),
		probe("c", "set", `{"key": "c", "value": 3}`, `3`),
	}, []string{}, nil)
	j := runJSON(t, src, Settings{})
	require.Len(t, j.SteadyStates.Before.Probes, 2)
	require.True(t, *j.SteadyStates.Before.Probes[0].ToleranceMet)
	require.False(t, *j.SteadyStates.Before.Probes[1].ToleranceMet)
	require.False(t, j.SteadyStates.Before.SteadyStateMet)
	require.Nil(t, j.SteadyStates.After)
	require.Empty(t, j.Run)
}

func TestStrategies(t *testing.T) {
	src := experiment([]string{probe("p", "set", `{"key": "x", "value": 1}`, `1`)},
		[]string{act("action", "slow", "wait", `{"name": "slow", "seconds": 0.3}`)}, nil)
	cases := []struct {
		strategy              HypothesisStrategy
		before, after, during bool
	}{
		{"default", true, true, false},
		{"before-method-only", true, false, false},
		{"after-method-only", false, true, false},
		{"during-method-only", false, false, true},
		{"continuously", true, true, true},
	}
	for _, c := range cases {
		t.Run(string(c.strategy), func(t *testing.T) {
			signals = map[string]chan struct{}{}
			j := runJSON(t, src, Settings{HypothesisStrategy: c.strategy, HypothesisFrequency: 50 * time.Millisecond})
			require.Equal(t, c.before, j.SteadyStates.Before != nil)
			require.Equal(t, c.after, j.SteadyStates.After != nil)
			require.Equal(t, c.during, len(j.SteadyStates.During) > 0, "during: %d", len(j.SteadyStates.During))
			require.Equal(t, "completed", j.Status)
		})
	}
}

func TestRuntimeBlockStrategies(t *testing.T) {
	e := mustParse(t, `{"title": "t", "description": "d", "method": [], "runtime": {"rollbacks": {"strategy": "always"}}}`)
	h, rb, err := e.Strategies("", "")
	require.NoError(t, err)
	require.Equal(t, []string{"default", "always"}, []string{string(h), string(rb)})
	h, rb, err = e.Strategies("continously", "never")
	require.NoError(t, err)
	require.Equal(t, []string{"continuously", "never"}, []string{string(h), string(rb)})
	_, _, err = mustParse(t, `{"runtime": {"hypothesis": {"strategy": "sometimes"}}}`).Strategies("", "")
	require.ErrorContains(t, err, `unknown hypothesis strategy "sometimes"`)
	_, _, err = mustParse(t, `{"runtime": {"rollbacks": {"strategy": "sometimes"}}}`).Strategies("", "")
	require.EqualError(t, err, `unknown rollback strategy "sometimes": want default, always, never or deviated`)
}

// TestSettingsStrategiesAreChecked: a strategy set in Go that Chaos Toolkit does not know stops
// the run before anything runs, with an error naming the value and the valid ones.
func TestSettingsStrategiesAreChecked(t *testing.T) {
	e := mustParse(t, `{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "python", "module": "m", "func": "f"}}]}`)
	_, err := Run(context.Background(), e, Settings{HypothesisStrategy: "sometimes", NoValidation: true})
	require.EqualError(t, err, `unknown hypothesis strategy "sometimes": want default, before-method-only, after-method-only, during-method-only or continuously`)
	_, err = Run(context.Background(), e, Settings{RollbackStrategy: "Always", NoValidation: true})
	require.EqualError(t, err, `unknown rollback strategy "Always": want default, always, never or deviated`)
	for _, s := range []string{"", "default", "before-method-only", "after-method-only", "during-method-only", "continuously", "continously", "skip"} {
		_, err := ParseHypothesisStrategy(s)
		require.NoError(t, err, s)
	}
	h, _ := ParseHypothesisStrategy("continously")
	require.Equal(t, StrategyContinuously, h)
}

func TestFailFastDuringMethod(t *testing.T) {
	signals = map[string]chan struct{}{}
	// The hypothesis holds until the first action breaks it; the second action waits an hour unless
	// fail fast stops the method first. The method loop checks the status between activities.
	src := experiment([]string{probe("up", "get", `{"key": "up"}`, `[true, null, "unset"]`)},
		[]string{breakIt, act("action", "short", "wait", `{"name": "short", "seconds": 0.3}`), act("action", "never-runs", "set", `{"key": "n", "value": 1}`)}, []string{rollbackIt})
	j := runJSON(t, src, Settings{HypothesisStrategy: "during-method-only", HypothesisFrequency: 20 * time.Millisecond, FailFast: true})
	require.Equal(t, "failed", j.Status)
	require.False(t, j.Deviated)
	require.NotEmpty(t, j.SteadyStates.During)
	require.False(t, j.SteadyStates.During[len(j.SteadyStates.During)-1].SteadyStateMet)
	require.NotContains(t, statuses(j.Run), "never-runs:succeeded")
	require.Empty(t, j.Rollbacks, "default strategy skips rollbacks on failed")
}

func TestDryModes(t *testing.T) {
	src := experiment([]string{probe("wrong", "set", `{"key": "x", "value": 1}`, `2`)},
		[]string{act("action", "mutate", "set", `{"key": "mutated", "value": true}`)}, nil)
	src = strings.Replace(src, `"arguments": {"key": "mutated", "value": true}}`, `"arguments": {"key": "mutated", "value": true}}, "pauses": {"before": 3600}`, 1)
	t.Run("actions", func(t *testing.T) {
		src := experiment(nil, []string{act("action", "mutate", "set", `{"key": "mutated", "value": true}`)}, nil)
		j := runJSON(t, src, Settings{Dry: DryActions})
		require.Nil(t, getState("mutated"))
		require.Equal(t, journal.RunSucceeded, j.Run[0].Status)
		require.Nil(t, j.Run[0].Output)
		require.Equal(t, "actions", j.Experiment.Value("dry"))
	})
	t.Run("activities", func(t *testing.T) {
		j := runJSON(t, src, Settings{Dry: DryActivities})
		require.Equal(t, "completed", j.Status)
		require.True(t, j.SteadyStates.Before.SteadyStateMet, "dry probes count as met")
		require.True(t, *j.SteadyStates.Before.Probes[0].ToleranceMet)
		require.Nil(t, getState("mutated"))
		require.Empty(t, takeEvents(), "no provider was called")
	})
	t.Run("probes", func(t *testing.T) {
		j := runJSON(t, strings.Replace(src, `"pauses": {"before": 3600}`, `"pauses": {"before": 0}`, 1), Settings{Dry: DryProbes})
		require.True(t, j.SteadyStates.Before.SteadyStateMet)
		require.Equal(t, true, getState("mutated"))
	})
	t.Run("pause", func(t *testing.T) {
		ok := probe("right", "set", `{"key": "x", "value": 1}`, `1`)
		j := runJSON(t, strings.Replace(src, probe("wrong", "set", `{"key": "x", "value": 1}`, `2`), ok, 1), Settings{Dry: DryPause})
		require.Equal(t, "completed", j.Status, "the hour-long pause was skipped")
		require.Equal(t, true, getState("mutated"))
	})
	t.Run("no dry", func(t *testing.T) {
		j := runJSON(t, experiment(nil, nil, nil), Settings{})
		require.Nil(t, j.Experiment.Value("dry"))
		require.True(t, j.Experiment.Has("dry"))
	})
}

func TestBackgroundActivitiesRunConcurrently(t *testing.T) {
	signals = map[string]chan struct{}{}
	// a waits for b and b waits for a: they can only finish if they run at the same time.
	a := act("action", "a", "wait", `{"name": "a", "for": "b"}`)
	b := act("action", "b", "wait", `{"name": "b", "for": "a"}`)
	a = a[:len(a)-1] + `, "background": true}`
	b = b[:len(b)-1] + `, "background": true}`
	after := probe("after", "get", `{"key": "x"}`, `[null, "a", "b"]`)
	src := experiment([]string{after}, []string{a, b}, nil)
	j := runJSON(t, src, Settings{})
	require.Equal(t, "completed", j.Status)
	require.Equal(t, []string{"a:succeeded", "b:succeeded"}, statuses(j.Run), "records in start order")
	ev := takeEvents()
	require.Equal(t, "get x", ev[len(ev)-1], "the after-hypothesis waited for the background activities: %v", ev)
}

func TestPauseStopsWhenContextEnds(t *testing.T) {
	resetState()
	e := mustParse(t, experiment(nil, []string{strings.TrimSuffix(act("action", "then-pause", "set", `{"key": "x", "value": 1}`), "}") + `, "pauses": {"after": 3600}}`}, []string{rollbackIt}))
	ctx, cancel := context.WithCancel(context.Background())
	var logs []string
	var mu sync.Mutex
	done := make(chan *journal.Journal)
	go func() {
		j, _ := Run(ctx, e, Settings{Log: func(l Level, m string) {
			mu.Lock()
			logs = append(logs, m)
			mu.Unlock()
			if strings.HasPrefix(m, "Pausing after activity for 3600s") {
				cancel()
			}
		}})
		done <- j
	}()
	select {
	case j := <-done:
		require.Equal(t, "interrupted", j.Status)
		require.Empty(t, j.Rollbacks, "default strategy does not play rollbacks when interrupted")
	case <-time.After(15 * time.Second):
		t.Fatal("the pause did not stop when the context ended")
	}
}

func TestActivityTimeoutIsEnforced(t *testing.T) {
	signals = map[string]chan struct{}{}
	a := strings.TrimSuffix(act("action", "slow", "wait", `{"name": "slow", "seconds": 3600}`), "}") + `, "timeout": 0.05}`
	j := runJSON(t, experiment(nil, []string{a}, nil), Settings{})
	require.Equal(t, journal.RunFailed, j.Run[0].Status)
	require.Contains(t, j.Run[0].Exception[len(j.Run[0].Exception)-1], "chaoslib.exceptions.ActivityFailed: activity took longer than its timeout of 0.05s")
}

func TestPanickingProviderFailsAndRollbacksRun(t *testing.T) {
	j := runJSON(t, experiment(nil, []string{act("action", "kaboom", "panic", `{"message": "nil map"}`)}, []string{rollbackIt}), Settings{})
	require.Equal(t, "completed", j.Status)
	require.Equal(t, journal.RunFailed, j.Run[0].Status)
	last := j.Run[0].Exception[len(j.Run[0].Exception)-1]
	require.Equal(t, "chaoslib.exceptions.ActivityFailed: panic: nil map\n", last)
	require.Equal(t, "Traceback (most recent call last):\n", j.Run[0].Exception[0])
	require.Equal(t, []string{"repair:succeeded"}, statuses(j.Rollbacks))
}

func TestRefsAndMissingRefAtRunTime(t *testing.T) {
	src := experiment([]string{probe("p", "set", `{"key": "x", "value": 1}`, `1`)}, []string{`{"ref": "p"}`}, nil)
	j := runJSON(t, src, Settings{})
	require.Equal(t, "completed", j.Status)
	require.Equal(t, int64(1), j.Run[0].Activity.Value("tolerance"), "the journal records the resolved activity")

	src = experiment(nil, []string{`{"ref": "missing"}`}, []string{rollbackIt})
	j = runJSON(t, src, Settings{NoValidation: true})
	require.Equal(t, "aborted", j.Status)
	require.Len(t, j.Rollbacks, 1, "aborted runs play rollbacks")
}

func TestToleranceCrashAbortsWithAJournal(t *testing.T) {
	src := experiment([]string{probe("text", "set", `{"key": "x", "value": "abc"}`, `{"type": "range", "range": [1, 2]}`)}, []string{}, nil)
	src = strings.Replace(src, `"value": "abc"`, `"value": {"nested": 1}`, 1)
	j := runJSON(t, src, Settings{})
	require.Equal(t, "aborted", j.Status)
	require.NotNil(t, j.SteadyStates.Before)
}

func TestSubstitutionTitleAndSecretsMasked(t *testing.T) {
	src := `{"title": "Kill ${svc}", "description": "d", "configuration": {"svc": "greeter"},
		"secrets": {"k8s": {"token": "s3cr3t", "from_env": {"type": "env", "key": "HOME"}}}, "method": []}`
	j := runJSON(t, src, Settings{})
	require.Equal(t, "Kill greeter", j.Experiment.Value("title"))
	b, err := journal.Encode(j)
	require.NoError(t, err)
	require.NotContains(t, string(b), "s3cr3t")
	require.Contains(t, string(b), SecretMask)
	require.Contains(t, string(b), `"key": "HOME"`)
}

func TestVarOverridesDeclaredKeysOnly(t *testing.T) {
	src := `{"title": "t ${a} ${b}", "description": "d", "configuration": {"a": "file"}, "method": []}`
	j := runJSON(t, src, Settings{Vars: &Vars{Configuration: map[string]any{"a": "var", "b": "undeclared"}}})
	require.Equal(t, "t var ${b}", j.Experiment.Value("title"))
}

func TestDynamicConfiguration(t *testing.T) {
	src := `{"title": "t ${token}", "description": "d", "configuration": {
		"seed": "abc",
		"token": {"type": "probe", "provider": {"type": "python", "module": "chaostest.testing", "func": "set", "arguments": {"key": "k", "value": "${seed}-1"}}},
		"broken": {"type": "probe", "name": "b", "provider": {"type": "python", "module": "chaostest.testing", "func": "fail"}}
	}, "method": []}`
	j := runJSON(t, src, Settings{})
	require.Equal(t, "t abc-1", j.Experiment.Value("title"))
}

func TestJournalKeyOrderAndShape(t *testing.T) {
	src := experiment([]string{probe("p", "set", `{"key": "x", "value": 1}`, `1`)}, []string{failAction}, nil)
	j := runJSON(t, src, Settings{})
	b, err := journal.Encode(j)
	require.NoError(t, err)
	s := string(b)
	order := []string{`"chaoslib-version"`, `"platform"`, `"node"`, `"experiment"`, `"start"`, `"status"`, `"deviated"`, `"steady_states"`, `"run"`, `"rollbacks"`, `"end"`, `"duration"`}
	last := -1
	for _, k := range order {
		i := strings.LastIndex(s, "\n  "+k)
		require.Greater(t, i, last, "key %s out of order", k)
		last = i
	}
	rec := j.Run[0]
	require.Equal(t, "failed", rec.Status)
	require.Nil(t, rec.ToleranceMet)
	_, err = journal.ParseTime(rec.Start)
	require.NoError(t, err)
	require.GreaterOrEqual(t, rec.Duration, 0.0)
}
