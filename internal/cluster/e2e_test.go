//go:build chaos && !lifecycle

package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
)

// These tests exercise the local cluster itself (its real node, kwok, its network hygiene).
// They share one cluster with every other package's chaos tests: Setup reuses a running one.
var (
	testenv env.Environment
	envcfg  = envconf.New()
	local   = DefaultConfig()
)

const webImage = "chaostest-web:e2e"

func TestMain(m *testing.M) {
	if kc := os.Getenv("KUBECONFIG"); kc != "" && !sameFile(kc, local.Kubeconfig()) {
		fmt.Printf("internal/cluster: these tests exercise the local cluster, but KUBECONFIG names another (%s); nothing to test\n", kc)
		os.Exit(0)
	}
	testenv = env.NewWithConfig(envcfg)
	testenv.Setup(func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		if kc := os.Getenv("KUBECONFIG"); kc != "" {
			cfg.WithKubeconfigFile(kc)
			return ctx, nil
		}
		kc, err := Acquire(ctx, local, os.Stderr)
		cfg.WithKubeconfigFile(kc)
		return ctx, err
	})
	testenv.Finish(func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		return ctx, Release(ctx, local, os.Stderr)
	})
	os.Exit(testenv.Run(m))
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

func clients(t testing.TB) (*rest.Config, *kubernetes.Clientset) {
	t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", envcfg.KubeconfigFile())
	require.NoError(t, err)
	cs, err := kubernetes.NewForConfig(rc)
	require.NoError(t, err)
	return rc, cs
}

// namespace creates a namespace for one test and deletes it afterwards.
func namespace(t testing.TB, cs kubernetes.Interface, prefix string) string {
	t.Helper()
	ns, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	require.NoError(t, poll(context.Background(), 30*time.Second, "default ServiceAccount in "+ns.Name, func() (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(ns.Name).Get(context.Background(), "default", metav1.GetOptions{})
		return err == nil, nil
	}))
	return ns.Name
}

func TestControlPlaneAndNodeRunTheExpectedVersion(t *testing.T) {
	_, cs := clients(t)
	v, err := cs.Discovery().ServerVersion()
	require.NoError(t, err)
	assert.Equal(t, KubernetesVersion, v.GitVersion)
	node, err := cs.CoreV1().Nodes().Get(context.Background(), local.NodeName, metav1.GetOptions{})
	require.NoError(t, err)
	assert.True(t, nodeReady(node), "node %s Ready", local.NodeName)
	assert.Equal(t, KubernetesVersion, node.Status.NodeInfo.KubeletVersion)
	assert.Contains(t, node.Status.NodeInfo.ContainerRuntimeVersion, "containerd://")
	st := Status(context.Background(), local)
	assert.True(t, st.Healthy, st.Problem)
	for _, name := range append(append([]string{}, controlPlane...), nodeComponents...) {
		assert.NotZero(t, st.Processes[name], "%s running", name)
	}
}

func TestNetworkHygieneWhileTheNodeRuns(t *testing.T) {
	ctx := context.Background()
	routes, err := listRoutes(ctx)
	require.NoError(t, err)
	plan, err := planNetwork(local.PodCIDR, local.ServiceCIDR)
	require.NoError(t, err)
	for _, dst := range []netip.Prefix{plan.ServiceCIDR, plan.PodCIDR} {
		assert.Contains(t, routes, hostRoute{Dst: dst, Dev: local.Bridge}, "route for %s must end on the bridge", dst)
	}
	assert.Empty(t, plan.conflictingRoutes(routes, local.Bridge))
	_, err = command(ctx, "iptables", append([]string{"-w", "-C"}, guardRule(local.Bridge)...)...)
	assert.NoError(t, err, "FORWARD guard dropping traffic that leaves the bridge")
	for _, k := range []string{"net/ipv4/conf/all/send_redirects", "net/ipv4/conf/" + local.Bridge + "/send_redirects"} {
		assert.Equal(t, "0", readSysctls("/proc/sys", []string{k})[k], k)
	}
}

// web deploys the test web server (built here, imported into the node) with a Service.
func web(t testing.TB, cs kubernetes.Interface, ns string, replicas int32) *corev1.Service {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, LoadGoImageWith(ctx, local, "./testdata/web", webImage))
	labels := map[string]string{"app": "web"}
	grace := int64(1)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector:                  map[string]string{"kubernetes.io/hostname": local.NodeName},
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name: "web", Image: webImage, ImagePullPolicy: corev1.PullNever,
						Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
							PeriodSeconds: 1,
						},
					}},
				},
			},
		},
	}
	_, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{})
	require.NoError(t, err)
	svc, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	waitReadyPods(t, cs, ns, "app=web", int(replicas), nil)
	return svc
}

// waitReadyPods waits for n Running, Ready, not terminating pods, none of them in exclude,
// and returns their names.
func waitReadyPods(t testing.TB, cs kubernetes.Interface, ns, selector string, n int, exclude map[string]bool) []string {
	t.Helper()
	var names []string
	var last string
	err := poll(context.Background(), 120*time.Second, fmt.Sprintf("%d ready pods %s in %s", n, selector, ns), func() (bool, error) {
		pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, nil
		}
		names = names[:0]
		var states []string
		for _, p := range pods.Items {
			states = append(states, p.Name+"="+string(p.Status.Phase))
			if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || exclude[p.Name] {
				continue
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					names = append(names, p.Name)
				}
			}
		}
		last = strings.Join(states, " ")
		return len(names) >= n, nil
	})
	require.NoError(t, err, "pods seen: %s", last)
	sort.Strings(names)
	return names
}

func TestLocallyBuiltImageServesHTTPThroughItsClusterIP(t *testing.T) {
	rc, cs := clients(t)
	ns := namespace(t, cs, "cluster-web")
	svc := web(t, cs, ns, 2)
	pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	require.NoError(t, err)
	want := map[string]bool{}
	for _, p := range pods.Items {
		assert.Equal(t, local.NodeName, p.Spec.NodeName, "pod %s runs on the real node", p.Name)
		assert.True(t, mustPrefixContains(t, local.PodCIDR, p.Status.PodIP), "pod IP %s in %s", p.Status.PodIP, local.PodCIDR)
		want[p.Name] = true
	}

	t.Run("ClusterIP answers from both pods", func(t *testing.T) {
		seen := map[string]bool{}
		client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}} // a new connection each time: kube-proxy picks a pod per connection
		url := "http://" + svc.Spec.ClusterIP + "/"
		// kube-proxy programs the endpoints within about a second of the pods turning Ready
		require.NoError(t, poll(context.Background(), 15*time.Second, "the Service to answer", func() (bool, error) {
			resp, err := client.Get(url)
			if err == nil {
				resp.Body.Close()
			}
			return err == nil, nil
		}))
		// the second endpoint may reach kube-proxy's rules a moment after the first
		var bad error
		err := poll(context.Background(), 20*time.Second, "answers from every pod behind the Service", func() (bool, error) {
			resp, err := client.Get(url)
			if err != nil {
				bad = err
				return false, err
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				return false, fmt.Errorf("HTTP %d, body %q, read error %v", resp.StatusCode, body, err)
			}
			host, ok := strings.CutPrefix(strings.TrimSpace(string(body)), "hello from ")
			if !ok {
				return false, fmt.Errorf("body %q, want \"hello from <pod>\"", body)
			}
			seen[host] = true
			return len(seen) == len(want), nil
		})
		require.NoError(t, err, "last error %v", bad)
		assert.Equal(t, want, seen, "every pod behind the Service answers")
	})

	victim := pods.Items[0].Name
	t.Run("logs", func(t *testing.T) {
		logs, err := cs.CoreV1().Pods(ns).GetLogs(victim, &corev1.PodLogOptions{}).DoRaw(context.Background())
		require.NoError(t, err)
		assert.Contains(t, string(logs), "listening on :8080")
	})

	t.Run("exec", func(t *testing.T) {
		out, err := execIn(rc, cs, ns, victim, "/web", "echo", "exec", "works")
		require.NoError(t, err)
		assert.Equal(t, "exec works\n", out)
	})

	t.Run("Service without endpoints is refused at once from a pod", func(t *testing.T) {
		empty, err := cs.CoreV1().Services(ns).Create(context.Background(), &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "nobody"},
			Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "nobody"}, Ports: []corev1.ServicePort{{Port: 80}}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		// kube-proxy has programmed the Service's REJECT rule once the host itself is refused
		require.NoError(t, poll(context.Background(), 15*time.Second, "kube-proxy's REJECT rule for "+empty.Spec.ClusterIP, func() (bool, error) {
			conn, err := net.DialTimeout("tcp", empty.Spec.ClusterIP+":80", time.Second)
			if err == nil {
				conn.Close()
				return false, fmt.Errorf("connected to a Service without endpoints")
			}
			return errors.Is(err, syscall.ECONNREFUSED), nil
		}))
		// Service traffic first: with ICMP redirects on, it used up the ICMP rate limit and the
		// REJECT answer then never came.
		for i := 0; i < 5; i++ {
			out, err := execIn(rc, cs, ns, victim, "/web", "dial", svc.Spec.ClusterIP+":80")
			require.NoError(t, err)
			require.Contains(t, out, "connected", "dial the web Service from its own pod (hairpin)")
		}
		for i := 0; i < 5; i++ {
			out, err := execIn(rc, cs, ns, victim, "/web", "dial", empty.Spec.ClusterIP+":80")
			require.NoError(t, err)
			assert.Contains(t, out, "connection refused", "round %d", i)
			var ms int
			_, err = fmt.Sscanf(out, "error after %dms", &ms)
			require.NoError(t, err, "dial output %q", out)
			assert.Less(t, ms, 2000, "refused at once, not after retransmissions (round %d)", i)
		}
	})

	t.Run("a deleted pod is replaced", func(t *testing.T) {
		require.NoError(t, cs.CoreV1().Pods(ns).Delete(context.Background(), victim, metav1.DeleteOptions{}))
		now := waitReadyPods(t, cs, ns, "app=web", 2, map[string]bool{victim: true})
		assert.NotContains(t, now, victim)
	})
}

func mustPrefixContains(t testing.TB, cidr, ip string) bool {
	t.Helper()
	p, err := netip.ParsePrefix(cidr)
	require.NoError(t, err)
	a, err := netip.ParseAddr(ip)
	require.NoError(t, err, "pod IP %q", ip)
	return p.Contains(a)
}

// execIn runs a command in a pod's first container and returns its standard output.
func execIn(rc *rest.Config, cs kubernetes.Interface, ns, pod string, cmd ...string) (string, error) {
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(rc, "POST", req.URL())
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}); err != nil {
		return stdout.String(), fmt.Errorf("exec %v in %s/%s: %w (stderr %q)", cmd, ns, pod, err, stderr.String())
	}
	return stdout.String(), nil
}

func TestKwokFakeNodesRunPodsOnRequest(t *testing.T) {
	ctx := context.Background()
	_, cs := clients(t)
	ns := namespace(t, cs, "cluster-kwok")
	prefix := "e2e-kwok"
	names, err := AddFakeNodes(ctx, cs, prefix, 3)
	t.Cleanup(func() { _ = DeleteFakeNodes(context.Background(), cs, names...) })
	require.NoError(t, err)
	require.Len(t, names, 3)
	replicas := int32(6)
	labels := map[string]string{"app": "fake"}
	_, err = cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "fake"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{FakeNodeLabel: "kwok"},
					Tolerations:  []corev1.Toleration{{Key: FakeNodeTaint.Key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
					Containers:   []corev1.Container{{Name: "c", Image: "never-pulled:1"}},
				},
			},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	waitReadyPods(t, cs, ns, "app=fake", 6, nil)
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=fake"})
	require.NoError(t, err)
	plan, err := planNetwork(local.PodCIDR, local.ServiceCIDR)
	require.NoError(t, err)
	used := map[string]bool{}
	for _, p := range pods.Items {
		assert.True(t, strings.HasPrefix(p.Spec.NodeName, prefix+"-"), "pod %s on fake node, got %q", p.Name, p.Spec.NodeName)
		used[p.Spec.NodeName] = true
		ip, err := netip.ParseAddr(p.Status.PodIP)
		require.NoError(t, err)
		assert.True(t, plan.KwokCIDR.Contains(ip), "fake pod IP %s inside %s", ip, plan.KwokCIDR)
	}
	assert.Greater(t, len(used), 1, "the scheduler spreads pods over the fake nodes")

	// ordinary pods stay off fake nodes: the taint
	n, err := cs.CoreV1().Nodes().Get(ctx, names[0], metav1.GetOptions{})
	require.NoError(t, err)
	assert.Contains(t, n.Spec.Taints, FakeNodeTaint)
}

// BenchmarkPodReplacement measures pod delete -> replacement Running and Ready on the real
// node. Run `go test -tags chaos -run '^$' -bench PodReplacement -benchtime 10x
// ./internal/cluster/`; median-ms is the median over the rounds.
func BenchmarkPodReplacement(b *testing.B) {
	_, cs := clients(b)
	ns := namespace(b, cs, "cluster-bench")
	web(b, cs, ns, 2)
	var rounds []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pods := waitReadyPods(b, cs, ns, "app=web", 2, nil)
		start := time.Now()
		require.NoError(b, cs.CoreV1().Pods(ns).Delete(context.Background(), pods[0], metav1.DeleteOptions{}))
		waitReadyPods(b, cs, ns, "app=web", 2, map[string]bool{pods[0]: true})
		rounds = append(rounds, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(rounds, func(i, j int) bool { return rounds[i] < rounds[j] })
	b.ReportMetric(float64(rounds[len(rounds)/2].Milliseconds()), "median-ms")
	b.ReportMetric(controlPlaneRSSMiB(), "controlplane-MiB")
}

// controlPlaneRSSMiB sums the resident memory of the control-plane processes.
func controlPlaneRSSMiB() float64 {
	var kb int64
	p := local.procs()
	for _, name := range controlPlane {
		r, ok := p.get(name)
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(r.PID), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				var n int64
				fmt.Sscanf(strings.TrimSpace(v), "%d", &n)
				kb += n
			}
		}
	}
	return float64(kb) / 1024
}
