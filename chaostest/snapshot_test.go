package chaostest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/journal/journaltest"
)

// TestJournalSnapshot runs an experiment on a real loopback server and a real process and
// compares its normalised journal with the committed snapshot: a change of behaviour (statuses,
// tolerances met, outputs, the shape of the journal) shows up as a snapshot diff in review.
// Update with UPDATE_SNAPS=true go test ./chaostest -run TestJournalSnapshot.
func TestJournalSnapshot(t *testing.T) {
	srv, _ := service(t)
	exp := filepath.Join(t.TempDir(), "experiment.json")
	require.NoError(t, os.WriteFile(exp, []byte(`{
  "version": "1.0.0",
  "title": "The service survives a restart of its worker",
  "description": "A process and an http probe around a method that breaks the service.",
  "tags": ["snapshot"],
  "configuration": {"url": {"type": "env", "key": "CHAOSTEST_SNAPSHOT_URL", "default": "http://127.0.0.1:1/"}},
  "steady-state-hypothesis": {"title": "Service is healthy", "probes": [
    {"type": "probe", "name": "service-responds", "tolerance": 200, "provider": {"type": "http", "url": "${url}", "timeout": 3}},
    {"type": "probe", "name": "worker-runs", "tolerance": {"type": "regex", "pattern": "^running$", "target": "stdout"},
     "provider": {"type": "process", "path": "echo", "arguments": ["running"]}}
  ]},
  "method": [
    {"type": "action", "name": "break-service", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}},
    {"type": "probe", "name": "look", "provider": {"type": "process", "path": "sh", "arguments": ["-c", "echo looked; exit 3"]}}
  ],
  "rollbacks": [{"type": "action", "name": "restore", "provider": {"type": "process", "path": "true"}}]
}`), 0o644))
	f := newFake(t)
	f.run(func() {
		got := chaostest.RunFile(f, exp, chaostest.Var("url", srv.URL)).Journal
		require.Equal(t, "completed", got.Status)
		journaltest.MatchSnapshot(t, got)
	})
	require.Empty(t, f.errs)
}
