package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

var (
	acquiredMu sync.Mutex
	acquired   = map[string]bool{} // StateDirs this process holds a lease on
)

func (c Config) usersDir() string     { return filepath.Join(c.StateDir, "users") }
func (c Config) setupMarker() string  { return filepath.Join(c.StateDir, "started-by-setup") }
func leaseName(r procRecord) string   { return fmt.Sprintf("%d-%d", r.PID, r.Start) }
func selfRecord() (procRecord, error) { return recordOf(os.Getpid()) }

func recordOf(pid int) (procRecord, error) {
	_, start, err := readStat(pid)
	return procRecord{Name: "user", PID: pid, Start: start}, err
}

// Acquire makes sure the local cluster runs (starting it, or reusing a healthy one) and
// registers this process as one of its users until [Release]. It returns the kubeconfig path.
// The public package's Setup calls it.
func Acquire(ctx context.Context, c Config, w io.Writer) (string, error) {
	w = orDiscard(w)
	if err := c.validate(); err != nil {
		return "", err
	}
	if err := os.MkdirAll(c.usersDir(), 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(ctx, c.lockFile())
	if err != nil {
		return "", err
	}
	defer unlock()
	res, err := up(ctx, c, w)
	if err != nil {
		return "", err
	}
	if !res.Reused {
		if err := os.WriteFile(c.setupMarker(), nil, 0o644); err != nil {
			return "", err
		}
	}
	self, err := selfRecord()
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(c.usersDir(), leaseName(self)), nil, 0o644); err != nil {
		return "", err
	}
	acquiredMu.Lock()
	acquired[c.StateDir] = true
	acquiredMu.Unlock()
	return res.Kubeconfig, nil
}

// Release ends this process's use of the local cluster taken with [Acquire]. The last user
// stops the cluster when an Acquire started it; a cluster that was already running (make
// cluster) is left alone. Without an earlier Acquire it does nothing.
func Release(ctx context.Context, c Config, w io.Writer) error {
	w = orDiscard(w)
	acquiredMu.Lock()
	held := acquired[c.StateDir]
	delete(acquired, c.StateDir)
	acquiredMu.Unlock()
	if !held {
		return nil
	}
	unlock, err := lockFile(ctx, c.lockFile())
	if err != nil {
		return err
	}
	defer unlock()
	self, err := selfRecord()
	if err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(c.usersDir(), leaseName(self))); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if liveUsers(c) > 0 {
		return nil
	}
	if _, err := os.Stat(c.setupMarker()); err != nil {
		return nil // not ours to stop
	}
	if err := down(ctx, c, w, false); err != nil {
		return err
	}
	return os.Remove(c.setupMarker())
}

// liveUsers counts the registered users whose processes still run, removing stale leases.
func liveUsers(c Config) int {
	ents, _ := os.ReadDir(c.usersDir())
	n := 0
	for _, e := range ents {
		pidS, startS, ok := strings.Cut(e.Name(), "-")
		pid, err1 := strconv.Atoi(pidS)
		start, err2 := strconv.ParseUint(startS, 10, 64)
		if ok && err1 == nil && err2 == nil && (procRecord{PID: pid, Start: start}).alive() {
			n++
			continue
		}
		_ = os.Remove(filepath.Join(c.usersDir(), e.Name()))
	}
	return n
}

// Reachable reports whether the cluster that KUBECONFIG (or ~/.kube/config) names answers
// within timeout, and returns its version.
func Reachable(ctx context.Context, timeout time.Duration) (string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return "", err
	}
	rc.Timeout = timeout
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return "", err
	}
	raw, err := cs.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return "", fmt.Errorf("cluster at %s does not answer: %w", rc.Host, err)
	}
	var v struct{ GitVersion string }
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("cluster at %s: /version: %w", rc.Host, err)
	}
	return v.GitVersion, nil
}

// orDiscard lets callers pass a nil writer for "no progress output".
func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
