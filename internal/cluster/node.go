package cluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// cniBinDir is where Debian's containernetworking-plugins installs the plugins.
const cniBinDir = "/usr/lib/cni"

// hostTools are the programs the real node needs from the distribution (hack/setup-host.sh).
var hostTools = []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "iptables", "ip"}

// nodePreflight checks that the real node can run here: root, the host tools, the CNI plugins.
func nodePreflight() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("the real node needs root (containerd, bridge, iptables); run as root or set %s=1 for the control plane only", EnvNoNode)
	}
	var missing []string
	for _, t := range hostTools {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	for _, p := range []string{"bridge", "host-local", "loopback", "portmap"} {
		if _, err := os.Stat(filepath.Join(cniBinDir, p)); err != nil {
			missing = append(missing, filepath.Join(cniBinDir, p))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the real node needs %s; install them with `make setup` (hack/setup-host.sh)", strings.Join(missing, ", "))
	}
	return nil
}

// startNode turns this machine into the cluster's real node: the bridge and its routes and
// guard, a private containerd with the pause image, the kubelet and kube-proxy (iptables
// mode). It returns once the node is Ready and kube-proxy has synced its rules.
func startNode(ctx context.Context, c Config, plan netPlan, w io.Writer) error {
	for _, d := range []string{filepath.Join(c.StateDir, "cni", "net.d"), filepath.Join(c.StateDir, "containerd"), filepath.Join(c.StateDir, "kubelet"), c.RunDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		return err
	}
	files := map[string]func() ([]byte, error){
		filepath.Join(c.StateDir, "containerd", "config.toml"):             func() ([]byte, error) { return renderContainerdConfig(c, runc, cniBinDir) },
		filepath.Join(c.StateDir, "cni", "net.d", "10-chaostest.conflist"): func() ([]byte, error) { return renderCNIConfig(c) },
		filepath.Join(c.StateDir, "kubelet", "config.yaml"):                func() ([]byte, error) { return renderKubeletConfig(c) },
		filepath.Join(c.StateDir, "kube-proxy.yaml"):                       func() ([]byte, error) { return renderKubeProxyConfig(c) },
	}
	for path, render := range files {
		data, err := render()
		if err != nil {
			return err
		}
		if err := writeFileAtomic(path, data, 0o644); err != nil {
			return err
		}
	}

	// The bridge exists before any pod so that the cluster ranges can be routed to it (replacing
	// the "unreachable" guards): host -> ClusterIP needs a route before kube-proxy's DNAT applies,
	// and unknown pod IPs then end on the local bridge instead of the default route.
	if !linkExists(c.Bridge) {
		if _, err := command(ctx, "ip", "link", "add", "name", c.Bridge, "type", "bridge"); err != nil {
			return err
		}
	}
	if _, err := command(ctx, "ip", "link", "set", c.Bridge, "up"); err != nil {
		return err
	}
	// ICMP redirects for ClusterIPs (the host routes them back out of the bridge they came in
	// on) use up the kernel's ICMP rate limit, and then kube-proxy's REJECT for a Service without
	// endpoints is not answered: clients hang instead of being refused. A redirect is sent when
	// either "all" or the interface asks for it, so both are switched off (restored by Down).
	for _, k := range []string{"net/ipv4/conf/all/send_redirects", "net/ipv4/conf/" + c.Bridge + "/send_redirects"} {
		if err := writeSysctl(k, "0"); err != nil {
			return err
		}
	}
	for _, dst := range []netip.Prefix{plan.ServiceCIDR, plan.PodCIDR} {
		if err := routeTo(ctx, dst, c.Bridge); err != nil {
			return err
		}
	}
	// The CNI bridge plugin turns ip_forward on; never forward pod traffic off this machine.
	// kube-proxy later inserts its FORWARD jumps above this rule; that is harmless: KUBE-FORWARD
	// accepts only packets of established flows and packets marked for masquerading, which pods'
	// own new connections never are, so those still reach the guard.
	if err := ensureGuard(ctx, c.Bridge); err != nil {
		return err
	}

	p := c.procs()
	containerd, _ := exec.LookPath("containerd")
	r, err := p.start("containerd", nil, containerd, "--config", filepath.Join(c.StateDir, "containerd", "config.toml"))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "started containerd (pid %d)\n", r.PID)
	if err := poll(ctx, 30*time.Second, "containerd socket "+c.ContainerdSocket(), func() (bool, error) {
		if !p.running("containerd") {
			return false, fmt.Errorf("containerd exited; see %s", c.LogFile("containerd"))
		}
		_, err := command(ctx, "ctr", "--address", c.ContainerdSocket(), "version")
		return err == nil, nil
	}); err != nil {
		return err
	}
	images, err := NodeImages(ctx, c)
	if err != nil {
		return err
	}
	if !contains(images, pauseImage) {
		if err := ImportImage(ctx, c, filepath.Join(c.CacheDir, "images", "pause.tar")); err != nil {
			return err
		}
	}

	kc := c.Kubeconfig()
	r, err = p.start("kubelet", nil, c.Bin("kubelet"),
		"--config", filepath.Join(c.StateDir, "kubelet", "config.yaml"), "--kubeconfig", kc,
		"--hostname-override", c.NodeName, "--node-ip", c.NodeIP,
		"--root-dir", filepath.Join(c.StateDir, "kubelet", "root"), "--cert-dir", filepath.Join(c.StateDir, "kubelet", "pki"),
		"--v=1")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "started kubelet (pid %d)\n", r.PID)
	r, err = p.start("kube-proxy", nil, c.Bin("kube-proxy"), "--config", filepath.Join(c.StateDir, "kube-proxy.yaml"), "--v=1")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "started kube-proxy (pid %d)\n", r.PID)

	cs, err := c.Clientset()
	if err != nil {
		return err
	}
	if err := poll(ctx, 120*time.Second, "node "+c.NodeName+" Ready", func() (bool, error) {
		for _, name := range nodeComponents {
			if !p.running(name) {
				return false, fmt.Errorf("%s exited; see %s", name, c.LogFile(name))
			}
		}
		n, err := cs.CoreV1().Nodes().Get(ctx, c.NodeName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return nodeReady(n), nil
	}); err != nil {
		return err
	}
	return waitHTTP(ctx, &http.Client{Timeout: 2 * time.Second}, fmt.Sprintf("http://127.0.0.1:%d/healthz", c.KubeletPort+6), 60*time.Second, p, "kube-proxy")
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
