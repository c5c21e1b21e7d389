package cluster

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
)

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
