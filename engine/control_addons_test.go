package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

func safeguardControl(probes ...string) string {
	return `{"name": "guard", "provider": {"type": "python", "module": "chaosaddons.controls.safeguards", "arguments": {"probes": [` + strings.Join(probes, ",") + `]}}}`
}

func withFrequency(probe string, f string) string {
	return probe[:len(probe)-1] + `, "frequency": ` + f + `}`
}

func TestSafeguardsValidation(t *testing.T) {
	cases := []struct{ name, probes, msg, key string }{
		{"no probes", ``, "safeguard control must have at least one probe", "provider.arguments.probes"},
		{"no tolerance", act("probe", "up", "get", `{"key": "up"}`), "safeguard control is invalid as the probe 'up' is missing a tolerance property", "tolerance"},
		{"an action", strings.Replace(probe("up", "get", `{"key": "up"}`, `true`), `"type": "probe"`, `"type": "action"`, 1), "safeguard control 'up' should be of type 'probe' not 'action'", "type"},
		{"bad tolerance", probe("up", "get", `{"key": "up"}`, `{"type": "nope"}`), "hypothesis probe tolerance type 'nope' is unsupported", "tolerance.type"},
		{"not an activity", `{"name": "x"}`, "an activity must have a type", "type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := withControls(experiment(nil, []string{breakIt}, nil), `"method"`, safeguardControl(c.probes))
			ps := problems(t, mustParse(t, src).Validate(nil))
			require.Len(t, ps, 1, "%v", ps)
			assert.Equal(t, c.msg, ps[0].Message)
			assert.Equal(t, c.key, ps[0].Key)
			assert.True(t, strings.HasPrefix(ps[0].Where, "controls[0]"), ps[0].Where)
		})
	}
	src := withControls(experiment(nil, []string{breakIt}, nil), `"method"`, safeguardControl(probe("up", "get", `{"key": "up"}`, `true`)))
	e := mustParse(t, src)
	require.NoError(t, e.Validate(nil))
	assert.Empty(t, e.ControlWarnings(), "safeguards are implemented in Go")
}

// logLines collects a run's log.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) log(level Level, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(level)+" "+msg)
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string{}, l.lines...)
}

func TestSafeguardsStopTheMethod(t *testing.T) {
	for _, strategy := range []RollbackStrategy{RollbackDefault, RollbackAlways} {
		t.Run(string(strategy), func(t *testing.T) {
			// The safeguard checks "up" every 50 ms; once the method's 30 s wait started, "up" turns
			// false.
			guard := safeguardControl(withFrequency(probe("up-guard", "get", `{"key": "up"}`, `true`), "0.05"))
			signalName := fmt.Sprintf("long-wait-%s-%d", strategy, time.Now().UnixNano())
			wait := act("action", "long-wait", "wait", `{"name": "`+signalName+`", "seconds": 30}`)
			first := act("action", "first", "set", `{"key": "first", "value": 1}`)
			src := withControls(experiment(nil, []string{first, wait}, []string{rollbackIt}), `"method"`, guard)
			resetState()
			setState("up", true)
			go func() {
				<-signal(signalName)
				setState("up", false)
			}()
			var l logLines
			start := time.Now()
			j, err := Run(context.Background(), mustParse(t, src), Settings{RollbackStrategy: strategy, Log: l.log})
			require.NoError(t, err)
			elapsed := time.Since(start)
			assert.Less(t, elapsed, 3*time.Second, "the run stops at once, not after the 30 s wait")
			assert.Equal(t, journal.StatusInterrupted, j.Status)
			assert.False(t, j.Deviated)
			require.Len(t, j.Run, 2)
			assert.Equal(t, journal.RunSucceeded, j.Run[0].Status)
			cut := j.Run[1]
			assert.Equal(t, "long-wait", cut.Name())
			assert.Empty(t, cut.Status, "the interrupted activity's record has no status")
			assert.Empty(t, cut.Exception)
			assert.NotEmpty(t, cut.Start)
			assert.NotEmpty(t, cut.End)
			assert.Less(t, cut.Duration, 2.0)
			assert.Contains(t, l.all(), "CRITICAL Safeguard 'up-guard' triggered the end of the experiment")
			assert.NotContains(t, strings.Join(l.all(), "\n"), "ERROR", "no activity failure is logged")
			if strategy == RollbackAlways {
				assert.Equal(t, []string{"repair:succeeded"}, statuses(j.Rollbacks))
				assert.Equal(t, true, getState("repaired"))
			} else {
				assert.Empty(t, j.Rollbacks)
				assert.Nil(t, getState("repaired"))
			}
		})
	}
}

func TestSafeguardsBlockingProbeStopsBeforeAnythingRuns(t *testing.T) {
	guard := safeguardControl(probe("ready", "get", `{"key": "ready"}`, `true`))
	src := withControls(experiment([]string{healthyProbe}, []string{breakIt}, []string{rollbackIt}), `"steady-state-hypothesis"`, guard)
	resetState()
	setState("up", true)
	var l logLines
	j, err := Run(context.Background(), mustParse(t, src), Settings{Log: l.log})
	require.NoError(t, err)
	assert.Equal(t, journal.StatusInterrupted, j.Status)
	assert.Nil(t, j.SteadyStates.Before)
	assert.Empty(t, j.Run)
	assert.Equal(t, []string{"get ready"}, takeEvents(), "only the safeguard ran")
	assert.Contains(t, l.all(), "CRITICAL Safeguard 'ready' triggered the end of the experiment")

	// Met: the run goes on, and a background safeguard that holds changes nothing.
	bg := probe("bg", "get", `{"key": "ready"}`, `true`)
	bg = bg[:len(bg)-1] + `, "background": true}`
	src = withControls(experiment([]string{healthyProbe}, []string{breakIt}, []string{rollbackIt}), `"steady-state-hypothesis"`,
		safeguardControl(probe("ready", "get", `{"key": "ready"}`, `true`), bg))
	resetState()
	setState("up", true)
	setState("ready", true)
	j, err = Run(context.Background(), mustParse(t, src), Settings{})
	require.NoError(t, err)
	assert.Equal(t, journal.StatusCompleted, j.Status)
	assert.True(t, j.Deviated, "the method turned 'up' off: the after-check deviates")
	assert.Equal(t, []string{"break:succeeded"}, statuses(j.Run))
}

func TestSafeguardsInGo(t *testing.T) {
	var mu sync.Mutex
	up := true
	isUp := Go("is up", func(context.Context, provider.Env) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		return up, nil
	}).Named("up").Want(true).Every(20 * time.Millisecond)
	e := NewExperiment(jsonvalue.NewObject("title", "t", "description", "d", "method", []any{}))
	var l logLines
	add := func(name string, a *goAct) {
		a.Named(name).obj.Set("type", "action")
		e.attach(a)
		e.obj.Set("method", append(list(e.obj.Value("method")), a.obj))
	}
	add("first", Go("first", func(context.Context, provider.Env) (any, error) { return nil, nil }))
	add("wait", Go("wait", func(ctx context.Context, _ provider.Env) (any, error) {
		mu.Lock()
		up = false // the safeguard sees it at its next check, while this waits
		mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(30 * time.Second):
			return "waited", nil
		}
	}))
	start := time.Now()
	j, err := Run(context.Background(), e, Settings{Log: l.log, Controls: []ControlSpec{Safeguards("guard", isUp.probe())}})
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.Equal(t, journal.StatusInterrupted, j.Status)
	assert.Equal(t, []string{"first:succeeded", "wait:"}, statuses(j.Run))
	assert.Contains(t, l.all(), "CRITICAL Safeguard 'up' triggered the end of the experiment")

}

func TestRepeatControl(t *testing.T) {
	repeat := `"controls": [{"name": "again", "provider": {"type": "python", "module": "chaosaddons.controls.repeat", "arguments": {"repeat_count": 3}}}], "provider"`
	method := []string{
		strings.Replace(act("action", "hit", "set", `{"key": "k", "value": 1}`), `"provider"`, repeat, 1),
		act("action", "after", "get", `{"key": "k"}`),
	}
	j := runJSON(t, experiment(nil, method, nil), Settings{})
	assert.Equal(t, journal.StatusCompleted, j.Status)
	assert.Equal(t, []string{"hit:succeeded", "hit:succeeded", "hit:succeeded", "after:succeeded"}, statuses(j.Run))
	assert.Equal(t, []string{"set k", "set k", "set k", "get k"}, takeEvents())
	var idx []any
	for _, a := range objects(j.Experiment.Value("method")) {
		idx = append(idx, a.Value("iteration_index"))
	}
	assert.Equal(t, []any{nil, int64(1), int64(2), nil}, idx, "the copies are in the journal's experiment.method")
	assert.Equal(t, int64(2), j.Run[2].Activity.Value("iteration_index"))
}

func TestBypassControl(t *testing.T) {
	bypass := `{"name": "skip", "provider": {"type": "python", "module": "chaosaddons.controls.bypass", "arguments": {"target_names": ["break"]}}}`
	src := withControls(experiment([]string{healthyProbe}, []string{breakIt, act("action", "other", "set", `{"key": "other", "value": 1}`)}, nil), `"steady-state-hypothesis"`, bypass)
	resetState()
	setState("up", true)
	var l logLines
	j, err := Run(context.Background(), mustParse(t, src), Settings{Log: l.log})
	require.NoError(t, err)
	assert.Equal(t, journal.StatusCompleted, j.Status)
	assert.False(t, j.Deviated, "break was skipped: up stays true")
	assert.Equal(t, []string{"break:succeeded", "other:succeeded"}, statuses(j.Run))
	assert.Nil(t, j.Run[0].Output)
	assert.Equal(t, []string{"get up", "set other", "get up"}, takeEvents(), "break never ran")
	assert.Contains(t, l.all(), "WARNING The following activities will not be executed: break")
	assert.Contains(t, l.all(), "INFO Action: break [bypassed by a control]")
}
