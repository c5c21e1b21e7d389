package cluster

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"text/template"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// pauseImage is the sandbox image the node's containerd uses; Build makes it from a tiny Go
// program, so nothing is pulled.
const pauseImage = "chaostest.local/pause:1"

// renderKubeconfig is the admin kubeconfig: the cluster's CA, the admin client certificate,
// the apiserver on loopback. Paths are absolute, so the file works from any directory.
func renderKubeconfig(c Config) ([]byte, error) {
	pki := c.pkiDir()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["chaostest"] = &clientcmdapi.Cluster{Server: c.APIServerURL(), CertificateAuthority: filepath.Join(pki, "ca.crt")}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificate: filepath.Join(pki, "admin.crt"), ClientKey: filepath.Join(pki, "admin.key")}
	cfg.Contexts["chaostest"] = &clientcmdapi.Context{Cluster: "chaostest", AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = "chaostest"
	return clientcmd.Write(*cfg)
}

var containerdTmpl = template.Must(template.New("containerd").Parse(`version = 2
root = "{{.State}}/containerd/root"
state = "{{.Run}}/containerd"
[grpc]
  address = "{{.Socket}}"
[ttrpc]
  address = "{{.Socket}}.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{{.Pause}}"
  enable_unprivileged_ports = true
  # runc cannot set a negative oom_score_adj without CAP_SYS_RESOURCE (some VMs lack it): every
  # sandbox then fails with "can't get final child's PID from pipe: EOF". Clamp instead.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "{{.Runc}}"
        Root = "{{.Run}}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{{.CNIBin}}"
    conf_dir = "{{.State}}/cni/net.d"
`))

// renderContainerdConfig is the private containerd's config: own root, state and socket,
// the local pause image, and the CNI configuration from renderCNIConfig.
func renderContainerdConfig(c Config, runc, cniBin string) ([]byte, error) {
	var b bytes.Buffer
	err := containerdTmpl.Execute(&b, map[string]string{
		"State": c.StateDir, "Run": c.RunDir, "Socket": c.ContainerdSocket(),
		"Pause": pauseImage, "Runc": runc, "CNIBin": cniBin,
	})
	return b.Bytes(), err
}

// renderCNIConfig is the node's CNI network: one bridge with host-local IPAM over the node's
// pod subnet; pods route everything through the bridge, and nothing is masqueraded (traffic
// off the machine is dropped by the FORWARD guard anyway).
func renderCNIConfig(c Config) ([]byte, error) {
	plan, err := planNetwork(c.PodCIDR, c.ServiceCIDR)
	if err != nil {
		return nil, err
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "chaostest",
		"plugins": []any{
			map[string]any{
				"type": "bridge", "bridge": c.Bridge, "isGateway": true, "ipMasq": false, "hairpinMode": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"ranges":  [][]map[string]string{{{"subnet": plan.NodeSubnet.String(), "gateway": plan.Gateway.String()}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
					"dataDir": filepath.Join(c.StateDir, "cni", "ipam"),
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
			map[string]any{"type": "loopback"},
		},
	}
	return json.MarshalIndent(conf, "", "  ")
}

var kubeletTmpl = template.Must(template.New("kubelet").Parse(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 hosts: kubelet >= 1.35 refuses them unless told; no systemd here
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://{{.Socket}}
address: {{.NodeIP}}
port: {{.Port}}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: {{.HealthzPort}}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: {{.CA}}}
authorization: {mode: AlwaysAllow}
clusterDomain: cluster.local
failSwapOn: false
resolvConf: /etc/resolv.conf
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusUpdateFrequency: 5s
podPidsLimit: -1
# without CAP_SYS_RESOURCE a negative oom_score_adj cannot be set
oomScoreAdj: 0
serializeImagePulls: false
`))

// renderKubeletConfig is the KubeletConfiguration of the real node.
func renderKubeletConfig(c Config) ([]byte, error) {
	var b bytes.Buffer
	err := kubeletTmpl.Execute(&b, map[string]any{
		"Socket": c.ContainerdSocket(), "NodeIP": c.NodeIP, "Port": c.KubeletPort,
		"HealthzPort": c.KubeletPort + 1, "CA": filepath.Join(c.pkiDir(), "ca.crt"),
	})
	return b.Bytes(), err
}

var kubeProxyTmpl = template.Must(template.New("kube-proxy").Parse(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: {{.Kubeconfig}}}
mode: iptables
clusterCIDR: {{.PodCIDR}}
hostnameOverride: {{.NodeName}}
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:{{.Healthz}}
metricsBindAddress: 127.0.0.1:{{.Metrics}}
# without CAP_SYS_RESOURCE a negative oom_score_adj cannot be set
oomScoreAdj: 0
# 0 = leave the kernel's conntrack sysctls (table size, TCP timeouts) alone
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {localhostNodePorts: false}
`))

// renderKubeProxyConfig is kube-proxy's configuration: iptables mode, loopback-only ports, no
// conntrack tuning and no localhost NodePorts (which would switch on route_localnet).
func renderKubeProxyConfig(c Config) ([]byte, error) {
	var b bytes.Buffer
	err := kubeProxyTmpl.Execute(&b, map[string]any{
		"Kubeconfig": c.Kubeconfig(), "PodCIDR": c.PodCIDR, "NodeName": c.NodeName,
		"Healthz": c.KubeletPort + 6, "Metrics": c.KubeletPort + 7,
	})
	return b.Bytes(), err
}

// stagingVersion maps a Kubernetes version to its staging modules' version (v1.37.2 -> v0.37.2).
func stagingVersion(version string) (string, error) {
	rest, ok := strings.CutPrefix(version, "v1.")
	if !ok || strings.Count(rest, ".") != 1 {
		return "", fmt.Errorf("kubernetes version must look like v1.<minor>.<patch>, got %q", version)
	}
	return "v0." + rest, nil
}

// renderBuildGoMod writes the scratch module that builds k8s.io/kubernetes commands.
// `go install k8s.io/kubernetes/cmd/x@v` refuses modules with replace directives, and
// kubernetes replaces every staging module (k8s.io/api, ...) with ./staging/src/...; the scratch
// module requires kubernetes and replaces each of those with its published tag instead. The go
// line is copied from kubernetes' own go.mod.
func renderBuildGoMod(kubeGoMod []byte, version string) ([]byte, error) {
	staging, err := stagingVersion(version)
	if err != nil {
		return nil, err
	}
	var goLine string
	var replaced []string
	sc := bufio.NewScanner(bytes.NewReader(kubeGoMod))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "go ") && goLine == "" {
			goLine = line
		}
		if strings.Contains(line, "=> ./staging/src/") {
			f := strings.Fields(strings.TrimPrefix(line, "replace "))
			if len(f) > 0 {
				replaced = append(replaced, f[0])
			}
		}
	}
	if goLine == "" || len(replaced) == 0 {
		return nil, fmt.Errorf("k8s.io/kubernetes %s go.mod: want a go line and ./staging/src replace directives, found go line %q and %d replaces", version, goLine, len(replaced))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "module chaostest.local/k8sbuild\n\n%s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n", goLine, version)
	for _, m := range replaced {
		fmt.Fprintf(&b, "\t%s => %s %s\n", m, m, staging)
	}
	b.WriteString(")\n")
	return b.Bytes(), nil
}

// kubeLDFlags stamps the version into the binaries; without it they report v0.0.0, and the
// kubelet and clients compare versions.
func kubeLDFlags(version string) (string, error) {
	if _, err := stagingVersion(version); err != nil {
		return "", err
	}
	minor := strings.Split(version, ".")[1]
	flags := []string{"-s", "-w"}
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		flags = append(flags,
			"-X", pkg+".gitVersion="+version,
			"-X", pkg+".gitMajor=1",
			"-X", pkg+".gitMinor="+minor,
			"-X", pkg+".gitTreeState=clean",
			"-X", pkg+".buildDate=1970-01-01T00:00:00Z")
	}
	return strings.Join(flags, " "), nil
}
