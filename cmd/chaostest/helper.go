package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/internal/remote"
)

// helperName is the executable name of the Kubernetes helper: this package built with
// -tags chaostest_k8s (make build).
const helperName = "chaostest-k8s"

// helperEnv names an environment variable that gives the helper's path, before the lookups.
const helperEnv = "CHAOSTEST_K8S_HELPER"

// cliEnv names the variable through which the light CLI tells the helper its own path, when it
// hands a command over: `run --in-cluster` and `image` put the CLI (and the helper next to it)
// into the image.
const cliEnv = "CHAOSTEST_CLI"

// cliExecutable returns the path of the chaostest CLI: $CHAOSTEST_CLI in the helper, else this
// executable.
func cliExecutable() (string, error) {
	if p := os.Getenv(cliEnv); p != "" {
		return p, nil
	}
	return os.Executable()
}

// cliArgs holds the arguments run got last (global options included), for the commands the
// light CLI hands to the helper whole (a process runs one command; tests call run from several
// goroutines, hence the atomic).
var cliArgs atomic.Pointer[[]string]

// k8sHelper calls the functions registered from internal/k8sfuncs in the helper.
var k8sHelper = remote.NewClient(findHelper, engine.Version, "serve")

// findHelper finds chaostest-k8s: $CHAOSTEST_K8S_HELPER, next to this executable, on PATH.
func findHelper() (string, error) {
	if p := os.Getenv(helperEnv); p != "" {
		return p, nil
	}
	exe, err := os.Executable()
	if err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			p := filepath.Join(filepath.Dir(exe), helperName)
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	if p, err := exec.LookPath(helperName); err == nil {
		return p, nil
	}
	return "", errors.New("the Kubernetes providers run in the helper executable " + helperName +
		", found neither next to " + exe + " nor on PATH: install it with `make build` (bin/) or `go install " +
		"github.com/chaostest/chaostest/cmd/" + helperName + "@latest`, or set " + helperEnv + " to its path")
}

// wantsInCluster reports whether the run arguments ask for --in-cluster.
func wantsInCluster(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--in-cluster" || a == "-in-cluster" || a == "--in-cluster=true" || a == "-in-cluster=true" {
			return true
		}
	}
	return false
}
