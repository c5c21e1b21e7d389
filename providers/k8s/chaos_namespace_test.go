//go:build chaos

package k8s

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaostest/chaostest/chaostest"
)

// Two parallel tests, each in its own TestNamespace, run the same experiment on a deployment
// of the same name: each sees only its own pods (count_pods without a namespace counts 1 while
// the other test's pod runs), terminates only its own, measures its own recovery, and both
// namespaces are gone once the tests are over.
func TestTestNamespacesKeepParallelExperimentsApart(t *testing.T) {
	var (
		mu    sync.Mutex
		names = map[string]string{}            // subtest -> namespace
		pods  = map[string]map[string]string{} // namespace -> pod name -> UID before the experiments
	)
	var ready sync.WaitGroup
	ready.Add(2)
	allReady := make(chan struct{})
	go func() { ready.Wait(); close(allReady) }()

	t.Run("group", func(t *testing.T) {
		for _, sub := range []string{"a", "b"} {
			other := map[string]string{"a": "b", "b": "a"}[sub]
			t.Run(sub, func(t *testing.T) {
				t.Parallel()
				kc := kube.TestNamespace(t)
				ns := kc.Namespace()
				require.Regexp(t, `^ct-testnamespaceskeepparallelexperimentsapart-group-`+sub+`-[a-z0-9]{5}$`, ns)
				var once sync.Once
				arrived := func() { once.Do(ready.Done) }
				defer arrived() // never leave the other test waiting
				mustCall(t, "chaosk8s.deployment.actions.create_deployment", map[string]any{"spec_path": writeSpec(t, "web.json", deploymentManifest("web", 1)), "ns": ns})
				require.NoError(t, kc.Until(t.Context(), PodsRunning("", "app=web"), 2*time.Minute), "an empty namespace means the test's own")
				own := podUIDs(t, ns)
				require.Len(t, own, 1)
				mu.Lock()
				names[sub], pods[ns] = ns, own
				mu.Unlock()
				arrived()
				select {
				case <-allReady:
				case <-time.After(3 * time.Minute):
					t.Fatal("the other parallel test did not get its pod running")
				}
				mu.Lock()
				otherNS := names[other]
				mu.Unlock()
				require.NotEmpty(t, otherNS, "the other test failed before its pod ran")
				require.Len(t, podUIDs(t, otherNS), 1, "the other test's pod runs at the same time")

				ct := chaostest.New(t, chaostest.Title("test "+sub+": losing the web pod is repaired"))
				ct.SteadyState("only my web pod",
					kc.CountPods("app=web").Named("my-web-pods").Want(1),
				)
				ct.Action("terminate-web", kc.TerminatePods("app=web", All(), GracePeriod(0)))
				ct.Probe("web-recovery", kc.RecoveryTime(PodsRunning("", "app=web"), 2*time.Minute))
				j := ct.Run().Journal
				require.NotNil(t, j)
				assert.Equal(t, "completed", j.Status)
				assert.False(t, j.Deviated)
				require.Len(t, j.Run, 2)
				deleted, ok := j.Run[0].Output.([]any)
				require.True(t, ok, "terminate_pods output: %#v", j.Run[0].Output)
				require.Len(t, deleted, 1)
				_, mine := own[fmt.Sprint(deleted[0])]
				assert.True(t, mine, "terminated %v, which is not this test's pod %v", deleted[0], own)
				assert.NotEqual(t, own, podUIDs(t, ns), "this test's pod was replaced")
			})
		}
	})

	require.Len(t, names, 2)
	assert.NotEqual(t, names["a"], names["b"])
	for _, ns := range names {
		_, err := kube.cs.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "namespace %s must be gone after its test, got %v", ns, err)
	}
}

// podUIDs lists the pods of ns that are not being deleted, name -> UID.
func podUIDs(t *testing.T, ns string) map[string]string {
	t.Helper()
	l, err := kube.cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	out := map[string]string{}
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil {
			out[p.Name] = string(p.UID)
		}
	}
	return out
}
