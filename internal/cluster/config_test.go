package cluster

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultConfigIsValidAndKeyedByVersion(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/cache")
	t.Setenv(EnvStateDir, "/state/x")
	t.Setenv(EnvNoNode, "1")
	c := DefaultConfig()
	assert.Equal(t, KubernetesVersion, c.Version)
	assert.Equal(t, "/cache/chaostest/k8s/"+KubernetesVersion, c.CacheDir)
	assert.Equal(t, "/state/x", c.StateDir)
	assert.False(t, c.Node)
	assert.Equal(t, "/state/x/admin.kubeconfig", c.Kubeconfig())
	assert.Equal(t, "/cache/chaostest/k8s/"+KubernetesVersion+"/bin/kube-apiserver", c.Bin("kube-apiserver"))
	require.NoError(t, c.validate())
}

func TestDefaultCacheDirFallsBackToHome(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/u")
	assert.Equal(t, "/home/u/.cache/chaostest/k8s/v1.2.3", DefaultCacheDir("v1.2.3"))
	assert.NotEqual(t, cacheDirFor("/c", "v1.37.2"), cacheDirFor("/c", "v1.35.4"), "each version needs its own cache")
}

func TestValidateReportsWhatIsWrong(t *testing.T) {
	base := DefaultConfig()
	base.NodeIP = "192.0.2.2"
	base.Node = true
	require.NoError(t, base.validate())
	for _, tc := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.Version = "1.37" }, "Version"},
		{func(c *Config) { c.StateDir = "rel/dir" }, "absolute"},
		{func(c *Config) { c.RunDir = "/" + strings.Repeat("r", 100) }, "too long"},
		{func(c *Config) { c.Bridge = "a-very-long-bridge-name" }, "Bridge"},
		{func(c *Config) { c.NodeIP = "127.0.0.1" }, "NodeIP"},
		{func(c *Config) { c.NodeIP = "" }, "NodeIP"},
		{func(c *Config) { c.PodCIDR = "1.2.0.0/16" }, "PodCIDR"},
	} {
		c := base
		tc.change(&c)
		err := c.validate()
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}
	c := base
	c.Node, c.NodeIP = false, ""
	assert.NoError(t, c.validate(), "the control plane alone needs no node address")
	assert.True(t, filepath.IsAbs(c.LogFile("etcd")))
}
