//go:build chaos && lifecycle

package cluster

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The lifecycle test starts and stops a cluster of its own, so it must not run while other
// tests use the shared one: it has its own build tag, and `make chaos` runs it first, alone:
//
//	go test -race -count=1 -tags 'chaos lifecycle' -run '^TestLifecycle' ./internal/cluster/
func TestMain(m *testing.M) { os.Exit(m.Run()) }

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// hostState is everything on the machine the cluster may touch.
type hostState struct {
	Routes   []string
	Iptables []string
	Mounts   []string
	Netns    []string
	Links    []string
	Sysctls  map[string]string
	Cgroups  []string
}

// volatileSysctls are counters and the like that change by themselves.
var volatileSysctls = []string{"kernel/ns_last_pid", "kernel/random/", "net/netfilter/nf_conntrack_count", "kernel/tainted", "kernel/pty/nr", "vm/stat_refresh", "vm/drop_caches", "vm/compact_memory"}

func sysctlTree(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, sub := range []string{"net/ipv4", "net/ipv6/conf/all", "net/ipv6/conf/default", "net/bridge", "net/netfilter", "net/core", "vm", "kernel"} {
		_ = filepath.WalkDir(filepath.Join("/proc/sys", sub), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			key := strings.TrimPrefix(path, "/proc/sys/")
			if strings.HasPrefix(key, "net/ipv4/conf/") || strings.HasPrefix(key, "net/ipv4/neigh/") {
				// per-interface: only all, default and lo (others appear and vanish with links)
				parts := strings.Split(key, "/")
				if len(parts) > 3 && parts[3] != "all" && parts[3] != "default" && parts[3] != "lo" {
					return nil
				}
			}
			for _, v := range volatileSysctls {
				if strings.HasPrefix(key, v) {
					return nil
				}
			}
			info, err := d.Info()
			if err != nil || info.Mode().Perm()&0o200 == 0 {
				return nil // read-only: not a setting
			}
			b, err := os.ReadFile(path)
			if err == nil {
				out[key] = strings.TrimSpace(string(b))
			}
			return nil
		})
	}
	return out
}

func snapshotHost(t *testing.T, c Config) hostState {
	t.Helper()
	ctx := context.Background()
	var s hostState
	routes, err := listRoutes(ctx)
	require.NoError(t, err)
	for _, r := range routes {
		s.Routes = append(s.Routes, r.String())
	}
	for _, tool := range []string{"iptables-save", "ip6tables-save"} {
		out, err := command(ctx, tool)
		require.NoError(t, err)
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "#") || line == "" {
				continue
			}
			if strings.HasPrefix(line, ":") { // ":CHAIN POLICY [packets:bytes]"
				line = strings.Join(strings.Fields(line)[:2], " ")
			}
			s.Iptables = append(s.Iptables, tool+" "+line)
		}
	}
	s.Mounts = mountsUnder(readMountinfo(), c.StateDir, c.RunDir, "/run/netns", "/var/run/netns")
	if ents, err := os.ReadDir("/var/run/netns"); err == nil {
		for _, e := range ents {
			s.Netns = append(s.Netns, e.Name())
		}
	}
	ents, err := os.ReadDir("/sys/class/net")
	require.NoError(t, err)
	for _, e := range ents {
		s.Links = append(s.Links, e.Name())
	}
	s.Sysctls = sysctlTree(t)
	matches, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	s.Cgroups = matches
	sort.Strings(s.Routes)
	sort.Strings(s.Iptables)
	return s
}

// ourProcesses are processes of a local cluster: our binaries, the private containerd and its
// shims, and anything in the kubelet's cgroups.
func ourProcesses(c Config) []procInfo {
	return scanProcs(func(pi procInfo) bool {
		if strings.Contains(pi.Cgroup, "/kubepods") {
			return true
		}
		for _, a := range pi.Cmdline {
			if strings.HasPrefix(a, c.BinDir()+"/") || strings.Contains(a, c.RunDir+"/") || strings.Contains(a, c.StateDir+"/") {
				return true
			}
		}
		return false
	})
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	c := DefaultConfig()
	w := logWriter{t}
	require.False(t, Status(ctx, c).Healthy, "a local cluster already runs; the lifecycle test starts and stops its own: stop it first (make down)")
	// A cluster that stopped without Down (a killed session, a rebooted machine) leaves its
	// bridge, routes and rules behind; Up would clean them up and the comparison below would
	// blame Down for what was never ours to restore. Clean them first, then take the snapshot.
	require.NoError(t, Down(ctx, c, w, false), "cleaning up what an earlier cluster left")
	require.Empty(t, ourProcesses(c), "processes of an earlier cluster still run")

	// settings that change by themselves are not ours to check
	first := sysctlTree(t)
	time.Sleep(time.Second)
	before := snapshotHost(t, c)
	for k, v := range first {
		if before.Sysctls[k] != v {
			delete(before.Sysctls, k)
		}
	}

	res, err := Up(ctx, c, w)
	t.Cleanup(func() { _ = Down(context.Background(), c, w, false) })
	require.NoError(t, err)
	assert.False(t, res.Reused)
	t.Logf("figure: start to Ready node %s (API ready after %s)", res.Ready, res.APIReady)

	st := Status(ctx, c)
	require.True(t, st.Healthy, st.Problem)
	cs, err := c.Clientset()
	require.NoError(t, err)
	// a real pod, so that containers, mounts, a network namespace and Service rules exist
	require.NoError(t, LoadGoImageWith(ctx, c, "./testdata/web", "chaostest-web:lifecycle"))
	pod, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "lifecycle", Labels: map[string]string{"app": "lifecycle"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "chaostest-web:lifecycle", ImagePullPolicy: corev1.PullNever}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cs.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "lifecycle"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "lifecycle"}, Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, poll(ctx, 60*time.Second, "pod Running", func() (bool, error) {
		p, err := cs.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, nil
	}))
	during := snapshotHost(t, c)
	assert.Contains(t, during.Links, c.Bridge)
	assert.NotEmpty(t, during.Mounts, "container mounts exist while a pod runs")
	assert.NotEqual(t, before.Netns, during.Netns, "the pod has its own network namespace")
	assert.Equal(t, "0", during.Sysctls["net/ipv4/conf/all/send_redirects"])
	assert.NotEqual(t, before.Iptables, during.Iptables, "kube-proxy and the guard added rules")

	again, err := Up(ctx, c, w)
	require.NoError(t, err)
	assert.True(t, again.Reused, "a second Up reuses the healthy cluster")

	require.NoError(t, Down(ctx, c, w, false))
	after := snapshotHost(t, c)
	assert.Empty(t, ourProcesses(c), "no process of the cluster may survive Down")
	assert.Equal(t, before.Routes, after.Routes, "routes")
	assert.Equal(t, before.Iptables, after.Iptables, "iptables rules and chains")
	assert.Equal(t, before.Mounts, after.Mounts, "mounts")
	assert.Equal(t, before.Netns, after.Netns, "network namespaces")
	assert.Equal(t, before.Links, after.Links, "network interfaces")
	assert.Equal(t, before.Cgroups, after.Cgroups, "kubelet cgroups")
	for k, v := range before.Sysctls {
		assert.Equal(t, v, after.Sysctls[k], "sysctl %s", strings.ReplaceAll(k, "/", "."))
	}
	assert.False(t, Status(ctx, c).Healthy)
	require.NoError(t, Down(ctx, c, w, false), "Down on a stopped cluster is a no-op")
}
