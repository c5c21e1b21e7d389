package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

func TestReleaseWithoutAcquireDoesNothing(t *testing.T) {
	c := DefaultConfig()
	c.StateDir = filepath.Join(t.TempDir(), "never-created")
	require.NoError(t, Release(t.Context(), c, nil))
	_, err := os.Stat(c.StateDir)
	assert.True(t, os.IsNotExist(err), "nothing may be created, got %v", err)
}
