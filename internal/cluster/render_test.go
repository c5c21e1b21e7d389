package cluster

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
	"k8s.io/client-go/tools/clientcmd"
)

func testConfig(t *testing.T) Config {
	c := DefaultConfig()
	c.StateDir = "/var/tmp/ct/state"
	c.RunDir = "/run/ct"
	c.CacheDir = "/cache/v1.37.2"
	c.NodeIP = "192.0.2.2"
	c.Node = true
	require.NoError(t, c.validate())
	return c
}

func TestRenderKubeconfigLoadsWithClientcmd(t *testing.T) {
	c := testConfig(t)
	data, err := renderKubeconfig(c)
	require.NoError(t, err)
	cfg, err := clientcmd.Load(data)
	require.NoError(t, err)
	ctx := cfg.Contexts[cfg.CurrentContext]
	require.NotNil(t, ctx)
	assert.Equal(t, "https://127.0.0.1:16444", cfg.Clusters[ctx.Cluster].Server)
	assert.Equal(t, "/var/tmp/ct/state/pki/ca.crt", cfg.Clusters[ctx.Cluster].CertificateAuthority)
	assert.Equal(t, "/var/tmp/ct/state/pki/admin.crt", cfg.AuthInfos[ctx.AuthInfo].ClientCertificate)
}

func TestRenderCNIConfigKeepsPodsOnTheBridge(t *testing.T) {
	c := testConfig(t)
	data, err := renderCNIConfig(c)
	require.NoError(t, err)
	var conf struct {
		Name    string `json:"name"`
		Plugins []struct {
			Type      string `json:"type"`
			Bridge    string `json:"bridge"`
			IsGateway bool   `json:"isGateway"`
			IPMasq    bool   `json:"ipMasq"`
			IPAM      struct {
				Ranges  [][]map[string]string `json:"ranges"`
				DataDir string                `json:"dataDir"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	require.NoError(t, json.Unmarshal(data, &conf))
	require.Len(t, conf.Plugins, 3)
	br := conf.Plugins[0]
	assert.Equal(t, "bridge", br.Type)
	assert.Equal(t, "chaostest0", br.Bridge)
	assert.True(t, br.IsGateway)
	assert.False(t, br.IPMasq, "pod traffic must never be masqueraded off the machine")
	assert.Equal(t, "10.245.0.0/24", br.IPAM.Ranges[0][0]["subnet"])
	assert.Equal(t, "/var/tmp/ct/state/cni/ipam", br.IPAM.DataDir)
}

func TestRenderKubeletAndKubeProxyConfigs(t *testing.T) {
	c := testConfig(t)
	data, err := renderKubeletConfig(c)
	require.NoError(t, err)
	var kl map[string]any
	require.NoError(t, yaml.Unmarshal(data, &kl))
	assert.Equal(t, "KubeletConfiguration", kl["kind"])
	assert.Equal(t, false, kl["failCgroupV1"])
	assert.Equal(t, "unix:///run/ct/containerd.sock", kl["containerRuntimeEndpoint"])
	assert.Equal(t, "192.0.2.2", kl["address"])
	assert.Equal(t, 10450, kl["port"])
	assert.Equal(t, 10451, kl["healthzPort"])
	assert.Equal(t, 0, kl["oomScoreAdj"])

	data, err = renderKubeProxyConfig(c)
	require.NoError(t, err)
	var kp map[string]any
	require.NoError(t, yaml.Unmarshal(data, &kp))
	assert.Equal(t, "iptables", kp["mode"])
	assert.Equal(t, "10.245.0.0/16", kp["clusterCIDR"])
	assert.Equal(t, "127.0.0.1:10456", kp["healthzBindAddress"])
	assert.Equal(t, map[string]any{"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"}, kp["conntrack"], "conntrack sysctls must be left alone")
	assert.Equal(t, map[string]any{"localhostNodePorts": false}, kp["iptables"], "localhost NodePorts would turn on route_localnet")
}

func TestRenderContainerdConfigIsPrivate(t *testing.T) {
	c := testConfig(t)
	data, err := renderContainerdConfig(c, "/usr/sbin/runc", "/usr/lib/cni")
	require.NoError(t, err)
	s := string(data)
	for _, want := range []string{
		`root = "/var/tmp/ct/state/containerd/root"`,
		`state = "/run/ct/containerd"`,
		`address = "/run/ct/containerd.sock"`,
		`sandbox_image = "chaostest.local/pause:1"`,
		`restrict_oom_score_adj = true`,
		`conf_dir = "/var/tmp/ct/state/cni/net.d"`,
		`BinaryName = "/usr/sbin/runc"`,
	} {
		assert.Contains(t, s, want)
	}
	assert.NotContains(t, s, "/run/containerd/", "must not share the system containerd's paths")
}

func TestRenderBuildGoModReplacesEveryStagingModule(t *testing.T) {
	kube := `module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
	k8s.io/api v0.0.0
	k8s.io/klog/v2 v2.140.0
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/kubelet => ./staging/src/k8s.io/kubelet
)
`
	got, err := renderBuildGoMod([]byte(kube), "v1.37.2")
	require.NoError(t, err)
	assert.Equal(t, `module chaostest.local/k8sbuild

go 1.26.0

require k8s.io/kubernetes v1.37.2

replace (
	k8s.io/api => k8s.io/api v0.37.2
	k8s.io/kubelet => k8s.io/kubelet v0.37.2
)
`, string(got))

	_, err = renderBuildGoMod([]byte("module x\n\ngo 1.26\n"), "v1.37.2")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "replace directives")
}

func TestKubeLDFlagsStampTheVersion(t *testing.T) {
	got, err := kubeLDFlags("v1.37.2")
	require.NoError(t, err)
	assert.Contains(t, got, "-X k8s.io/component-base/version.gitVersion=v1.37.2")
	assert.Contains(t, got, "-X k8s.io/component-base/version.gitMinor=37")
	assert.Contains(t, got, "-X k8s.io/client-go/pkg/version.gitVersion=v1.37.2")
	assert.True(t, strings.HasPrefix(got, "-s -w "))
	_, err = kubeLDFlags("latest")
	assert.Error(t, err)
	sv, err := stagingVersion("v1.35.4")
	require.NoError(t, err)
	assert.Equal(t, "v0.35.4", sv)
}
