package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
)

func controlEvents(t *testing.T, path string) [][]any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out [][]any
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var ev []any
		require.NoError(t, json.Unmarshal([]byte(line), &ev), line)
		out = append(out, ev)
	}
	return out
}

func TestPythonControlHooks(t *testing.T) {
	usePython(t)
	logPath := filepath.Join(t.TempDir(), "events")
	t.Setenv("MYCONTROL_LOG", logPath)
	src := `{"title": "controlled", "description": "d",
  "configuration": {"c1": 1}, "secrets": {"s1": {"k": "v"}},
  "controls": [{"name": "my", "provider": {"type": "python", "module": "mycontrol", "arguments": {"target": "dump"}}}],
  "method": [` + pyAct("action", "dump", "json", "dumps", `{"obj": [1, 2]}`) + `,` + pyAct("probe", "other", "json", "dumps", `{"obj": 3}`) + `]}`
	j, lines := logOf(t, src, Settings{})
	require.Equal(t, journal.StatusCompleted, j.Status, strings.Join(lines, "\n"))
	assert.Equal(t, `"changed by mycontrol"`, j.Run[0].Output, "before_activity_control changed the activity that ran")
	assert.Equal(t, "3", j.Run[1].Output)
	assert.Equal(t, [][]any{
		{"configure", "dump", []any{"c1"}, []any{"s1"}, "controlled"},
		{"before_experiment", "controlled"},
		{"before_method"},
		{"before_activity", "dump"},
		{"after_activity", "dump", "succeeded"},
		{"before_activity", "other"},
		{"after_activity", "other", "succeeded"},
		{"after_method", []any{"dump", "other"}},
		{"after_experiment", "completed"},
		{"cleanup"},
	}, controlEvents(t, logPath))
	ext, _ := j.Experiment.Value("extensions").([]any)
	require.Len(t, ext, 1, "after_experiment_control's change to the journal is saved")
	assert.Equal(t, jsonvalue.NewObject("name", "mycontrol", "activities", int64(2)), ext[0])
	for _, l := range lines {
		assert.NotContains(t, l, "Could not find Python module", "the module is found through the bridge")
	}
}

func TestPythonControlInterrupts(t *testing.T) {
	usePython(t)
	src := `{"title": "t", "description": "d",
  "method": [` + pyAct("action", "first", "json", "dumps", `{"obj": 1}`) + `,
    {"type": "action", "name": "stop-here", "provider": {"type": "python", "module": "json", "func": "dumps", "arguments": {"obj": 2}},
     "controls": [{"name": "stopper", "provider": {"type": "python", "module": "myinterrupt", "arguments": {"at": "stop-here"}}}]},
    ` + pyAct("action", "never", "json", "dumps", `{"obj": 3}`) + `]}`
	j, lines := logOf(t, src, Settings{})
	assert.Equal(t, journal.StatusInterrupted, j.Status, strings.Join(lines, "\n"))
	assert.Equal(t, journal.RunSucceeded, j.Run[0].Status)
	require.Len(t, j.Run, 2, "nothing ran after the interruption")
	assert.Empty(t, j.Run[1].Status, "the interrupted activity has no status")
	assert.Contains(t, strings.Join(lines, "\n"), "stopped by myinterrupt before stop-here")
}

func TestPythonControlValidation(t *testing.T) {
	usePython(t)
	src := `{"title": "t", "description": "d",
  "controls": [{"name": "my", "provider": {"type": "python", "module": "mycontrol", "arguments": {"bad": true}}}],
  "method": [` + pyAct("action", "a", "json", "dumps", `{"obj": 1}`) + `]}`
	ps := problems(t, mustParse(t, src).Validate(nil))
	require.Len(t, ps, 1)
	assert.Equal(t, "mycontrol: the bad argument is not allowed", ps[0].Message)

	ok := strings.Replace(src, `"bad": true`, `"target": "a"`, 1)
	e := mustParse(t, ok)
	require.NoError(t, e.Validate(nil))
	assert.Empty(t, e.ControlWarnings())

	missing := strings.Replace(ok, `"module": "mycontrol"`, `"module": "chaosnotinstalled.control"`, 1)
	assert.Equal(t, []string{"Could not find Python module 'chaosnotinstalled.control' in control 'my'. Did you install the Python module? The experiment will carry on running nonetheless."},
		mustParse(t, missing).ControlWarnings())
}

func TestWithoutPythonControlsWarn(t *testing.T) {
	noPython(t)
	src := `{"title": "t", "description": "d",
  "controls": [{"name": "my", "provider": {"type": "python", "module": "mycontrol"}}],
  "method": []}`
	assert.Equal(t, []string{"Could not find Python module 'mycontrol' in control 'my'. Did you install the Python module? The experiment will carry on running nonetheless."},
		mustParse(t, src).ControlWarnings())
}
