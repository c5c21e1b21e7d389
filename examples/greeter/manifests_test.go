package greeter

import (
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/chaostest/chaostest/examples/greeter/service"
)

// doc is one YAML document of a manifest file, decoded strictly into its typed object.
type doc struct {
	file string
	kind string
	svc  *corev1.Service
	dep  *appsv1.Deployment
}

func (d doc) name() string {
	if d.svc != nil {
		return d.svc.Name
	}
	return d.dep.Name
}

// docSeparator is a YAML document separator line.
var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

// splitDocs splits a multi-document YAML file on its "---" lines, dropping documents that hold
// only comments.
func splitDocs(b []byte) [][]byte {
	var out [][]byte
	for _, part := range docSeparator.Split(string(b), -1) {
		for _, line := range strings.Split(part, "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				out = append(out, []byte(part))
				break
			}
		}
	}
	return out
}

// loadFile decodes every document of one embedded manifest file.
func loadFile(t *testing.T, p string) []doc {
	t.Helper()
	b, err := manifestFS.ReadFile(p)
	require.NoError(t, err)
	var docs []doc
	for i, raw := range splitDocs(b) {
		var tm struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		require.NoError(t, yaml.Unmarshal(raw, &tm), "%s document %d", p, i+1)
		d := doc{file: p, kind: tm.Kind}
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 Service":
			d.svc = &corev1.Service{}
			require.NoError(t, yaml.UnmarshalStrict(raw, d.svc), "%s document %d (Service)", p, i+1)
		case "apps/v1 Deployment":
			d.dep = &appsv1.Deployment{}
			require.NoError(t, yaml.UnmarshalStrict(raw, d.dep), "%s document %d (Deployment)", p, i+1)
		default:
			t.Fatalf("%s document %d: want a v1 Service or an apps/v1 Deployment, got %s %s", p, i+1, tm.APIVersion, tm.Kind)
		}
		require.NotEmpty(t, d.name(), "%s document %d has no name", p, i+1)
		docs = append(docs, d)
	}
	require.NotEmpty(t, docs, "%s has no documents", p)
	return docs
}

// loadMode decodes the files deploying the example in mode, in apply order.
func loadMode(t *testing.T, mode service.Mode) []doc {
	t.Helper()
	paths, err := ManifestPaths(mode)
	require.NoError(t, err)
	var docs []doc
	for _, p := range paths {
		docs = append(docs, loadFile(t, p)...)
	}
	return docs
}

func services(docs []doc) map[string]*corev1.Service {
	m := map[string]*corev1.Service{}
	for _, d := range docs {
		if d.svc != nil {
			m[d.svc.Name] = d.svc
		}
	}
	return m
}

func deployments(docs []doc) map[string]*appsv1.Deployment {
	m := map[string]*appsv1.Deployment{}
	for _, d := range docs {
		if d.dep != nil {
			m[d.dep.Name] = d.dep
		}
	}
	return m
}

var modes = []service.Mode{service.Fragile, service.Resilient}

func TestEveryManifestFileParses(t *testing.T) {
	entries, err := manifestFS.ReadDir("manifests")
	require.NoError(t, err)
	var files []string
	for _, e := range entries {
		files = append(files, e.Name())
		loadFile(t, path.Join("manifests", e.Name()))
	}
	assert.ElementsMatch(t, []string{"app.yaml", "webapp-fragile.yaml", "webapp-resilient.yaml"}, files)

	// The embedded files are the ones on disk.
	for _, f := range files {
		disk, err := os.ReadFile(path.Join("manifests", f))
		require.NoError(t, err)
		emb, _ := manifestFS.ReadFile(path.Join("manifests", f))
		assert.Equal(t, string(disk), string(emb), f)
	}
}

// TestServicesComeFirst: in apply order every Service precedes every Deployment, so Kubernetes
// injects the Services' variables into every pod (webapp depends on it).
func TestServicesComeFirst(t *testing.T) {
	for _, mode := range modes {
		var order []string
		seenDeployment := false
		for _, d := range loadMode(t, mode) {
			order = append(order, d.kind+"/"+d.name())
			if d.dep != nil {
				seenDeployment = true
			} else if seenDeployment {
				t.Errorf("%s: Service %s comes after a Deployment; want all Services first (order %v)", mode, d.name(), order)
			}
		}
		assert.Equal(t, []string{
			"Service/name-service", "Service/greeter-service", "Service/webapp-service",
			"Deployment/name-deployment", "Deployment/greeter-deployment", "Deployment/webapp-deployment",
		}, order, "%s apply order", mode)
	}
}

func TestLabelsSelectorsAndPorts(t *testing.T) {
	want := []struct {
		deployment, service, selector string
		servicePort                   int32
	}{
		{WebappDeployment, WebappService, WebappSelector, 80},
		{GreeterDeployment, GreeterService, GreeterSelector, 8080},
		{NameDeployment, NameService, NameSelector, 8080},
	}
	for _, mode := range modes {
		docs := loadMode(t, mode)
		svcs, deps := services(docs), deployments(docs)
		require.Len(t, svcs, 3, "%s: Services", mode)
		require.Len(t, deps, 3, "%s: Deployments", mode)
		for _, w := range want {
			k, v, ok := strings.Cut(w.selector, "=")
			require.True(t, ok)
			labels := map[string]string{k: v}
			dep, svc := deps[w.deployment], svcs[w.service]
			require.NotNil(t, dep, "%s: Deployment %s", mode, w.deployment)
			require.NotNil(t, svc, "%s: Service %s", mode, w.service)

			require.NotNil(t, dep.Spec.Replicas, "%s replicas", w.deployment)
			assert.EqualValues(t, 1, *dep.Spec.Replicas, "%s replicas", w.deployment)
			require.NotNil(t, dep.Spec.Selector, "%s selector", w.deployment)
			assert.Equal(t, labels, dep.Spec.Selector.MatchLabels, "%s selector", w.deployment)
			assert.Empty(t, dep.Spec.Selector.MatchExpressions)
			for lk, lv := range labels {
				assert.Equal(t, lv, dep.Spec.Template.Labels[lk], "%s template label %s", w.deployment, lk)
			}
			assert.Equal(t, labels, svc.Spec.Selector, "%s selector", w.service)

			require.Len(t, dep.Spec.Template.Spec.Containers, 1, "%s containers", w.deployment)
			c := dep.Spec.Template.Spec.Containers[0]
			require.Len(t, svc.Spec.Ports, 1, "%s ports", w.service)
			sp := svc.Spec.Ports[0]
			assert.Equal(t, w.servicePort, sp.Port, "%s port", w.service)
			assert.Equal(t, intstr.FromString("http"), sp.TargetPort, "%s targetPort", w.service)
			require.Len(t, c.Ports, 1, "%s container ports", w.deployment)
			assert.Equal(t, "http", c.Ports[0].Name, "%s: the Service's targetPort names this container port", w.deployment)
			assert.EqualValues(t, 8080, c.Ports[0].ContainerPort)
			assert.Equal(t, fmt.Sprint(c.Ports[0].ContainerPort), envValue(c, "PORT"), "%s: PORT must be the container port", w.deployment)
		}
	}
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func TestContainersUseLocalImages(t *testing.T) {
	byName := map[string]Image{}
	for _, img := range Images() {
		byName[img.Name] = img
	}
	for _, mode := range modes {
		for name, dep := range deployments(loadMode(t, mode)) {
			spec := dep.Spec.Template.Spec
			c := spec.Containers[0]
			img, ok := byName[c.Name]
			require.True(t, ok, "%s: container %q is none of the example's images", name, c.Name)
			assert.Equal(t, img.Ref, c.Image, "%s image", name)
			assert.Equal(t, corev1.PullNever, c.ImagePullPolicy, "%s imagePullPolicy", name)
			assert.Equal(t, []string{img.Entrypoint}, c.Command, "%s command", name)
			assert.Empty(t, spec.InitContainers, name)

			req := c.Resources.Requests
			require.NotNil(t, req, "%s resource requests", name)
			cpu, mem := req[corev1.ResourceCPU], req[corev1.ResourceMemory]
			assert.True(t, !cpu.IsZero() && cpu.Cmp(resource.MustParse("100m")) <= 0, "%s cpu request %s: want set and small", name, cpu.String())
			assert.True(t, !mem.IsZero() && mem.Cmp(resource.MustParse("64Mi")) <= 0, "%s memory request %s: want set and small", name, mem.String())

			require.NotNil(t, c.ReadinessProbe, "%s readinessProbe", name)
			require.NotNil(t, c.ReadinessProbe.HTTPGet, "%s readinessProbe", name)
			assert.Equal(t, "/healthz/ready", c.ReadinessProbe.HTTPGet.Path, name)
			assert.Equal(t, intstr.FromString("http"), c.ReadinessProbe.HTTPGet.Port, name)
			assert.EqualValues(t, 1, c.ReadinessProbe.PeriodSeconds, "%s readinessProbe periodSeconds", name)
			require.NotNil(t, c.LivenessProbe, "%s livenessProbe", name)
			assert.Equal(t, "/healthz/live", c.LivenessProbe.HTTPGet.Path, name)

			// The shutdown grace must end before the kubelet's SIGKILL.
			grace, err := time.ParseDuration(envValue(c, "SHUTDOWN_GRACE"))
			require.NoError(t, err, "%s SHUTDOWN_GRACE", name)
			require.NotNil(t, spec.TerminationGracePeriodSeconds, name)
			assert.Less(t, grace, time.Duration(*spec.TerminationGracePeriodSeconds)*time.Second, "%s SHUTDOWN_GRACE vs terminationGracePeriodSeconds", name)
		}
	}
}

// TestGreeterManifest: readiness delay of 8 s as the service reads it, probed every second,
// and POD_IP from the downward API.
func TestGreeterManifest(t *testing.T) {
	dep := deployments(loadFile(t, "manifests/app.yaml"))[GreeterDeployment]
	require.NotNil(t, dep)
	c := dep.Spec.Template.Spec.Containers[0]
	cfg, err := service.GreeterConfigFromEnv(containerEnv(t, c, nil))
	require.NoError(t, err)
	assert.Equal(t, 8*time.Second, cfg.ReadyAfter)
	assert.EqualValues(t, 1, c.ReadinessProbe.PeriodSeconds)

	var podIP *corev1.EnvVar
	for i := range c.Env {
		if c.Env[i].Name == "POD_IP" {
			podIP = &c.Env[i]
		}
	}
	require.NotNil(t, podIP, "greeter needs POD_IP for /whoami")
	require.NotNil(t, podIP.ValueFrom)
	require.NotNil(t, podIP.ValueFrom.FieldRef)
	assert.Equal(t, "status.podIP", podIP.ValueFrom.FieldRef.FieldPath)
}

// containerEnv plays the kubelet: the container's env (downward-API fields given fake values)
// over the variables injected for services (when enableServiceLinks is not false).
func containerEnv(t *testing.T, c corev1.Container, injected map[string]string) func(string) string {
	t.Helper()
	env := map[string]string{}
	for k, v := range injected {
		env[k] = v
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "status.podIP":
			env[e.Name] = "10.32.0.9"
		default:
			t.Fatalf("container %s: env %s comes from a source this test does not simulate", c.Name, e.Name)
		}
	}
	return func(k string) string { return env[k] }
}

// TestWebappFindsPeersThroughInjectedServiceVariables: the variables Kubernetes derives from the
// Service names in app.yaml are the ones webapp reads, and they give the Services' ports.
func TestWebappFindsPeersThroughInjectedServiceVariables(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			docs := loadMode(t, mode)
			svcs := services(docs)
			dep := deployments(docs)[WebappDeployment]
			require.NotNil(t, dep)
			spec := dep.Spec.Template.Spec
			assert.True(t, spec.EnableServiceLinks == nil || *spec.EnableServiceLinks, "enableServiceLinks must not be false")
			c := spec.Containers[0]
			for _, e := range c.Env {
				assert.NotContains(t, []string{"GREETER_URL", "NAME_URL"}, e.Name, "manifests must rely on the injected variables")
			}

			// The Service variables as the kubelet would inject them (cluster IPs are made up).
			injected := map[string]string{}
			ips := map[string]string{}
			for i, name := range []string{WebappService, GreeterService, NameService} {
				svc := svcs[name]
				require.NotNil(t, svc, name)
				ips[name] = fmt.Sprintf("10.96.0.%d", 10+i)
				for k, v := range service.ServiceEnv(name, ips[name], int(svc.Spec.Ports[0].Port)) {
					injected[k] = v
				}
			}
			assert.Contains(t, injected, "GREETER_SERVICE_SERVICE_HOST")
			assert.Contains(t, injected, "NAME_SERVICE_SERVICE_HOST")

			cfg, err := service.WebappConfigFromEnv(containerEnv(t, c, injected))
			require.NoError(t, err)
			assert.Equal(t, mode, cfg.Mode)
			assert.Equal(t, fmt.Sprintf("http://%s:%d", ips[GreeterService], svcs[GreeterService].Spec.Ports[0].Port), cfg.GreeterURL)
			assert.Equal(t, fmt.Sprintf("http://%s:%d", ips[NameService], svcs[NameService].Spec.Ports[0].Port), cfg.NameURL)
			_, err = service.NewWebapp(cfg)
			require.NoError(t, err)

			switch mode {
			case service.Fragile:
				assert.True(t, cfg.EndpointCache, "the fragile manifest reproduces the chapter's hang through the endpoint cache")
			case service.Resilient:
				assert.False(t, cfg.EndpointCache)
				assert.Equal(t, 500*time.Millisecond, cfg.Timeout)
				assert.Less(t, cfg.Timeout, 3*time.Second, "the call timeout must be well under the experiment's 3 s probe timeout")
				assert.Equal(t, 3, cfg.BreakerFailures)
				assert.Equal(t, 5*time.Second, cfg.BreakerCooldown)
				assert.Equal(t, "Hello", cfg.FallbackGreeting)
			}

			// Without the Services created first there is nothing to find, and webapp says so.
			_, err = service.WebappConfigFromEnv(containerEnv(t, c, nil))
			require.ErrorContains(t, err, "GREETER_SERVICE_SERVICE_HOST")
		})
	}
}

func TestManifestPaths(t *testing.T) {
	p, err := ManifestPaths(service.Fragile)
	require.NoError(t, err)
	assert.Equal(t, []string{"manifests/app.yaml", "manifests/webapp-fragile.yaml"}, p)
	p, err = ManifestPaths(service.Resilient)
	require.NoError(t, err)
	assert.Equal(t, []string{"manifests/app.yaml", "manifests/webapp-resilient.yaml"}, p)
	_, err = ManifestPaths("sturdy")
	require.EqualError(t, err, `greeter manifests: want mode "fragile" or "resilient", got "sturdy"`)

	ms, err := Manifests(service.Resilient)
	require.NoError(t, err)
	require.Len(t, ms, 2)
	assert.Equal(t, "manifests/webapp-resilient.yaml", ms[1].Path)
	assert.Contains(t, string(ms[1].YAML), "value: resilient")
	_, err = Manifests("")
	require.Error(t, err)
}

func TestImages(t *testing.T) {
	imgs := Images()
	require.Len(t, imgs, 3)
	assert.Equal(t, Image{
		Name:       "webapp",
		Package:    "github.com/chaostest/chaostest/examples/greeter/cmd/webapp",
		Ref:        "chaostest.local/greeter-webapp:dev",
		Entrypoint: "/webapp",
	}, imgs[0])
	for _, img := range imgs {
		rel := strings.TrimPrefix(img.Package, ModulePath+"/")
		_, err := os.Stat(path.Join(rel, "main.go"))
		assert.NoError(t, err, "image %s: main package %s", img.Name, img.Package)
	}
	assert.Equal(t, "chaostest.local/greeter-greeter:dev", imgs[1].Ref)
	assert.Equal(t, "chaostest.local/greeter-name:dev", imgs[2].Ref)
}
