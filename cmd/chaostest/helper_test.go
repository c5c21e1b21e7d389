package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/provider"
)

// buildHelper builds chaostest-k8s (this package with -tags chaostest_k8s) into a temporary
// directory and points the CLI at it (CHAOSTEST_K8S_HELPER), as `make build` puts it next to
// chaostest.
func buildHelper() (cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "chaostest-k8s-")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, helperName)
	if out, err := exec.Command("go", "build", "-tags", "chaostest_k8s", "-o", bin, ".").CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("building %s: %v\n%s", helperName, err, out)
	}
	if err := os.Setenv(helperEnv, bin); err != nil {
		return nil, err
	}
	return func() { _ = os.RemoveAll(dir) }, nil
}

// heavyInit lists module path prefixes whose packages have costly initialisation (client-go's
// scheme, component-base's metrics, controller-runtime, e2e-framework, protobuf descriptors):
// none may be linked into the CLI.
var heavyInit = []string{
	"k8s.io/",
	"sigs.k8s.io/",
	"google.golang.org/protobuf",
	"github.com/prometheus/",
	"github.com/google/go-containerregistry",
	"github.com/google/nftables",
	"github.com/chaostest/chaostest/providers/k8s",
	"github.com/chaostest/chaostest/providers/chaosmesh",
	"github.com/chaostest/chaostest/agent",
	"github.com/chaostest/chaostest/cluster",
	"github.com/chaostest/chaostest/internal/cluster",
}

// TestCLIImportGraphHasNoHeavyInit fails when a package with heavy initialisation enters the
// chaostest binary (go list -deps): Kubernetes belongs in chaostest-k8s.
func TestCLIImportGraphHasNoHeavyInit(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Greater(t, len(deps), 50, "go list -deps lists the CLI's packages")
	assert.Contains(t, deps, "net/http", "the list is the real one")
	for _, d := range deps {
		for _, h := range heavyInit {
			assert.False(t, strings.HasPrefix(d, h), "%s is linked into the chaostest CLI: keep it in the helper (files with //go:build chaostest_k8s)", d)
		}
	}
	// The helper does link them (the list would catch nothing if the names were wrong).
	out, err = exec.Command("go", "list", "-tags", "chaostest_k8s", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "k8s.io/client-go/kubernetes\n")
	assert.Contains(t, string(out), "github.com/chaostest/chaostest/providers/k8s\n")
}

// TestHelperNotFound: with no helper anywhere, a Kubernetes activity fails saying how to
// install it, and `chaostest agent` too.
func TestHelperNotFound(t *testing.T) {
	t.Setenv(helperEnv, "")
	t.Setenv("PATH", t.TempDir())
	_, err := findHelper()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the Kubernetes providers run in the helper executable chaostest-k8s, found neither next to ")
	assert.Contains(t, err.Error(), "make build")

	code, _, stderr := cli("agent", "uninstall")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "chaostest agent: the Kubernetes providers run in the helper executable chaostest-k8s")
}

// TestHelperFoundNextToTheExecutableThenOnPath checks the lookup order with real files.
func TestHelperFoundNextToTheExecutableThenOnPath(t *testing.T) {
	t.Setenv(helperEnv, "")
	dir := t.TempDir()
	onPath := filepath.Join(dir, helperName)
	require.NoError(t, os.WriteFile(onPath, []byte("#!/bin/sh\n"), 0o755))
	t.Setenv("PATH", dir)
	got, err := findHelper()
	require.NoError(t, err)
	assert.Equal(t, onPath, got, "the test binary's directory has no helper: PATH is used")
}

// TestHelperServesTheRegisteredFunctions calls a chaosk8s probe through the helper with no
// Kubernetes configuration: the error is the provider's own, and the log line it would write
// in process.
func TestHelperServesTheRegisteredFunctions(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("KUBECONFIG", filepath.Join(dir, "none"))
	_, err := k8sHelper.Call(context.Background(), "chaosk8s.pod.probes.pods_in_phase", provider.Env{Activity: "web-pods"}, map[string]any{"label_selector": "app=x"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no Kubernetes configuration found")
	_, err = k8sHelper.Call(context.Background(), "chaosk8s.pod.probes.pods_in_phase", provider.Env{Activity: "web-pods"}, map[string]any{"label_selector": "app=x", "nope": 1})
	require.Error(t, err)
	assert.Equal(t, "argument 'nope' is not part of the function signature in activity 'pods_in_phase'", err.Error())
}

// TestCommandsHandedToTheHelper: `agent` and `image` run in the helper with the whole command
// line (global options included) and its exit code.
func TestCommandsHandedToTheHelper(t *testing.T) {
	code, _, stderr := cli("--verbose", "agent")
	assert.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, "usage: chaostest agent <install|uninstall|image>")
	code, _, stderr = cli("image", "frobnicate")
	assert.NotEqual(t, 0, code, stderr)
	assert.NotContains(t, stderr, "unknown command", "the helper knows image")
}
