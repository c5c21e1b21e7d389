// Package stress is the kernel side of chaostest's StressChaos: the stressor process and the
// cgroups that put it in a target container.
//
// The stressor is the caller's own binary run under a hidden subcommand ([Subcommand]; the
// binary's main calls [Main] for it), so the agent's image needs no stress tool: CPU workers
// that each keep one thread busy for a share of its time, and memory allocated, touched and
// held. The parent starts it ([Start]) stopped at a gate, writes its pid into the target
// container's cgroups ([Process.Join], the directories found by [ContainerDirs]) so that the
// container's limits apply and its usage shows the load, then opens the gate
// ([Process.Begin]); memory is only touched after the move, so it is charged to the container.
//
// A stressor never outlives its parent: it gets SIGKILL when the parent dies (Pdeathsig, set
// from a thread that lives as long as the process), and it exits when its stdin, a pipe from
// the parent, reaches end of file. [Running] lists the stressors on a node (they carry
// [Marker] in their command line), which tests and the agent's garbage collection use.
package stress

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Subcommand is the first argument that makes a binary a stressor (its main passes the rest
// to Main).
const Subcommand = "stress"

// Marker prefixes the stressor's tag argument, which names what it stresses.
const Marker = "--chaostest-stressor="

// Spec is what one stressor does: CPUWorkers threads each busy CPULoad percent of the time
// (of CPU time, measured per thread), and MemBytes bytes shared among MemWorkers mappings,
// touched linearly over MemTime and held.
type Spec struct {
	CPUWorkers, CPULoad int
	MemBytes            uint64
	MemWorkers          int
	MemTime             time.Duration
}

// Args is the command line (after the binary) of a stressor for s, tagged tag.
func (s Spec) Args(tag string) []string {
	return []string{Subcommand, Marker + tag,
		"--cpu-workers=" + strconv.Itoa(s.CPUWorkers), "--cpu-load=" + strconv.Itoa(s.CPULoad),
		"--mem-bytes=" + strconv.FormatUint(s.MemBytes, 10), "--mem-workers=" + strconv.Itoa(s.MemWorkers),
		"--mem-time=" + s.MemTime.String()}
}

// ParseArgs reads the arguments Args wrote after Subcommand.
func ParseArgs(args []string) (Spec, string, error) {
	var s Spec
	var tag string
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		var err error
		switch k + "=" {
		case Marker:
			tag = v
		case "--cpu-workers=":
			s.CPUWorkers, err = strconv.Atoi(v)
		case "--cpu-load=":
			s.CPULoad, err = strconv.Atoi(v)
		case "--mem-bytes=":
			s.MemBytes, err = strconv.ParseUint(v, 10, 64)
		case "--mem-workers=":
			s.MemWorkers, err = strconv.Atoi(v)
		case "--mem-time=":
			s.MemTime, err = time.ParseDuration(v)
		default:
			err = errors.New("unknown argument")
		}
		if err != nil {
			return s, tag, fmt.Errorf("stressor: %q: %v", a, err)
		}
	}
	if s.CPUWorkers < 0 || s.CPULoad < 0 || s.CPULoad > 100 || s.MemWorkers < 0 {
		return s, tag, fmt.Errorf("stressor: workers and load out of range in %q", args)
	}
	if s.MemBytes > 0 && s.MemWorkers == 0 {
		s.MemWorkers = 1
	}
	return s, tag, nil
}

// Main is the stressor: it parses args (those after Subcommand), waits for the gate byte on
// stdin, then stresses until stdin closes or a signal ends it. It returns the exit status.
func Main(args []string) int {
	s, _, err := ParseArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	in := bufio.NewReader(os.Stdin)
	if b, err := in.ReadByte(); err != nil || b != 'g' {
		return 0 // the parent went away (or changed its mind) before the gate opened
	}
	runtime.GOMAXPROCS(max(runtime.NumCPU(), s.CPUWorkers) + 1)
	for i := 0; i < s.CPUWorkers; i++ {
		go spin(s.CPULoad)
	}
	if s.MemBytes > 0 {
		per := s.MemBytes / uint64(s.MemWorkers)
		for i := 0; i < s.MemWorkers; i++ {
			n := per
			if i == 0 {
				n += s.MemBytes % uint64(s.MemWorkers)
			}
			go func() {
				if err := hold(n, s.MemTime); err != nil {
					fmt.Fprintln(os.Stderr, "stressor:", err)
					os.Exit(3)
				}
			}()
		}
	}
	_, _ = io.Copy(io.Discard, in) // until the parent closes the pipe or dies
	return 0
}

// maxDebt bounds how far behind its load a starved CPU worker may catch up.
const maxDebt = 20 * time.Millisecond

// spin keeps its own thread busy load percent of the time. It counts the thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID), not wall time, so the CPU the container is charged is what was
// asked even when other work shares the CPU; after a starved stretch it catches up by at most
// maxDebt.
func spin(load int) {
	runtime.LockOSThread()
	if load <= 0 {
		select {}
	}
	start, used0 := time.Now(), threadCPU()
	x := 1.0
	for {
		now := time.Now()
		target := time.Duration(float64(now.Sub(start)) * float64(load) / 100)
		used := threadCPU() - used0
		if target-used > maxDebt {
			// Starved: forget what cannot be made up.
			used0 -= target - used - maxDebt
			used = target - maxDebt
		}
		if used < target {
			for i := 0; i < 20000; i++ {
				x = math.Sqrt(x + float64(i))
			}
			continue
		}
		time.Sleep(max(time.Duration(float64(used-target)*100/float64(load)), 200*time.Microsecond))
	}
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// hold maps n bytes of anonymous memory and writes one byte in each page, linearly over grow
// (at once when zero), then keeps it.
func hold(n uint64, grow time.Duration) error {
	if n == 0 {
		return nil
	}
	if n > math.MaxInt {
		return fmt.Errorf("%d bytes cannot be mapped", n)
	}
	data, err := unix.Mmap(-1, 0, int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return fmt.Errorf("mapping %d bytes: %w", n, err)
	}
	page := uint64(os.Getpagesize())
	pages := (n + page - 1) / page
	start := time.Now()
	for done := uint64(0); done < pages; {
		want := pages
		if el := time.Since(start); grow > 0 && el < grow {
			want = uint64(float64(pages) * float64(el) / float64(grow))
		}
		for ; done < want; done++ {
			data[done*page] = 1
		}
		if done < pages {
			time.Sleep(10 * time.Millisecond)
		}
	}
	runtime.KeepAlive(data)
	select {}
}

// Process is a started stressor.
type Process struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
	err   error
}

// launcher starts every stressor from one goroutine locked to its thread for the life of the
// process: Pdeathsig fires when the thread that forked the child exits, and Go ends threads
// (those of goroutines that exit locked), so an ordinary goroutine's thread is not a safe
// parent.
var launcher = sync.OnceValue(func() chan func() {
	ch := make(chan func())
	go func() {
		runtime.LockOSThread()
		for f := range ch {
			f()
		}
	}()
	return ch
})

// Start runs exe (the binary whose main calls Main for Subcommand) as a stressor for s, tagged
// tag, stopped at its gate; env, when not nil, is its environment. Its stderr goes to stderr
// (nil: discarded).
func Start(exe string, env []string, s Spec, tag string, stderr io.Writer) (*Process, error) {
	cmd := exec.Command(exe, s.Args(tag)...)
	cmd.Env = env
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	errc := make(chan error, 1)
	launcher() <- func() { errc <- cmd.Start() }
	if err := <-errc; err != nil {
		return nil, fmt.Errorf("starting the stressor: %w", err)
	}
	p := &Process{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the stressor's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Join moves the stressor into the cgroup directories dirs (one per hierarchy), writing its
// pid into each cgroup.procs.
func (p *Process) Join(dirs []string) error {
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(p.Pid())), 0); err != nil {
			return fmt.Errorf("moving the stressor (pid %d) into %s: %w", p.Pid(), d, err)
		}
	}
	return nil
}

// Begin sets the stressor's oom_score_adj (through procRoot, "/proc" when empty) and opens
// its gate.
func (p *Process) Begin(procRoot string, oomScoreAdj int) error {
	if procRoot == "" {
		procRoot = "/proc"
	}
	if err := os.WriteFile(filepath.Join(procRoot, strconv.Itoa(p.Pid()), "oom_score_adj"), []byte(strconv.Itoa(oomScoreAdj)), 0); err != nil {
		return fmt.Errorf("stressor oom_score_adj: %w", err)
	}
	if _, err := p.stdin.Write([]byte{'g'}); err != nil {
		return fmt.Errorf("starting the stressor (pid %d): %w", p.Pid(), err)
	}
	return nil
}

// Done is closed when the stressor has exited; Err then says how.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the stressor's exit (nil before it exited, or when it exited cleanly).
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Stop kills the stressor and waits until it has been reaped (the kernel frees its memory
// shortly after).
func (p *Process) Stop() {
	_ = p.cmd.Process.Kill()
	_ = p.stdin.Close()
	<-p.done
}

// Found is a stressor seen in /proc.
type Found struct {
	PID, PPID int
	Tag       string
	// Orphan is true when the stressor's parent is not a process of its own binary (it was
	// reparented: its parent died without killing it).
	Orphan bool
}

// Running lists the stressors under procRoot ("/proc" when empty) whose tag starts with
// prefix.
func Running(procRoot, prefix string) ([]Found, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, err
	}
	var out []Found
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) < 3 || args[1] != Subcommand || !strings.HasPrefix(args[2], Marker) {
			continue
		}
		tag := strings.TrimPrefix(args[2], Marker)
		if !strings.HasPrefix(tag, prefix) {
			continue
		}
		f := Found{PID: pid, Tag: tag, PPID: ppid(procRoot, pid)}
		exe, _ := os.Readlink(filepath.Join(procRoot, e.Name(), "exe"))
		pexe, _ := os.Readlink(filepath.Join(procRoot, strconv.Itoa(f.PPID), "exe"))
		f.Orphan = exe == "" || pexe != exe
		out = append(out, f)
	}
	return out, nil
}

// ppid reads the parent pid from /proc/<pid>/stat (the field after the parenthesised name).
func ppid(procRoot string, pid int) int {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// RunDelay is the time the threads of process pid (under procRoot, "/proc" when empty) have
// spent runnable but waiting for a CPU (the second field of each thread's schedstat). A CPU
// stressor gets less than its load by at most the growth of this figure: on a machine whose
// CPUs other work keeps busy, the load is what the scheduler grants.
func RunDelay(procRoot string, pid int) (time.Duration, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	dir := filepath.Join(procRoot, strconv.Itoa(pid), "task")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "schedstat"))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) >= 2 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			sum += time.Duration(n)
		}
	}
	return sum, nil
}
