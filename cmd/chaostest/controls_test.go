package main

import (
	"bytes"
	"fmt"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/journal"
)

// flipServer answers 200 until 300 ms after /flip is called, then 500; it remembers when it
// flipped.
type flipServer struct {
	*httptest.Server
	mu      sync.Mutex
	flipped time.Time
}

func newFlipServer(t *testing.T) *flipServer {
	s := &flipServer{}
	s.Server = httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.URL.Path == "/flip" {
			// 300 ms from now, so that the next activity (a process) has surely started.
			s.flipped = time.Now().Add(300 * time.Millisecond)
			fmt.Fprint(w, "flipping")
			return
		}
		if !s.flipped.IsZero() && time.Now().After(s.flipped) {
			w.WriteHeader(nethttp.StatusInternalServerError)
			fmt.Fprint(w, "down")
			return
		}
		fmt.Fprint(w, "up")
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *flipServer) flippedAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flipped
}

// processRunning reports whether a process whose command line is exactly args is alive.
func processRunning(t *testing.T, args ...string) bool {
	want := []byte(strings.Join(args, "\x00") + "\x00")
	dirs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	require.NoError(t, err)
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err == nil && bytes.Equal(b, want) {
			return true
		}
	}
	return false
}

// TestSafeguardStopsTheRunCLI: a safeguard probe polls a real loopback server every 100 ms; the
// method flips the server to 500, then runs a real `sleep 30`. The run stops within a second of
// the flip, the sleep is killed, the run ends interrupted with exit 1, and rollbacks follow the
// strategy (skipped by default, played with --rollback-strategy always).
func TestSafeguardStopsTheRunCLI(t *testing.T) {
	for _, strategy := range []string{"default", "always"} {
		t.Run(strategy, func(t *testing.T) {
			srv := newFlipServer(t)
			dir := t.TempDir()
			marker := filepath.Join(dir, "rolled-back")
			sleepArg := fmt.Sprintf("30.%06d", time.Now().UnixNano()%1000000)
			exp := filepath.Join(dir, "experiment.json")
			require.NoError(t, os.WriteFile(exp, []byte(`{
  "title": "guarded", "description": "a safeguard stops the method",
  "controls": [{"name": "blast-radius", "provider": {"type": "python", "module": "chaosaddons.controls.safeguards",
    "arguments": {"probes": [{"type": "probe", "name": "site-up", "frequency": 0.1, "tolerance": 200,
      "provider": {"type": "http", "url": "`+srv.URL+`/", "timeout": 2}}]}}}],
  "method": [
    {"type": "action", "name": "break-site", "provider": {"type": "http", "url": "`+srv.URL+`/flip"}},
    {"type": "action", "name": "long-sleep", "provider": {"type": "process", "path": "sleep", "arguments": "`+sleepArg+`"}},
    {"type": "action", "name": "never-reached", "provider": {"type": "process", "path": "true"}}
  ],
  "rollbacks": [{"type": "action", "name": "repair", "provider": {"type": "process", "path": "touch", "arguments": ["`+marker+`"]}}]
}`), 0o644))
			jp := filepath.Join(dir, "journal.json")
			start := time.Now()
			code, stdout, stderr := cli("run", "--rollback-strategy", strategy, "--journal-path", jp, exp)
			end := time.Now()
			logs := stdout + stderr
			require.Equal(t, 1, code, logs)
			flipped := srv.flippedAt()
			require.False(t, flipped.IsZero(), "the method flipped the server")
			assert.Less(t, end.Sub(flipped), 1500*time.Millisecond, "the run ends within ~1 s of the flip (rollbacks and journal included)")
			assert.Less(t, end.Sub(start), 5*time.Second)
			assert.False(t, processRunning(t, "sleep", sleepArg), "the sleep was killed")
			assert.Contains(t, logs, "Safeguard 'site-up' triggered the end of the experiment")

			j, err := journal.Read(jp)
			require.NoError(t, err)
			assert.Equal(t, journal.StatusInterrupted, j.Status)
			assert.False(t, j.Deviated)
			require.Len(t, j.Run, 2, "never-reached did not run")
			assert.Equal(t, journal.RunSucceeded, j.Run[0].Status)
			cut := j.Run[1]
			assert.Equal(t, "long-sleep", cut.Name())
			assert.Empty(t, cut.Status, "the interrupted record has no status")
			assert.Empty(t, cut.Exception)
			assert.NotEmpty(t, cut.Start)
			assert.NotEmpty(t, cut.End)
			assert.Less(t, cut.Duration, 1.8)
			_, statErr := os.Stat(marker)
			if strategy == "always" {
				require.Len(t, j.Rollbacks, 1)
				assert.Equal(t, journal.RunSucceeded, j.Rollbacks[0].Status)
				assert.NoError(t, statErr, "the rollback really ran")
			} else {
				assert.Empty(t, j.Rollbacks)
				assert.True(t, os.IsNotExist(statErr), "no rollback under the default strategy")
			}
		})
	}
}

// TestControlValidationCLI: a mapping of controls fails validation with chaoslib's message, and
// an unknown control module is only a warning.
func TestControlValidationCLI(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"title": "t", "description": "d", "controls": {"tracing": {}}, "method": []}`), 0o644))
	code, stdout, stderr := cli("validate", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout+stderr, "A control must have a `name` property")

	unknown := filepath.Join(dir, "unknown.json")
	require.NoError(t, os.WriteFile(unknown, []byte(`{"title": "t", "description": "d",
  "controls": [{"name": "tracing", "provider": {"type": "python", "module": "chaostracing.control"}}],
  "method": [{"type": "action", "name": "noop", "provider": {"type": "process", "path": "true"}}]}`), 0o644))
	code, stdout, stderr = cli("validate", unknown)
	assert.Equal(t, 0, code, stdout+stderr)
	assert.Contains(t, stdout+stderr, "WARNING] Could not find Python module 'chaostracing.control' in control 'tracing'.")
	code, stdout, stderr = cli("run", "--journal-path", filepath.Join(dir, "j.json"), unknown)
	assert.Equal(t, 0, code, stdout+stderr)
	assert.Contains(t, stdout+stderr, "WARNING] Could not find Python module 'chaostracing.control' in control 'tracing'. Did you install the Python module? The experiment will carry on running nonetheless.")
}
