//go:build chaos

package agent_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/chaostest/chaostest/agent/node"
	"github.com/chaostest/chaostest/agent/tc"
	"github.com/chaostest/chaostest/agent/v1alpha1"
	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/chaosmesh"
)

// fetchRate asks the client pod to download n bytes from the server pod's netprobe and returns
// the rate the client saw, in bytes per second.
func fetchRate(t testing.TB, client, server *corev1.Pod, n int) float64 {
	t.Helper()
	c := &http.Client{Timeout: 3 * time.Minute}
	resp, err := c.Get(fmt.Sprintf("http://%s/fetch?addr=%s&bytes=%d", net.JoinHostPort(client.Status.PodIP, "9002"), server.Status.PodIP, n))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		Bytes   int64   `json:"bytes"`
		Seconds float64 `json:"seconds"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Greater(t, out.Bytes, int64(n/2), "the download got most of its bytes")
	require.Positive(t, out.Seconds)
	return float64(out.Bytes) / out.Seconds
}

// shaped lists the pod's links that carry chaostest's TBF, seen from the host.
func shaped(t testing.TB, p *corev1.Pod) []string {
	t.Helper()
	l, err := node.PodShaped("/proc", string(p.UID))
	require.NoError(t, err)
	return l
}

// waitShaped waits until the pod carries chaostest's TBF (the agent installs it right after the
// fault's table).
func waitShaped(t testing.TB, p *corev1.Pod, within time.Duration) {
	t.Helper()
	start := time.Now()
	for len(shaped(t, p)) == 0 {
		require.Less(t, time.Since(start), within, "pod %s not shaped", p.Name)
		time.Sleep(2 * time.Millisecond)
	}
}

// waitUnshaped waits until neither a chaostest table nor chaostest's qdisc is left in the pod
// and returns how long that took from start.
func waitUnshaped(t testing.TB, p *corev1.Pod, start time.Time, within time.Duration) time.Duration {
	t.Helper()
	for len(shaped(t, p)) > 0 || len(tables(t, p)) > 0 {
		require.Less(t, time.Since(start), within, "pod %s still has qdisc %v / tables %v", p.Name, shaped(t, p), tables(t, p))
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// Bandwidth on the server pod's egress, measured from inside the client pod downloading from
// the server (2.5 s worth of data at the asked rate): the receiver's rate is the asked one
// within ±15 %. The rollback removes the qdisc and the table, and the speed comes back.
func TestBandwidthAccuracy(t *testing.T) {
	ns := testNS(t)
	server := startPod(t, ns, "server", "server", "")
	client := startPod(t, ns, "client", "client", "")
	free := fetchRate(t, client, server, 32<<20)
	t.Logf("unshaped: %.1f MB/s", free/1e6)
	deleteFault(t, ns, "thin")
	var table []string
	for _, c := range []struct {
		rate  string
		bytes float64
	}{{"1mbps", 1e6}, {"2mbit", 250e3}, {"4mbps", 4e6}} {
		var got float64
		ct := chaostest.New(t)
		ct.Action("thin-pipe", chaosmesh.SetBandwidth(kube, "thin", c.rate, 20<<20, 10000, chaosmesh.In(ns), chaosmesh.Labels("app=server")))
		ct.Probe("measure", chaostest.Go("download from the server pod", func(ctx context.Context, env provider.Env) (any, error) {
			waitTable(t, server, faultUID(t, ns, "thin"), true, time.Now(), 10*time.Second)
			waitShaped(t, server, 5*time.Second)
			require.Equal(t, []string{"eth0"}, shaped(t, server), "the TBF is the root qdisc of the pod's link")
			got = fetchRate(t, client, server, int(c.bytes*2.5))
			return got, nil
		}))
		ct.Rollback("heal", chaosmesh.DeleteNetworkFault(kube, "thin", chaosmesh.In(ns)))
		j := ct.Run().Journal
		require.Equal(t, journal.StatusCompleted, j.Status)
		line := fmt.Sprintf("| %s | %.0f B/s | %.0f B/s | %+.1f %% |", c.rate, c.bytes, got, 100*(got-c.bytes)/c.bytes)
		table = append(table, line)
		assert.InEpsilon(t, c.bytes, got, 0.15, "within ±15 %%: %s", line)
		waitUnshaped(t, server, time.Now(), 5*time.Second)
	}
	t.Logf("bandwidth accuracy, download from inside the client pod:\n| asked | asked B/s | observed | error |\n|---|---|---|---|\n%s", joinLines(table))
	after := fetchRate(t, client, server, 32<<20)
	t.Logf("after the rollbacks: %.1f MB/s", after/1e6)
	assert.Greater(t, after, 5*4e6, "the rollback restores the speed")
	assert.Empty(t, shaped(t, server))
	assertClean(t, server, client)
}

// The process that made a bandwidth fault is killed mid-fault (SIGKILL, no rollback): the
// limit holds while the 3 s lease runs, then the agent removes the qdisc and the table.
func TestBandwidthLeaseExpiryAfterKill(t *testing.T) {
	ns := testNS(t)
	server := startPod(t, ns, "server", "server", "")
	client := startPod(t, ns, "client", "client", "")
	deleteFault(t, ns, "orphan-thin")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+ns+"/orphan-thin/bandwidth")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "created\n", line)
	waitTable(t, server, faultUID(t, ns, "orphan-thin"), true, time.Now(), 10*time.Second)
	waitShaped(t, server, 5*time.Second)
	during := fetchRate(t, client, server, 1_000_000)
	t.Logf("rate with the orphan's 1 MB/s limit: %.0f B/s", during)
	assert.InEpsilon(t, 1e6, during, 0.15)

	require.NoError(t, cmd.Process.Kill())
	gone := waitUnshaped(t, server, time.Now(), 10*time.Second)
	t.Logf("qdisc and table removed %s after the owner was killed (lease 3 s)", gone)
	assert.Less(t, gone, 5*time.Second, "removed within lease + 2 s")
	assert.Greater(t, fetchRate(t, client, server, 16<<20), 2e7, "speed back")
	assertClean(t, server, client)
}

// What a killed agent leaves in a pod (it died before removing a fault whose object is gone:
// the table and the TBF; or between the two steps of a removal: the TBF alone) is removed by
// the agent's periodic pass, which is also the first thing a restarted agent does.
func TestBandwidthLeftoversOfADeadAgent(t *testing.T) {
	ns := testNS(t)
	server := startPod(t, ns, "server", "server", "")
	inj := node.NewInjector("/proc")
	dead := node.TableName(types.UID("dead-agent-" + rand.String(8)))
	f := node.Fault{Bandwidth: &v1alpha1.Bandwidth{Rate: 100_000, Limit: 1 << 20, Buffer: 10000}}
	f.Table, f.Egress = dead, true
	require.NoError(t, inj.Apply(string(server.UID), f))
	require.Contains(t, tables(t, server), dead)
	require.NotEmpty(t, shaped(t, server))
	took := waitUnshaped(t, server, time.Now(), 15*time.Second)
	t.Logf("table and qdisc left by a dead agent removed in %s (periodic pass every 5 s)", took)

	ns2, err := node.PodNetNS("/proc", string(server.UID))
	require.NoError(t, err)
	defer ns2.Close()
	require.NoError(t, tc.Apply(ns2, tc.Bandwidth{Rate: 100_000, Limit: 1 << 20, Buffer: 10000}))
	require.NotEmpty(t, shaped(t, server))
	took = waitUnshaped(t, server, time.Now(), 15*time.Second)
	t.Logf("lone qdisc removed in %s", took)
	assertClean(t, server)
}
