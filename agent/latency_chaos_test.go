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
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/chaosmesh"
)

// rtts asks the client pod to make n requests (conc at a time) to the server pod, from inside
// the client pod, and returns the round-trip times, sorted.
func rtts(t testing.TB, client, server *corev1.Pod, proto string, n, conc int) []time.Duration {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Minute}
	resp, err := c.Get(fmt.Sprintf("http://%s/rtt?addr=%s&n=%d&conc=%d&proto=%s",
		net.JoinHostPort(client.Status.PodIP, "9002"), server.Status.PodIP, n, conc, proto))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		RTT    []int64 `json:"rtt_us"`
		Failed int     `json:"failed"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Zero(t, out.Failed, "a latency loses no request")
	require.Len(t, out.RTT, n)
	d := make([]time.Duration, n)
	for i, us := range out.RTT {
		d[i] = time.Duration(us) * time.Microsecond
	}
	slices.Sort(d)
	return d
}

// Latency on the server pod's egress (direction to), measured from inside the client pod over
// 200 HTTP requests (keep-alive, 10 at a time) and 200 UDP echoes: the median added to the
// baseline is the asked latency within ±10 % or ±2 ms; with jitter, the spread stays within
// latency ± jitter. The rollback removes the table and unbinds the queue, and the round trip
// is back to the baseline.
func TestLatencyAccuracy(t *testing.T) {
	ns := testNS(t)
	server := startPod(t, ns, "server", "server", "")
	client := startPod(t, ns, "client", "client", "")
	baseHTTP := rtts(t, client, server, "http", 200, 10)[100]
	baseUDP := rtts(t, client, server, "udp", 200, 10)[100]
	t.Logf("baseline median round trip: http %s, udp %s", baseHTTP, baseUDP)
	deleteFault(t, ns, "slow")

	type row struct {
		latency, jitter time.Duration
		corr            float64
		proto           string
	}
	var table []string
	for _, c := range []row{
		{100 * time.Millisecond, 0, 0, "http"},
		{100 * time.Millisecond, 0, 0, "udp"},
		{50 * time.Millisecond, 10 * time.Millisecond, 25, "http"},
		{200 * time.Millisecond, 0, 0, "udp"},
	} {
		var got []time.Duration
		opts := []chaosmesh.Option{chaosmesh.In(ns), chaosmesh.Labels("app=server")}
		if c.jitter > 0 {
			opts = append(opts, chaosmesh.Jitter(c.jitter), chaosmesh.Correlation(c.corr))
		}
		ct := chaostest.New(t)
		ct.Action("slow-server", chaosmesh.AddLatency(kube, "slow", c.latency, opts...))
		ct.Probe("measure", chaostest.Go("200 requests from the client pod", func(ctx context.Context, env provider.Env) (any, error) {
			waitTable(t, server, faultUID(t, ns, "slow"), true, time.Now(), 10*time.Second)
			require.Len(t, queues(t, server), 1, "the agent listens on the fault's queue in the pod's netns")
			got = rtts(t, client, server, c.proto, 200, 10)
			return len(got), nil
		}))
		ct.Rollback("heal", chaosmesh.DeleteNetworkFault(kube, "slow", chaosmesh.In(ns)))
		j := ct.Run().Journal
		require.Equal(t, journal.StatusCompleted, j.Status)
		base := baseHTTP
		if c.proto == "udp" {
			base = baseUDP
		}
		added := got[100] - base
		p10, p90 := got[20]-base, got[180]-base
		line := fmt.Sprintf("| %s | %s | %.0f %% | %s | %s | %s..%s |", c.latency, c.jitter, c.corr, c.proto,
			added.Round(10*time.Microsecond), p10.Round(100*time.Microsecond), p90.Round(100*time.Microsecond))
		table = append(table, line)
		tol := max(c.latency/10, 2*time.Millisecond)
		assert.InDelta(t, float64(c.latency), float64(added), float64(tol), "median within ±10 %% or ±2 ms: %s", line)
		if c.jitter > 0 {
			assert.GreaterOrEqual(t, p10, c.latency-c.jitter-2*time.Millisecond, line)
			// The verdict loop is userspace: on a loaded machine its timers fire late now and then.
			assert.LessOrEqual(t, p90, c.latency+c.jitter+15*time.Millisecond, line)
			assert.Greater(t, p90-p10, c.jitter/2, "jitter spreads the delays: %s", line)
		}
		waitForNoTables(t, server, 5*time.Second)
		waitForNoQueues(t, server, 5*time.Second)
	}
	t.Logf("latency accuracy, 200 requests each from inside the client pod:\n| asked | jitter | correlation | proto | median added | p10..p90 added |\n|---|---|---|---|---|---|\n%s", joinLines(table))
	after := rtts(t, client, server, "http", 200, 10)[100]
	t.Logf("after the rollbacks: median round trip %s", after)
	assert.Less(t, after, baseHTTP+2*time.Millisecond, "the rollback restores the round trip")
	assertClean(t, server, client)
}

func joinLines(l []string) string {
	s := ""
	for _, x := range l {
		s += x + "\n"
	}
	return s
}

func waitForNoQueues(t *testing.T, p *corev1.Pod, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(queues(t, p)) > 0 {
		require.True(t, time.Now().Before(deadline), "queues left bound in pod %s: %v", p.Name, queues(t, p))
		time.Sleep(5 * time.Millisecond)
	}
}

// The process that made a latency fault is killed mid-fault (SIGKILL, no rollback): once the
// 3 s lease lapses the agent removes the table and unbinds the queue, and the round trip is
// back to normal; while the lease runs, the latency is in effect.
func TestLatencyLeaseExpiryAfterKill(t *testing.T) {
	ns := testNS(t)
	server := startPod(t, ns, "server", "server", "")
	client := startPod(t, ns, "client", "client", "")
	deleteFault(t, ns, "orphan-slow")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+ns+"/orphan-slow/latency")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "created\n", line)
	uid := faultUID(t, ns, "orphan-slow")
	waitTable(t, server, uid, true, time.Now(), 10*time.Second)
	during := rtts(t, client, server, "udp", 20, 5)[10]
	t.Logf("median round trip with the orphan's 300 ms latency: %s", during)
	assert.InDelta(t, float64(300*time.Millisecond), float64(during), float64(30*time.Millisecond))

	require.NoError(t, cmd.Process.Kill())
	killed := time.Now()
	gone := waitTable(t, server, uid, false, killed, 10*time.Second)
	waitForNoQueues(t, server, 2*time.Second)
	t.Logf("latency removed %s after the owner was killed (lease 3 s)", gone)
	assert.Less(t, gone, 5*time.Second, "removed within lease + 2 s")
	after := rtts(t, client, server, "udp", 50, 5)[25]
	assert.Less(t, after, 20*time.Millisecond, "round trip back to normal")
	assertClean(t, server, client)
}

// BenchmarkLatencyInjectRecover: add_latency -> queue bound and table in the pod's netns, and
// delete -> both gone, reported as inject-ms/op and recover-ms/op.
func BenchmarkLatencyInjectRecover(b *testing.B) {
	ns := testNS(b)
	server := startPod(b, ns, "server", "server", "")
	var in, out time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		uid := uidOf(b, call(b, "chaosk8s.chaosmesh.network.actions.add_latency", map[string]any{
			"name": "bench-slow", "ns": ns, "label_selectors": "app=server", "latency": "50ms", "target_mode": nil}))
		in += waitTable(b, server, uid, true, start, 10*time.Second)
		start = time.Now()
		call(b, "chaosk8s.chaosmesh.network.actions.delete_network_fault", map[string]any{"name": "bench-slow", "ns": ns})
		waitTable(b, server, uid, false, start, 10*time.Second)
		for len(queues(b, server)) > 0 {
			require.Less(b, time.Since(start), 10*time.Second)
			time.Sleep(time.Millisecond)
		}
		out += time.Since(start)
	}
	b.ReportMetric(float64(in.Microseconds())/1000/float64(b.N), "inject-ms/op")
	b.ReportMetric(float64(out.Microseconds())/1000/float64(b.N), "recover-ms/op")
	assertClean(b, server)
}
