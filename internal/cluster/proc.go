package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procRecord identifies a process the cluster started: its PID and its start time in clock
// ticks since boot (field 22 of /proc/<pid>/stat), so a reused PID is never mistaken for it.
type procRecord struct {
	Name  string
	PID   int
	Start uint64
}

// parseStat returns the state letter and start time from /proc/<pid>/stat content. The command
// name (field 2) may contain spaces and parentheses, so fields are counted after the last ')'.
func parseStat(stat string) (state byte, start uint64, err error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return 0, 0, fmt.Errorf("malformed /proc stat %q", stat)
	}
	f := strings.Fields(stat[i+2:])
	// f[0] is field 3 (state); starttime is field 22, i.e. f[19]
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("malformed /proc stat: %d fields after the command name, want at least 20", len(f))
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("malformed /proc stat start time %q: %w", f[19], err)
	}
	return f[0][0], start, nil
}

func readStat(pid int) (state byte, start uint64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseStat(string(b))
}

// alive reports whether the recorded process still runs (not a zombie, same start time).
func (r procRecord) alive() bool {
	if r.PID <= 0 {
		return false
	}
	state, start, err := readStat(r.PID)
	return err == nil && state != 'Z' && state != 'X' && start == r.Start
}

func (r procRecord) marshal() string { return fmt.Sprintf("%d %d\n", r.PID, r.Start) }

func parseProcRecord(name, s string) (procRecord, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return procRecord{}, fmt.Errorf("pid file for %s: want \"<pid> <start ticks>\", got %q", name, s)
	}
	pid, err1 := strconv.Atoi(f[0])
	start, err2 := strconv.ParseUint(f[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil || pid <= 0 {
		return procRecord{}, fmt.Errorf("pid file for %s: want \"<pid> <start ticks>\", got %q", name, s)
	}
	return procRecord{Name: name, PID: pid, Start: start}, nil
}

// procs manages the PID files of one state directory.
type procs struct{ dir, logDir string }

func (p procs) pidFile(name string) string { return filepath.Join(p.dir, name+".pid") }

// get returns the record of a component, or ok=false when there is none.
func (p procs) get(name string) (procRecord, bool) {
	b, err := os.ReadFile(p.pidFile(name))
	if err != nil {
		return procRecord{}, false
	}
	r, err := parseProcRecord(name, string(b))
	return r, err == nil
}

// running reports whether the component's recorded process is alive.
func (p procs) running(name string) bool {
	r, ok := p.get(name)
	return ok && r.alive()
}

// start runs a component in its own session (so it outlives the caller and a terminal's
// Ctrl-C), with output appended to its log file, and records its PID. When the caller lives
// on, a goroutine reaps it after it exits so it never lingers as a zombie.
func (p procs) start(name string, env []string, bin string, args ...string) (procRecord, error) {
	if r, ok := p.get(name); ok && r.alive() {
		return r, nil
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return procRecord{}, err
	}
	if err := os.MkdirAll(p.logDir, 0o755); err != nil {
		return procRecord{}, err
	}
	logPath := filepath.Join(p.logDir, name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return procRecord{}, err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "==== %s starting %s %s\n", time.Now().UTC().Format(time.RFC3339), bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return procRecord{}, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = cmd.Wait() }()
	_, st, err := readStat(cmd.Process.Pid)
	if err != nil {
		return procRecord{}, fmt.Errorf("start %s: process %d vanished at once (see %s): %w", name, cmd.Process.Pid, logPath, err)
	}
	r := procRecord{Name: name, PID: cmd.Process.Pid, Start: st}
	if err := writeFileAtomic(p.pidFile(name), []byte(r.marshal()), 0o644); err != nil {
		_ = cmd.Process.Kill()
		return procRecord{}, err
	}
	return r, nil
}

// stop ends a recorded component: SIGTERM, up to grace to exit, then SIGKILL. The PID file is
// removed once the process is gone. A record whose process is already gone is just removed.
func (p procs) stop(name string, grace time.Duration) (bool, error) {
	r, ok := p.get(name)
	if !ok {
		_ = os.Remove(p.pidFile(name))
		return false, nil
	}
	stopped := false
	if r.alive() {
		if err := stopPID(r, grace); err != nil {
			return false, err
		}
		stopped = true
	}
	return stopped, os.Remove(p.pidFile(name))
}

// stopPID signals one identified process and waits for it to go.
func stopPID(r procRecord, grace time.Duration) error {
	_ = syscall.Kill(r.PID, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !r.alive() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(r.PID, syscall.SIGKILL)
	for i := 0; i < 100; i++ {
		if !r.alive() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s (pid %d) still alive 5s after SIGKILL", r.Name, r.PID)
}

// procInfo is what scanProcs reports about one process.
type procInfo struct {
	PID     int
	Start   uint64
	Cmdline []string
	Cgroup  string
}

// scanProcs lists the processes for which keep returns true.
func scanProcs(keep func(procInfo) bool) []procInfo {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, start, err := readStat(pid)
		if err != nil || state == 'Z' || state == 'X' {
			continue
		}
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		pi := procInfo{PID: pid, Start: start, Cmdline: strings.Split(strings.TrimRight(string(cl), "\x00"), "\x00"), Cgroup: string(cg)}
		if keep(pi) {
			out = append(out, pi)
		}
	}
	return out
}
