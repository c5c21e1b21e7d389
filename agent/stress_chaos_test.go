//go:build chaos

package agent_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/chaostest/chaostest/agent/stress"
	"github.com/chaostest/chaostest/agent/v1alpha1"
	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/chaosmesh"
)

// stressChildEnv makes the test binary the "test process killed mid-fault" of
// TestStressLeaseExpiryAfterKill: it creates a CPU stress "ns/name" with a 3 s lease and waits
// to be killed.
const stressChildEnv = "CHAOSTEST_STRESS_CHILD"

func init() {
	spec := os.Getenv(stressChildEnv)
	if spec == "" {
		return
	}
	ns, name, _ := strings.Cut(spec, "/")
	f, ok := provider.LookupFunc("chaosk8s.chaosmesh.stress.actions.stress_cpu")
	if !ok {
		fmt.Println("stress_cpu is not registered")
		os.Exit(1)
	}
	_, err := f.Call(context.Background(), provider.Env{Configuration: map[string]any{chaosmesh.LeaseKey: 3.0}},
		map[string]any{"name": name, "ns": ns, "label_selectors": "app=stressed", "workers": 1, "load": 20, "duration": "2m"})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("created")
	time.Sleep(2 * time.Minute)
	os.Exit(0)
}

// stressPod runs netprobe (idle: it only serves) as pod name, label app=stressed, with res,
// and waits until its container runs.
func stressPod(t testing.TB, ns, name string, res corev1.ResourceRequirements) *corev1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	grace := int64(0)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "stressed"}},
		Spec: corev1.PodSpec{TerminationGracePeriodSeconds: &grace, Containers: []corev1.Container{{
			Name: "netprobe", Image: probeImage, ImagePullPolicy: corev1.PullNever, Resources: res,
		}}}}
	_, err := kube.Clientset().CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
	require.NoError(t, err)
	var got *corev1.Pod
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		got, err = kube.Clientset().CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && got.Status.Phase == corev1.PodRunning && len(got.Status.ContainerStatuses) == 1 &&
			got.Status.ContainerStatuses[0].State.Running != nil, nil
	})
	require.NoError(t, err, "pod %s/%s does not run", ns, name)
	return got
}

// cgroupDirs finds the pod's container's cgroup directories on this host (the test runs on
// the node).
func cgroupDirs(t testing.TB, p *corev1.Pod) []string {
	t.Helper()
	mi, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	_, cid, _ := strings.Cut(p.Status.ContainerStatuses[0].ContainerID, "://")
	dirs, err := stress.ContainerDirs(stress.Hierarchies(mi, "/sys/fs/cgroup"), string(p.UID), cid)
	require.NoError(t, err)
	return dirs
}

// stressors lists the stressors of the StressChaos uid on the node.
func stressors(t testing.TB, uid types.UID) []stress.Found {
	t.Helper()
	f, err := stress.Running("/proc", string(uid)+"/")
	require.NoError(t, err)
	return f
}

// waitStressors waits until the StressChaos uid has n stressors and returns them and how long
// that took from start.
func waitStressors(t testing.TB, uid types.UID, n int, start time.Time, within time.Duration) ([]stress.Found, time.Duration) {
	t.Helper()
	for {
		f := stressors(t, uid)
		if len(f) == n {
			return f, time.Since(start)
		}
		require.Less(t, time.Since(start), within, "%d stressors of %s after %s, want %d", len(f), uid, within, n)
		time.Sleep(5 * time.Millisecond)
	}
}

// noStressorLeft checks that no chaostest stressor runs on the node: none under any tag.
func noStressorLeft(t testing.TB) {
	t.Helper()
	f, err := stress.Running("/proc", "")
	require.NoError(t, err)
	assert.Empty(t, f, "stressors left on the node")
}

// cpuCores samples the CPU usage of dirs over window and returns cores, and the cores the
// process pid (0: none) lost waiting for a CPU meanwhile.
func cpuCores(t testing.TB, dirs []string, pid int, window time.Duration) (cores, lost float64) {
	t.Helper()
	delay := func() time.Duration {
		if pid == 0 {
			return 0
		}
		d, err := stress.RunDelay("/proc", pid)
		require.NoError(t, err)
		return d
	}
	u0, err := stress.CPUUsage(dirs)
	require.NoError(t, err)
	d0, t0 := delay(), time.Now()
	time.Sleep(window)
	u1, err := stress.CPUUsage(dirs)
	require.NoError(t, err)
	d1, el := delay(), time.Since(t0)
	return float64(u1-u0) / float64(el), float64(d1-d0) / float64(el)
}

func memMiB(t testing.TB, dirs []string) float64 {
	t.Helper()
	m, err := stress.MemoryUsage(dirs)
	require.NoError(t, err)
	return float64(m) / (1 << 20)
}

func stressStatus(t testing.TB, ns, name string) v1alpha1.StressChaosStatus {
	t.Helper()
	u, err := kube.Dynamic().Resource(v1alpha1.StressGVR).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	var st v1alpha1.StressChaosStatus
	b, _ := json.Marshal(u.Object["status"])
	require.NoError(t, json.Unmarshal(b, &st))
	return st
}

func deleteStress(t testing.TB, ns, name string) {
	t.Cleanup(func() {
		_ = kube.Dynamic().Resource(v1alpha1.StressGVR).Namespace(ns).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// CPU stress through the Go API: the stressor runs inside the pod's container cgroup, and the
// container's CPU usage (cpuacct.usage on this cgroup v1 node, cpu.stat usage_usec on v2)
// rises by workers × load. Tolerance: the workers count their own thread's CPU time, so the
// usage over a 4 s window is at most the asked load + 0.03 core (sampling) + 20 ms per worker
// (the catch-up of a worker starved just before the window), and at least the asked load −
// 0.05 core − what the stressor's threads spent waiting for a CPU (schedstat run delay): on
// this shared 2-core machine the scheduler may withhold CPU, and that bound is measured, not
// guessed. The rollback stops it: no stressor is left and the usage falls back.
func TestStressCPU(t *testing.T) {
	ns := testNS(t)
	p := stressPod(t, ns, "burn", corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}})
	dirs := cgroupDirs(t, p)
	idle, _ := cpuCores(t, dirs, 0, time.Second)
	deleteStress(t, ns, "burn")
	var table []string
	for _, c := range []struct{ workers, load int }{{1, 60}, {2, 40}} {
		var got, lost float64
		var pid int
		ct := chaostest.New(t)
		ct.Action("burn", chaosmesh.StressCPU(kube, "burn", c.workers, c.load, chaosmesh.In(ns), chaosmesh.Labels("app=stressed"), chaosmesh.Duration(time.Minute)))
		ct.Probe("measure", chaostest.Go("the container's CPU usage over 4 s", func(ctx context.Context, env provider.Env) (any, error) {
			uid := stressUID(t, ns, "burn")
			f, took := waitStressors(t, uid, 1, time.Now(), 10*time.Second)
			pid = f[0].PID
			t.Logf("stressor pid %d running %s after the probe started", pid, took)
			// It shows in /proc a moment before the agent has moved it.
			for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				procs, err := stress.Procs(dirs)
				require.NoError(t, err)
				if slices.Contains(procs, pid) {
					break
				}
				require.True(t, time.Now().Before(deadline), "the stressor %d is not in the container's cgroup: %v", pid, procs)
			}
			time.Sleep(500 * time.Millisecond)
			got, lost = cpuCores(t, dirs, pid, 4*time.Second)
			return got, nil
		}))
		ct.Rollback("stop", chaosmesh.DeleteStressor(kube, "burn", chaosmesh.In(ns)))
		require.Equal(t, journal.StatusCompleted, ct.Run().Journal.Status)
		want := float64(c.workers*c.load) / 100
		line := fmt.Sprintf("| %d | %d %% | %.2f | %.3f | %.3f |", c.workers, c.load, want, got-idle, lost)
		table = append(table, line)
		// Above the asked load: the sampling (0.03 core), a starved worker's catch-up (20 ms
		// each over the 4 s window), and the stressor's Go runtime threads (sysmon, GC, timers),
		// which its workers do not count (up to 0.05 core measured under load).
		assert.LessOrEqual(t, got-idle, want+0.03+0.05+float64(c.workers)*0.02/4, line)
		assert.GreaterOrEqual(t, got-idle, want-0.05-lost, line)
		waitNoStressor(t, 5*time.Second)
		after, _ := cpuCores(t, dirs, 0, time.Second)
		assert.Less(t, after, idle+0.05, "the load ends with the rollback")
	}
	t.Logf("CPU stress in a pod (idle usage %.3f cores):\n| workers | load | asked cores | measured cores | lost waiting for a CPU |\n|---|---|---|---|---|\n%s", idle, joinLines(table))
}

// The container's CPU limit applies to the stressor: under a 300m limit, two workers asked for
// 100 % each get 0.3 core in all.
func TestStressCPUUnderLimit(t *testing.T) {
	ns := testNS(t)
	cpu := resource.MustParse("300m")
	p := stressPod(t, ns, "capped", corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: cpu}, Limits: corev1.ResourceList{corev1.ResourceCPU: cpu}})
	dirs := cgroupDirs(t, p)
	deleteStress(t, ns, "capped")
	uid := uidOf(t, call(t, "chaosk8s.chaosmesh.stress.actions.stress_cpu", map[string]any{
		"name": "capped", "ns": ns, "label_selectors": "app=stressed", "workers": 2, "load": 100}))
	waitStressors(t, uid, 1, time.Now(), 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	got, _ := cpuCores(t, dirs, 0, 4*time.Second)
	t.Logf("2 workers at 100 %% under a 300m limit: %.3f cores", got)
	assert.LessOrEqual(t, got, 0.3+0.02)
	assert.Greater(t, got, 0.15)
	call(t, "chaosk8s.chaosmesh.stress.actions.delete_stressor", map[string]any{"name": "capped", "ns": ns})
	waitNoStressor(t, 5*time.Second)
}

// Memory stress from the registered functions, as a file calls them: the container's memory
// usage (memory.usage_in_bytes on v1, memory.current on v2) rises by the asked 128 MiB, and
// by at most 4 MiB more (the stressor's Go runtime, charged after its move: about 1 MiB);
// deleting the stressor gives it back.
func TestStressMemory(t *testing.T) {
	ns := testNS(t)
	p := stressPod(t, ns, "hog", corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")}})
	dirs := cgroupDirs(t, p)
	before := memMiB(t, dirs)
	deleteStress(t, ns, "hog")
	start := time.Now()
	uid := uidOf(t, call(t, "chaosk8s.chaosmesh.stress.actions.stress_memory", map[string]any{
		"name": "hog", "ns": ns, "label_selectors": "app=stressed", "size": "128MiB", "workers": 2}))
	waitStressors(t, uid, 1, start, 10*time.Second)
	var during float64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if during = memMiB(t, dirs); during-before >= 127 {
			break
		}
	}
	time.Sleep(500 * time.Millisecond)
	during = memMiB(t, dirs)
	t.Logf("memory usage: %.1f MiB before, %.1f MiB with a 128 MiB stressor (+%.1f MiB), %s from the call", before, during, during-before, time.Since(start).Round(time.Millisecond))
	assert.GreaterOrEqual(t, during-before, 128-1.0)
	assert.LessOrEqual(t, during-before, 128+4.0)
	st := stressStatus(t, ns, "hog")
	require.Len(t, st.Experiment.Records, 1)
	assert.Equal(t, ns+"/hog/netprobe", st.Experiment.Records[0].Id)
	assert.Equal(t, v1alpha1.Injected, st.Experiment.Records[0].Phase)
	assert.NotEmpty(t, st.Instances[ns+"/hog/netprobe"].UID)

	call(t, "chaosk8s.chaosmesh.stress.actions.delete_stressor", map[string]any{"name": "hog", "ns": ns})
	waitNoStressor(t, 5*time.Second)
	// The kernel frees an exited process's pages shortly after /proc stops listing it.
	gone := time.Now()
	after := memMiB(t, dirs)
	for ; after-before >= 4 && time.Since(gone) < 3*time.Second; after = memMiB(t, dirs) {
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("after delete_stressor: %.1f MiB (%s after the stressor was gone)", after, time.Since(gone).Round(time.Millisecond))
	assert.Less(t, after-before, 4.0, "memory given back")
}

// A memory stress over the container's limit meets the container's OOM killer, which ends the
// stressor (the biggest process of the cgroup), not the application; the agent records the
// exit and starts it again after 1 s, as memStress does, so the pressure lasts.
func TestStressMemoryOverLimit(t *testing.T) {
	ns := testNS(t)
	p := stressPod(t, ns, "tight", corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("96Mi")}})
	deleteStress(t, ns, "tight")
	uid := uidOf(t, call(t, "chaosk8s.chaosmesh.stress.actions.stress_memory", map[string]any{
		"name": "tight", "ns": ns, "label_selectors": "app=stressed", "size": "128MiB"}))
	first, _ := waitStressors(t, uid, 1, time.Now(), 10*time.Second)
	var restarted []stress.Found
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		restarted = stressors(t, uid)
		if len(restarted) == 1 && restarted[0].PID != first[0].PID {
			break
		}
		require.True(t, time.Now().Before(deadline), "no restarted stressor")
	}
	st := stressStatus(t, ns, "tight")
	require.Len(t, st.Experiment.Records, 1)
	var exits []string
	for _, e := range st.Experiment.Records[0].Events {
		if e.Type == "Failed" {
			exits = append(exits, e.Message)
		}
	}
	require.NotEmpty(t, exits)
	assert.Contains(t, exits[0], "signal: killed")
	t.Logf("stressor %d ended (%s), %d started again", first[0].PID, exits[0], restarted[0].PID)
	got, err := kube.Clientset().CoreV1().Pods(ns).Get(context.Background(), p.Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Zero(t, got.Status.ContainerStatuses[0].RestartCount, "the application survived")
	call(t, "chaosk8s.chaosmesh.stress.actions.delete_stressor", map[string]any{"name": "tight", "ns": ns})
	waitNoStressor(t, 5*time.Second)
}

// spec.duration ends the stress without a delete.
func TestStressDurationEnds(t *testing.T) {
	ns := testNS(t)
	stressPod(t, ns, "short", corev1.ResourceRequirements{})
	deleteStress(t, ns, "short")
	start := time.Now()
	uid := uidOf(t, call(t, "chaosk8s.chaosmesh.stress.actions.stress_cpu", map[string]any{
		"name": "short", "ns": ns, "label_selectors": "app=stressed", "workers": 1, "load": 10, "duration": "3s"}))
	waitStressors(t, uid, 1, start, 10*time.Second)
	_, gone := waitStressors(t, uid, 0, start, 10*time.Second)
	t.Logf("duration 3s: stressor gone %s after the call", gone)
	assert.GreaterOrEqual(t, gone, 2*time.Second, "creationTimestamp has whole seconds: up to 1 s early")
	noStressorLeft(t)
}

// The process that made the stress is killed mid-fault (SIGKILL, no rollback): once its 3 s
// lease lapses the agent stops the stressor.
func TestStressLeaseExpiryAfterKill(t *testing.T) {
	ns := testNS(t)
	stressPod(t, ns, "orphan", corev1.ResourceRequirements{})
	deleteStress(t, ns, "orphan")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), stressChildEnv+"="+ns+"/orphan")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "created\n", line)
	uid := stressUID(t, ns, "orphan")
	waitStressors(t, uid, 1, time.Now(), 10*time.Second)
	time.Sleep(2 * time.Second)
	require.Len(t, stressors(t, uid), 1, "renewed: still running after 2 s")

	require.NoError(t, cmd.Process.Kill())
	killed := time.Now()
	time.Sleep(1500 * time.Millisecond)
	require.Len(t, stressors(t, uid), 1, "the lease (3 s) has not lapsed 1.5 s after the kill")
	_, gone := waitStressors(t, uid, 0, killed, 10*time.Second)
	t.Logf("stressor stopped %s after its owner was killed (lease 3 s)", gone)
	assert.Less(t, gone, 5*time.Second, "stopped within lease + 2 s")
	noStressorLeft(t)
}

// The chaosk8s stress functions run unchanged from a Chaos Toolkit file: stress_cpu, the
// get_stressor and get_stressors probes (which see the stress injected), delete_stressor as
// the rollback; nothing is left.
func TestStressFromExperimentFile(t *testing.T) {
	ns := testNS(t)
	stressPod(t, ns, "file", corev1.ResourceRequirements{})
	deleteStress(t, ns, "file-burn")
	j := chaostest.RunFile(t, "testdata/stress-experiment.json", chaostest.Var("ns", ns)).Journal
	require.Equal(t, journal.StatusCompleted, j.Status)
	require.Len(t, j.Run, 3)
	one, _ := json.Marshal(j.Run[1].Output)
	assert.Contains(t, string(one), `"phase":"Injected"`, "get_stressor saw the stress injected")
	assert.Contains(t, string(one), `"workers":1`)
	all, _ := json.Marshal(j.Run[2].Output)
	assert.Contains(t, string(all), `"name":"file-burn"`)
	require.Len(t, j.Rollbacks, 1)
	assert.Equal(t, "succeeded", j.Rollbacks[0].Status)
	waitNoStressor(t, 5*time.Second)
}

// A stressor stops with its container: the pod is deleted mid-stress and the stressor is gone
// (the runtime can then remove the container's cgroup); the record goes back to Not Injected.
func TestStressStopsWithItsPod(t *testing.T) {
	ns := testNS(t)
	stressPod(t, ns, "doomed", corev1.ResourceRequirements{})
	deleteStress(t, ns, "doomed")
	uid := uidOf(t, call(t, "chaosk8s.chaosmesh.stress.actions.stress_cpu", map[string]any{
		"name": "doomed", "ns": ns, "label_selectors": "app=stressed", "workers": 1, "load": 10}))
	waitStressors(t, uid, 1, time.Now(), 10*time.Second)
	require.NoError(t, kube.Clientset().CoreV1().Pods(ns).Delete(context.Background(), "doomed", metav1.DeleteOptions{}))
	start := time.Now()
	_, gone := waitStressors(t, uid, 0, start, 10*time.Second)
	t.Logf("stressor gone %s after the pod's deletion", gone)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st := stressStatus(t, ns, "doomed")
		if len(st.Experiment.Records) == 1 && st.Experiment.Records[0].Phase == v1alpha1.NotInjected {
			break
		}
		require.True(t, time.Now().Before(deadline), "record still injected: %+v", st.Experiment.Records)
	}
	noStressorLeft(t)
}

// A stressor dies with the agent: the agent's process is killed with SIGKILL (no chance to
// stop anything) and the stressor is gone at once (Pdeathsig); the restarted agent, seeing the
// stress still due, starts a new one. The test waits for the agent to be back.
func TestStressorDiesWithAgent(t *testing.T) {
	ns := testNS(t)
	stressPod(t, ns, "victim", corev1.ResourceRequirements{})
	deleteStress(t, ns, "victim")
	uid := uidOf(t, call(t, "chaosk8s.chaosmesh.stress.actions.stress_cpu", map[string]any{
		"name": "victim", "ns": ns, "label_selectors": "app=stressed", "workers": 1, "load": 10}))
	f, _ := waitStressors(t, uid, 1, time.Now(), 10*time.Second)
	agentPID := f[0].PPID
	exe, err := os.Readlink("/proc/" + strconv.Itoa(agentPID) + "/exe")
	require.NoError(t, err)
	require.Contains(t, exe, "chaostest-agent", "the stressor's parent is the agent")
	require.NoError(t, syscall.Kill(agentPID, syscall.SIGKILL))
	killed := time.Now()
	for {
		if found := stressors(t, uid); len(found) == 0 || found[0].PID != f[0].PID {
			break
		}
		require.Less(t, time.Since(killed), 2*time.Second, "the stressor outlived the agent")
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("stressor gone %s after the agent was killed", time.Since(killed).Round(time.Millisecond))
	// The DaemonSet restarts the agent, which starts the stress again (it is still due).
	again, back := waitStressors(t, uid, 1, killed, 2*time.Minute)
	assert.NotEqual(t, f[0].PID, again[0].PID)
	t.Logf("restarted agent runs a new stressor %s after the kill", back.Round(time.Millisecond))
	call(t, "chaosk8s.chaosmesh.stress.actions.delete_stressor", map[string]any{"name": "victim", "ns": ns})
	waitNoStressor(t, 5*time.Second)
}

// stressUID returns the UID of the StressChaos ns/name.
func stressUID(t testing.TB, ns, name string) types.UID {
	t.Helper()
	u, err := kube.Dynamic().Resource(v1alpha1.StressGVR).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return u.GetUID()
}

// waitNoStressor waits until no chaostest stressor runs on the node.
func waitNoStressor(t testing.TB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		f, err := stress.Running("/proc", "")
		require.NoError(t, err)
		if len(f) == 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "stressors left: %+v", f)
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkStressStartStop: stress_cpu -> stressor running in the container, and
// delete_stressor -> stressor gone, as start-ms/op and stop-ms/op.
func BenchmarkStressStartStop(b *testing.B) {
	ns := testNS(b)
	stressPod(b, ns, "bench", corev1.ResourceRequirements{})
	var in, out time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		uid := uidOf(b, call(b, "chaosk8s.chaosmesh.stress.actions.stress_cpu", map[string]any{
			"name": "bench-burn", "ns": ns, "label_selectors": "app=stressed", "workers": 1, "load": 10}))
		_, d := waitStressors(b, uid, 1, start, 10*time.Second)
		in += d
		start = time.Now()
		call(b, "chaosk8s.chaosmesh.stress.actions.delete_stressor", map[string]any{"name": "bench-burn", "ns": ns})
		_, d = waitStressors(b, uid, 0, start, 10*time.Second)
		out += d
	}
	b.ReportMetric(float64(in.Microseconds())/1000/float64(b.N), "start-ms/op")
	b.ReportMetric(float64(out.Microseconds())/1000/float64(b.N), "stop-ms/op")
}
