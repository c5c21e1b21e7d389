package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// controlPlane are the control-plane components in start order; Down stops them in reverse.
var controlPlane = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// nodeComponents are the real node's processes in start order.
var nodeComponents = []string{"containerd", "kubelet", "kube-proxy"}

// clusterInfo is written to <StateDir>/cluster.json when a cluster is up.
type clusterInfo struct {
	Version   string    `json:"version"`
	Node      bool      `json:"node"`
	NodeName  string    `json:"nodeName,omitempty"`
	StartedAt time.Time `json:"startedAt"`
}

func (c Config) infoFile() string { return filepath.Join(c.StateDir, "cluster.json") }

func (c Config) procs() procs { return procs{dir: c.pidDir(), logDir: c.logDir()} }

func readInfo(c Config) (clusterInfo, bool) {
	var info clusterInfo
	b, err := os.ReadFile(c.infoFile())
	if err != nil || json.Unmarshal(b, &info) != nil {
		return info, false
	}
	return info, true
}

// UpResult says what Up did.
type UpResult struct {
	// Reused is true when a healthy cluster was already running and nothing was started.
	Reused bool
	// Kubeconfig is the absolute path of the admin kubeconfig.
	Kubeconfig string
	// APIReady is how long the control plane took to answer /readyz (zero when reused).
	APIReady time.Duration
	// Ready is how long the whole cluster took to be ready, node included (zero when reused).
	Ready time.Duration
}

// Up starts the local cluster described by c and waits until it is ready: etcd,
// kube-apiserver (answering /readyz), kube-controller-manager (the default ServiceAccount
// exists), kube-scheduler, kwok, and with c.Node the real node (Ready, kube-proxy synced). It
// builds what is missing first ([Build]) and prints progress to w. A healthy running cluster is
// reused as it is; a half-running one is stopped and started afresh. Every process started is
// recorded by PID for [Down]. Up is safe to call from several processes at once. A cluster
// that Up started or reused is never stopped by [Release]; only [Down] stops it.
func Up(ctx context.Context, c Config, w io.Writer) (UpResult, error) {
	w = orDiscard(w)
	if err := c.validate(); err != nil {
		return UpResult{}, err
	}
	if err := os.MkdirAll(c.StateDir, 0o755); err != nil {
		return UpResult{}, err
	}
	unlock, err := lockFile(ctx, c.lockFile())
	if err != nil {
		return UpResult{}, err
	}
	defer unlock()
	res, err := up(ctx, c, w)
	if err == nil {
		// a cluster brought up or reused by Up belongs to its caller: Release never stops it
		_ = os.Remove(c.setupMarker())
	}
	return res, err
}

func up(ctx context.Context, c Config, w io.Writer) (UpResult, error) {
	res := UpResult{Kubeconfig: c.Kubeconfig()}
	if st := status(ctx, c); st.Healthy && st.Node == c.Node {
		fmt.Fprintf(w, "cluster already up and healthy (%s), reusing it\n", c.StateDir)
		res.Reused = true
		return res, nil
	}
	if err := Build(ctx, c, w); err != nil {
		return res, err
	}
	if c.Node {
		if err := nodePreflight(); err != nil {
			return res, err
		}
	}
	if leftovers(c) {
		fmt.Fprintln(w, "found a stopped or half-running cluster, cleaning it up first")
		if err := down(ctx, c, w, false); err != nil {
			return res, fmt.Errorf("clean up before start: %w", err)
		}
	}
	t0 := time.Now()
	plan, err := planNetwork(c.PodCIDR, c.ServiceCIDR)
	if err != nil {
		return res, err
	}
	if os.Geteuid() == 0 { // without root there is no node, and no route can be added
		routes, err := listRoutes(ctx)
		if err != nil {
			return res, err
		}
		if bad := plan.conflictingRoutes(routes, c.Bridge); len(bad) > 0 {
			return res, fmt.Errorf("the cluster ranges %s and %s overlap routes already on this machine (%v); choose other ranges in Config", plan.PodCIDR, plan.ServiceCIDR, bad)
		}
		if err := saveSysctls(c); err != nil {
			return res, err
		}
		// Guard: while no node runs, nothing addressed to the cluster ranges (kwok's pod IPs are
		// fake, ClusterIPs unprogrammed) may leave the machine; startNode points them at the bridge.
		for _, dst := range []netip.Prefix{plan.ServiceCIDR, plan.PodCIDR} {
			if err := routeTo(ctx, dst, ""); err != nil {
				return res, err
			}
		}
	}
	if err := writePKI(c.pkiDir(), net.IP(plan.APIServiceIP.AsSlice()), net.ParseIP(c.NodeIP)); err != nil {
		return res, err
	}
	kc, err := renderKubeconfig(c)
	if err != nil {
		return res, err
	}
	if err := writeFileAtomic(c.Kubeconfig(), kc, 0o600); err != nil {
		return res, err
	}
	if err := startControlPlane(ctx, c, plan, w); err != nil {
		return res, fmt.Errorf("%w (logs in %s)", err, c.logDir())
	}
	res.APIReady = time.Since(t0)
	if c.Node {
		if err := startNode(ctx, c, plan, w); err != nil {
			return res, fmt.Errorf("%w (logs in %s)", err, c.logDir())
		}
	}
	info, _ := json.Marshal(clusterInfo{Version: c.Version, Node: c.Node, NodeName: c.NodeName, StartedAt: time.Now().UTC()})
	if err := writeFileAtomic(c.infoFile(), info, 0o644); err != nil {
		return res, err
	}
	res.Ready = time.Since(t0)
	fmt.Fprintf(w, "cluster ready in %s (API after %s)\n", res.Ready.Round(10*time.Millisecond), res.APIReady.Round(10*time.Millisecond))
	return res, nil
}

// leftovers reports whether anything of an earlier cluster is recorded: PID files, the saved
// sysctls or the info file.
func leftovers(c Config) bool {
	ents, _ := os.ReadDir(c.pidDir())
	if len(ents) > 0 {
		return true
	}
	for _, f := range []string{c.infoFile(), c.sysctlFile()} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return linkExists(c.Bridge)
}

func (c Config) sysctlFile() string { return filepath.Join(c.StateDir, "sysctl.orig.json") }

// saveSysctls records the values of every sysctl the cluster may change, once: a saved file
// from an earlier, unfinished run holds the true originals and is kept.
func saveSysctls(c Config) error {
	if _, err := os.Stat(c.sysctlFile()); err == nil {
		return nil
	}
	keys := append([]string{}, sysctlKeys...)
	ifs, _ := os.ReadDir("/sys/class/net")
	for _, i := range ifs {
		keys = append(keys, interfaceSysctlKeys(i.Name())...)
	}
	b, err := json.MarshalIndent(readSysctls("/proc/sys", keys), "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(c.sysctlFile(), b, 0o644)
}

// restoreSavedSysctls puts back what saveSysctls recorded and removes the record.
func restoreSavedSysctls(c Config, w io.Writer) error {
	b, err := os.ReadFile(c.sysctlFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var snap sysctlSnapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return fmt.Errorf("read %s: %w", c.sysctlFile(), err)
	}
	changed, err := restoreSysctls("/proc/sys", snap, sysctlKeys)
	if len(changed) > 0 {
		fmt.Fprintf(w, "restored sysctls: %s\n", strings.ReplaceAll(strings.Join(changed, " "), "/", "."))
	}
	if err != nil {
		return err
	}
	return os.Remove(c.sysctlFile())
}

func startControlPlane(ctx context.Context, c Config, plan netPlan, w io.Writer) error {
	p := c.procs()
	pki := c.pkiDir()
	kc := c.Kubeconfig()
	// a fresh etcd every time: tests expect an empty cluster
	if err := os.RemoveAll(filepath.Join(c.StateDir, "data")); err != nil {
		return err
	}
	started := func(name string, r procRecord) { fmt.Fprintf(w, "started %s (pid %d)\n", name, r.PID) }
	r, err := p.start("etcd", nil, c.Bin("etcd"), "-data-dir", filepath.Join(c.StateDir, "data", "etcd"),
		"-listen-client", fmt.Sprintf("http://127.0.0.1:%d", c.EtcdPort),
		"-listen-peer", fmt.Sprintf("http://127.0.0.1:%d", c.EtcdPort+10))
	if err != nil {
		return err
	}
	started("etcd", r)
	plain := &http.Client{Timeout: 2 * time.Second}
	if err := waitHTTP(ctx, plain, fmt.Sprintf("http://127.0.0.1:%d/health", c.EtcdPort), 30*time.Second, p, "etcd"); err != nil {
		return err
	}
	advertise := c.NodeIP
	if advertise == "" {
		advertise = "127.0.0.1"
	}
	r, err = p.start("kube-apiserver", nil, c.Bin("kube-apiserver"),
		"--etcd-servers", fmt.Sprintf("http://127.0.0.1:%d", c.EtcdPort),
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(c.APIPort), "--advertise-address", advertise,
		"--tls-cert-file", filepath.Join(pki, "apiserver.crt"), "--tls-private-key-file", filepath.Join(pki, "apiserver.key"),
		"--client-ca-file", filepath.Join(pki, "ca.crt"),
		"--kubelet-client-certificate", filepath.Join(pki, "admin.crt"), "--kubelet-client-key", filepath.Join(pki, "admin.key"),
		// the apiserver would resolve node host names through the system DNS for logs and exec
		"--kubelet-preferred-address-types", "InternalIP",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", filepath.Join(pki, "sa.pub"), "--service-account-signing-key-file", filepath.Join(pki, "sa.key"),
		"--service-cluster-ip-range", plan.ServiceCIDR.String(),
		"--authorization-mode", "Node,RBAC", "--allow-privileged=true",
		"--cert-dir", filepath.Join(c.StateDir, "apiserver"),
		"--v=1")
	if err != nil {
		return err
	}
	started("kube-apiserver", r)
	tlsClient, err := adminHTTPClient(c)
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, tlsClient, c.APIServerURL()+"/readyz", 120*time.Second, p, "kube-apiserver"); err != nil {
		return err
	}
	certDir := filepath.Join(c.StateDir, "certs")
	r, err = p.start("kube-controller-manager", nil, c.Bin("kube-controller-manager"),
		"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--bind-address", "127.0.0.1", "--secure-port", "0", "--leader-elect=false",
		"--service-account-private-key-file", filepath.Join(pki, "sa.key"), "--root-ca-file", filepath.Join(pki, "ca.crt"),
		"--cluster-signing-cert-file", filepath.Join(pki, "ca.crt"), "--cluster-signing-key-file", filepath.Join(pki, "ca.key"),
		"--service-cluster-ip-range", plan.ServiceCIDR.String(), "--allocate-node-cidrs=false",
		"--use-service-account-credentials=false", "--cert-dir", certDir, "--v=1")
	if err != nil {
		return err
	}
	started("kube-controller-manager", r)
	r, err = p.start("kube-scheduler", nil, c.Bin("kube-scheduler"),
		"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--bind-address", "127.0.0.1", "--secure-port", "0", "--leader-elect=false", "--cert-dir", certDir, "--v=1")
	if err != nil {
		return err
	}
	started("kube-scheduler", r)
	r, err = p.start("kwok", nil, c.Bin("kwok"),
		"--config", c.Bin("kwok-stages.yaml"), "--kubeconfig", kc,
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector="+kwokAnnotation+"=fake",
		"--node-lease-duration-seconds=40", "--cidr", plan.KwokCIDR.String(),
		// kwok's defaults would advertise a public node IP for logs/exec and pod IPs in 10.0.0.0/24
		"--node-ip", "127.0.0.1", "--node-port", strconv.Itoa(c.KwokPort),
		"--server-address", fmt.Sprintf("127.0.0.1:%d", c.KwokPort))
	if err != nil {
		return err
	}
	started("kwok", r)
	cs, err := c.Clientset()
	if err != nil {
		return err
	}
	// The controller-manager creates the "default" ServiceAccount; no pod can be created before.
	return poll(ctx, 60*time.Second, "the default ServiceAccount (kube-controller-manager running)", func() (bool, error) {
		for _, name := range []string{"kube-controller-manager", "kube-scheduler", "kwok"} {
			if !p.running(name) {
				return false, fmt.Errorf("%s exited; see %s", name, c.LogFile(name))
			}
		}
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, nil
	})
}

// Clientset returns a client for the local cluster (admin credentials).
func (c Config) Clientset() (*kubernetes.Clientset, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", c.Kubeconfig(), err)
	}
	rc.QPS, rc.Burst = 50, 100
	return kubernetes.NewForConfig(rc)
}

// adminHTTPClient talks to the apiserver with the admin client certificate.
func adminHTTPClient(c Config) (*http.Client, error) {
	pki := c.pkiDir()
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "admin.crt"), filepath.Join(pki, "admin.key"))
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}, nil
}

// waitHTTP polls url until it answers 200, failing early when the component's process exits.
func waitHTTP(ctx context.Context, client *http.Client, url string, timeout time.Duration, p procs, component string) error {
	var last string
	err := poll(ctx, timeout, url, func() (bool, error) {
		if component != "" && !p.running(component) {
			return false, fmt.Errorf("%s exited; see %s", component, filepath.Join(p.logDir, component+".log"))
		}
		resp, err := client.Get(url)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		last = fmt.Sprintf("HTTP %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil && last != "" {
		return fmt.Errorf("%w; last answer: %s", err, last)
	}
	return err
}

// poll calls check every 100ms until it returns true or an error, or timeout passes.
func poll(ctx context.Context, timeout time.Duration, what string, check func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := check()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: not ready after %s", what, timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// nodeReady reports whether the named node has condition Ready=True.
func nodeReady(n *corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}
