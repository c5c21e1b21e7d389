//go:build chaos

package k8s

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/chaostest/chaostest/cluster"
	"github.com/chaostest/chaostest/provider"
)

// podImage is the image of testdata/podserver that TestMain loads into the node.
const podImage = "chaostest.local/podserver:dev"

var (
	kube     *Client
	coverage = struct {
		sync.Mutex
		by map[string]map[string]bool
	}{by: map[string]map[string]bool{}}
)

// TestMain gives the tests a real cluster through package cluster (the one KUBECONFIG names,
// or the local one, started when needed), loads the podserver image into its node, and checks
// at the end that every registered chaosk8s function was called by some test (when the whole
// suite ran). CHAOSTEST_K8S_COVERAGE=path writes the function -> tests table there.
func TestMain(m *testing.M) {
	testenv := env.New()
	testenv.Setup(cluster.Setup(), func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		c, err := FromEnvConf(cfg)
		if err != nil {
			return ctx, err
		}
		kube = c
		lctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		if err := cluster.LoadGoImage(lctx, "./testdata/podserver", podImage); err != nil {
			return ctx, fmt.Errorf("loading the podserver image: %w", err)
		}
		return ctx, nil
	})
	testenv.Finish(cluster.Finish())
	code := testenv.Run(m)
	if code == 0 && !filtered() {
		var missing []string
		for _, n := range Names() {
			if len(coverage.by[n]) == 0 {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: no chaos test exercised:\n  %s\n", strings.Join(missing, "\n  "))
			code = 1
		}
	}
	if p := os.Getenv("CHAOSTEST_K8S_COVERAGE"); p != "" && len(coverage.by) > 0 {
		writeCoverage(p)
	}
	os.Exit(code)
}

func filtered() bool {
	for _, a := range os.Args {
		if strings.HasPrefix(a, "-test.run") || strings.HasPrefix(a, "-test.skip") {
			return true
		}
	}
	return false
}

func writeCoverage(path string) {
	var b strings.Builder
	b.WriteString("| function | exercised by |\n|---|---|\n")
	for _, n := range Names() {
		var tests []string
		for t := range coverage.by[n] {
			tests = append(tests, t)
		}
		sort.Strings(tests)
		fmt.Fprintf(&b, "| %s | %s |\n", n, strings.Join(tests, ", "))
	}
	_ = os.WriteFile(path, []byte(b.String()), 0o644)
}

// kcall calls a registered function through the registry (argument checks and defaults as an
// experiment file gets them) with the test cluster's client, recording the coverage.
func kcall(t *testing.T, name string, args map[string]any) (any, error) {
	t.Helper()
	return kcallEnv(t, provider.Env{Logf: t.Logf}, name, args)
}

func kcallEnv(t *testing.T, e provider.Env, name string, args map[string]any) (any, error) {
	t.Helper()
	f, ok := provider.LookupFunc(name)
	require.True(t, ok, "%s is not registered", name)
	cover(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return f.Call(withClient(ctx, kube), e, args)
}

// cover records that the test t called the function name.
func cover(t *testing.T, name string) {
	coverage.Lock()
	defer coverage.Unlock()
	if coverage.by[name] == nil {
		coverage.by[name] = map[string]bool{}
	}
	coverage.by[name][strings.SplitN(t.Name(), "/", 2)[0]] = true
}

// mustCall is kcall that fails the test on error.
func mustCall(t *testing.T, name string, args map[string]any) any {
	t.Helper()
	out, err := kcall(t, name, args)
	require.NoError(t, err, "%s(%v)", name, args)
	return out
}

// namespace creates a namespace for the test and deletes it (and waits for it to go) at the end.
func namespace(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("ct-%s-%s", strings.ToLower(strings.TrimPrefix(t.Name(), "Test")), rand.String(5))
	name = strings.NewReplacer("/", "-", "_", "-").Replace(name)
	if len(name) > 60 {
		name = name[len(name)-60:]
		name = "ct" + strings.TrimLeft(name, "-")
	}
	ctx := context.Background()
	_, err := kube.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = kube.cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	// the namespace's default service account must exist before pods can be created
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ok, err := waitUntil(ctx, source{
		list: func(ctx context.Context, o metav1.ListOptions) ([]runtime.Object, string, error) {
			l, err := kube.cs.CoreV1().ServiceAccounts(name).List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			return objects(l.Items), l.ResourceVersion, nil
		},
		watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return kube.cs.CoreV1().ServiceAccounts(name).Watch(ctx, o)
		},
	}, metav1.ListOptions{FieldSelector: "metadata.name=default"}, func(objs []runtime.Object) bool { return len(objs) > 0 })
	require.NoError(t, err)
	require.True(t, ok, "service account default of %s did not appear", name)
	return name
}

func benchEnv() provider.Env { return provider.Env{} }

func benchNamespace(b *testing.B) string {
	name := "ct-bench-" + rand.String(5)
	_, err := kube.cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(b, err)
	b.Cleanup(func() { _ = kube.cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	return name
}
