package cluster

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
)

func TestLiveUsersCountsRunningProcessesAndDropsStaleLeases(t *testing.T) {
	c := DefaultConfig()
	c.StateDir = t.TempDir()
	require.NoError(t, os.MkdirAll(c.usersDir(), 0o755))
	self, err := selfRecord()
	require.NoError(t, err)
	// a process that has exited: its lease is stale
	cmd := exec.Command("/bin/true")
	require.NoError(t, cmd.Run())
	gone := procRecord{PID: cmd.Process.Pid, Start: 1}
	for _, r := range []procRecord{self, gone} {
		require.NoError(t, os.WriteFile(filepath.Join(c.usersDir(), leaseName(r)), nil, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(c.usersDir(), "garbage"), nil, 0o644))
	assert.Equal(t, 1, liveUsers(c))
	ents, err := os.ReadDir(c.usersDir())
	require.NoError(t, err)
	require.Len(t, ents, 1)
	assert.Equal(t, leaseName(self), ents[0].Name())
}

func TestSetupUsesAGivenKubeconfigAndStartsNothing(t *testing.T) {
	c := DefaultConfig()
	c.StateDir = filepath.Join(t.TempDir(), "never-created")
	t.Setenv("KUBECONFIG", "/some/where/kind.kubeconfig")
	cfg := envconf.New()
	_, err := SetupWith(c, nil)(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, "/some/where/kind.kubeconfig", cfg.KubeconfigFile())

	flagged := envconf.New().WithKubeconfigFile("/from/flag")
	_, err = SetupWith(c, nil)(context.Background(), flagged)
	require.NoError(t, err)
	assert.Equal(t, "/from/flag", flagged.KubeconfigFile(), "--kubeconfig wins over KUBECONFIG")

	_, err = FinishWith(c, nil)(context.Background(), cfg)
	require.NoError(t, err)
	_, err = os.Stat(c.StateDir)
	assert.True(t, os.IsNotExist(err), "nothing local may be created or started, got %v", err)
}
