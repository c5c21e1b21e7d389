package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/journal"
)

// TestRunK8sProbeWithoutConfiguration runs, in process, an experiment whose hypothesis calls
// chaosk8s with no kubeconfig anywhere (HOME and KUBECONFIG point into an empty directory): the
// probe fails saying no Kubernetes configuration was found and where it was looked for, the run
// ends failed (before-hypothesis probe raised, compat §3.2) and the exit code is 1.
func TestRunK8sProbeWithoutConfiguration(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	t.Setenv("KUBECONFIG", kubeconfig)
	for _, k := range []string{"CHAOSTOOLKIT_IN_POD", "KUBERNETES_HOST", "KUBERNETES_API_KEY", "KUBERNETES_CERT_FILE", "KUBERNETES_USERNAME"} {
		t.Setenv(k, "")
		require.NoError(t, os.Unsetenv(k))
	}
	exp := filepath.Join(dir, "experiment.json")
	require.NoError(t, os.WriteFile(exp, []byte(`{
  "title": "web pods run", "description": "a chaosk8s probe in the hypothesis",
  "steady-state-hypothesis": {"title": "web up", "probes": [
    {"type": "probe", "name": "web-pods-running", "tolerance": true,
     "provider": {"type": "python", "module": "chaosk8s.pod.probes", "func": "pods_in_phase", "arguments": {"label_selector": "app=web"}}}]},
  "method": [{"type": "action", "name": "noop", "provider": {"type": "process", "path": "true"}}]
}`), 0o644))
	jp := filepath.Join(dir, "journal.json")
	code, out, errOut := cli("run", "--journal-path", jp, exp)
	log := out + errOut
	require.Equal(t, 1, code, log)
	want := "no Kubernetes configuration found: no kubeconfig file at " + kubeconfig + " (from KUBECONFIG)"
	assert.Contains(t, log, want)
	assert.NotContains(t, log, "127.0.0.1:80")

	j, err := journal.Read(jp)
	require.NoError(t, err)
	assert.Equal(t, "failed", j.Status)
	assert.False(t, j.Deviated)
	require.NotNil(t, j.SteadyStates.Before)
	require.Len(t, j.SteadyStates.Before.Probes, 1)
	rec := j.SteadyStates.Before.Probes[0]
	assert.Equal(t, journal.RunFailed, rec.Status)
	assert.True(t, strings.HasPrefix(rec.ExceptionMessage(), "chaoslib.exceptions.ActivityFailed: "+want), rec.ExceptionMessage())
	assert.Empty(t, j.Run, "the method does not run")
}
