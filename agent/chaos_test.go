//go:build chaos

package agent_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/chaostest/chaostest/agent/v1alpha1"
	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/chaosmesh"
)

// deleteFault is the safety net behind the experiments' rollbacks.
func deleteFault(t *testing.T, ns, name string) {
	t.Cleanup(func() {
		_ = kube.Dynamic().Resource(v1alpha1.GVR).Namespace(ns).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

func status(t *testing.T, ns, name string) v1alpha1.NetworkChaosStatus {
	t.Helper()
	u, err := kube.Dynamic().Resource(v1alpha1.GVR).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	var st v1alpha1.NetworkChaosStatus
	b, _ := json.Marshal(u.Object["status"])
	require.NoError(t, json.Unmarshal(b, &st))
	return st
}

// Loss: 30 % asked on the server pod's egress; the host sends 3 000 datagrams to its UDP echo
// and counts the echoes. The rollback (delete) restores everything and leaves no table.
func TestLossAccuracy(t *testing.T) {
	ns := testNS(t)
	server := startPod(t, ns, "server", "server", "")
	assert.Zero(t, udpLoss(t, server, 500), "no loss before the fault")
	deleteFault(t, ns, "lossy")
	results := map[float64]float64{}
	for _, asked := range []float64{30, 5} {
		name := "lossy"
		var observed float64
		var st v1alpha1.NetworkChaosStatus
		ct := chaostest.New(t)
		ct.Action("lossy-server", chaosmesh.SetLoss(kube, name, asked, chaosmesh.In(ns), chaosmesh.Labels("app=server")))
		ct.Probe("measure", chaostest.Go("3000 datagrams to the UDP echo", func(ctx context.Context, env provider.Env) (any, error) {
			waitTable(t, server, faultUID(t, ns, name), true, time.Now(), 10*time.Second)
			observed = udpLoss(t, server, 3000)
			st = status(t, ns, name)
			return observed, nil
		}))
		ct.Rollback("heal", chaosmesh.DeleteNetworkFault(kube, name, chaosmesh.In(ns)))
		j := ct.Run().Journal
		require.Equal(t, journal.StatusCompleted, j.Status)
		t.Logf("loss asked %.0f%%, observed %.2f%% over 3000 datagrams", asked, observed)
		assert.InDelta(t, asked, observed, 3, "loss within ±3 points")
		results[asked] = observed
		require.Len(t, st.Experiment.Records, 1)
		assert.Equal(t, ns+"/server", st.Experiment.Records[0].Id)
		assert.Equal(t, v1alpha1.Injected, st.Experiment.Records[0].Phase)
		waitForNoTables(t, server, 5*time.Second)
	}
	assert.Zero(t, udpLoss(t, server, 500), "the rollback restores every datagram")
	assertClean(t, server)
}

func waitForNoTables(t *testing.T, p *corev1.Pod, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(tables(t, p)) > 0 {
		require.True(t, time.Now().Before(deadline), "tables left in pod %s: %v", p.Name, tables(t, p))
		time.Sleep(5 * time.Millisecond)
	}
}

// Partition between a client pod and the server pod only (target): the client's connection
// attempts, counted inside the client pod, all fail, while the host still reaches the server;
// after the rollback every attempt succeeds again.
func TestPartitionWithTarget(t *testing.T) {
	ns := testNS(t)
	server := startPod(t, ns, "server", "server", "")
	client := startPod(t, ns, "client", "client", server.Status.PodIP+":9001")
	since := time.Now()
	time.Sleep(500 * time.Millisecond)
	ok, fail := peerStats(t, client, since)
	require.Positive(t, ok)
	require.Zero(t, fail, "no failed attempt before the fault")
	deleteFault(t, ns, "cut")

	var during [2]int
	hostOK := 0
	ct := chaostest.New(t)
	ct.Action("cut-server-from-client", chaosmesh.Partition(kube, "cut", chaosmesh.In(ns), chaosmesh.Labels("app=server"), chaosmesh.Target("app=client")))
	ct.Probe("measure", chaostest.Go("client attempts during 2 s", func(ctx context.Context, env provider.Env) (any, error) {
		waitTable(t, server, faultUID(t, ns, "cut"), true, time.Now(), 10*time.Second)
		since := time.Now()
		time.Sleep(2 * time.Second)
		during[0], during[1] = peerStats(t, client, since)
		hostOK = tcpConnects(server, 50)
		return during, nil
	}))
	ct.Rollback("heal", chaosmesh.DeleteNetworkFault(kube, "cut", chaosmesh.In(ns)))
	j := ct.Run().Journal
	require.Equal(t, journal.StatusCompleted, j.Status)
	t.Logf("partition: client attempts ok=%d failed=%d; host connects %d/50", during[0], during[1], hostOK)
	assert.Zero(t, during[0], "the partition drops 100%% of the client's attempts")
	assert.GreaterOrEqual(t, during[1], 5, "the client kept trying")
	assert.Equal(t, 50, hostOK, "the host is not a target: untouched")

	waitForNoTables(t, server, 5*time.Second)
	since = time.Now()
	time.Sleep(time.Second)
	ok, fail = peerStats(t, client, since)
	t.Logf("after the rollback: ok=%d failed=%d", ok, fail)
	assert.Positive(t, ok)
	assert.Zero(t, fail, "the rollback restores 100%%")
	assertClean(t, server, client)
}

// Time from the action to the fault in effect (the table in the pod's netns), and from the
// delete to the fault gone; a full partition (both directions) is checked from the host.
func TestInjectRecoverTimings(t *testing.T) {
	ns := testNS(t)
	server := startPod(t, ns, "server", "server", "")
	var inject, recov []time.Duration
	for i := 0; i < 5; i++ {
		in, out := injectRecover(t, ns, server, func() {
			if i == 0 {
				assert.Zero(t, tcpConnects(server, 20), "a full partition drops every connection")
			}
		})
		inject, recov = append(inject, in), append(recov, out)
	}
	assert.Equal(t, 20, tcpConnects(server, 20), "recovered")
	sort.Slice(inject, func(i, j int) bool { return inject[i] < inject[j] })
	sort.Slice(recov, func(i, j int) bool { return recov[i] < recov[j] })
	t.Logf("action -> fault in effect: median %s (min %s, max %s)", inject[2], inject[0], inject[4])
	t.Logf("delete -> fault gone:      median %s (min %s, max %s)", recov[2], recov[0], recov[4])
	assert.Less(t, inject[2], time.Second, "median time to inject")
	assert.Less(t, recov[2], time.Second, "median time to recover")
	assertClean(t, server)
}

// injectRecover creates a partition with the registered function, times it until the table is
// in the pod's netns, runs during, deletes it and times it until the table is gone.
func injectRecover(t testing.TB, ns string, server *corev1.Pod, during func()) (time.Duration, time.Duration) {
	t.Helper()
	start := time.Now()
	uid := uidOf(t, call(t, "chaostest.chaosmesh.network.actions.partition", map[string]any{
		"name": "timing", "ns": ns, "label_selectors": "app=server", "direction": "both", "target_mode": nil}))
	in := waitTable(t, server, uid, true, start, 10*time.Second)
	during()
	start = time.Now()
	call(t, "chaosk8s.chaosmesh.network.actions.delete_network_fault", map[string]any{"name": "timing", "ns": ns})
	gone := waitTable(t, server, uid, false, start, 10*time.Second)
	return in, gone
}

// After the process that made a fault is killed (SIGKILL, so no rollback runs), the agent
// removes the fault once its 3 s lease lapses, and not before.
func TestLeaseExpiryAfterKill(t *testing.T) {
	ns := testNS(t)
	server := startPod(t, ns, "server", "server", "")
	deleteFault(t, ns, "orphan")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+ns+"/orphan")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "created\n", line)
	uid := faultUID(t, ns, "orphan")
	waitTable(t, server, uid, true, time.Now(), 10*time.Second)
	time.Sleep(2 * time.Second) // the child renews every second meanwhile
	require.NotEmpty(t, tables(t, server), "renewed: still there after 2 s")

	require.NoError(t, cmd.Process.Kill())
	killed := time.Now()
	time.Sleep(1500 * time.Millisecond)
	require.NotEmpty(t, tables(t, server), "the lease (3 s) has not lapsed 1.5 s after the kill")
	gone := waitTable(t, server, uid, false, killed, 10*time.Second)
	t.Logf("fault removed %s after the owner was killed (lease 3 s, renewed every 1 s)", gone)
	assert.Less(t, gone, 5*time.Second, "removed within lease + 2 s")
	assertClean(t, server)
	// The status is written just after the table goes.
	st := status(t, ns, "orphan")
	for deadline := time.Now().Add(5 * time.Second); st.Experiment.DesiredPhase != v1alpha1.StoppedPhase && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		st = status(t, ns, "orphan")
	}
	require.Len(t, st.Experiment.Records, 1)
	rec := st.Experiment.Records[0]
	assert.Equal(t, v1alpha1.NotInjected, rec.Phase)
	require.NotEmpty(t, rec.Events)
	assert.Contains(t, rec.Events[len(rec.Events)-1].Message, "lease of 3s expired")
	assert.Equal(t, v1alpha1.StoppedPhase, st.Experiment.DesiredPhase)
}

// spec.duration ends the fault without a delete; the object stays, stopped.
func TestDurationEnds(t *testing.T) {
	ns := testNS(t)
	server := startPod(t, ns, "server", "server", "")
	deleteFault(t, ns, "short")
	start := time.Now()
	uid := uidOf(t, call(t, "chaostest.chaosmesh.network.actions.partition", map[string]any{
		"name": "short", "ns": ns, "label_selectors": "app=server", "duration": "2s", "target_mode": nil}))
	waitTable(t, server, uid, true, start, 10*time.Second)
	gone := waitTable(t, server, uid, false, start, 10*time.Second)
	t.Logf("duration 2s: fault gone %s after creation", gone)
	// creationTimestamp has whole seconds: the end can come up to 1 s early.
	assert.GreaterOrEqual(t, gone, time.Second)
	assertClean(t, server)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := status(t, ns, "short")
		if st.Experiment.DesiredPhase == v1alpha1.StoppedPhase {
			require.Len(t, st.Experiment.Records, 1)
			assert.Equal(t, v1alpha1.NotInjected, st.Experiment.Records[0].Phase)
			assert.Contains(t, st.Experiment.Records[0].Events[len(st.Experiment.Records[0].Events)-1].Message, "duration 2s ended")
			break
		}
		require.True(t, time.Now().Before(deadline), "status still %q", st.Experiment.DesiredPhase)
		time.Sleep(20 * time.Millisecond)
	}
}

// What the agent cannot serve is refused: a correlated loss by the registered function before
// anything is created, as is a latency that is no duration; an object written by hand with
// action netem gets a reason in its status.
func TestUnsupportedIsRefused(t *testing.T) {
	ns := testNS(t)
	startPod(t, ns, "server", "server", "")
	err := callErr("chaosk8s.chaosmesh.network.actions.set_loss", map[string]any{
		"name": "corr", "ns": ns, "label_selectors": "app=server", "loss": "20", "correlation": "25"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `spec.loss.correlation "25": correlated loss is not supported by the chaostest agent yet`)
	err = callErr("chaosk8s.chaosmesh.network.actions.add_latency", map[string]any{
		"name": "slow", "ns": ns, "label_selectors": "app=server", "latency": "200"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `spec.delay.latency "200": a duration such as "100ms" or "2s" is required`)
	l, err := kube.Dynamic().Resource(v1alpha1.GVR).Namespace(ns).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, l.Items, "nothing created")

	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "NetworkChaos",
		"metadata": map[string]any{"name": "by-hand", "namespace": ns},
		"spec": map[string]any{"action": "netem", "mode": "all", "selector": map[string]any{"labelSelectors": map[string]any{"app": "server"}},
			"duplicate": map[string]any{"duplicate": "10"}},
	}}
	_, err = kube.Dynamic().Resource(v1alpha1.GVR).Namespace(ns).Create(context.Background(), obj, metav1.CreateOptions{})
	require.NoError(t, err)
	deleteFault(t, ns, "by-hand")
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := status(t, ns, "by-hand")
		if len(st.Conditions) > 0 {
			assert.Equal(t, v1alpha1.ConditionSelected, st.Conditions[0].Type)
			assert.Equal(t, "False", st.Conditions[0].Status)
			assert.Contains(t, st.Conditions[0].Reason, "not supported by the chaostest agent yet")
			break
		}
		require.True(t, time.Now().Before(deadline), "no status written for an unsupported object")
		time.Sleep(50 * time.Millisecond)
	}
}

// The chaosk8s functions run unchanged from a Chaos Toolkit file.
func TestFromExperimentFile(t *testing.T) {
	ns := testNS(t)
	server := startPod(t, ns, "server", "server", "")
	deleteFault(t, ns, "file-loss")
	j := chaostest.RunFile(t, "testdata/loss-experiment.json", chaostest.Var("ns", ns)).Journal
	require.Equal(t, journal.StatusCompleted, j.Status)
	require.Len(t, j.Run, 2)
	out, _ := json.Marshal(j.Run[1].Output)
	assert.Contains(t, string(out), `"phase":"Injected"`, "the probe saw the fault injected")
	require.Len(t, j.Rollbacks, 1)
	assert.Equal(t, "succeeded", j.Rollbacks[0].Status)
	waitForNoTables(t, server, 5*time.Second)
	assert.Zero(t, udpLoss(t, server, 300))
	assert.True(t, strings.Contains(string(out), "file-loss"))
}

// BenchmarkInjectRecover: action -> fault in effect and delete -> fault gone, one partition per
// iteration, reported as inject-ms/op and recover-ms/op.
func BenchmarkInjectRecover(b *testing.B) {
	ns := testNS(b)
	server := startPod(b, ns, "server", "server", "")
	var in, out time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x, y := injectRecover(b, ns, server, func() {})
		in, out = in+x, out+y
	}
	b.ReportMetric(float64(in.Microseconds())/1000/float64(b.N), "inject-ms/op")
	b.ReportMetric(float64(out.Microseconds())/1000/float64(b.N), "recover-ms/op")
	assertClean(b, server)
}
