// Package deploy puts the greeter example on a Kubernetes cluster and takes it off again: it
// builds the three images and loads them into the local cluster's node, applies the manifests
// in order with client-go (server-side apply, so it creates or updates), waits with watches
// until everything serves, gives the webapp's URL, switches webapp between fragile and
// resilient, and deletes everything.
//
// It works against any cluster a kubernetes.Interface reaches, with one limit: [LoadImages]
// loads the images only into the local cluster's node (package cluster, `make cluster`). On
// another cluster, load the images Images() lists yourself (cluster.BuildGoImage writes the
// tarballs, e.g. for `kind load image-archive`), then use a Deployer.
//
//	d := deploy.New(clientset, "default")
//	url, err := d.Up(ctx, service.Fragile) // http://<cluster IP of webapp-service>/
//	...
//	err = d.Switch(ctx, service.Resilient)
//	...
//	err = d.Delete(ctx)
package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/chaostest/chaostest/cluster"
	"github.com/chaostest/chaostest/examples/greeter"
	"github.com/chaostest/chaostest/examples/greeter/service"
	"github.com/chaostest/chaostest/providers/k8s"
)

// FieldManager is the server-side apply field manager the Deployer applies the manifests as.
const FieldManager = "chaostest-greeter"

// PartOf is the label selector of everything the manifests create.
const PartOf = "app.kubernetes.io/part-of=greeter-example"

// ModeLabel is the pod-template label of the webapp Deployment that says its mode.
const ModeLabel = "chaostest.dev/webapp-mode"

// RestartAnnotation is the pod-template annotation RestartWebapp sets, as `kubectl rollout
// restart` does.
const RestartAnnotation = "kubectl.kubernetes.io/restartedAt"

// DefaultTimeout bounds each wait of a Deployer whose Timeout is zero. A pod of the example
// starts in a second or two on the local cluster; greeter then stays unready for its 8 s
// readiness delay.
const DefaultTimeout = 90 * time.Second

// Deployer deploys the greeter example into one namespace. Its fields may be set before first
// use; New fills them with defaults.
type Deployer struct {
	// Client talks to the cluster.
	Client kubernetes.Interface
	// Namespace is where the example goes; "" means "default" (the seed experiment's
	// activities name "default").
	Namespace string
	// Timeout bounds each wait (a rollout, a deletion); 0 means DefaultTimeout.
	Timeout time.Duration
	// Log, when set, receives one line per step ("applied Service default/greeter-service").
	Log func(format string, args ...any)
}

// New returns a Deployer for namespace ns ("" for "default") of the cluster cs reaches.
func New(cs kubernetes.Interface, ns string) *Deployer {
	return &Deployer{Client: cs, Namespace: ns}
}

func (d *Deployer) ns() string {
	if d.Namespace == "" {
		return "default"
	}
	return d.Namespace
}

func (d *Deployer) timeout() time.Duration {
	if d.Timeout <= 0 {
		return DefaultTimeout
	}
	return d.Timeout
}

func (d *Deployer) logf(format string, args ...any) {
	if d.Log != nil {
		d.Log(format, args...)
	}
}

// LoadImages builds the example's three images (greeter.Images: static CGO_ENABLED=0 binaries
// alone on an empty base) and imports them into the local cluster's node, at the same time.
// Packages are built from the current directory, which must be inside this module. It needs the
// local cluster's node (make cluster); it fails, saying so, otherwise.
func LoadImages(ctx context.Context, log func(format string, args ...any)) error {
	imgs := greeter.Images()
	errs := make([]error, len(imgs))
	var wg sync.WaitGroup
	for i, img := range imgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			if err := cluster.LoadGoImage(ctx, img.Package, img.Ref); err != nil {
				errs[i] = fmt.Errorf("image %s: %w", img.Ref, err)
				return
			}
			if log != nil {
				log("loaded image %s (built from %s) in %s", img.Ref, img.Package, time.Since(start).Round(100*time.Millisecond))
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Object is one document of a manifest: its kind, name and JSON (what the Deployer applies).
type Object struct {
	// Kind is "Service" or "Deployment".
	Kind string
	// Name is metadata.name.
	Name string
	// JSON is the document as JSON.
	JSON []byte
}

// Objects returns the documents of greeter.Manifests(mode), in the order they must be applied:
// the three Services, the greeter and name Deployments, then the webapp Deployment. Only
// Services and Deployments are expected; another kind, a document without a name or a namespace
// (the Deployer chooses it) is an error.
func Objects(mode service.Mode) ([]Object, error) {
	ms, err := greeter.Manifests(mode)
	if err != nil {
		return nil, err
	}
	var out []Object
	for _, m := range ms {
		objs, err := parseManifest(m.YAML)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Path, err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

func parseManifest(data []byte) ([]Object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []Object
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if string(bytes.TrimSpace(js)) == "null" {
			continue // only comments
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(js, &head); err != nil {
			return nil, fmt.Errorf("document %d: want an object, got %s", i, js)
		}
		want := map[string]string{"Service": "v1", "Deployment": "apps/v1"}[head.Kind]
		switch {
		case want == "":
			return nil, fmt.Errorf("document %d: want kind Service or Deployment, got %q", i, head.Kind)
		case head.APIVersion != want:
			return nil, fmt.Errorf("document %d (%s): want apiVersion %q, got %q", i, head.Kind, want, head.APIVersion)
		case head.Metadata.Name == "":
			return nil, fmt.Errorf("document %d (%s): no metadata.name", i, head.Kind)
		case head.Metadata.Namespace != "":
			return nil, fmt.Errorf("document %d (%s %s): want no metadata.namespace (the deployer sets it), got %q", i, head.Kind, head.Metadata.Name, head.Metadata.Namespace)
		}
		out = append(out, Object{Kind: head.Kind, Name: head.Metadata.Name, JSON: js})
	}
}

// apply server-side applies one object (creating it or updating the fields this manager owns).
func (d *Deployer) apply(ctx context.Context, o Object) error {
	force := true
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: &force}
	var err error
	switch o.Kind {
	case "Service":
		_, err = d.Client.CoreV1().Services(d.ns()).Patch(ctx, o.Name, types.ApplyPatchType, o.JSON, opts)
	case "Deployment":
		_, err = d.Client.AppsV1().Deployments(d.ns()).Patch(ctx, o.Name, types.ApplyPatchType, o.JSON, opts)
	default:
		err = fmt.Errorf("unsupported kind %q", o.Kind)
	}
	if err != nil {
		return fmt.Errorf("apply %s %s/%s: %w", o.Kind, d.ns(), o.Name, err)
	}
	d.logf("applied %s %s/%s", o.Kind, d.ns(), o.Name)
	return nil
}

// Apply applies the manifests for mode in order (Services first, so Kubernetes injects their
// addresses into the pods, which is how webapp finds its peers). It does not wait; see Up.
func (d *Deployer) Apply(ctx context.Context, mode service.Mode) error {
	objs, err := Objects(mode)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := d.apply(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// Up applies the manifests for mode, waits until the three Deployments have rolled out and each
// has exactly one Running and ready pod (no old pod left), and returns the webapp's URL.
func (d *Deployer) Up(ctx context.Context, mode service.Mode) (string, error) {
	if err := d.Apply(ctx, mode); err != nil {
		return "", err
	}
	if err := d.WaitReady(ctx); err != nil {
		return "", err
	}
	return d.WebappURL(ctx)
}

// deployments maps each Deployment of the example to its pods' selector.
var deployments = []struct{ name, selector string }{
	{greeter.NameDeployment, greeter.NameSelector},
	{greeter.GreeterDeployment, greeter.GreeterSelector},
	{greeter.WebappDeployment, greeter.WebappSelector},
}

// WaitReady waits, with watches, until the three Deployments have rolled out their latest spec
// and each has exactly one pod, Running and ready, none being deleted. After an experiment
// terminated greeter, this is greeter's replacement past its readiness delay.
func (d *Deployer) WaitReady(ctx context.Context) error {
	for _, dep := range deployments {
		if err := d.waitDeployment(ctx, dep.name, dep.selector); err != nil {
			return err
		}
	}
	return nil
}

// WaitGreeterReady waits until greeter's Deployment has exactly one Running and ready pod again.
func (d *Deployer) WaitGreeterReady(ctx context.Context) error {
	return d.waitDeployment(ctx, greeter.GreeterDeployment, greeter.GreeterSelector)
}

func (d *Deployer) waitDeployment(ctx context.Context, name, selector string) error {
	start := time.Now()
	kube := k8s.FromClientset(d.Client)
	if err := kube.Until(ctx, k8s.DeploymentReady(d.ns(), name), d.timeout()); err != nil {
		return err
	}
	if err := kube.Until(ctx, k8s.PodsRunning(d.ns(), selector).Exactly(1), d.timeout()); err != nil {
		return err
	}
	d.logf("deployment %s/%s ready (waited %s)", d.ns(), name, time.Since(start).Round(10*time.Millisecond))
	return nil
}

// WebappURL returns http://<cluster IP of webapp-service>/ (with the port when it is not 80):
// the seed experiment's web_app_url. The address is reachable from the local cluster's node,
// which is the host running the tests.
func (d *Deployer) WebappURL(ctx context.Context) (string, error) {
	svc, err := d.Client.CoreV1().Services(d.ns()).Get(ctx, greeter.WebappService, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("webapp URL: %w", err)
	}
	ip := svc.Spec.ClusterIP
	if ip == "" || ip == "None" {
		return "", fmt.Errorf("webapp URL: want a cluster IP on service %s/%s, got %q", d.ns(), greeter.WebappService, ip)
	}
	if len(svc.Spec.Ports) == 0 {
		return "", fmt.Errorf("webapp URL: service %s/%s has no port", d.ns(), greeter.WebappService)
	}
	host := ip
	if p := svc.Spec.Ports[0].Port; p != 80 {
		host += ":" + strconv.Itoa(int(p))
	}
	return "http://" + host + "/", nil
}

// Mode returns the mode of the deployed webapp (its pod template's ModeLabel).
func (d *Deployer) Mode(ctx context.Context) (service.Mode, error) {
	dep, err := d.Client.AppsV1().Deployments(d.ns()).Get(ctx, greeter.WebappDeployment, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("webapp mode: %w", err)
	}
	m := dep.Spec.Template.Labels[ModeLabel]
	if m == "" {
		return "", fmt.Errorf("webapp mode: deployment %s/%s has no %s label on its pod template", d.ns(), greeter.WebappDeployment, ModeLabel)
	}
	return service.Mode(m), nil
}

// Switch applies the webapp manifest of mode (a new pod template, so a rollout when the mode
// changes; nothing when it is already deployed) and waits until everything is ready again. The
// Services and the other Deployments are applied too, unchanged.
func (d *Deployer) Switch(ctx context.Context, mode service.Mode) error {
	if err := d.Apply(ctx, mode); err != nil {
		return err
	}
	return d.WaitReady(ctx)
}

// RestartWebapp replaces the webapp pod, as `kubectl rollout restart` does (it sets
// RestartAnnotation on the pod template, as another field manager, so Apply keeps it), and waits
// until everything is ready again. A fragile webapp needs it after an experiment: its endpoint
// cache still points at the terminated greeter pod.
func (d *Deployer) RestartWebapp(ctx context.Context) error {
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, RestartAnnotation, time.Now().Format(time.RFC3339Nano))
	if _, err := d.Client.AppsV1().Deployments(d.ns()).Patch(ctx, greeter.WebappDeployment, types.StrategicMergePatchType, []byte(patch),
		metav1.PatchOptions{FieldManager: FieldManager + "-restart"}); err != nil {
		return fmt.Errorf("restart webapp: %w", err)
	}
	d.logf("restarting deployment %s/%s", d.ns(), greeter.WebappDeployment)
	return d.WaitReady(ctx)
}

// Delete deletes the example's Deployments and Services (everything labelled PartOf) and waits
// until its pods are gone. Deleting what is not there is not an error.
func (d *Deployer) Delete(ctx context.Context) error {
	bg := metav1.DeletePropagationBackground
	del := metav1.DeleteOptions{PropagationPolicy: &bg}
	list := metav1.ListOptions{LabelSelector: PartOf}
	deps, err := d.Client.AppsV1().Deployments(d.ns()).List(ctx, list)
	if err != nil {
		return fmt.Errorf("delete the greeter example: %w", err)
	}
	for _, dep := range deps.Items {
		if err := d.Client.AppsV1().Deployments(d.ns()).Delete(ctx, dep.Name, del); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete deployment %s/%s: %w", d.ns(), dep.Name, err)
		}
		d.logf("deleted Deployment %s/%s", d.ns(), dep.Name)
	}
	svcs, err := d.Client.CoreV1().Services(d.ns()).List(ctx, list)
	if err != nil {
		return fmt.Errorf("delete the greeter example: %w", err)
	}
	for _, s := range svcs.Items {
		if err := d.Client.CoreV1().Services(d.ns()).Delete(ctx, s.Name, del); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete service %s/%s: %w", d.ns(), s.Name, err)
		}
		d.logf("deleted Service %s/%s", d.ns(), s.Name)
	}
	return k8s.FromClientset(d.Client).Until(ctx, k8s.NoPods(d.ns(), PartOf), d.timeout())
}

// WaitServing asks url until it has answered 200 with the header X-Greeting-Source equal to
// source ("greeter": greeter is back in greeter-service and webapp uses it again) on every try
// for settle (at least 5 tries in a row), and fails after within. Each try opens a new
// connection (kube-proxy picks an endpoint per connection) and is bounded by 2 s; tries are
// 200 ms apart. HTTP has no watch, so this is a bounded poll: it covers what the watches cannot
// see, kube-proxy removing an old pod's endpoint from its rules (up to its 1 s minimum sync
// period after the API says so) and a resilient webapp's breaker closing again.
func WaitServing(ctx context.Context, url, source string, within time.Duration) error {
	return waitServing(ctx, url, source, within, 1500*time.Millisecond)
}

func waitServing(ctx context.Context, url, source string, within, settle time.Duration) error {
	const minStreak = 5
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last := "no answer yet"
	streak, since := 0, time.Time{}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		good := false
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			resp.Body.Close()
			got := resp.Header.Get("X-Greeting-Source")
			good = resp.StatusCode == http.StatusOK && got == source
			last = fmt.Sprintf("%d, X-Greeting-Source %q, body %q", resp.StatusCode, got, body)
		} else {
			last = err.Error()
		}
		if !good {
			streak = 0
		} else {
			if streak == 0 {
				since = time.Now()
			}
			streak++
			if streak >= minStreak && time.Since(since) >= settle {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: want 200 with X-Greeting-Source %q on every try for %s within %s; last seen: %s", url, source, settle, within, last)
		case <-tick.C:
		}
	}
}
