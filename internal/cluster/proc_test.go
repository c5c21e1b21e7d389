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

func TestParseStatHandlesCommandNamesWithSpacesAndParens(t *testing.T) {
	stat := "1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615"
	state, start, err := parseStat(stat)
	require.NoError(t, err)
	assert.Equal(t, byte('S'), state)
	assert.Equal(t, uint64(987654), start)
	_, _, err = parseStat("1234 (x) S 1 2")
	assert.Error(t, err)
}

func TestProcRecordRoundTripAndBadFiles(t *testing.T) {
	r := procRecord{Name: "etcd", PID: 42, Start: 77}
	got, err := parseProcRecord("etcd", r.marshal())
	require.NoError(t, err)
	assert.Equal(t, r, got)
	for _, bad := range []string{"", "42", "x 1", "-1 5", "1 2 3"} {
		_, err := parseProcRecord("etcd", bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestProcsStartAndStopARealProcess(t *testing.T) {
	dir := t.TempDir()
	p := procs{dir: filepath.Join(dir, "pids"), logDir: filepath.Join(dir, "logs")}
	r, err := p.start("sleeper", []string{"GREETING=hi"}, "/bin/sh", "-c", "echo $GREETING; exec sleep 60")
	require.NoError(t, err)
	assert.True(t, r.alive())
	assert.True(t, p.running("sleeper"))

	again, err := p.start("sleeper", nil, "/bin/sh", "-c", "exit 1")
	require.NoError(t, err)
	assert.Equal(t, r, again, "a running component is not started twice")

	stale := procRecord{Name: "sleeper", PID: r.PID, Start: r.Start + 1}
	assert.False(t, stale.alive(), "a PID with another start time is another process")

	logPath := filepath.Join(dir, "logs", "sleeper.log")
	require.NoError(t, poll(context.Background(), 5*time.Second, "output in the log", func() (bool, error) {
		b, err := os.ReadFile(logPath)
		return strings.Contains(string(b), "hi\n"), err
	}))
	stopped, err := p.stop("sleeper", 5*time.Second)
	require.NoError(t, err)
	assert.True(t, stopped)
	assert.False(t, r.alive())
	_, err = os.Stat(p.pidFile("sleeper"))
	assert.True(t, os.IsNotExist(err), "pid file removed, got %v", err)
	log, err := os.ReadFile(logPath)
	require.NoError(t, err)
	assert.Contains(t, string(log), "starting /bin/sh", "the log records each start")

	stopped, err = p.stop("sleeper", time.Second)
	require.NoError(t, err)
	assert.False(t, stopped, "stopping twice is a no-op")
}

func TestProcsStopEscalatesToSIGKILL(t *testing.T) {
	dir := t.TempDir()
	p := procs{dir: dir, logDir: dir}
	r, err := p.start("stubborn", nil, "/bin/sh", "-c", "trap '' TERM; while true; do sleep 0.1; done")
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond) // let the shell install its trap
	start := time.Now()
	stopped, err := p.stop("stubborn", 300*time.Millisecond)
	require.NoError(t, err)
	assert.True(t, stopped)
	assert.False(t, r.alive())
	assert.Less(t, time.Since(start), 5*time.Second)
}
