package agent

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/chaostest/chaostest/agent/v1alpha1"
	"github.com/chaostest/chaostest/internal/cluster"
)

// Names of what Install creates.
const (
	DefaultNamespace = "chaostest-system"
	DaemonSetName    = "chaostest-agent"
	// AgentPackage is the Go main package of the agent's binary.
	AgentPackage = "github.com/chaostest/chaostest/cmd/chaostest-agent"
	// LocalImageRepo is the repository of the image InstallLocal builds; its tag is a hash of
	// the image, so a changed agent rolls out.
	LocalImageRepo = "chaostest.local/chaostest-agent"
)

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallOptions configures Install.
type InstallOptions struct {
	// Image is the agent's image (required), e.g. "registry.example.com/chaostest-agent:v1";
	// build it with `chaostest agent image` / cluster.BuildGoImage(AgentPackage) and push it.
	Image string
	// PullPolicy defaults to IfNotPresent.
	PullPolicy corev1.PullPolicy
	// Namespace defaults to DefaultNamespace.
	Namespace string
	// APIServer, "host:port", makes the agent reach the API there instead of through the
	// kubernetes Service (the local cluster's API listens on loopback; the agent uses the host
	// network).
	APIServer string
	// Wait bounds the wait for the DaemonSet to be ready on every node; default 2 min.
	Wait time.Duration
	// Out receives progress lines; nil means silent.
	Out io.Writer
}

// Install puts the agent on the cluster: the NetworkChaos and StressChaos CRDs when the cluster
// has none (a cluster with Chaos Mesh keeps its own, and then the chaostest agent is not
// needed), the namespace, a service account with the RBAC it needs (pods: read; networkchaos
// and stresschaos: read, update status), and the privileged DaemonSet (hostNetwork, hostPID,
// the host's /sys/fs/cgroup mounted for the stressors). It is idempotent and waits until
// the agent is ready on every node that runs it.
func Install(ctx context.Context, cs kubernetes.Interface, dyn dynamic.Interface, o InstallOptions) error {
	if o.Image == "" {
		return fmt.Errorf("agent install: an image is required (--image)")
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.PullPolicy == "" {
		o.PullPolicy = corev1.PullIfNotPresent
	}
	if o.Wait <= 0 {
		o.Wait = 2 * time.Minute
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if err := EnsureCRD(ctx, dyn); err != nil {
		return err
	}
	ns := o.Namespace
	lbl := map[string]string{"app.kubernetes.io/name": DaemonSetName, v1alpha1.ManagedByLabel: "chaostest"}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: lbl}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("agent install: namespace %s: %w", ns, err)
	}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: DaemonSetName, Labels: lbl}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("agent install: service account: %w", err)
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: DaemonSetName, Labels: lbl}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{v1alpha1.Group}, Resources: []string{v1alpha1.Resource}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{v1alpha1.Group}, Resources: []string{v1alpha1.Resource + "/status"}, Verbs: []string{"get", "update", "patch"}},
		{APIGroups: []string{v1alpha1.Group}, Resources: []string{v1alpha1.StressResource}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{v1alpha1.Group}, Resources: []string{v1alpha1.StressResource + "/status"}, Verbs: []string{"get", "update", "patch"}},
	}}
	if _, err := cs.RbacV1().ClusterRoles().Update(ctx, role, metav1.UpdateOptions{}); apierrors.IsNotFound(err) {
		_, err = cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("agent install: cluster role: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("agent install: cluster role: %w", err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: DaemonSetName, Labels: lbl},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: DaemonSetName},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: DaemonSetName, Namespace: ns}}}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("agent install: cluster role binding: %w", err)
	}
	ds := daemonSet(ns, lbl, o)
	cur, err := cs.AppsV1().DaemonSets(ns).Get(ctx, DaemonSetName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = cs.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{})
	case err == nil:
		cur.Spec.Template = ds.Spec.Template
		_, err = cs.AppsV1().DaemonSets(ns).Update(ctx, cur, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("agent install: daemon set: %w", err)
	}
	fmt.Fprintf(out, "agent: daemon set %s/%s with image %s; waiting for it to be ready\n", ns, DaemonSetName, o.Image)
	return waitReady(ctx, cs, ns, o.Image, o.Wait)
}

func daemonSet(ns string, lbl map[string]string, o InstallOptions) *appsv1.DaemonSet {
	t := true
	grace := int64(10)
	env := []corev1.EnvVar{
		{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
	}
	// The stressors join the target containers' cgroups: the host's tree, mounted whole (a
	// container's own /sys/fs/cgroup shows only its own cgroup).
	env = append(env, corev1.EnvVar{Name: "CGROUP_ROOT", Value: hostCgroupRoot})
	if o.APIServer != "" {
		host, port, _ := cutLast(o.APIServer, ":")
		env = append(env, corev1.EnvVar{Name: "KUBERNETES_SERVICE_HOST", Value: host}, corev1.EnvVar{Name: "KUBERNETES_SERVICE_PORT", Value: port})
	}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: DaemonSetName, Namespace: ns, Labels: lbl},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": DaemonSetName}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{
					ServiceAccountName:            DaemonSetName,
					HostNetwork:                   true,
					HostPID:                       true,
					DNSPolicy:                     corev1.DNSClusterFirstWithHostNet,
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name: "agent", Image: o.Image, ImagePullPolicy: o.PullPolicy, Env: env,
						SecurityContext: &corev1.SecurityContext{Privileged: &t},
						VolumeMounts:    []corev1.VolumeMount{{Name: "cgroup", MountPath: hostCgroupRoot}},
					}},
					Volumes: []corev1.Volume{{Name: "cgroup", VolumeSource: corev1.VolumeSource{
						HostPath: &corev1.HostPathVolumeSource{Path: "/sys/fs/cgroup"}}}},
				},
			},
		},
	}
}

// hostCgroupRoot is where the agent's pod mounts the host's /sys/fs/cgroup.
const hostCgroupRoot = "/host/sys/fs/cgroup"

func cutLast(s, sep string) (string, string, bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// waitReady waits until every agent pod runs image and is ready.
func waitReady(ctx context.Context, cs kubernetes.Interface, ns, image string, within time.Duration) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 300*time.Millisecond, within, true, func(ctx context.Context) (bool, error) {
		ds, err := cs.AppsV1().DaemonSets(ns).Get(ctx, DaemonSetName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		s := ds.Status
		last = fmt.Sprintf("desired %d, updated %d, ready %d", s.DesiredNumberScheduled, s.UpdatedNumberScheduled, s.NumberReady)
		if ds.Generation != s.ObservedGeneration || s.DesiredNumberScheduled == 0 || s.UpdatedNumberScheduled != s.DesiredNumberScheduled || s.NumberReady != s.DesiredNumberScheduled {
			return false, nil
		}
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(map[string]string{"app.kubernetes.io/name": DaemonSetName}).String()})
		if err != nil {
			return false, nil
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil || p.Spec.Containers[0].Image != image || !podReady(&p) {
				last = "pod " + p.Name + " not ready with " + image
				return false, nil
			}
		}
		return len(pods.Items) > 0, nil
	})
	if err != nil {
		return fmt.Errorf("agent install: the daemon set %s/%s is not ready after %s (%s): %w", ns, DaemonSetName, within, last, err)
	}
	return nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// EnsureCRD creates the NetworkChaos and StressChaos CRDs when the cluster has none and waits
// until they are served.
func EnsureCRD(ctx context.Context, dyn dynamic.Interface) error {
	for _, c := range []struct {
		name string
		crd  func() *unstructured.Unstructured
		gvr  schema.GroupVersionResource
	}{{v1alpha1.CRDName, v1alpha1.CRD, v1alpha1.GVR}, {v1alpha1.StressCRDName, v1alpha1.StressCRD, v1alpha1.StressGVR}} {
		crds := dyn.Resource(crdGVR)
		if _, err := crds.Get(ctx, c.name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			if _, err := crds.Create(ctx, c.crd(), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("agent: creating CRD %s: %w", c.name, err)
			}
		} else if err != nil {
			return fmt.Errorf("agent: reading CRD %s: %w", c.name, err)
		}
		if err := waitEstablished(ctx, dyn, c.gvr); err != nil {
			return fmt.Errorf("agent: CRD %s not served: %w", c.name, err)
		}
	}
	return nil
}

func waitEstablished(ctx context.Context, dyn dynamic.Interface, gvr schema.GroupVersionResource) error {
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if _, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			return false, nil
		}
		return true, nil
	})
}

// UninstallOptions configures Uninstall.
type UninstallOptions struct {
	// Namespace defaults to DefaultNamespace.
	Namespace string
	// RemoveCRD also deletes the NetworkChaos and StressChaos CRDs, and with them every such
	// object, when chaostest installed them (a Chaos Mesh CRD is never touched).
	RemoveCRD bool
}

// Uninstall removes the DaemonSet (each agent removes its faults as it stops), waits for its
// pods to be gone, then the RBAC objects and the namespace.
func Uninstall(ctx context.Context, cs kubernetes.Interface, dyn dynamic.Interface, o UninstallOptions) error {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	ns := o.Namespace
	fg := metav1.DeletePropagationForeground
	if err := cs.AppsV1().DaemonSets(ns).Delete(ctx, DaemonSetName, metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("agent uninstall: daemon set: %w", err)
	}
	err := wait.PollUntilContextTimeout(ctx, 300*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + DaemonSetName})
		return err == nil && len(pods.Items) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("agent uninstall: agent pods still present: %w", err)
	}
	_ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, DaemonSetName, metav1.DeleteOptions{})
	_ = cs.RbacV1().ClusterRoles().Delete(ctx, DaemonSetName, metav1.DeleteOptions{})
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("agent uninstall: namespace %s: %w", ns, err)
	}
	if o.RemoveCRD {
		for _, name := range []string{v1alpha1.CRDName, v1alpha1.StressCRDName} {
			crd, err := dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
			if err == nil && crd.GetLabels()[v1alpha1.ManagedByLabel] == "chaostest" {
				if err := dyn.Resource(crdGVR).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
					return fmt.Errorf("agent uninstall: CRD %s: %w", name, err)
				}
			}
		}
	}
	return nil
}

// BuildImage builds the agent's image tarball (docker-archive) to out, tagged ref; push it to
// the registry of another cluster with that cluster's tools.
func BuildImage(ctx context.Context, ref, out string) error {
	return cluster.BuildGoImage(ctx, "", AgentPackage, ref, out)
}

// InstallLocal installs the agent on the local cluster's node: its image is built from
// AgentPackage in the chaostest module's own directory (so a user's module needs none of the
// agent's dependencies) and imported into the node, tagged LocalImageRepo:<fingerprint of the
// agent's Go packages>, so that only a changed agent is built again and rolls out; then
// Install runs, reaching the API server on the node's loopback. With the agent unchanged and
// running, it takes about a second (the fingerprint comes from the Go build cache).
func InstallLocal(ctx context.Context, cs kubernetes.Interface, dyn dynamic.Interface, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	c := cluster.DefaultConfig()
	dir, err := cluster.ModuleDir(ctx, "", moduleOf(AgentPackage))
	if err != nil {
		return fmt.Errorf("agent install: %w", err)
	}
	sum, err := cluster.GoBuildID(ctx, dir, AgentPackage)
	if err != nil {
		return fmt.Errorf("agent install: %w", err)
	}
	ref := LocalImageRepo + ":" + sum
	have, err := cluster.NodeImages(ctx, c)
	if err != nil {
		return fmt.Errorf("agent install: listing the node's images: %w", err)
	}
	if !slices.Contains(have, ref) {
		fmt.Fprintf(out, "agent: building %s\n", ref)
		tmp, err := os.MkdirTemp("", "chaostest-agent-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		tarPath := filepath.Join(tmp, "agent.tar")
		if err := cluster.BuildGoImage(ctx, dir, AgentPackage, ref, tarPath); err != nil {
			return err
		}
		if err := cluster.ImportImage(ctx, c, tarPath); err != nil {
			return err
		}
	}
	return Install(ctx, cs, dyn, InstallOptions{Image: ref, PullPolicy: corev1.PullNever,
		APIServer: "127.0.0.1:" + strconv.Itoa(c.APIPort), Out: out})
}

// moduleOf is the module path of a package of this module: its first three elements.
func moduleOf(pkg string) string {
	parts := strings.SplitN(pkg, "/", 4)
	return strings.Join(parts[:min(3, len(parts))], "/")
}
