package k8s

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
)

// Client is a connection to one Kubernetes cluster. Its methods build chaostest activities
// (probes and actions named after chaosk8s) that use this connection. A Client is safe for
// concurrent use.
type Client struct {
	cs  kubernetes.Interface
	dyn dynamic.Interface
	cfg *rest.Config

	ns string // the default namespace of a TestNamespace client; "" otherwise

	mu          sync.Mutex
	allowSystem bool
	lastAction  time.Time
}

// newClient wraps already built clients; cfg and dyn may be nil (unit tests with a fake
// clientset).
func newClient(cs kubernetes.Interface, dyn dynamic.Interface, cfg *rest.Config) *Client {
	return &Client{cs: cs, dyn: dyn, cfg: cfg}
}

// FromREST returns a client for the cluster cfg points at.
func FromREST(cfg *rest.Config) (*Client, error) {
	if cfg == nil {
		return nil, fmt.Errorf("k8s.FromREST: nil *rest.Config")
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("k8s: building a clientset for %s: %w", cfg.Host, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("k8s: building a dynamic client for %s: %w", cfg.Host, err)
	}
	return newClient(cs, dyn, cfg), nil
}

// FromClientset returns a client over a clientset the caller already has. It has no dynamic
// client, so the functions on custom objects fail through it; use FromREST for those.
func FromClientset(cs kubernetes.Interface) *Client {
	return newClient(cs, nil, nil)
}

// FromEnvConf returns a client for the cluster of an e2e-framework environment configuration.
func FromEnvConf(cfg *envconf.Config) (*Client, error) {
	if cfg == nil {
		return nil, fmt.Errorf("k8s.FromEnvConf: nil *envconf.Config")
	}
	kc, err := cfg.NewClient()
	if err != nil {
		return nil, fmt.Errorf("k8s.FromEnvConf: %w", err)
	}
	return FromREST(kc.RESTConfig())
}

// FromEnv returns a client configured the way chaosk8s's create_k8s_api_client does, looking
// every variable up in secrets first (the flat map a provider receives), then in the process
// environment:
//
//  1. KUBECONFIG (default ~/.kube/config; a list separated by ':' as kubectl reads it), when
//     one of its files exists, with the context KUBERNETES_CONTEXT (default: current context);
//  2. otherwise, when CHAOSTOOLKIT_IN_POD is "true", the in-cluster service account;
//  3. otherwise KUBERNETES_HOST (default http://localhost) with, in this order of preference,
//     KUBERNETES_API_KEY (sent as "KUBERNETES_API_KEY_PREFIX KEY", prefix default "Bearer"),
//     KUBERNETES_CERT_FILE and KUBERNETES_KEY_FILE, or KUBERNETES_USERNAME and
//     KUBERNETES_PASSWORD. TLS is verified only when KUBERNETES_VERIFY_SSL is set to a true
//     value (chaosk8s: "unset means no"); KUBERNETES_CA_CERT_FILE names the CA then.
//     HTTP_PROXY / HTTPS_PROXY / NO_PROXY apply as in any Go program.
//
// When none of the three is configured (no kubeconfig file, CHAOSTOOLKIT_IN_POD not "true",
// and none of KUBERNETES_HOST, KUBERNETES_API_KEY, KUBERNETES_CERT_FILE, KUBERNETES_USERNAME),
// it returns an error wrapping ErrNoConfig that says where it looked, where chaosk8s would try
// http://localhost and fail to connect.
func FromEnv(secrets map[string]any) (*Client, error) {
	cfg, _, err := restConfigFromEnv(envLookup(secrets), userHome())
	if err != nil {
		return nil, err
	}
	return FromREST(cfg)
}

// TB is the part of testing.TB that Connect uses; *testing.T, *testing.B and chaostest's T
// satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Connect returns a client built by FromEnv(nil) after checking that the cluster answers; when
// it does not, the test fails at once with a message saying which configuration was tried and
// how to start the local cluster.
func Connect(tb TB) *Client {
	tb.Helper()
	cfg, source, err := restConfigFromEnv(envLookup(nil), userHome())
	if err != nil {
		tb.Fatalf("k8s.Connect: %v (run `make cluster` and export the KUBECONFIG it prints)", err)
		return nil
	}
	c, err := FromREST(cfg)
	if err != nil {
		tb.Fatalf("k8s.Connect: %v (run `make cluster` and export the KUBECONFIG it prints)", err)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.cs.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw(); err != nil {
		tb.Fatalf("k8s.Connect: no Kubernetes cluster answers at %s (configuration from %s): %v (run `make cluster` and export the KUBECONFIG it prints)", cfg.Host, source, err)
		return nil
	}
	return c
}

// Session returns a client that shares c's connection (clientsets, configuration, the
// namespace scope of a TestNamespace client and the system-namespace allowance at the time of
// the call) with its own state: the end of its last
// action, which RecoveryTime measures from. Give each experiment that runs in parallel with
// others its own session, so that none measures from another's action.
func (c *Client) Session() *Client {
	s := newClient(c.cs, c.dyn, c.cfg)
	s.ns = c.ns
	s.allowSystem = c.systemAllowed()
	return s
}

// Clientset returns the typed client-go clientset.
func (c *Client) Clientset() kubernetes.Interface { return c.cs }

// Dynamic returns the dynamic client (custom resources); nil for clients made from a fake
// clientset.
func (c *Client) Dynamic() dynamic.Interface { return c.dyn }

// RESTConfig returns a copy of the connection's configuration (nil for a fake clientset).
func (c *Client) RESTConfig() *rest.Config {
	if c.cfg == nil {
		return nil
	}
	return rest.CopyConfig(c.cfg)
}

// AllowSystemNamespaces lets this client's actions touch kube-system, kube-public and
// kube-node-lease, which they otherwise refuse (like the configuration key
// chaostest_allow_system_namespaces: true in an experiment file). It returns c.
func (c *Client) AllowSystemNamespaces() *Client {
	c.mu.Lock()
	c.allowSystem = true
	c.mu.Unlock()
	return c
}

func (c *Client) systemAllowed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.allowSystem
}

// markAction records the end of an action run through this client, for RecoveryTime.
func (c *Client) markAction(t time.Time) {
	c.mu.Lock()
	c.lastAction = t
	c.mu.Unlock()
}

// LastActionEnd returns when the last action run through this client ended (zero if none).
func (c *Client) LastActionEnd() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastAction
}

type lookupFunc func(key string) (string, bool)

// envLookup looks keys up in secrets first, then in the environment.
func envLookup(secrets map[string]any) lookupFunc {
	return func(key string) (string, bool) {
		if v, ok := secrets[key]; ok && v != nil {
			return fmt.Sprint(v), true
		}
		return os.LookupEnv(key)
	}
}

func userHome() string {
	h, _ := os.UserHomeDir()
	return h
}

func get(l lookupFunc, key, def string) string {
	if v, ok := l(key); ok {
		return v
	}
	return def
}

func has(l lookupFunc, key string) bool {
	_, ok := l(key)
	return ok
}

// truthy reads a boolean the way people write them in environment variables.
func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "false", "no", "off", "none", "null":
		return false
	}
	return true
}

// restConfigFromEnv implements FromEnv's order; source says which step was taken.
func restConfigFromEnv(l lookupFunc, home string) (*rest.Config, string, error) {
	kubeconfig := get(l, "KUBECONFIG", "")
	if kubeconfig == "" && home != "" {
		kubeconfig = filepath.Join(home, ".kube", "config")
	}
	var existing []string
	for _, p := range filepath.SplitList(kubeconfig) {
		if strings.HasPrefix(p, "~/") && home != "" {
			p = filepath.Join(home, p[2:])
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			existing = append(existing, p)
		}
	}
	if len(existing) > 0 {
		rules := &clientcmd.ClientConfigLoadingRules{Precedence: existing}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: get(l, "KUBERNETES_CONTEXT", "")}
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
		if err != nil {
			return nil, "", fmt.Errorf("kubeconfig %s: %w", strings.Join(existing, ":"), err)
		}
		return cfg, "kubeconfig " + strings.Join(existing, ":"), nil
	}
	if get(l, "CHAOSTOOLKIT_IN_POD", "") == "true" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, "", fmt.Errorf("CHAOSTOOLKIT_IN_POD=true but no in-cluster configuration: %w", err)
		}
		return cfg, "in-cluster service account", nil
	}
	if !hostConfigured(l) {
		return nil, "", noConfigError(kubeconfig, has(l, "KUBECONFIG"))
	}
	cfg := &rest.Config{Host: get(l, "KUBERNETES_HOST", "http://localhost")}
	if truthy(get(l, "KUBERNETES_VERIFY_SSL", "")) {
		cfg.TLSClientConfig.CAFile = get(l, "KUBERNETES_CA_CERT_FILE", "")
	} else {
		cfg.TLSClientConfig.Insecure = true
	}
	switch {
	case has(l, "KUBERNETES_API_KEY"):
		key := get(l, "KUBERNETES_API_KEY", "")
		prefix := get(l, "KUBERNETES_API_KEY_PREFIX", "Bearer")
		if prefix == "Bearer" {
			cfg.BearerToken = key
		} else {
			header := strings.TrimSpace(prefix + " " + key)
			cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
				return authHeader{rt: rt, value: header}
			}
		}
	case has(l, "KUBERNETES_CERT_FILE"):
		cfg.TLSClientConfig.CertFile = get(l, "KUBERNETES_CERT_FILE", "")
		cfg.TLSClientConfig.KeyFile = get(l, "KUBERNETES_KEY_FILE", "")
	case has(l, "KUBERNETES_USERNAME"):
		cfg.Username = get(l, "KUBERNETES_USERNAME", "")
		cfg.Password = get(l, "KUBERNETES_PASSWORD", "")
	}
	return cfg, "KUBERNETES_HOST " + cfg.Host, nil
}

// ErrNoConfig is the error (tested with errors.Is) FromEnv and every Kubernetes activity
// return when no Kubernetes configuration is found: no kubeconfig file, not told to run in a
// pod, and no KUBERNETES_HOST (nor its credentials) in the provider's secrets or the
// environment.
var ErrNoConfig = errors.New("no Kubernetes configuration found")

// hostConfigured reports whether step 3 of chaosk8s's order was asked for: KUBERNETES_HOST or
// one of the credentials that go with it (whose host then defaults to http://localhost, as in
// chaosk8s).
func hostConfigured(l lookupFunc) bool {
	for _, k := range []string{"KUBERNETES_HOST", "KUBERNETES_API_KEY", "KUBERNETES_CERT_FILE", "KUBERNETES_USERNAME"} {
		if has(l, k) {
			return true
		}
	}
	return false
}

// noConfigError says where a configuration was looked for, in chaosk8s's order.
func noConfigError(kubeconfig string, fromEnv bool) error {
	where := "KUBECONFIG is not set"
	if fromEnv {
		where = "from KUBECONFIG"
	}
	files := "no kubeconfig file"
	if kubeconfig != "" {
		files = "no kubeconfig file at " + kubeconfig
	}
	return fmt.Errorf("%w: %s (%s); CHAOSTOOLKIT_IN_POD is not \"true\"; KUBERNETES_HOST is not set in the provider's secrets or the environment",
		ErrNoConfig, files, where)
}

// authHeader sets the Authorization header to a fixed value (an API key with a custom prefix).
type authHeader struct {
	rt    http.RoundTripper
	value string
}

func (a authHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", a.value)
	return a.rt.RoundTrip(r)
}
