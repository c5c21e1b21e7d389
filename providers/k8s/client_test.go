package k8s

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mapLookup(m map[string]string) lookupFunc {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// apiServer is a loopback HTTP server answering /version and recording the Authorization
// header it received.
func apiServer(t *testing.T, tls bool) (*httptest.Server, func() string) {
	var mu sync.Mutex
	var auth string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = r.Header.Get("Authorization")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"1","minor":"37","gitVersion":"v1.37.2"}`))
	})
	var s *httptest.Server
	if tls {
		s = httptest.NewTLSServer(h)
	} else {
		s = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s, func() string { mu.Lock(); defer mu.Unlock(); return auth }
}

func serverVersion(t *testing.T, l lookupFunc) (string, string) {
	t.Helper()
	cfg, source, err := restConfigFromEnv(l, t.TempDir())
	require.NoError(t, err)
	c, err := FromREST(cfg)
	require.NoError(t, err)
	v, err := c.Clientset().Discovery().ServerVersion()
	require.NoError(t, err)
	return v.GitVersion, source
}

func writeKubeconfig(t *testing.T, dir, server string) string {
	p := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(p, []byte(`apiVersion: v1
kind: Config
clusters:
- name: one
  cluster: {server: "http://127.0.0.1:1"}
- name: two
  cluster: {server: "`+server+`", insecure-skip-tls-verify: true}
users:
- name: u1
  user: {token: tok-one}
- name: u2
  user: {token: tok-two}
contexts:
- name: first
  context: {cluster: one, user: u1}
- name: second
  context: {cluster: two, user: u2}
current-context: first
`), 0o600))
	return p
}

func TestKubeconfigWithContextComesFirst(t *testing.T) {
	s, auth := apiServer(t, true)
	kc := writeKubeconfig(t, t.TempDir(), s.URL)
	v, source := serverVersion(t, mapLookup(map[string]string{
		"KUBECONFIG": kc, "KUBERNETES_CONTEXT": "second",
		"KUBERNETES_HOST": "http://127.0.0.1:2", "CHAOSTOOLKIT_IN_POD": "true",
	}))
	assert.Equal(t, "v1.37.2", v)
	assert.Equal(t, "kubeconfig "+kc, source)
	assert.Equal(t, "Bearer tok-two", auth())
}

func TestMissingKubeconfigFallsBackToInPodThenHost(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, _, err := restConfigFromEnv(mapLookup(map[string]string{"KUBECONFIG": missing, "CHAOSTOOLKIT_IN_POD": "true"}), t.TempDir())
	if os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		assert.ErrorContains(t, err, "CHAOSTOOLKIT_IN_POD=true but no in-cluster configuration")
	}
	_, _, err = restConfigFromEnv(mapLookup(map[string]string{"KUBECONFIG": missing}), t.TempDir())
	require.ErrorIs(t, err, ErrNoConfig, "nothing configured: no default host")
	cfg, source, err := restConfigFromEnv(mapLookup(map[string]string{"KUBECONFIG": missing, "KUBERNETES_API_KEY": "k"}), t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, "http://localhost", cfg.Host, "chaosk8s's default host")
	assert.Equal(t, "KUBERNETES_HOST http://localhost", source)
	assert.True(t, cfg.Insecure, "TLS is not verified unless KUBERNETES_VERIFY_SSL says so")
}

func TestHostWithAPIKeyAndPrefix(t *testing.T) {
	s, auth := apiServer(t, true)
	v, _ := serverVersion(t, mapLookup(map[string]string{"KUBECONFIG": "/nonexistent", "KUBERNETES_HOST": s.URL, "KUBERNETES_API_KEY": "k3y"}))
	assert.Equal(t, "v1.37.2", v)
	assert.Equal(t, "Bearer k3y", auth())

	serverVersion(t, mapLookup(map[string]string{"KUBECONFIG": "/nonexistent", "KUBERNETES_HOST": s.URL, "KUBERNETES_API_KEY": "k3y", "KUBERNETES_API_KEY_PREFIX": "Token"}))
	assert.Equal(t, "Token k3y", auth())
}

func TestHostWithBasicAuth(t *testing.T) {
	s, auth := apiServer(t, true)
	serverVersion(t, mapLookup(map[string]string{"KUBECONFIG": "/nonexistent", "KUBERNETES_HOST": s.URL, "KUBERNETES_USERNAME": "ann", "KUBERNETES_PASSWORD": "pw"}))
	assert.Equal(t, "Basic YW5uOnB3", auth())
}

func TestVerifySSLRejectsAnUnknownCertificate(t *testing.T) {
	s, _ := apiServer(t, true)
	cfg, _, err := restConfigFromEnv(mapLookup(map[string]string{"KUBECONFIG": "/nonexistent", "KUBERNETES_HOST": s.URL, "KUBERNETES_VERIFY_SSL": "true"}), "")
	require.NoError(t, err)
	assert.False(t, cfg.Insecure)
	c, err := FromREST(cfg)
	require.NoError(t, err)
	_, err = c.Clientset().Discovery().ServerVersion()
	assert.ErrorContains(t, err, "certificate")

	cfg, _, err = restConfigFromEnv(mapLookup(map[string]string{"KUBECONFIG": "/nonexistent", "KUBERNETES_HOST": s.URL, "KUBERNETES_VERIFY_SSL": "false"}), "")
	require.NoError(t, err)
	assert.True(t, cfg.Insecure)
}

func TestCertFilesAndCAFile(t *testing.T) {
	cfg, _, err := restConfigFromEnv(mapLookup(map[string]string{"KUBECONFIG": "/nonexistent", "KUBERNETES_HOST": "https://h",
		"KUBERNETES_CERT_FILE": "/c.pem", "KUBERNETES_KEY_FILE": "/k.pem", "KUBERNETES_VERIFY_SSL": "1", "KUBERNETES_CA_CERT_FILE": "/ca.pem"}), "")
	require.NoError(t, err)
	assert.Equal(t, "/c.pem", cfg.CertFile)
	assert.Equal(t, "/k.pem", cfg.KeyFile)
	assert.Equal(t, "/ca.pem", cfg.CAFile)
}

func TestSecretsOverrideTheEnvironment(t *testing.T) {
	s, auth := apiServer(t, true)
	t.Setenv("KUBECONFIG", "/nonexistent")
	t.Setenv("KUBERNETES_HOST", "http://127.0.0.1:1")
	t.Setenv("KUBERNETES_API_KEY", "from-env")
	c, err := FromEnv(map[string]any{"KUBERNETES_HOST": s.URL, "KUBERNETES_API_KEY": "from-secrets"})
	require.NoError(t, err)
	_, err = c.Clientset().Discovery().ServerVersion()
	require.NoError(t, err)
	assert.Equal(t, "Bearer from-secrets", auth())
}

type fakeTB struct {
	msg string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.msg = format
	_ = args
}

func TestConnectFailsClearlyWithoutACluster(t *testing.T) {
	t.Setenv("KUBECONFIG", "/nonexistent")
	t.Setenv("KUBERNETES_HOST", "http://127.0.0.1:1")
	tb := &fakeTB{}
	c := Connect(tb)
	assert.Nil(t, c)
	assert.Contains(t, tb.msg, "no Kubernetes cluster answers at %s")
	assert.Contains(t, tb.msg, "make cluster")
}

func TestConnectSucceedsAgainstAnAPIServer(t *testing.T) {
	s, _ := apiServer(t, true)
	t.Setenv("KUBECONFIG", writeKubeconfig(t, t.TempDir(), s.URL))
	t.Setenv("KUBERNETES_CONTEXT", "second")
	tb := &fakeTB{}
	c := Connect(tb)
	require.NotNil(t, c, tb.msg)
	assert.NotNil(t, c.Dynamic())
	assert.Equal(t, s.URL, c.RESTConfig().Host)
	_ = context.Background()
}
