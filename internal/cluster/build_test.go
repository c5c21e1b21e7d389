package cluster

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuildWithEverythingCachedBuildsNothing(t *testing.T) {
	c := DefaultConfig()
	c.CacheDir = t.TempDir()
	for _, a := range Artifacts() {
		require.NoError(t, writeFileAtomic(filepath.Join(c.CacheDir, a), []byte("x"), 0o755))
	}
	assert.Empty(t, missingArtifacts(c.CacheDir))
	var out strings.Builder
	start := time.Now()
	require.NoError(t, Build(context.Background(), c, &out))
	assert.Empty(t, out.String(), "nothing to build, nothing to say")
	assert.Less(t, time.Since(start), time.Second)
}

func TestMissingArtifactsListsEmptyAndAbsentFiles(t *testing.T) {
	dir := t.TempDir()
	for _, a := range Artifacts() {
		require.NoError(t, writeFileAtomic(filepath.Join(dir, a), []byte("x"), 0o755))
	}
	require.NoError(t, os.Remove(filepath.Join(dir, "bin", "kubelet")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bin", "etcd"), nil, 0o755))
	assert.Equal(t, []string{"bin/etcd", "bin/kubelet"}, missingArtifacts(dir))
}

func TestLockFileSerialises(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l")
	unlock, err := lockFile(context.Background(), path)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = lockFile(ctx, path)
	require.Error(t, err, "a second holder must wait")
	assert.Contains(t, err.Error(), "deadline")
	unlock()
	unlock2, err := lockFile(context.Background(), path)
	require.NoError(t, err)
	unlock2()
}
