package k8s

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/journal"
)

// noKubeEnv empties every variable chaosk8s's client order reads and points HOME at an empty
// directory, which it returns. KUBECONFIG is left unset.
func noKubeEnv(t *testing.T) string {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, k := range []string{"KUBECONFIG", "KUBERNETES_CONTEXT", "CHAOSTOOLKIT_IN_POD", "KUBERNETES_HOST",
		"KUBERNETES_API_KEY", "KUBERNETES_API_KEY_PREFIX", "KUBERNETES_CERT_FILE", "KUBERNETES_KEY_FILE",
		"KUBERNETES_USERNAME", "KUBERNETES_PASSWORD"} {
		t.Setenv(k, "")
		require.NoError(t, os.Unsetenv(k))
	}
	return home
}

func TestNoConfigurationSaysWhereItLooked(t *testing.T) {
	home := noKubeEnv(t)
	_, err := FromEnv(nil)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrNoConfig), "%v", err)
	assert.Equal(t, `no Kubernetes configuration found: no kubeconfig file at `+filepath.Join(home, ".kube", "config")+
		` (KUBECONFIG is not set); CHAOSTOOLKIT_IN_POD is not "true"; KUBERNETES_HOST is not set in the provider's secrets or the environment`,
		err.Error())

	missing := filepath.Join(t.TempDir(), "nothing-here")
	t.Setenv("KUBECONFIG", missing+string(filepath.ListSeparator)+filepath.Join(home, "neither"))
	_, err = FromEnv(nil)
	require.ErrorIs(t, err, ErrNoConfig)
	assert.Contains(t, err.Error(), "no kubeconfig file at "+missing+string(filepath.ListSeparator)+filepath.Join(home, "neither")+" (from KUBECONFIG)")

	// CHAOSTOOLKIT_IN_POD set to something else than "true" is not step 2, as in chaosk8s.
	t.Setenv("CHAOSTOOLKIT_IN_POD", "1")
	_, err = FromEnv(nil)
	require.ErrorIs(t, err, ErrNoConfig)

	// Any step-3 variable, from the secrets or the environment, is a configuration: chaosk8s's
	// default host applies then.
	for _, k := range []string{"KUBERNETES_HOST", "KUBERNETES_API_KEY", "KUBERNETES_CERT_FILE", "KUBERNETES_USERNAME"} {
		cfg, _, err := restConfigFromEnv(envLookup(map[string]any{k: "x"}), home)
		require.NoError(t, err, k)
		if k != "KUBERNETES_HOST" {
			assert.Equal(t, "http://localhost", cfg.Host, k)
		}
	}
	t.Setenv("KUBERNETES_HOST", "http://127.0.0.1:1")
	c, err := FromEnv(nil)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:1", c.RESTConfig().Host)
}

func TestConnectWithoutConfigurationSaysSo(t *testing.T) {
	noKubeEnv(t)
	tb := &fakeTB{}
	assert.Nil(t, Connect(tb))
	assert.Equal(t, "k8s.Connect: %v (run `make cluster` and export the KUBECONFIG it prints)", tb.msg)
}

// TestActivityWithoutConfigurationFails runs an experiment whose method probe calls chaosk8s
// with no configuration anywhere: the record is failed with the message, nothing dials
// 127.0.0.1:80.
func TestActivityWithoutConfigurationFails(t *testing.T) {
	home := noKubeEnv(t)
	exp, err := engine.Parse([]byte(`{"title": "t", "description": "d", "method": [
  {"type": "probe", "name": "count", "provider": {"type": "python", "module": "chaosk8s.pod.probes", "func": "count_pods", "arguments": {"label_selector": "app=web"}}}]}`), "json")
	require.NoError(t, err)
	var lines []string
	j, err := engine.Run(context.Background(), exp, engine.Settings{Log: func(_ engine.Level, msg string) { lines = append(lines, msg) }})
	require.NoError(t, err)
	require.Len(t, j.Run, 1)
	rec := j.Run[0]
	assert.Equal(t, journal.RunFailed, rec.Status)
	assert.Nil(t, rec.Output)
	msg := rec.ExceptionMessage()
	assert.True(t, strings.HasPrefix(msg, "chaoslib.exceptions.ActivityFailed: no Kubernetes configuration found: no kubeconfig file at "+filepath.Join(home, ".kube", "config")), msg)
	assert.NotContains(t, msg, "127.0.0.1:80")
	assert.NotContains(t, strings.Join(lines, "\n"), "connection refused")
}
