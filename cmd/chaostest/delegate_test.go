package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDelegatedRunGetsEachSignalOnce runs `chaostest in-pod` (what the Job of `run
// --in-cluster` runs as the pod's PID 1), which the light CLI hands whole to chaostest-k8s. A
// SIGTERM to the CLI alone (the kubelet stopping the pod) and a SIGINT to its whole process
// group (Ctrl-C at a terminal) must each reach the run exactly once: the run is interrupted,
// its rollbacks run to the end (a second delivery would cut them), the journal still comes out
// on stdout, and the exit code is the run's.
func TestDelegatedRunGetsEachSignalOnce(t *testing.T) {
	for _, c := range []struct {
		name   string
		sig    syscall.Signal
		group  bool
		caught string
	}{
		{"SIGTERM to the pod's PID 1", syscall.SIGTERM, false, "WARNING] Caught SIGTERM signal, interrupting experiment now"},
		{"Ctrl-C to the terminal's process group", syscall.SIGINT, true, "WARNING] Received a termination signal (Ctrl-C)..."},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			methodPID, marker := filepath.Join(dir, "method.pid"), filepath.Join(dir, "rolled-back")
			exp := fmt.Sprintf(`{"title": "delegated", "description": "d", "method": [%s], "rollbacks": [%s, %s]}`,
				pidAction("long", methodPID, "30"), processAction("rb-slow", "sleep", "0.5"),
				processAction("rb-mark", "touch", marker))
			ep := filepath.Join(dir, "experiment.json")
			require.NoError(t, os.WriteFile(ep, []byte(exp), 0o644))

			cmd := exec.Command(builtCLI(t), "in-pod", "--rollback-strategy", "always", ep)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "TMPDIR="+dir)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
			deadline := time.Now().Add(30 * time.Second)
			for {
				if _, err := os.Stat(methodPID); err == nil {
					break
				}
				require.True(t, time.Now().Before(deadline), "the method's action did not start")
				time.Sleep(20 * time.Millisecond)
			}
			if c.group {
				require.NoError(t, syscall.Kill(-cmd.Process.Pid, c.sig))
			} else {
				require.NoError(t, cmd.Process.Signal(c.sig))
			}
			err := cmd.Wait()
			log := stderr.String()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, log)
			assert.Equal(t, 1, ee.ExitCode(), log)
			assert.Equal(t, 1, strings.Count(log, c.caught), "the signal reached the run once:\n%s", log)
			assert.NotContains(t, log, "Terminating now without running the remaining rollbacks", "no second delivery cut the rollbacks")
			assert.Contains(t, log, "INFO] Experiment ended with status: interrupted")
			assert.FileExists(t, marker, "the last rollback ran:\n%s", log)
			assert.Contains(t, stdout.String(), "chaostest-journal-begin ", "the journal is framed on stdout")
			assert.Contains(t, stdout.String(), "chaostest-journal-end")
			assertGone(t, methodPID)
		})
	}
}
