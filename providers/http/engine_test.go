package http_test

import (
	"context"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	_ "github.com/chaostest/chaostest/providers/process"
)

// TestThroughTheEngine runs an experiment file with http and process providers through
// engine.Run and checks what the journal records for them (compat §3.2).
func TestThroughTheEngine(t *testing.T) {
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}))
	t.Cleanup(srv.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	refused := "http://" + l.Addr().String() + "/"
	require.NoError(t, l.Close())

	exp, err := engine.Parse([]byte(fmt.Sprintf(`{
  "title": "http and process providers",
  "description": "engine wiring",
  "configuration": {"base": %q},
  "steady-state-hypothesis": {
    "title": "app answers",
    "probes": [
      {"type": "probe", "name": "app-responds", "tolerance": 200,
       "provider": {"type": "http", "url": "${base}/health", "timeout": 3}},
      {"type": "probe", "name": "true-runs", "tolerance": 0,
       "provider": {"type": "process", "path": "true"}}
    ]
  },
  "method": [
    {"type": "action", "name": "refused", "provider": {"type": "http", "url": %q}},
    {"type": "action", "name": "exit-3", "provider": {"type": "process", "path": "sh", "arguments": ["-c", "exit 3"]}},
    {"type": "action", "name": "slow", "provider": {"type": "process", "path": "sleep", "arguments": ["5"], "timeout": 0.1}}
  ],
  "rollbacks": []
}`, srv.URL, refused)), "json")
	require.NoError(t, err)

	j, err := engine.Run(context.Background(), exp, engine.Settings{})
	require.NoError(t, err)
	assert.Equal(t, journal.StatusCompleted, j.Status, "failed method actions leave the run completed")
	assert.False(t, j.Deviated)
	require.NotNil(t, j.SteadyStates.Before)
	assert.True(t, j.SteadyStates.Before.SteadyStateMet)
	require.Len(t, j.SteadyStates.Before.Probes, 2)
	out, ok := j.SteadyStates.Before.Probes[0].Output.(*jsonvalue.Object)
	require.True(t, ok, "http output is %T", j.SteadyStates.Before.Probes[0].Output)
	assert.Equal(t, int64(200), out.Value("status"))

	require.Len(t, j.Run, 3)
	assert.Equal(t, journal.RunFailed, j.Run[0].Status)
	require.NotEmpty(t, j.Run[0].Exception)
	assert.Contains(t, j.Run[0].Exception[len(j.Run[0].Exception)-1],
		"chaoslib.exceptions.ActivityFailed: failed to connect to "+refused+": dial tcp")
	assert.Equal(t, journal.RunSucceeded, j.Run[1].Status, "a non-zero exit is not a failure")
	assert.Equal(t, int64(3), j.Run[1].Output.(*jsonvalue.Object).Value("status"))
	assert.Equal(t, journal.RunFailed, j.Run[2].Status)
	require.NotEmpty(t, j.Run[2].Exception)
	assert.Equal(t, "chaoslib.exceptions.ActivityFailed: process activity took too long to complete\n",
		j.Run[2].Exception[len(j.Run[2].Exception)-1])
}

// TestCrashAbortsTheMethod checks that a request Chaos Toolkit does not catch (a bad scheme)
// aborts the run.
func TestCrashAbortsTheMethod(t *testing.T) {
	exp, err := engine.Parse([]byte(`{
  "title": "bad scheme", "description": "d",
  "method": [{"type": "action", "name": "ftp", "provider": {"type": "http", "url": "ftp://127.0.0.1/"}}]
}`), "json")
	require.NoError(t, err)
	j, err := engine.Run(context.Background(), exp, engine.Settings{})
	require.NoError(t, err)
	assert.Equal(t, journal.StatusAborted, j.Status)
	require.Len(t, j.Run, 1)
	assert.Empty(t, j.Run[0].Status, "an aborted record has no status")
}
