//go:build chaos

package agent_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaostest/chaostest/agent"
	"github.com/chaostest/chaostest/agent/node"
	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/chaosmesh"
	_ "github.com/chaostest/chaostest/providers/http" // the file's probe
)

// seqN and seqGap: each netem measurement sends 3 000 numbered datagrams, 1 ms apart, from
// inside the client pod to the server pod's UDP echo.
const (
	seqN   = 3000
	seqGap = 1000
)

// udpCounters are a pod's Udp error counters (/proc/net/snmp) or how much they grew.
type udpCounters struct {
	// InErrors counts the datagrams refused: RcvbufErrors (a full socket buffer; on a loaded
	// machine a pod is sometimes not scheduled for a while), InCsumErrors (a failed checksum)
	// and the rest (a corrupted length field).
	InErrors, InCsumErrors, RcvbufErrors int64
}

// seqResult is what the client pod's /udpseq answers: the echoes in arrival order and how much
// the client's Udp error counters grew; ServerDrops is how much the server's RcvbufErrors grew
// meanwhile.
type seqResult struct {
	Arrivals []struct {
		Seq uint32 `json:"seq"`
		RTT int64  `json:"rtt_us"`
	} `json:"arrivals"`
	UDP         udpCounters `json:"udp"`
	ServerDrops int64       `json:"-"`
}

// udpErrors reads a netprobe pod's Udp error counters.
func udpErrors(t testing.TB, p *corev1.Pod) udpCounters {
	t.Helper()
	resp, err := http.Get("http://" + net.JoinHostPort(p.Status.PodIP, "9002") + "/udperrors")
	require.NoError(t, err)
	defer resp.Body.Close()
	var out udpCounters
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

// udpSeq asks the client pod to send seqN numbered datagrams to the server's echo.
func udpSeq(t testing.TB, client, server *corev1.Pod) seqResult {
	t.Helper()
	before := udpErrors(t, server)
	c := &http.Client{Timeout: time.Minute}
	resp, err := c.Get(fmt.Sprintf("http://%s/udpseq?addr=%s&n=%d&gap_us=%d", net.JoinHostPort(client.Status.PodIP, "9002"), server.Status.PodIP, seqN, seqGap))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var r seqResult
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&r))
	r.ServerDrops = udpErrors(t, server).RcvbufErrors - before.RcvbufErrors
	return r
}

// counts returns how many sequence numbers came back once, twice, and not at all.
func (r seqResult) counts() (once, twice, missing int) {
	seen := map[uint32]int{}
	for _, a := range r.Arrivals {
		seen[a.Seq]++
	}
	for s := uint32(0); s < seqN; s++ {
		switch seen[s] {
		case 0:
			missing++
		case 1:
			once++
		default:
			twice++
		}
	}
	return
}

// lostToLoad is how many datagrams a full socket buffer dropped, at the server or at the
// client: lost by the machine's load, not by a fault.
func (r seqResult) lostToLoad() int {
	return int(r.ServerDrops + r.UDP.RcvbufErrors)
}

// delivered is how many echoes reached the client's socket layer: the base of the rates. (A
// full buffer drops a datagram before its checksum is checked, so the drops are left out of
// both sides.)
func (r seqResult) delivered() int { return seqN - r.lostToLoad() }

// ahead counts the echoes sent ahead of the delayed ones: an earlier echo arrives after it, or
// its round trip is under half the latency (0: only the first).
func (r seqResult) ahead(latency time.Duration) int {
	n := 0
	minLater := uint32(math.MaxUint32)
	for i := len(r.Arrivals) - 1; i >= 0; i-- {
		a := r.Arrivals[i]
		if minLater < a.Seq || time.Duration(a.RTT)*time.Microsecond < latency/2 {
			n++
		}
		minLater = min(minLater, a.Seq)
	}
	return n
}

// held counts the echoes not sent ahead that waited less than the latency (-1 ms).
func (r seqResult) heldShort(latency time.Duration) int {
	n := 0
	minLater := uint32(math.MaxUint32)
	for i := len(r.Arrivals) - 1; i >= 0; i-- {
		a := r.Arrivals[i]
		rtt := time.Duration(a.RTT) * time.Microsecond
		if !(minLater < a.Seq || rtt < latency/2) && rtt < latency-time.Millisecond {
			n++
		}
		minLater = min(minLater, a.Seq)
	}
	return n
}

// rawSockets counts the raw IP sockets open in the pod's netns (a duplicate's copy sockets).
func rawSockets(t testing.TB, p *corev1.Pod) int {
	t.Helper()
	n, err := node.PodRawSockets("/proc", string(p.UID))
	require.NoError(t, err)
	return n
}

// assertNetemClean is assertClean plus no raw socket left in the pods' netns.
func assertNetemClean(t testing.TB, pods ...*corev1.Pod) {
	t.Helper()
	assertClean(t, pods...)
	for _, p := range pods {
		assert.Zero(t, rawSockets(t, p), "raw sockets left in pod %s", p.Name)
	}
}

// waitNetemGone waits until the pod's netns holds no chaostest table, bound queue or raw socket.
func waitNetemGone(t testing.TB, p *corev1.Pod, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(tables(t, p)) > 0 || len(queues(t, p)) > 0 || rawSockets(t, p) > 0 {
		require.True(t, time.Now().Before(deadline), "pod %s: tables %v, queues %v, raw sockets %d", p.Name, tables(t, p), queues(t, p), rawSockets(t, p))
		time.Sleep(5 * time.Millisecond)
	}
}

// agentIdentity names the running agent pods and containers: it changes when the agent is
// replaced or restarted (the cluster is shared: another worktree's tests install their own
// build of the agent, and a fault's held packets are lost while one agent hands over to the
// next).
func agentIdentity(t testing.TB) string {
	t.Helper()
	l, err := kube.Clientset().CoreV1().Pods(agent.DefaultNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + agent.DaemonSetName})
	require.NoError(t, err)
	id := ""
	for _, p := range l.Items {
		id += string(p.UID)
		for _, c := range p.Status.ContainerStatuses {
			id += fmt.Sprintf("/%s/%d", c.ContainerID, c.RestartCount)
		}
		id += ";"
	}
	return id
}

// undisturbed runs measure up to three times until the agent was not replaced meanwhile.
func undisturbed(t *testing.T, measure func()) {
	t.Helper()
	for try := 1; ; try++ {
		before := agentIdentity(t)
		measure()
		if agentIdentity(t) == before {
			return
		}
		require.Less(t, try, 3, "the agent was replaced during each of 3 measurements")
		t.Logf("the agent was replaced during measurement %d (another test installed its build): measuring again", try)
	}
}

// measureDuring runs the experiment action, rolled back by deleting the fault name, and measures
// with udpSeq once the fault's table and queue are in the selected pod (again if the agent was
// replaced meanwhile).
func measureDuring(t *testing.T, ns, name string, action *chaostest.Activity, selected, client, server *corev1.Pod) seqResult {
	t.Helper()
	var r seqResult
	undisturbed(t, func() { r = measureOnce(t, ns, name, action, selected, client, server) })
	return r
}

func measureOnce(t *testing.T, ns, name string, action *chaostest.Activity, selected, client, server *corev1.Pod) seqResult {
	t.Helper()
	deleteFault(t, ns, name)
	var r seqResult
	ct := chaostest.New(t)
	ct.Action("fault", action)
	ct.Probe("measure", chaostest.Go(fmt.Sprintf("%d datagrams from the client pod", seqN), func(ctx context.Context, env provider.Env) (any, error) {
		waitTable(t, selected, faultUID(t, ns, name), true, time.Now(), 10*time.Second)
		require.Len(t, queues(t, selected), 1, "the agent listens on the fault's queue in the pod's netns")
		r = udpSeq(t, client, server)
		return len(r.Arrivals), nil
	}))
	ct.Rollback("heal", chaosmesh.DeleteNetworkFault(kube, name, chaosmesh.In(ns)))
	j := ct.Run().Journal
	require.Equal(t, journal.StatusCompleted, j.Status)
	waitNetemGone(t, selected, 5*time.Second)
	return r
}

// baseline checks that the path is clean before a fault: every echo back once (but those a
// full socket buffer dropped), in order.
func baseline(t *testing.T, client, server *corev1.Pod) {
	t.Helper()
	r := udpSeq(t, client, server)
	_, twice, missing := r.counts()
	require.Zero(t, twice, "before the fault: no echo twice")
	require.Equal(t, r.lostToLoad(), missing, "before the fault: nothing missing but what full buffers dropped")
	require.Zero(t, r.ahead(0), "before the fault: in order")
	if missing > 0 {
		t.Logf("baseline: %d datagrams dropped by full socket buffers (server %d)", missing, r.ServerDrops)
	}
}

// Duplication on the server pod's egress, measured from inside the client pod: the asked share
// of the echoes arrives twice (±3 points over 3 000), none is lost by the fault; the rollback
// leaves no table, queue or copy socket, and no echo arrives twice any more.
func TestDuplicateAccuracy(t *testing.T) {
	ns := testNS(t)
	server := startPod(t, ns, "server", "server", "")
	client := startPod(t, ns, "client", "client", "")
	baseline(t, client, server)
	const asked = 30.0
	r := measureDuring(t, ns, "dup", chaosmesh.DuplicatePackets(kube, "dup", asked, chaosmesh.In(ns), chaosmesh.Labels("app=server")), server, client, server)
	once, twice, missing := r.counts()
	got := 100 * float64(twice) / float64(r.delivered())
	t.Logf("duplicate asked %.0f %%: %d of %d echoes twice (%.2f %%), %d once, %d missing (full buffers dropped %d)", asked, twice, r.delivered(), got, once, missing, r.lostToLoad())
	assert.InDelta(t, asked, got, 3, "duplicate within ±3 points")
	assert.LessOrEqual(t, missing, r.lostToLoad(), "duplication loses nothing")
	baseline(t, client, server)
	assertNetemClean(t, server, client)
}

// Corruption: on the client pod's ingress (direction from), the corrupted echoes fail the
// client's UDP checksum (its InCsumErrors counter grows by as many as are missing); on the
// server pod's egress (direction to) the share missing at the client is the asked one (on the
// way, the node's conntrack already refuses them). Both within ±3 points over 3 000 datagrams,
// and clean after the rollback.
func TestCorruptAccuracy(t *testing.T) {
	ns := testNS(t)
	server := startPod(t, ns, "server", "server", "")
	client := startPod(t, ns, "client", "client", "")
	baseline(t, client, server)
	for _, c := range []struct {
		asked     float64
		direction string
		selected  *corev1.Pod
		labels    string
	}{{20, "from", client, "app=client"}, {10, "to", server, "app=server"}} {
		r := measureDuring(t, ns, "bitflip", chaosmesh.CorruptPackets(kube, "bitflip", c.asked, chaosmesh.In(ns), chaosmesh.Labels(c.labels), chaosmesh.Direction(c.direction)), c.selected, client, server)
		_, twice, missing := r.counts()
		corrupted := missing - r.lostToLoad()
		got := 100 * float64(corrupted) / float64(r.delivered())
		t.Logf("corrupt asked %.0f %% on %s's %s: %d of %d echoes corrupted (%.2f %%); client's Udp counters %+v; full buffers dropped %d", c.asked, c.selected.Name, c.direction, corrupted, r.delivered(), got, r.UDP, r.lostToLoad())
		assert.Zero(t, twice)
		assert.InDelta(t, c.asked, got, 3, "corrupt within ±3 points")
		if c.direction == "from" {
			assert.Equal(t, int64(corrupted), r.UDP.InErrors-r.UDP.RcvbufErrors, "every echo missing (but those full buffers dropped) was refused by the client's UDP (checksum, length): corrupted, not lost")
			assert.Greater(t, r.UDP.InCsumErrors, int64(corrupted)*8/10, "most for their checksum")
		}
	}
	baseline(t, client, server)
	assertNetemClean(t, server, client)
}

// Reordering (20 ms latency on the server pod's egress): the asked share of the echoes comes
// back ahead of the delayed ones, overtaking them (±3 points over 3 000); the rest waits the
// latency. Then the same from a Chaos Toolkit file (reorder_packets with gap 3: expected share
// 50/(1+2·0.5) = 25 %), measured by HTTP probes of the file that ask the pods.
func TestReorderAccuracy(t *testing.T) {
	ns := testNS(t)
	server := startPod(t, ns, "server", "server", "")
	client := startPod(t, ns, "client", "client", "")
	baseline(t, client, server)
	const latency = 20 * time.Millisecond
	const asked = 30.0
	r := measureDuring(t, ns, "shuffle", chaosmesh.ReorderPackets(kube, "shuffle", asked, latency, chaosmesh.In(ns), chaosmesh.Labels("app=server")), server, client, server)
	_, twice, missing := r.counts()
	require.Zero(t, twice)
	require.Equal(t, r.lostToLoad(), missing, "reordering loses nothing (client Udp %+v, server full buffer +%d)", r.UDP, r.ServerDrops)
	ahead := r.ahead(latency)
	got := 100 * float64(ahead) / float64(len(r.Arrivals))
	t.Logf("reorder asked %.0f %% (latency %s, gap 1): %d of %d echoes sent ahead (%.2f %%)", asked, latency, ahead, len(r.Arrivals), got)
	assert.InDelta(t, asked, got, 3, "reorder within ±3 points")
	// Under load a packet sent at once may take more than half the latency and overtake
	// nothing: it then counts as held short. Allow one in 500.
	assert.LessOrEqual(t, r.heldShort(latency), len(r.Arrivals)/500, "the others waited the latency")

	deleteFault(t, ns, "file-reorder")
	var j *journal.Journal
	undisturbed(t, func() {
		j = chaostest.RunFile(t, "testdata/reorder-experiment.json", chaostest.Var("ns", ns),
			chaostest.Var("client", client.Status.PodIP), chaostest.Var("server", server.Status.PodIP)).Journal
		waitNetemGone(t, server, 5*time.Second)
	})
	require.Equal(t, journal.StatusCompleted, j.Status)
	require.Len(t, j.Run, 4)
	var bodies [3]json.RawMessage
	for i := range bodies {
		b, _ := json.Marshal(j.Run[i+1].Output)
		var out struct {
			Status int             `json:"status"`
			Body   json.RawMessage `json:"body"`
		}
		require.NoError(t, json.Unmarshal(b, &out), string(b[:min(len(b), 300)]))
		require.Equal(t, 200, out.Status)
		bodies[i] = out.Body
	}
	var before, after udpCounters
	var fr seqResult
	require.NoError(t, json.Unmarshal(bodies[0], &before))
	require.NoError(t, json.Unmarshal(bodies[1], &fr))
	require.NoError(t, json.Unmarshal(bodies[2], &after))
	fr.ServerDrops = after.RcvbufErrors - before.RcvbufErrors
	_, twice, missing = fr.counts()
	require.Zero(t, twice)
	require.Equal(t, fr.lostToLoad(), missing, "reordering loses nothing (client Udp %+v, server full buffer +%d)", fr.UDP, fr.ServerDrops)
	got = 100 * float64(fr.ahead(latency)) / float64(len(fr.Arrivals))
	t.Logf("reorder from the file (reorder 50 %%, gap 3, latency 20ms): %.2f %% sent ahead, expected 25 %%", got)
	assert.InDelta(t, 25, got, 3, "file's reorder within ±3 points")
	require.Len(t, j.Rollbacks, 1)
	assert.Equal(t, "succeeded", j.Rollbacks[0].Status)
	baseline(t, client, server)
	assertNetemClean(t, server, client)
}

// The process that made a duplicate fault is killed mid-fault (SIGKILL, no rollback): once the
// 3 s lease lapses the agent removes the table, unbinds the queue and closes the copy sockets.
func TestNetemLeaseExpiryAfterKill(t *testing.T) {
	ns := testNS(t)
	server := startPod(t, ns, "server", "server", "")
	client := startPod(t, ns, "client", "client", "")
	deleteFault(t, ns, "orphan-dup")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+ns+"/orphan-dup/duplicate")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "created\n", line)
	uid := faultUID(t, ns, "orphan-dup")
	waitTable(t, server, uid, true, time.Now(), 10*time.Second)
	require.Positive(t, rawSockets(t, server), "the copy sockets are open in the server's netns")
	_, twice, _ := udpSeq(t, client, server).counts()
	assert.Greater(t, twice, seqN/2, "the orphan's 100 %% duplication is in effect")

	require.NoError(t, cmd.Process.Kill())
	killed := time.Now()
	waitTable(t, server, uid, false, killed, 10*time.Second)
	waitNetemGone(t, server, 2*time.Second)
	gone := time.Since(killed)
	t.Logf("duplicate removed %s after the owner was killed (lease 3 s)", gone)
	assert.Less(t, gone, 5*time.Second, "removed within lease + 2 s")
	baseline(t, client, server)
	assertNetemClean(t, server, client)
}

// BenchmarkNetemInjectRecover: for duplicate_packets, corrupt_packets and reorder_packets (as
// from a file), the time from the call to the fault in effect (queue bound, then the table in
// the pod's netns) and from delete_network_fault to everything gone (table, queue, copy
// sockets), reported as inject-ms/op and recover-ms/op.
func BenchmarkNetemInjectRecover(b *testing.B) {
	ns := testNS(b)
	server := startPod(b, ns, "server", "server", "")
	for _, c := range []struct {
		fn   string
		args map[string]any
	}{
		{"duplicate_packets", map[string]any{"duplicate": "20"}},
		{"corrupt_packets", map[string]any{"corrupt": "20"}},
		{"reorder_packets", map[string]any{"reorder": "20", "gap": "2", "latency": "20ms"}},
	} {
		b.Run(c.fn, func(b *testing.B) {
			var in, out time.Duration
			for i := 0; i < b.N; i++ {
				args := map[string]any{"name": "bench-netem", "ns": ns, "label_selectors": "app=server", "target_mode": nil}
				for k, v := range c.args {
					args[k] = v
				}
				start := time.Now()
				uid := uidOf(b, call(b, "chaosk8s.chaosmesh.network.actions."+c.fn, args))
				in += waitTable(b, server, uid, true, start, 10*time.Second)
				start = time.Now()
				call(b, "chaosk8s.chaosmesh.network.actions.delete_network_fault", map[string]any{"name": "bench-netem", "ns": ns})
				waitTable(b, server, uid, false, start, 10*time.Second)
				waitNetemGone(b, server, 10*time.Second)
				out += time.Since(start)
			}
			b.ReportMetric(float64(in.Microseconds())/1000/float64(b.N), "inject-ms/op")
			b.ReportMetric(float64(out.Microseconds())/1000/float64(b.N), "recover-ms/op")
		})
	}
	assertNetemClean(b, server)
}
