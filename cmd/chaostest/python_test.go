package main

import (
	"os"
	"path/filepath"
	"testing"

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
	dir, err := filepath.Abs("../../testdata/python")
	require.NoError(t, err)
	t.Setenv("PYTHONPATH", dir)
}

func writeExperiment(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "experiment.json")
	require.NoError(t, os.WriteFile(p, []byte(src), 0o644))
	return p
}

func TestRunPythonProviders(t *testing.T) {
	usePython(t)
	jp := filepath.Join(t.TempDir(), "journal.json")
	code, out, errOut := cli("run", "--journal-path", jp, "../../testdata/python/experiment.json")
	require.Equal(t, 0, code, "%s\n%s", out, errOut)
	j, err := journal.Read(jp)
	require.NoError(t, err)
	assert.Equal(t, journal.StatusCompleted, j.Status)
	assert.Equal(t, "[1, 2]", j.SteadyStates.Before.Probes[1].Output, "json.dumps through the bridge")
	assert.Equal(t, "[1, 2]", j.SteadyStates.After.Probes[1].Output)
	assert.Equal(t, true, j.Run[0].Output.(*jsonvalue.Object).Value("token_is_right"))
}

func TestRunPythonProbeRaisingInHypothesis(t *testing.T) {
	usePython(t)
	exp := writeExperiment(t, `{"title": "t", "description": "d",
  "steady-state-hypothesis": {"title": "h", "probes": [
    {"type": "probe", "name": "raising", "tolerance": true, "provider": {"type": "python", "module": "mymod", "func": "boom", "arguments": {"message": "down"}}}]},
  "method": [{"type": "action", "name": "a", "provider": {"type": "python", "module": "json", "func": "dumps", "arguments": {"obj": 1}}}]}`)
	jp := filepath.Join(t.TempDir(), "journal.json")
	code, out, errOut := cli("run", "--journal-path", jp, exp)
	assert.Equal(t, 1, code, "%s\n%s", out, errOut)
	assert.Contains(t, out+errOut, "=> failed: ValueError: down")
	j, err := journal.Read(jp)
	require.NoError(t, err)
	assert.Equal(t, journal.StatusFailed, j.Status)
	p := j.SteadyStates.Before.Probes[0]
	assert.Equal(t, journal.RunFailed, p.Status)
	assert.Equal(t, "chaoslib.exceptions.ActivityFailed: ValueError: down\n", p.Exception[len(p.Exception)-1])
}

func TestValidatePythonSignature(t *testing.T) {
	usePython(t)
	exp := writeExperiment(t, `{"title": "t", "description": "d",
  "method": [{"type": "probe", "name": "p", "provider": {"type": "python", "module": "json", "func": "loads", "arguments": {}}},
    {"type": "probe", "name": "q", "provider": {"type": "python", "module": "mymod", "func": "health", "arguments": {"zone": "eu"}}}]}`)
	code, out, errOut := cli("validate", exp)
	assert.Equal(t, 1, code)
	assert.Contains(t, out+errOut, "required argument 's' is missing from activity 'loads'")
	assert.Contains(t, out+errOut, "argument 'zone' is not part of the function signature in activity 'health'")
}

func TestValidateWithoutPythonKeepsTheMessage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	exp := writeExperiment(t, `{"title": "t", "description": "d",
  "method": [{"type": "probe", "name": "p", "provider": {"type": "python", "module": "json", "func": "dumps", "arguments": {"obj": 1}}}]}`)
	code, out, errOut := cli("validate", exp)
	assert.Equal(t, 1, code)
	assert.Contains(t, out+errOut, "could not find Python module 'json' in activity 'p' (no Go provider is registered for json.dumps: import the provider package that registers it)")
}
