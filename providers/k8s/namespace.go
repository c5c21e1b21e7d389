package k8s

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/chaostest/chaostest/provider"
)

// TestNamespaceLabel is set on every namespace [Client.TestNamespace] creates; its value is the
// test's name, shortened to a valid label value.
const TestNamespaceLabel = "chaostest.dev/test"

// Bounds of [Client.TestNamespace]'s waits.
const (
	// NamespaceReadyWait bounds the wait for a new namespace's default service account, which
	// must exist before pods can be created in it.
	NamespaceReadyWait = 30 * time.Second
	// NamespaceDeleteWait bounds the wait, at the end of the test, for the namespace to be gone.
	NamespaceDeleteWait = 2 * time.Minute
)

// NamespaceTB is the part of testing.TB that [Client.TestNamespace] uses; *testing.T and
// *testing.B satisfy it.
type NamespaceTB interface {
	TB
	Name() string
	Cleanup(func())
	Errorf(format string, args ...any)
}

// TestNamespace creates a namespace with a unique name for the test tb (ct-<test name>-<5
// random characters>, labelled [TestNamespaceLabel]) and returns a session of c (see
// [Client.Session]) scoped to it:
//
//   - every activity built on the returned client (TerminatePods, CountPods, Call, ...) acts
//     in that namespace unless it is given another with In;
//   - conditions given an empty namespace (PodsRunning("", "app=web"),
//     DeploymentReady("", "web")) watch that namespace in Until, WaitFor and RecoveryTime;
//   - RecoveryTime measures from the session's own last action.
//
// So tests that call t.Parallel() and each use their own TestNamespace run their experiments
// side by side without seeing or touching each other's objects. The namespace is ready for
// pods when TestNamespace returns (its default service account exists; waited for at most
// [NamespaceReadyWait]). At the end of the test (tb.Cleanup) its pods are deleted with a 1 s
// grace period, then the namespace, and the cleanup waits, at most [NamespaceDeleteWait], until
// the namespace is gone; a namespace still there after that fails the test with what is left.
// A namespace that cannot be created fails the test at once.
//
//	kube := k8s.Connect(t).TestNamespace(t)
//	// create the system under test in kube.Namespace(), then:
//	ct.Action("kill-one", kube.TerminatePods("app=web"))
func (c *Client) TestNamespace(tb NamespaceTB) *Client {
	tb.Helper()
	name := testNamespaceName(tb.Name(), rand.String(5))
	ctx, cancel := context.WithTimeout(context.Background(), NamespaceReadyWait)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		TestNamespaceLabel: labelValue(tb.Name()), "app.kubernetes.io/managed-by": "chaostest"}}}
	if _, err := c.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		tb.Fatalf("k8s: creating the test namespace %s: %v", name, err)
		return nil
	}
	tb.Cleanup(func() {
		if err := c.deleteNamespace(name, NamespaceDeleteWait); err != nil {
			tb.Errorf("k8s: cleaning up the test namespace: %v", err)
		}
	})
	ok, err := waitUntil(ctx, serviceAccountsSource(c, name), metav1.ListOptions{FieldSelector: "metadata.name=default"},
		func(objs []runtime.Object) bool { return len(objs) > 0 })
	if err != nil || !ok {
		tb.Fatalf("k8s: test namespace %s: its default service account did not appear within %s (err: %v)", name, NamespaceReadyWait, err)
		return nil
	}
	s := c.Session()
	s.ns = name
	return s
}

// Namespace returns the namespace a client made by [Client.TestNamespace] is scoped to, ""
// for any other client.
func (c *Client) Namespace() string { return c.ns }

// scope resolves a condition's namespace: an empty one means the client's own, when it has one.
func (c *Client) scope(ns string) string {
	if ns == "" {
		return c.ns
	}
	return ns
}

// deleteNamespace deletes the namespace's pods (1 s grace) and the namespace, and waits at
// most within until the namespace is gone.
func (c *Client) deleteNamespace(name string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	grace := int64(1)
	if err := c.cs.CoreV1().Pods(name).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &grace}, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting the pods of %s: %w", name, err)
	}
	bg := metav1.DeletePropagationBackground
	if err := c.cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("deleting namespace %s: %w", name, err)
	}
	last := "still listed"
	ok, err := waitUntil(ctx, namespacesSource(c), metav1.ListOptions{FieldSelector: "metadata.name=" + name}, func(objs []runtime.Object) bool {
		if len(objs) > 0 {
			last = namespaceProblem(objs[0].(*corev1.Namespace))
		}
		return len(objs) == 0
	})
	if err != nil {
		return fmt.Errorf("waiting for namespace %s to be gone: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("namespace %s is not gone after %s: %s", name, within, last)
	}
	return nil
}

// namespaceProblem says why a namespace being deleted is still there, from its conditions.
func namespaceProblem(ns *corev1.Namespace) string {
	var parts []string
	for _, cd := range ns.Status.Conditions {
		if cd.Status == corev1.ConditionTrue && cd.Message != "" {
			parts = append(parts, cd.Message)
		}
	}
	if len(parts) == 0 {
		return "phase " + string(ns.Status.Phase)
	}
	return strings.Join(parts, "; ")
}

var notLabelChars = regexp.MustCompile(`[^a-z0-9]+`)

// testNamespaceName is ct-<test name as a DNS label>-<suffix>, at most 63 characters; the end
// of a long test name is kept (subtests differ there).
func testNamespaceName(test, suffix string) string {
	base := strings.Trim(notLabelChars.ReplaceAllString(strings.ToLower(strings.TrimPrefix(test, "Test")), "-"), "-")
	if max := 63 - len("ct--") - len(suffix); len(base) > max {
		base = strings.TrimLeft(base[len(base)-max:], "-")
	}
	if base == "" {
		return "ct-" + suffix
	}
	return "ct-" + base + "-" + suffix
}

// labelValue shortens a test name to a valid label value (63 characters of [A-Za-z0-9_.-],
// alphanumeric at both ends).
func labelValue(test string) string {
	v := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(test, "_")
	if len(v) > 63 {
		v = v[len(v)-63:]
	}
	return strings.Trim(v, "_.-")
}

func namespacesSource(c *Client) source {
	return sourceFor(c.cs.CoreV1().Namespaces(), func(l *corev1.NamespaceList) []runtime.Object { return objects(l.Items) })
}

func serviceAccountsSource(c *Client, ns string) source {
	return sourceFor(c.cs.CoreV1().ServiceAccounts(ns), func(l *corev1.ServiceAccountList) []runtime.Object { return objects(l.Items) })
}

// defaultNamespace gives a TestNamespace client's namespace to a function that takes "ns"
// when the caller set none.
func (c *Client) defaultNamespace(args map[string]any, f *provider.Func) {
	if c.ns == "" || f == nil {
		return
	}
	if _, set := args["ns"]; set {
		return
	}
	for _, a := range f.Args {
		if a.Name == "ns" {
			args["ns"] = c.ns
			return
		}
	}
}
