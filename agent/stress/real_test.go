package stress

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/rand"
)

// parentEnv makes the test binary a parent that starts a stressor, prints its pid and waits
// to be killed (TestStressorDiesWithParent).
const parentEnv = "CHAOSTEST_STRESS_PARENT"

// TestMain lets the test binary be the stressor (as the agent's binary is) and the parent of
// TestStressorDiesWithParent.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == Subcommand {
		os.Exit(Main(os.Args[2:]))
	}
	if os.Getenv(parentEnv) != "" {
		p, err := Start(os.Args[0], nil, Spec{CPUWorkers: 1, CPULoad: 5}, "test/orphan", nil)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		if err := p.Begin("", 0); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(p.Pid())
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeContainer makes, in the cpu, cpuacct and memory cgroup v1 hierarchies of this host below this process's own
// cgroup (or in the v2 tree), the layout the kubelet makes for a container
// (chaostest-stress-test/pod<uid>/<id>), puts a sleeping process in it, and returns the pod
// UID and container ID. Cleanup kills the process and removes the cgroups.
func fakeContainer(t *testing.T, setup func(dir string)) (hs []Hierarchy, podUID, cid string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make cgroups")
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	hs = Hierarchies(mi, "/sys/fs/cgroup")
	if len(hs) == 0 {
		t.Skip("no cgroup hierarchy mounted at /sys/fs/cgroup")
	}
	own := ownCgroups(t)
	podUID, cid = "test-"+rand.String(8), "ctr"+rand.String(12)
	sleeper := exec.Command("sleep", "600")
	require.NoError(t, sleeper.Start())
	var made []string
	t.Cleanup(func() {
		_ = sleeper.Process.Kill()
		_ = sleeper.Wait()
		for i := len(made) - 1; i >= 0; i-- {
			for k := 0; k < 50 && os.Remove(made[i]) != nil; k++ {
				time.Sleep(20 * time.Millisecond) // a killed process leaves its cgroup shortly after
			}
		}
	})
	for _, h := range hs {
		key := strings.Join(h.Controllers, ",")
		if h.V2 {
			key = ""
		}
		base, ok := own[key]
		if !ok || (h.V2 && len(hs) > 1) || (!h.V2 && !has(h, "cpu") && !has(h, "cpuacct") && !has(h, "memory")) {
			continue // only what the tests measure: cpu, cpuacct, memory (or v2)
		}
		root := filepath.Join(h.Mount, base, "chaostest-stress-test-"+podUID)
		dir := filepath.Join(root, "pod"+podUID, cid)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		made = append(made, root, filepath.Join(root, "pod"+podUID), dir)
		if setup != nil {
			setup(dir)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(sleeper.Process.Pid)), 0))
	}
	return hs, podUID, cid
}

// ownCgroups maps each hierarchy of /proc/self/cgroup ("cpu", "memory", "name=systemd", or ""
// for v2) to this process's path in it.
func ownCgroups(t *testing.T) map[string]string {
	b, err := os.ReadFile("/proc/self/cgroup")
	require.NoError(t, err)
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) == 3 {
			out[f[1]] = f[2]
		}
	}
	return out
}

// rate samples the CPU usage of dirs over window after warm-up and returns cores, and the
// cores the stressor pid (0: none) lost waiting for a CPU meanwhile.
func rate(t *testing.T, dirs []string, pid int, warm, window time.Duration) (cores, lost float64) {
	t.Helper()
	time.Sleep(warm)
	delay := func() time.Duration {
		if pid == 0 {
			return 0
		}
		d, err := RunDelay("", pid)
		require.NoError(t, err)
		return d
	}
	u0, err := CPUUsage(dirs)
	require.NoError(t, err)
	d0, t0 := delay(), time.Now()
	time.Sleep(window)
	u1, err := CPUUsage(dirs)
	require.NoError(t, err)
	d1, el := delay(), time.Since(t0)
	return float64(u1-u0) / float64(el), float64(d1-d0) / float64(el)
}

func startIn(t *testing.T, dirs []string, s Spec, tag string) *Process {
	t.Helper()
	p, err := Start(os.Args[0], nil, s, tag, os.Stderr)
	require.NoError(t, err)
	t.Cleanup(p.Stop)
	require.NoError(t, p.Join(dirs))
	require.NoError(t, p.Begin("", 0))
	return p
}

func requireNoStressor(t *testing.T, prefix string) {
	t.Helper()
	var left []Found
	for i := 0; i < 100; i++ {
		var err error
		left, err = Running("", prefix)
		require.NoError(t, err)
		if len(left) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("stressors left: %+v", left)
}

// A stressor moved into a container's cgroups loads it: one worker at 50 % adds half a core
// to the cgroup's CPU usage, two at 30 % 0.6 core. The workers count their own thread's CPU
// time, so on an idle machine the error is the sampling of a 3 s window (±0.03 core, plus the
// catch-up of a worker starved just before it, maxDebt per worker, and the CPU of the Go
// runtime's own threads, runtimeCPU); on a
// shared machine the scheduler may withhold CPU, so the usage must lie between the asked
// load minus what the stressor's threads spent waiting for a CPU (schedstat run delay, a
// measured bound) and the asked load plus 0.03 core. Stopping it ends the load and leaves no
// process.
func TestStressorLoadsContainerCPU(t *testing.T) {
	hs, uid, cid := fakeContainer(t, nil)
	dirs, err := ContainerDirs(hs, uid, cid)
	require.NoError(t, err)
	idle, _ := rate(t, dirs, 0, 0, time.Second)
	for _, c := range []struct {
		workers, load int
	}{{1, 50}, {2, 30}} {
		tag := "test/cpu/" + uid
		p := startIn(t, dirs, Spec{CPUWorkers: c.workers, CPULoad: c.load}, tag)
		procs, err := Procs(dirs)
		require.NoError(t, err)
		assert.Contains(t, procs, p.Pid(), "the stressor is in the container's cgroup")
		got, lost := rate(t, dirs, p.Pid(), 500*time.Millisecond, 3*time.Second)
		want := float64(c.workers*c.load) / 100
		t.Logf("%d workers at %d %%: %.3f cores (asked %.2f; idle %.3f; lost waiting for a CPU %.3f)", c.workers, c.load, got, want, idle, lost)
		// A worker starved before the window may catch up maxDebt inside it.
		// The runtime's own threads are not counted by the workers.
		assert.LessOrEqual(t, got-idle, want+runtimeCPU+float64(c.workers)*maxDebt.Seconds()/3)
		assert.GreaterOrEqual(t, got-idle, want-lost-0.03)
		p.Stop()
		requireNoStressor(t, tag)
		after, _ := rate(t, dirs, 0, 100*time.Millisecond, time.Second)
		assert.Less(t, after, 0.05, "no load once stopped")
	}
}

// The container's CPU limit applies to the stressor: with a CFS quota of 0.2 core, a worker
// asked for 100 % gets 0.2 core (less only by what the scheduler withheld).
func TestStressorObeysContainerCPULimit(t *testing.T) {
	hs, uid, cid := fakeContainer(t, func(dir string) {
		if _, err := os.Stat(filepath.Join(dir, "cpu.cfs_quota_us")); err == nil {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte("20000"), 0))
		} else if _, err := os.Stat(filepath.Join(dir, "cpu.max")); err == nil {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "cpu.max"), []byte("20000 100000"), 0))
		}
	})
	dirs, err := ContainerDirs(hs, uid, cid)
	require.NoError(t, err)
	p := startIn(t, dirs, Spec{CPUWorkers: 1, CPULoad: 100}, "test/limit/"+uid)
	got, lost := rate(t, dirs, p.Pid(), 500*time.Millisecond, 3*time.Second)
	t.Logf("1 worker at 100 %% under a 0.2-core quota: %.3f cores (run delay %.3f, throttled time included)", got, lost)
	assert.LessOrEqual(t, got, 0.2+0.01)
	assert.Greater(t, got, 0.1)
}

// Memory is charged to the container: holding 64 MiB raises its usage by 64 MiB, plus at most
// runtimeOverhead (the stressor's Go runtime's own pages, charged after the move), and
// stopping it gives it all back. With a growth time of 1 s the usage is between a quarter and
// three quarters of the size at 0.5 s.
func TestStressorHoldsContainerMemory(t *testing.T) {
	hs, uid, cid := fakeContainer(t, nil)
	dirs, err := ContainerDirs(hs, uid, cid)
	require.NoError(t, err)
	usage := func() float64 {
		u, err := MemoryUsage(dirs)
		require.NoError(t, err)
		return float64(u) / (1 << 20)
	}
	before := usage()
	tag := "test/mem/" + uid
	p := startIn(t, dirs, Spec{MemBytes: 64 << 20, MemWorkers: 2, MemTime: time.Second}, tag)
	time.Sleep(500 * time.Millisecond)
	half := usage()
	time.Sleep(time.Second)
	full := usage()
	t.Logf("memory usage: before %.1f MiB, at 0.5 s %.1f MiB, at 1.5 s %.1f MiB", before, half, full)
	assert.GreaterOrEqual(t, full-before, 64.0-0.5)
	assert.LessOrEqual(t, full-before, 64.0+runtimeOverhead)
	assert.Greater(t, half-before, 16.0, "growing: a quarter of the size or more at half the growth time")
	assert.Less(t, half-before, 48.0+runtimeOverhead, "growing: three quarters of the size or less at half the growth time")
	p.Stop()
	requireNoStressor(t, tag)
	// The kernel frees an exited process's pages shortly after /proc stops listing it.
	gone := time.Now()
	for usage()-before >= 1 && time.Since(gone) < 3*time.Second {
		time.Sleep(20 * time.Millisecond)
	}
	assert.Less(t, usage()-before, 1.0, "memory given back")
}

// A stressor dies with its parent: the parent is killed with SIGKILL, and the stressor is
// gone (Pdeathsig) within a second.
func TestStressorDiesWithParent(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), parentEnv+"=1")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	require.NoError(t, err, line)
	found, err := Running("", "test/orphan")
	require.NoError(t, err)
	require.Len(t, found, 1)
	assert.Equal(t, pid, found[0].PID)
	assert.Equal(t, cmd.Process.Pid, found[0].PPID)
	assert.False(t, found[0].Orphan)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	killed := time.Now()
	requireNoStressor(t, "test/orphan")
	t.Logf("stressor gone %s after its parent was killed", time.Since(killed).Round(time.Millisecond))
}
