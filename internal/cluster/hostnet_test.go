package cluster

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRoutes(t *testing.T) {
	out := `[{"dst":"default","gateway":"192.0.2.1","dev":"eth0","flags":[]},
	{"dst":"192.0.2.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"192.0.2.2","flags":[]},
	{"type":"unreachable","dst":"10.97.0.0/16","flags":[]},
	{"dst":"10.1.2.3","dev":"tun0","flags":[]}]`
	got, err := parseRoutes([]byte(out))
	require.NoError(t, err)
	pfx := netip.MustParsePrefix
	assert.Equal(t, []hostRoute{
		{Dst: pfx("0.0.0.0/0"), Dev: "eth0"},
		{Dst: pfx("192.0.2.0/24"), Dev: "eth0"},
		{Dst: pfx("10.97.0.0/16"), Unreachable: true},
		{Dst: pfx("10.1.2.3/32"), Dev: "tun0"},
	}, got)
	_, err = parseRoutes([]byte(`[{"dst":"10.0.0.300/8"}]`))
	assert.Error(t, err)
}

func TestParseKubeChainsAndUnquote(t *testing.T) {
	out := "-P INPUT ACCEPT\n-N KUBE-FIREWALL\n-N DOCKER\n-N KUBE-SERVICES\n-A INPUT -j KUBE-FIREWALL\n"
	assert.Equal(t, []string{"KUBE-FIREWALL", "KUBE-SERVICES"}, parseKubeChains(out))
	args := []string{"PREROUTING", "-m", "comment", "--comment", `"kubernetes`, "service", `portals"`, "-j", "KUBE-SERVICES"}
	assert.Equal(t, []string{"PREROUTING", "-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES"}, unquote(args))
	assert.Equal(t, []string{"--comment", "one"}, unquote([]string{"--comment", `"one"`}))
}

func TestMountsUnderIsDeepestFirstAndExact(t *testing.T) {
	mi := `22 1 0:21 / /run rw - tmpfs tmpfs rw
30 22 0:30 / /run/chaostest/containerd/x/rootfs rw - overlay overlay rw
31 22 0:31 / /run/chaostest/containerd/x/rootfs/dev rw - tmpfs tmpfs rw
32 22 0:32 / /run/chaostest-other rw - tmpfs tmpfs rw
33 1 0:33 / /var/tmp/st/kubelet/pods/a\040b/volumes rw - tmpfs tmpfs rw
`
	got := mountsUnder(mi, "/run/chaostest", "/var/tmp/st/")
	assert.Equal(t, []string{
		"/run/chaostest/containerd/x/rootfs/dev",
		"/var/tmp/st/kubelet/pods/a b/volumes",
		"/run/chaostest/containerd/x/rootfs",
	}, got)
}

func TestRestoreSysctlsWritesOnlyWhatChanged(t *testing.T) {
	root := t.TempDir()
	write := func(k, v string) {
		require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(k)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, k), []byte(v+"\n"), 0o644))
	}
	write("net/ipv4/ip_forward", "0")
	write("net/ipv4/conf/all/send_redirects", "1")
	write("vm/overcommit_memory", "0")
	keys := []string{"net/ipv4/ip_forward", "net/ipv4/conf/all/send_redirects", "vm/overcommit_memory", "kernel/absent"}
	snap := readSysctls(root, keys)
	assert.Equal(t, sysctlSnapshot{"net/ipv4/ip_forward": "0", "net/ipv4/conf/all/send_redirects": "1", "vm/overcommit_memory": "0"}, snap)

	write("net/ipv4/ip_forward", "1")
	write("net/ipv4/conf/all/send_redirects", "0")
	changed, err := restoreSysctls(root, snap, keys)
	require.NoError(t, err)
	assert.Equal(t, []string{"net/ipv4/ip_forward", "net/ipv4/conf/all/send_redirects"}, changed)
	assert.Equal(t, snap, readSysctls(root, keys))

	changed, err = restoreSysctls(root, snap, keys)
	require.NoError(t, err)
	assert.Empty(t, changed)
}
