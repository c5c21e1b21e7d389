package cluster

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// Versions of what the local cluster is built from. KubernetesVersion follows the client-go
// minor in go.mod (v0.37.x), so the tests' client and the server agree.
const (
	// KubernetesVersion is the k8s.io/kubernetes tag the control plane and node are built from.
	KubernetesVersion = "v1.37.2"
	// EtcdVersion is the go.etcd.io/etcd/server/v3 version of the embedded etcd. Debian's etcd
	// 3.4 makes kube-apiserver disable RequestWatchProgress, which breaks client-go WatchList.
	EtcdVersion = "v3.6.16"
	// KwokVersion is the sigs.k8s.io/kwok version that fakes nodes on request.
	KwokVersion = "v0.8.0"
)

// Environment variables read by [DefaultConfig].
const (
	// EnvStateDir overrides [Config.StateDir].
	EnvStateDir = "CHAOSTEST_CLUSTER_DIR"
	// EnvNoNode, when "1", makes [DefaultConfig] leave out the real node (control plane and kwok
	// only; needs no root for the node parts).
	EnvNoNode = "CHAOSTEST_CLUSTER_NO_NODE"
)

// Config says where the local cluster lives and how it is wired. The zero value is not useful;
// start from [DefaultConfig] and change fields. Ports and names are chosen so the cluster can
// sit beside other software on the machine: everything listens on loopback (kubelet on the
// node address), and the bridge, socket and state paths are the cluster's own.
type Config struct {
	// Version is the Kubernetes version; binaries are cached per version. Default KubernetesVersion.
	Version string
	// CacheDir holds the built binaries and images, keyed by version:
	// ${XDG_CACHE_HOME:-$HOME/.cache}/chaostest/k8s/<Version>. Nothing in it belongs to a
	// running cluster; it is safe to share between clones.
	CacheDir string
	// StateDir holds one cluster's certificates, etcd data, logs, PID files and kubeconfig.
	// Default /var/tmp/chaostest/cluster, or $CHAOSTEST_CLUSTER_DIR.
	StateDir string
	// RunDir holds sockets and containerd's state (short: unix socket paths are limited to 108
	// bytes). Default /run/chaostest.
	RunDir string

	// APIPort is kube-apiserver's secure port on 127.0.0.1. Default 16444.
	APIPort int
	// EtcdPort is etcd's client port on 127.0.0.1; the peer port is EtcdPort+10. Default 23791.
	EtcdPort int
	// KubeletPort is the kubelet's port on NodeIP; KubeletPort+1 is its healthz port on loopback,
	// KubeletPort+6 and +7 are kube-proxy's healthz and metrics ports. Default 10450.
	KubeletPort int
	// KwokPort is kwok's server port on 127.0.0.1. Default 10347.
	KwokPort int

	// ServiceCIDR is the Service ClusterIP range. Default 10.97.0.0/16.
	ServiceCIDR string
	// PodCIDR is the pod range: the real node uses its first /24, kwok nodes its upper half.
	// Default 10.245.0.0/16.
	PodCIDR string
	// Bridge is the name of the node's CNI bridge. Default "chaostest0".
	Bridge string
	// NodeName is the real node's name. Default "chaostest-node".
	NodeName string
	// NodeIP is the node address the kubelet registers and kube-apiserver advertises; it must
	// not be loopback. Default: the first global IPv4 address of the machine.
	NodeIP string
	// Node says whether to run the real node (containerd, kubelet, kube-proxy; needs root).
	// Default true unless CHAOSTEST_CLUSTER_NO_NODE=1.
	Node bool
}

// DefaultConfig returns the configuration `make cluster` uses, with environment overrides
// (EnvStateDir, EnvNoNode, XDG_CACHE_HOME) applied. NodeIP is detected when possible; an
// undetectable address is reported by [Up], not here.
func DefaultConfig() Config {
	c := Config{
		Version:     KubernetesVersion,
		StateDir:    "/var/tmp/chaostest/cluster",
		RunDir:      "/run/chaostest",
		APIPort:     16444,
		EtcdPort:    23791,
		KubeletPort: 10450,
		KwokPort:    10347,
		ServiceCIDR: "10.97.0.0/16",
		PodCIDR:     "10.245.0.0/16",
		Bridge:      "chaostest0",
		NodeName:    "chaostest-node",
		Node:        os.Getenv(EnvNoNode) != "1",
	}
	c.CacheDir = DefaultCacheDir(c.Version)
	if d := os.Getenv(EnvStateDir); d != "" {
		c.StateDir = d
	}
	if ip, err := detectNodeIP(c.Bridge); err == nil {
		c.NodeIP = ip
	}
	return c
}

// DefaultCacheDir is where binaries for a Kubernetes version are cached:
// ${XDG_CACHE_HOME:-$HOME/.cache}/chaostest/k8s/<version>.
func DefaultCacheDir(version string) string {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			home = os.TempDir()
		}
		base = filepath.Join(home, ".cache")
	}
	return cacheDirFor(base, version)
}

// cacheDirFor is the cache key: one directory per version under base.
func cacheDirFor(base, version string) string {
	return filepath.Join(base, "chaostest", "k8s", version)
}

// Kubeconfig is the absolute path of the admin kubeconfig [Up] writes.
func (c Config) Kubeconfig() string { return filepath.Join(c.StateDir, "admin.kubeconfig") }

// BinDir is where the built binaries are cached.
func (c Config) BinDir() string { return filepath.Join(c.CacheDir, "bin") }

// Bin is the cached path of one binary (kube-apiserver, etcd, kwok, ...).
func (c Config) Bin(name string) string { return filepath.Join(c.BinDir(), name) }

// APIServerURL is the kube-apiserver address clients use.
func (c Config) APIServerURL() string { return fmt.Sprintf("https://127.0.0.1:%d", c.APIPort) }

// ContainerdSocket is the node's private containerd socket.
func (c Config) ContainerdSocket() string { return filepath.Join(c.RunDir, "containerd.sock") }

func (c Config) pkiDir() string   { return filepath.Join(c.StateDir, "pki") }
func (c Config) pidDir() string   { return filepath.Join(c.StateDir, "pids") }
func (c Config) logDir() string   { return filepath.Join(c.StateDir, "logs") }
func (c Config) lockFile() string { return filepath.Join(c.StateDir, "lock") }

// LogFile is the log of one component (etcd, kube-apiserver, kubelet, containerd, ...).
func (c Config) LogFile(component string) string {
	return filepath.Join(c.logDir(), component+".log")
}

// validate reports the first field that cannot work.
func (c Config) validate() error {
	switch {
	case c.Version == "" || !strings.HasPrefix(c.Version, "v1."):
		return fmt.Errorf("cluster config: Version must look like v1.<minor>.<patch>, got %q", c.Version)
	case c.CacheDir == "" || c.StateDir == "" || c.RunDir == "":
		return fmt.Errorf("cluster config: CacheDir, StateDir and RunDir must be set, got %q, %q, %q", c.CacheDir, c.StateDir, c.RunDir)
	case !filepath.IsAbs(c.StateDir) || !filepath.IsAbs(c.RunDir):
		return fmt.Errorf("cluster config: StateDir and RunDir must be absolute, got %q and %q", c.StateDir, c.RunDir)
	case len(c.ContainerdSocket())+len(".ttrpc") > 100:
		return fmt.Errorf("cluster config: RunDir %q is too long for unix socket paths (limit 108 bytes)", c.RunDir)
	case c.Bridge == "" || len(c.Bridge) > 15:
		return fmt.Errorf("cluster config: Bridge must be 1-15 characters, got %q", c.Bridge)
	}
	if _, err := planNetwork(c.PodCIDR, c.ServiceCIDR); err != nil {
		return err
	}
	if c.Node {
		ip := net.ParseIP(c.NodeIP)
		if ip == nil || ip.To4() == nil || ip.IsLoopback() {
			return fmt.Errorf("cluster config: NodeIP must be a non-loopback IPv4 address of this machine, got %q", c.NodeIP)
		}
	}
	return nil
}

// detectNodeIP returns the first global-scope IPv4 address of an interface that is up and is
// neither the cluster's own bridge nor a veth.
func detectNodeIP(bridge string) (string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 || strings.HasPrefix(i.Name, "veth") || i.Name == bridge {
			continue
		}
		addrs, err := i.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
				return ipn.IP.String(), nil
			}
		}
	}
	return "", fmt.Errorf("no global IPv4 address on any interface that is up")
}
