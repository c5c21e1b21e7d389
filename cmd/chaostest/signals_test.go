package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/journal"
)

var (
	cliOnce sync.Once
	cliBin  string
	cliErr  error
)

// builtCLI builds the chaostest binary once for the signal tests.
func builtCLI(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "chaostest-signals-")
		if err != nil {
			cliErr = err
			return
		}
		cliBin = filepath.Join(dir, "chaostest")
		if out, err := exec.Command("go", "build", "-o", cliBin, ".").CombinedOutput(); err != nil {
			cliErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, cliErr)
	return cliBin
}

func TestMain(m *testing.M) {
	cleanup, err := buildHelper()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	if cliBin != "" {
		_ = os.RemoveAll(filepath.Dir(cliBin))
	}
	os.Exit(code)
}

// pidAction is a process action that writes its PID to pidFile (whole, by a rename), then
// sleeps.
func pidAction(name, pidFile, seconds string) string {
	return fmt.Sprintf(`{"type": "action", "name": %q, "provider": {"type": "process", "path": "sh", "arguments": ["-c", %s]}, "timeout": 60}`,
		name, jsonStr(fmt.Sprintf("echo $$ > '%s.tmp' && mv '%s.tmp' '%s'; exec sleep %s", pidFile, pidFile, pidFile, seconds)))
}

func processAction(name, path string, args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = jsonStr(a)
	}
	return fmt.Sprintf(`{"type": "action", "name": %q, "provider": {"type": "process", "path": %q, "arguments": [%s]}, "timeout": 10}`, name, path, strings.Join(q, ", "))
}

// cliRun is a chaostest run in its own process, with its stderr read line by line.
type cliRun struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	grew  chan struct{}
	done  chan struct{}
}

func startCLI(t *testing.T, args ...string) *cliRun {
	t.Helper()
	cmd := exec.Command(builtCLI(t), args...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	r := &cliRun{cmd: cmd, grew: make(chan struct{}, 1), done: make(chan struct{})}
	require.NoError(t, cmd.Start())
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			r.mu.Lock()
			r.lines = append(r.lines, sc.Text())
			r.mu.Unlock()
			select {
			case r.grew <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return r
}

func (r *cliRun) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// waitFor waits until a log line contains s and the file (if not "") exists.
func (r *cliRun) waitFor(t *testing.T, s, file string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		_, statErr := os.Stat(file)
		if strings.Contains(r.log(), s) && (file == "" || statErr == nil) {
			return
		}
		select {
		case <-r.grew:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no log line with %q (and file %q) after 30 s:\n%s", s, file, r.log())
		}
	}
}

func (r *cliRun) signal(t *testing.T, s syscall.Signal) {
	t.Helper()
	require.NoError(t, r.cmd.Process.Signal(s))
}

// wait returns the exit code.
func (r *cliRun) wait(t *testing.T) int {
	t.Helper()
	<-r.done
	err := r.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		require.True(t, ee.Exited(), "the CLI exits by itself, not killed by the signal: %v\n%s", err, r.log())
		return ee.ExitCode()
	}
	require.NoError(t, err)
	return 0
}

// assertGone checks that the process whose PID is in pidFile no longer exists.
func assertGone(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	// The CLI reaps its children: once it has exited, a child still running would be alive
	// under PID 1. Give the kernel a moment.
	for i := 0; i < 50; i++ {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	t.Errorf("the child process %d (%s) is still alive after the run", pid, pidFile)
}

func TestSignals(t *testing.T) {
	type tc struct {
		name     string
		strategy string
		// inRollbacks: the first signal arrives while the first rollback runs; otherwise while
		// the method's action runs.
		inRollbacks bool
		signals     []syscall.Signal
		// second: a second signal sent while the first rollback runs (after the first one).
		second    syscall.Signal
		logs      []string
		rollbacks []string // name:status of the rollback records
		absent    []string
	}
	const rbLong = "rb-long"
	cases := []tc{
		{name: "SIGINT during the method", strategy: "default", signals: []syscall.Signal{syscall.SIGINT},
			logs: []string{"WARNING] Received a termination signal (Ctrl-C)..."}, absent: []string{"Let's rollback"}},
		{name: "SIGTERM during the method", strategy: "default", signals: []syscall.Signal{syscall.SIGTERM},
			logs: []string{"WARNING] Caught SIGTERM signal, interrupting experiment now", "CRITICAL] SIGTERM signal received"}, absent: []string{"Let's rollback"}},
		{name: "SIGHUP during the method", strategy: "default", signals: []syscall.Signal{syscall.SIGHUP},
			logs: []string{"WARNING] Caught SIGHUP signal, interrupting experiment now", "CRITICAL] SIGHUP signal received"}, absent: []string{"Let's rollback"}},
		{name: "SIGINT during the method, rollbacks always", strategy: "always", signals: []syscall.Signal{syscall.SIGINT},
			logs:      []string{"WARNING] Received a termination signal (Ctrl-C)...", "WARNING] Rollbacks were explicitly requested to be played", "INFO] Rollback: rb-quick"},
			rollbacks: []string{"rb-quick:succeeded", "rb-echo:succeeded"}},
		{name: "SIGUSR1 during the method, rollbacks always", strategy: "always", signals: []syscall.Signal{syscall.SIGUSR1},
			logs:      []string{"WARNING] Received the exit signal: 20"},
			rollbacks: []string{"rb-quick:succeeded", "rb-echo:succeeded"}},
		{name: "SIGUSR1 during the method", strategy: "default", signals: []syscall.Signal{syscall.SIGUSR1},
			logs: []string{"WARNING] Received the exit signal: 20"}, absent: []string{"Let's rollback"}},
		{name: "SIGUSR2 during the method, rollbacks always", strategy: "always", signals: []syscall.Signal{syscall.SIGUSR2},
			logs:   []string{"WARNING] Received the exit signal: 30", "WARNING] Ignoring rollbacks as per signal"},
			absent: []string{"Let's rollback", "Rollbacks were explicitly"}},
		{name: "SIGINT during rollbacks", strategy: "default", inRollbacks: true, signals: []syscall.Signal{syscall.SIGINT},
			logs:      []string{"WARNING] Received an exit signal.Terminating now without running the remaining rollbacks."},
			rollbacks: []string{rbLong + ":"}, absent: []string{"Rollback: rb-echo"}},
		{name: "SIGTERM during rollbacks", strategy: "default", inRollbacks: true, signals: []syscall.Signal{syscall.SIGTERM},
			logs:      []string{"WARNING] Caught SIGTERM signal, interrupting experiment now", "CRITICAL] SIGTERM signal received"},
			rollbacks: []string{rbLong + ":"}, absent: []string{"Rollback: rb-echo"}},
		{name: "SIGUSR2 during rollbacks", strategy: "default", inRollbacks: true, signals: []syscall.Signal{syscall.SIGUSR2},
			logs:      []string{"WARNING] Received an exit signal.Terminating now without running the remaining rollbacks."},
			rollbacks: []string{rbLong + ":"}, absent: []string{"Rollback: rb-echo"}},
		{name: "SIGINT during the method then SIGTERM during rollbacks always", strategy: "always", signals: []syscall.Signal{syscall.SIGINT}, second: syscall.SIGTERM,
			logs:      []string{"WARNING] Received a termination signal (Ctrl-C)...", "CRITICAL] SIGTERM signal received"},
			rollbacks: []string{rbLong + ":"}, absent: []string{"Rollback: rb-echo"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			methodPID, rbPID := filepath.Join(dir, "method.pid"), filepath.Join(dir, "rollback.pid")
			method := pidAction("long", methodPID, "30")
			if c.inRollbacks {
				method = processAction("short", "true")
			}
			rbFirst := processAction("rb-quick", "sleep", "0.3")
			if c.inRollbacks || c.second != 0 {
				rbFirst = pidAction(rbLong, rbPID, "30")
			}
			exp := fmt.Sprintf(`{"title": "signals", "description": "d", "method": [%s], "rollbacks": [%s, %s]}`,
				method, rbFirst, processAction("rb-echo", "echo", "rolled back"))
			ep, jp := filepath.Join(dir, "experiment.json"), filepath.Join(dir, "journal.json")
			require.NoError(t, os.WriteFile(ep, []byte(exp), 0o644))

			r := startCLI(t, "run", "--journal-path", jp, "--rollback-strategy", c.strategy, ep)
			if c.inRollbacks {
				r.waitFor(t, "Action: "+rbLong, rbPID)
			} else {
				r.waitFor(t, "Action: long", methodPID)
			}
			for _, s := range c.signals {
				r.signal(t, s)
			}
			if c.second != 0 {
				r.waitFor(t, "Action: "+rbLong, rbPID)
				r.signal(t, c.second)
			}
			code := r.wait(t)
			log := r.log()
			assert.Equal(t, 1, code, log)
			j, err := journal.Read(jp)
			require.NoError(t, err, log)
			assert.Equal(t, journal.StatusInterrupted, j.Status, log)
			var got []string
			for _, rec := range j.Rollbacks {
				got = append(got, rec.Name()+":"+rec.Status)
			}
			assert.Equal(t, c.rollbacks, got, "rollback records\n%s", log)
			for _, l := range c.logs {
				assert.Contains(t, log, l)
			}
			for _, l := range c.absent {
				assert.NotContains(t, log, l)
			}
			assert.Contains(t, log, "INFO] Experiment ended with status: interrupted")
			if !c.inRollbacks {
				require.Len(t, j.Run, 1)
				// as chaoslib: the record of the activity the signal cut has no status and no
				// exception, and no "=> failed" line was logged
				assert.Empty(t, j.Run[0].Status, "the interrupted action")
				assert.Empty(t, j.Run[0].Exception, "the interrupted action")
				assert.NotContains(t, log, "=> failed")
				assertGone(t, methodPID)
			}
			if c.inRollbacks || c.second != 0 {
				assertGone(t, rbPID)
			}
			if len(c.rollbacks) == 2 {
				// They really ran, on a fresh context: the sleep lasted its 0.3 s.
				assert.GreaterOrEqual(t, j.Rollbacks[0].Duration, 0.3)
			}
		})
	}
}

// TestBrokenStderrPipe: the reader of chaostest's stderr goes away (`... 2>&1 | head -1`)
// while the method runs: the run still finishes, plays its rollbacks and writes its journal,
// and a provider's child process still gets the default SIGPIPE (it is not inherited ignored).
func TestBrokenStderrPipe(t *testing.T) {
	bin := builtCLI(t)
	dir := t.TempDir()
	after, rolled := filepath.Join(dir, "after"), filepath.Join(dir, "rolled")
	childStatus := filepath.Join(dir, "child-status")
	exp := filepath.Join(dir, "exp.json")
	// the child `yes` writes to a pipe whose reader exits at once: with SIGPIPE at its default
	// it is killed by it (status 141 in sh); with SIGPIPE ignored it would fail with EPIPE (1)
	child := fmt.Sprintf("(yes; echo $? > '%s') | head -c 1 >/dev/null", childStatus)
	require.NoError(t, os.WriteFile(exp, []byte(`{"title": "t", "description": "d", "method": [
  `+processAction("sleep", "sleep", "1")+`,
  `+processAction("child", "sh", "-c", child)+`,
  `+processAction("after", "touch", after)+`],
 "rollbacks": [`+processAction("rollback", "touch", rolled)+`]}`), 0o644))
	jp := filepath.Join(dir, "journal.json")
	cmd := exec.Command(bin, "run", "--journal-path", jp, exp)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd.Stderr, cmd.Stdout = w, w
	require.NoError(t, cmd.Start())
	_ = w.Close()
	line, err := bufio.NewReader(r).ReadString('\n') // one line, then the reader goes away
	require.NoError(t, err)
	assert.Contains(t, line, "INFO]")
	require.NoError(t, r.Close())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the run did not end within 60s")
	}
	require.NoError(t, err, "exit status 0: the run completed")
	assert.FileExists(t, after, "the method went on after stderr broke")
	assert.FileExists(t, rolled, "the rollback ran")
	j, err := journal.Read(jp)
	require.NoError(t, err)
	assert.Equal(t, "completed", j.Status)
	b, err := os.ReadFile(childStatus)
	require.NoError(t, err)
	assert.Equal(t, "141", strings.TrimSpace(string(b)), "the provider's child died of SIGPIPE (128+13), its default")
}
