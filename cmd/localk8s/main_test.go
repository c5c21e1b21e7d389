package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{nil, {"bogus"}, {"load-image", "./x"}, {"fake-nodes"}, {"up", "-nope"}} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut)
		assert.Equal(t, 2, code, "args %q", args)
		assert.NotEmpty(t, errOut.String(), "args %q: say what is wrong", args)
	}
}

func TestKubeconfigPrintsTheStatePath(t *testing.T) {
	t.Setenv("CHAOSTEST_CLUSTER_DIR", "/tmp/some-state")
	var out, errOut bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"kubeconfig"}, &out, &errOut))
	assert.Equal(t, "/tmp/some-state/admin.kubeconfig\n", out.String())
}

func TestStatusOfAMissingClusterFails(t *testing.T) {
	t.Setenv("CHAOSTEST_CLUSTER_DIR", t.TempDir())
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run(context.Background(), []string{"status"}, &out, &errOut))
	assert.True(t, strings.HasPrefix(out.String(), "cluster: not healthy: not started"), out.String())
}

func TestFakeNodesRejectsABadCount(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run(context.Background(), []string{"fake-nodes", "zero"}, &out, &errOut))
	assert.Contains(t, errOut.String(), `want a positive node count, got "zero"`)
}
