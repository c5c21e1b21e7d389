package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/internal/pybridge"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
)

// usePython fails (never skips) without python3, and puts testdata/python on PYTHONPATH.
func usePython(t *testing.T) {
	t.Helper()
	if _, err := pybridge.LookPython(); err != nil {
		t.Fatalf("python3 is not on PATH (%v): run `sudo hack/setup-python.sh` (it installs Debian's python3) and re-run the tests", err)
	}
	dir, err := filepath.Abs("../testdata/python")
	require.NoError(t, err)
	t.Setenv("PYTHONPATH", dir)
}

// noPython hides every python3 from PATH for the rest of the test.
func noPython(t *testing.T) {
	t.Helper()
	t.Setenv("PATH", t.TempDir())
	_, err := pybridge.LookPython()
	require.Error(t, err, "python3 still found")
}

func pyAct(typ, name, mod, fn, args string) string {
	if args == "" {
		args = "{}"
	}
	return fmt.Sprintf(`{"type": %q, "name": %q, "provider": {"type": "python", "module": %q, "func": %q, "arguments": %s}}`, typ, name, mod, fn, args)
}

func logOf(t *testing.T, src string, s Settings) (*journal.Journal, []string) {
	t.Helper()
	var lines []string
	var mu sync.Mutex // background activities log from their own goroutines
	s.Log = func(l Level, m string) { mu.Lock(); lines = append(lines, string(l)+" "+m); mu.Unlock() }
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	j, err := Run(ctx, mustParse(t, src), s)
	require.NoError(t, err)
	return j, lines
}

func TestPythonProvidersRunThroughTheBridge(t *testing.T) {
	usePython(t)
	e, err := Load("../testdata/python/experiment.json")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	j, err := Run(ctx, e, Settings{})
	require.NoError(t, err)
	require.Equal(t, journal.StatusCompleted, j.Status)
	require.False(t, j.Deviated)
	before := j.SteadyStates.Before
	require.True(t, before.SteadyStateMet)
	health := before.Probes[0]
	assert.Equal(t, jsonvalue.NewObject("service", "web", "replicas", int64(3), "healthy", true, "ratio", 1.0), health.Output)
	// The python tolerance probe received the output as its `value`, as chaoslib injects it.
	tol := health.Activity.Value("tolerance").(*jsonvalue.Object)
	assert.Equal(t, health.Output, tol.Value("provider").(*jsonvalue.Object).Value("arguments").(*jsonvalue.Object).Value("value"))
	assert.Equal(t, "[1, 2]", before.Probes[1].Output, "the standard library's json.dumps")

	withCfg := j.Run[0]
	require.Equal(t, journal.RunSucceeded, withCfg.Status, "%v", withCfg.Exception)
	assert.Equal(t, jsonvalue.NewObject(
		"name", "n",
		"configuration", jsonvalue.NewObject("service", "web"),
		"secret_names", []any{"token"}, // only the scope the provider lists, flattened
		"token_is_right", true), withCfg.Output)

	pid, ok := j.Run[1].Output.(int64)
	require.True(t, ok, "pid output %v", j.Run[1].Output)
	assert.Equal(t, pid, j.Rollbacks[0].Output, "one python3 child serves the whole run")
	waitProcessGone(t, int(pid))
}

func waitProcessGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		s := string(data)
		if i := strings.LastIndexByte(s, ')'); i > 0 && i+2 < len(s) && s[i+2] == 'Z' {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("python3 child %d still alive after the run", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPythonExceptionIsJournaledLikeChaoslib(t *testing.T) {
	usePython(t)
	src := experiment(nil, []string{
		pyAct("action", "explode", "mymod", "boom", `{"message": "it broke"}`),
		pyAct("action", "after", "json", "dumps", `{"obj": {"a": 1}}`),
	}, nil)
	j, lines := logOf(t, src, Settings{})
	require.Equal(t, journal.StatusCompleted, j.Status, "a failed method action does not fail the run")
	rec := j.Run[0]
	require.Equal(t, journal.RunFailed, rec.Status)
	assert.Nil(t, rec.Output)
	ex := rec.Exception
	require.GreaterOrEqual(t, len(ex), 4)
	assert.Equal(t, "Traceback (most recent call last):\n", ex[0])
	assert.Equal(t, "ValueError: it broke\n", ex[len(ex)-3])
	assert.Equal(t, "\nDuring handling of the above exception, another exception occurred:\n\n", ex[len(ex)-2])
	assert.Equal(t, "chaoslib.exceptions.ActivityFailed: ValueError: it broke\n", ex[len(ex)-1])
	assert.Contains(t, strings.Join(ex, ""), "mymod.py", "the user's frame")
	assert.Equal(t, "ValueError: it broke", failure(rec))
	assert.Contains(t, lines, "ERROR   => failed: ValueError: it broke")
	assert.Equal(t, journal.RunSucceeded, j.Run[1].Status)
	assert.Equal(t, `{"a": 1}`, j.Run[1].Output)
}

func TestPythonProbeFailureInHypothesisFailsTheRun(t *testing.T) {
	usePython(t)
	src := experiment([]string{
		`{"type": "probe", "name": "raising", "tolerance": true, "provider": {"type": "python", "module": "mymod", "func": "custom_boom"}}`,
	}, []string{pyAct("action", "never", "json", "dumps", `{"obj": 1}`)}, nil)
	j, _ := logOf(t, src, Settings{})
	assert.Equal(t, journal.StatusFailed, j.Status)
	assert.Empty(t, j.Run, "the method did not run")
	p := j.SteadyStates.Before.Probes[0]
	assert.Equal(t, journal.RunFailed, p.Status)
	assert.Equal(t, "mymod.MyError: custom failure", failure(p))
	require.NotNil(t, p.ToleranceMet)
	assert.False(t, *p.ToleranceMet)
}

func TestPythonTimeoutKillsTheCall(t *testing.T) {
	usePython(t)
	for _, s := range []Settings{{}, {NoValidation: true}} {
		t.Run(fmt.Sprintf("no-validation=%v", s.NoValidation), func(t *testing.T) { pythonTimeout(t, s) })
	}
}

func pythonTimeout(t *testing.T, s Settings) {
	marker := filepath.Join(t.TempDir(), "pid")
	t.Setenv("MYMOD_SLOW_MARKER", marker)
	slow := `{"type": "action", "name": "sleepy", "timeout": 1, "provider": {"type": "python", "module": "mymod", "func": "slow", "arguments": {"seconds": 60}}}`
	src := experiment(nil, []string{slow, pyAct("probe", "next", "mymod", "pid", "")}, nil)
	start := time.Now()
	j, _ := logOf(t, src, s)
	assert.Less(t, time.Since(start), 30*time.Second)
	rec := j.Run[0]
	require.Equal(t, journal.RunFailed, rec.Status)
	assert.Contains(t, failure(rec), "activity took longer than its timeout of 1s")
	data, err := os.ReadFile(marker)
	require.NoError(t, err)
	slowPID, err := strconv.Atoi(string(data))
	require.NoError(t, err)
	waitProcessGone(t, slowPID)
	next := j.Run[1]
	require.Equal(t, journal.RunSucceeded, next.Status, "%v", next.Exception)
	assert.NotEqual(t, int64(slowPID), next.Output, "the next call ran in a fresh child")
}

func TestPythonAttributeErrorWithoutValidationAborts(t *testing.T) {
	usePython(t)
	src := experiment(nil, []string{pyAct("action", "missing", "mymod", "nope", ""), pyAct("action", "never", "mymod", "pid", "")}, nil)
	j, _ := logOf(t, src, Settings{NoValidation: true})
	assert.Equal(t, journal.StatusAborted, j.Status)
	require.Len(t, j.Run, 1)
	assert.Empty(t, j.Run[0].Status, "an aborted record has no status")
}

func TestPythonValidationMessages(t *testing.T) {
	usePython(t)
	cases := []struct {
		name, activity, want, key string
	}{
		{"missing function", pyAct("action", "a", "mymod", "nope", ""),
			"The python module 'mymod' does not expose a function called 'nope' in action 'a'", "provider.func"},
		{"not a function", pyAct("probe", "p", "mymod", "not_a_function", ""),
			"The python module 'mymod' does not expose a function called 'not_a_function' in probe 'p'", "provider.func"},
		{"missing argument", pyAct("action", "a", "mymod", "boom", ""),
			"required argument 'message' is missing from activity 'boom'", "provider.arguments"},
		{"extra argument", pyAct("probe", "p", "mymod", "health", `{"service": "x", "zone": "eu"}`),
			"argument 'zone' is not part of the function signature in activity 'health'", "provider.arguments"},
		{"stdlib extra argument", pyAct("probe", "p", "json", "dumps", `{"object": 1}`),
			"required argument 'obj' is missing from activity 'dumps'", "provider.arguments"},
		{"arguments not a mapping", pyAct("probe", "p", "json", "dumps", `[1, 2]`),
			"the arguments of a Python activity must be a mapping, not array", "provider.arguments"},
		{"unknown module", pyAct("action", "kill", "chaosfoo.actions", "boom", ""),
			"could not find Python module 'chaosfoo.actions' in activity 'kill' (no Go provider is registered for chaosfoo.actions.boom: import the provider package that registers it)", "provider.module"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := mustParse(t, experiment(nil, []string{tc.activity}, nil)).Validate(nil)
			ps := problems(t, err)
			require.Len(t, ps, 1, "%v", err)
			assert.Equal(t, tc.want, ps[0].Message)
			assert.Equal(t, tc.key, ps[0].Key)
		})
	}
	t.Run("valid", func(t *testing.T) {
		e, err := Load("../testdata/python/experiment.json")
		require.NoError(t, err)
		require.NoError(t, e.Validate(nil))
	})
	t.Run("tolerance probe without a default value", func(t *testing.T) {
		src := experiment([]string{`{"type": "probe", "name": "h", "provider": {"type": "python", "module": "json", "func": "dumps", "arguments": {"obj": 1}},
			"tolerance": {"type": "probe", "name": "needs", "provider": {"type": "python", "module": "mymod", "func": "needs_value", "arguments": {}}}}`},
			[]string{pyAct("action", "a", "json", "dumps", `{"obj": 1}`)}, nil)
		ps := problems(t, mustParse(t, src).Validate(nil))
		require.Len(t, ps, 1)
		assert.Equal(t, "required argument 'value' is missing from activity 'needs_value'", ps[0].Message)
	})
}

func TestWithoutPythonTheMessagesStay(t *testing.T) {
	noPython(t)
	src := experiment(nil, []string{pyAct("action", "dump", "json", "dumps", `{"obj": [1, 2]}`)}, nil)
	ps := problems(t, mustParse(t, src).Validate(nil))
	require.Len(t, ps, 1)
	assert.Equal(t, "could not find Python module 'json' in activity 'dump' (no Go provider is registered for json.dumps: import the provider package that registers it)", ps[0].Message)

	j, _ := logOf(t, src, Settings{NoValidation: true})
	require.Equal(t, journal.RunFailed, j.Run[0].Status)
	assert.Equal(t, "no Go provider is registered for json.dumps", failure(j.Run[0]))
}

func TestPythonWithoutTheModuleTheMessagesStay(t *testing.T) {
	usePython(t)
	src := experiment(nil, []string{pyAct("action", "kill", "chaosnotinstalled.actions", "boom", "")}, nil)
	ps := problems(t, mustParse(t, src).Validate(nil))
	require.Len(t, ps, 1)
	assert.Equal(t, "could not find Python module 'chaosnotinstalled.actions' in activity 'kill' (no Go provider is registered for chaosnotinstalled.actions.boom: import the provider package that registers it)", ps[0].Message)
	j, _ := logOf(t, src, Settings{NoValidation: true})
	require.Equal(t, journal.RunFailed, j.Run[0].Status)
	assert.Equal(t, "no Go provider is registered for chaosnotinstalled.actions.boom", failure(j.Run[0]))
}

func TestPythonRunFile(t *testing.T) {
	usePython(t)
	e, err := Load("../testdata/python/experiment.json")
	require.NoError(t, err)
	j, err := Run(context.Background(), e, Settings{})
	require.NoError(t, err)
	assert.Equal(t, journal.StatusCompleted, j.Status)
	assert.Equal(t, "[1, 2]", j.SteadyStates.After.Probes[1].Output)
}

// BenchmarkBridgeActivity measures a whole python activity through the run engine (record,
// journal conventions, the bridge round trip), for comparison with BenchmarkBridgeCall.
func BenchmarkBridgeActivity(b *testing.B) {
	if _, err := pybridge.LookPython(); err != nil {
		b.Fatalf("python3 is not on PATH: run `sudo hack/setup-python.sh`")
	}
	e, err := Parse([]byte(experiment(nil, []string{pyAct("probe", "dumps", "json", "dumps", `{"obj": [1, 2]}`)}, nil)), "json")
	if err != nil {
		b.Fatal(err)
	}
	r := newRunner(e, Settings{})
	if err := r.prepare(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer r.py.close()
	act := objects(e.obj.Value("method"))[0]
	if _, err := r.callProvider(context.Background(), act); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.callProvider(context.Background(), act); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPythonDynamicConfiguration(t *testing.T) {
	usePython(t)
	src := `{"title": "t", "description": "d",
  "configuration": {"encoded": {"type": "probe", "provider": {"type": "python", "module": "json", "func": "dumps", "arguments": {"obj": [1]}}}},
  "method": [` + pyAct("probe", "echo", "mymod", "typed", `{"value": "${encoded}"}`) + `]}`
	j, lines := logOf(t, src, Settings{})
	require.Equal(t, journal.RunSucceeded, j.Run[0].Status, strings.Join(lines, "\n"))
	assert.Equal(t, []any{"str", "[1]"}, j.Run[0].Output, "the python probe's return value is the configuration value")
}

func TestPythonBackgroundActivitiesOverlap(t *testing.T) {
	usePython(t)
	bg := func(name string) string {
		return `{"type": "action", "name": "` + name + `", "background": true, "provider": {"type": "python", "module": "mymod", "func": "slow", "arguments": {"seconds": 1.5}}}`
	}
	src := experiment(nil, []string{bg("a"), bg("b"), bg("c")}, nil)
	j, lines := logOf(t, src, Settings{})
	require.Len(t, j.Run, 3)
	var first, last time.Time
	for i, rec := range j.Run {
		require.Equal(t, journal.RunSucceeded, rec.Status, strings.Join(lines, "\n"))
		assert.Equal(t, "woke up", rec.Output)
		s, err := journal.ParseTime(rec.Start)
		require.NoError(t, err)
		e, err := journal.ParseTime(rec.End)
		require.NoError(t, err)
		if i == 0 || s.Before(first) {
			first = s
		}
		if e.After(last) {
			last = e
		}
	}
	assert.Less(t, last.Sub(first), 4*time.Second, "three 1.5 s calls overlap in the one child (4.5 s one after the other)")
}

func TestPythonInterruptedRunLeavesNoChild(t *testing.T) {
	usePython(t)
	marker := filepath.Join(t.TempDir(), "pid")
	t.Setenv("MYMOD_SLOW_MARKER", marker)
	src := experiment(nil, []string{pyAct("action", "sleepy", "mymod", "slow", `{"seconds": 60}`), pyAct("action", "never", "mymod", "pid", "")}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(marker); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel() // as SIGINT does to a run
	}()
	start := time.Now()
	j, err := Run(ctx, mustParse(t, src), Settings{})
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 40*time.Second)
	assert.Equal(t, journal.StatusInterrupted, j.Status)
	data, err := os.ReadFile(marker)
	require.NoError(t, err)
	pid, err := strconv.Atoi(string(data))
	require.NoError(t, err)
	waitProcessGone(t, pid)
	require.Len(t, j.Run, 1, "nothing ran after the interruption")
}
