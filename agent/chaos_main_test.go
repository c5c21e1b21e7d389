//go:build chaos

package agent_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/chaostest/chaostest/agent"
	"github.com/chaostest/chaostest/agent/internal/nettest"
	"github.com/chaostest/chaostest/agent/nft"
	"github.com/chaostest/chaostest/agent/node"
	"github.com/chaostest/chaostest/agent/v1alpha1"
	"github.com/chaostest/chaostest/cluster"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/chaosmesh"
	"github.com/chaostest/chaostest/providers/k8s"
)

// probeImage is the image of testdata/netprobe that TestMain loads into the node.
const probeImage = "chaostest.local/netprobe:dev"

// childEnv makes the test binary the "test process killed mid-fault" of TestLeaseExpiry.
const childEnv = "CHAOSTEST_NETFAULT_CHILD"

var kube *k8s.Client

// TestMain gives the tests a real cluster through package cluster (the one KUBECONFIG names,
// or the local one), installs the agent on it (agent.InstallLocal: image built from
// cmd/chaostest-agent and imported into the node; idempotent) and loads the netprobe image.
// Under CHAOSTEST_NETFAULT_CHILD it is instead a process that creates a fault and then waits to
// be killed.
func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(child(spec))
	}
	testenv := env.New()
	testenv.Setup(cluster.Setup(), func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		c, err := k8s.FromEnvConf(cfg)
		if err != nil {
			return ctx, err
		}
		kube = c
		lctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		if err := agent.InstallLocal(lctx, c.Clientset(), c.Dynamic(), os.Stderr); err != nil {
			return ctx, fmt.Errorf("installing the agent: %w", err)
		}
		if err := cluster.LoadGoImage(lctx, "./testdata/netprobe", probeImage); err != nil {
			return ctx, fmt.Errorf("loading the netprobe image: %w", err)
		}
		return ctx, nil
	})
	testenv.Finish(cluster.Finish())
	os.Exit(testenv.Run(m))
}

// child creates a fault "ns/name" (a 100 % loss; "ns/name/latency": a 300 ms latency;
// "ns/name/bandwidth": 1 MB/s; "ns/name/duplicate": 100 % duplication) with a
// 3 s lease through the registered function (as an experiment file would), prints "created",
// and sleeps until killed.
func child(spec string) int {
	ns, rest, _ := strings.Cut(spec, "/")
	name, kind, _ := strings.Cut(rest, "/")
	fn, args := "set_loss", map[string]any{"name": name, "ns": ns, "label_selectors": "app=server", "loss": "100", "target_mode": nil}
	switch kind {
	case "latency":
		fn, args = "add_latency", map[string]any{"name": name, "ns": ns, "label_selectors": "app=server", "latency": "300ms", "target_mode": nil}
	case "bandwidth":
		fn, args = "set_bandwidth", map[string]any{"name": name, "ns": ns, "label_selectors": "app=server", "rate": "1mbps", "limit": 20 << 20, "buffer": 10000, "target_mode": nil}
	case "duplicate":
		fn, args = "duplicate_packets", map[string]any{"name": name, "ns": ns, "label_selectors": "app=server", "duplicate": "100", "target_mode": nil}
	}
	f, ok := provider.LookupFunc("chaosk8s.chaosmesh.network.actions." + fn)
	if !ok {
		fmt.Println(fn, "is not registered")
		return 1
	}
	_, err := f.Call(context.Background(), provider.Env{Configuration: map[string]any{chaosmesh.LeaseKey: 3.0}}, args)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("created")
	time.Sleep(2 * time.Minute)
	return 0
}

// testNS creates a namespace for one test, deleted at the end.
func testNS(t testing.TB) string {
	t.Helper()
	ns := "netfault-" + rand.String(6)
	ctx := context.Background()
	_, err := kube.Clientset().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = kube.Clientset().CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	return ns
}

// startPod runs netprobe as pod name with label app=<app> (PEER set when peer != "") and waits
// until it runs and its HTTP port answers from the host.
func startPod(t testing.TB, ns, name, app, peer string) *corev1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	grace := int64(0)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{TerminationGracePeriodSeconds: &grace, Containers: []corev1.Container{{
			Name: "netprobe", Image: probeImage, ImagePullPolicy: corev1.PullNever,
			Env: []corev1.EnvVar{{Name: "PEER", Value: peer}},
		}}}}
	_, err := kube.Clientset().CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
	require.NoError(t, err)
	var got *corev1.Pod
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		got, err = kube.Clientset().CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil || got.Status.Phase != corev1.PodRunning || got.Status.PodIP == "" {
			return false, nil
		}
		resp, err := http.Get("http://" + net.JoinHostPort(got.Status.PodIP, "9002") + "/stats")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return true, nil
	})
	require.NoError(t, err, "pod %s/%s does not serve", ns, name)
	return got
}

var injector = node.NewInjector("/proc")

// tables lists the chaostest tables in the pod's netns, seen from the host.
func tables(t testing.TB, p *corev1.Pod) []string {
	t.Helper()
	ts, err := injector.Tables(string(p.UID))
	require.NoError(t, err)
	return ts
}

// waitTable waits until the table of the NetworkChaos ns/name is present (want) or absent in
// the pod's netns and returns how long that took from start.
func waitTable(t testing.TB, p *corev1.Pod, uid types.UID, want bool, start time.Time, within time.Duration) time.Duration {
	t.Helper()
	name := node.TableName(uid)
	for {
		ts, err := injector.Tables(string(p.UID))
		require.NoError(t, err)
		has := false
		for _, x := range ts {
			has = has || x == name
		}
		if has == want {
			return time.Since(start)
		}
		require.Less(t, time.Since(start), within, "table %s present=%v after %s", name, has, within)
		time.Sleep(2 * time.Millisecond)
	}
}

// faultUID returns the UID of the NetworkChaos ns/name.
func faultUID(t testing.TB, ns, name string) types.UID {
	t.Helper()
	u, err := kube.Dynamic().Resource(v1alpha1.GVR).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return u.GetUID()
}

// assertClean checks that no chaostest table and no bound nfnetlink queue is left in the pods'
// netns.
func assertClean(t testing.TB, pods ...*corev1.Pod) {
	t.Helper()
	for _, p := range pods {
		require.Empty(t, tables(t, p), "tables left in pod %s", p.Name)
		require.Empty(t, queues(t, p), "queues left bound in pod %s", p.Name)
	}
}

// queues lists the nfnetlink queues bound in the pod's netns, seen from the host.
func queues(t testing.TB, p *corev1.Pod) []uint16 {
	t.Helper()
	qs, err := node.PodQueues("/proc", string(p.UID))
	require.NoError(t, err)
	return qs
}

// udpLoss sends n datagrams to the pod's UDP echo and returns the share (in %) not echoed. It
// sends in batches of 25 and waits, after each, until no echo has come for 30 ms (at most
// 300 ms), so that neither socket buffer overflows on a loaded machine (the host side also has
// a forced 8 MiB buffer): what is lost is what the fault dropped.
func udpLoss(t testing.TB, p *corev1.Pod, n int) float64 {
	t.Helper()
	c, err := net.Dial("udp", net.JoinHostPort(p.Status.PodIP, "9000"))
	require.NoError(t, err)
	defer c.Close()
	nettest.ForceReadBuffer(t, c.(*net.UDPConn))
	var mu sync.Mutex
	got := map[string]bool{}
	var last atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			got[string(buf[:k])] = true
			mu.Unlock()
			last.Store(time.Now().UnixNano())
		}
	}()
	for i := 0; i < n; i++ {
		_, _ = fmt.Fprintf(c, "%d", i)
		if i%25 == 24 || i == n-1 {
			batch := time.Now()
			last.Store(batch.UnixNano())
			for time.Since(batch) < 300*time.Millisecond && time.Since(time.Unix(0, last.Load())) < 30*time.Millisecond {
				time.Sleep(time.Millisecond)
			}
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	<-done
	mu.Lock()
	defer mu.Unlock()
	return 100 * float64(n-len(got)) / float64(n)
}

// tcpConnects makes n TCP connection attempts from the host to the pod's port 9001 (timeout
// 200 ms, 10 at a time) and returns how many succeeded.
func tcpConnects(p *corev1.Pod, n int) int {
	type res struct{ ok bool }
	ch := make(chan res, n)
	sem := make(chan struct{}, 10)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", net.JoinHostPort(p.Status.PodIP, "9001"), 200*time.Millisecond)
			if err == nil {
				c.Close()
			}
			ch <- res{err == nil}
		}()
	}
	ok := 0
	for i := 0; i < n; i++ {
		if (<-ch).ok {
			ok++
		}
	}
	return ok
}

// peerStats reads the client pod's dial counters for attempts started since.
func peerStats(t testing.TB, client *corev1.Pod, since time.Time) (ok, fail int) {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://%s/stats?since=%d", net.JoinHostPort(client.Status.PodIP, "9002"), since.UnixNano()))
	require.NoError(t, err)
	defer resp.Body.Close()
	line, err := bufio.NewReader(io.LimitReader(resp.Body, 256)).ReadString('\n')
	require.NoError(t, err)
	_, err = fmt.Sscanf(line, "ok=%d fail=%d", &ok, &fail)
	require.NoError(t, err, line)
	return ok, fail
}

// call runs the registered function name with args, the client coming from KUBECONFIG as for
// an experiment file.
func call(t testing.TB, name string, args map[string]any) any {
	t.Helper()
	f, ok := provider.LookupFunc(name)
	require.True(t, ok, name)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := f.Call(ctx, provider.Env{}, args)
	require.NoError(t, err, name)
	return out
}

// callErr is call for an expected error.
func callErr(name string, args map[string]any) error {
	f, _ := provider.LookupFunc(name)
	_, err := f.Call(context.Background(), provider.Env{}, args)
	return err
}

// uidOf reads metadata.uid of an object a function returned.
func uidOf(t testing.TB, out any) types.UID {
	t.Helper()
	o, ok := out.(*jsonvalue.Object)
	require.True(t, ok, "%T", out)
	md, ok := o.Value("metadata").(*jsonvalue.Object)
	require.True(t, ok)
	uid, _ := md.Value("uid").(string)
	require.NotEmpty(t, uid)
	return types.UID(uid)
}

// The table names the agent makes are the nft package's.
var _ = nft.Prefix
