//go:build chaos

// The latency gate (README.md, "The latency gate"): greeter answers 2 s late each way, served
// by chaostest's node agent (a NetworkChaos with action delay). The fragile webapp waits for it
// and misses the 3 s steady state; the resilient one gives up after 500 ms and falls back.

package greeter_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaostest/chaostest/agent/node"
	"github.com/chaostest/chaostest/agent/v1alpha1"
	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/examples/greeter/service"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/providers/chaosmesh"
	"github.com/chaostest/chaostest/providers/http"
	"github.com/chaostest/chaostest/providers/k8s"
)

// latencyFile adds 2 s of latency (direction both) to the greeter pods, rolled back by
// delete_network_fault; its runtime block sets the rollback strategy "always", since the
// fragile run ends failed (chaoslib's default strategy skips rollbacks then).
const latencyFile = "testdata/latency.json"

const slowGreeter = "slow-down-greeting-service"

// assertTooSlow checks a fragile run under latency: the steady state held before, and with
// greeter slow the webapp did not answer within the probe's 3 s.
func assertTooSlow(t *testing.T, j *journal.Journal) {
	t.Helper()
	kind := assertDeviated(t, j)
	assert.Equal(t, "timeout", kind, "with greeter 2 s late each way, the fragile webapp waits past 3 s")
}

// assertFellBack checks a resilient run under latency: the steady state held, and the
// after-probe got 200 "Hello Sheldon" from the fallback (or the open breaker) well within 3 s.
func assertFellBack(t *testing.T, j *journal.Journal) {
	t.Helper()
	assertHeld(t, j, "")
	rec := record(t, j.SteadyStates.After, respondProbe)
	_, source, _ := httpOutput(t, rec)
	assert.Contains(t, []string{service.SourceFallback, service.SourceBreakerOpen}, source, "X-Greeting-Source while greeter is slow")
	assert.Less(t, rec.Duration, 1.5, "answered within the 500 ms timeout, not after greeter's 2 s")
}

// assertLatencyGone checks, after the run, that its rollback deleted the NetworkChaos name and
// that the agent removed the table and the queue from the greeter pods' network namespace.
func assertLatencyGone(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	kube := k8s.Connect(t)
	_, err := kube.Dynamic().Resource(v1alpha1.GVR).Namespace("default").Get(ctx, name, metav1.GetOptions{})
	require.Error(t, err, "the rollback deleted NetworkChaos %s", name)
	pods, err := deployer.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=greeter-pod"})
	require.NoError(t, err)
	inj := node.NewInjector("/proc")
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning {
			continue
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			tables, err := inj.Tables(string(p.UID))
			require.NoError(t, err)
			queues, err := node.PodQueues("/proc", string(p.UID))
			require.NoError(t, err)
			if len(tables) == 0 && len(queues) == 0 {
				break
			}
			require.True(t, time.Now().Before(deadline), "pod %s still has tables %v, queues %v", p.Name, tables, queues)
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestLatencyGate is the second CI gate: the latency file against the fragile webapp (it must
// deviate) and the resilient one (it must hold).
func TestLatencyGate(t *testing.T) {
	t.Run("fragile deviates", func(t *testing.T) {
		useMode(t, service.Fragile)
		j := chaostest.RunFile(t, latencyFile, chaostest.Var("web_app_url", webappURL), chaostest.Expect("deviated")).Journal
		assertTooSlow(t, j)
		assertLatencyGone(t, "greeter-latency")
	})
	t.Run("resilient holds", func(t *testing.T) {
		useMode(t, service.Resilient)
		j := chaostest.RunFile(t, latencyFile, chaostest.Var("web_app_url", webappURL)).Journal
		assertFellBack(t, j)
		assertLatencyGone(t, "greeter-latency")
	})
}

// greeterLatency is the latency experiment written in Go.
func greeterLatency(t *testing.T, opts ...chaostest.Option) *journal.Journal {
	opts = append([]chaostest.Option{
		chaostest.Title("A slow greeting service should not slow users down"),
		chaostest.AddPauseAfter(slowGreeter, time.Second),
		// A fragile run fails (its after-probe times out): the latency must be removed all the
		// same, as the file's runtime block asks.
		chaostest.WithSettings(engine.Settings{RollbackStrategy: engine.RollbackAlways}),
	}, opts...)
	ct := chaostest.New(t, opts...)
	kube := k8s.Connect(t)
	ct.SteadyState("Services are all available and healthy",
		kube.PodsInPhase("app=webapp-pod", corev1.PodRunning, k8s.In("default")).Named("application-should-be-alive-and-healthy").Want(true),
		http.Get(webappURL).Timeout(3*time.Second).Named(respondProbe).Want(200),
	)
	ct.Action(slowGreeter, chaosmesh.AddLatency(kube, "greeter-latency-go", 2*time.Second,
		chaosmesh.In("default"), chaosmesh.Labels("app=greeter-pod"), chaosmesh.All(), chaosmesh.Direction("both")))
	ct.Rollback("remove-the-latency", chaosmesh.DeleteNetworkFault(kube, "greeter-latency-go", chaosmesh.In("default")))
	return ct.Run().Journal
}

// TestLatencyInGo: the same experiment and verdicts through the Go API (resilient first: the
// gate left it deployed).
func TestLatencyInGo(t *testing.T) {
	t.Run("resilient holds", func(t *testing.T) {
		useMode(t, service.Resilient)
		assertFellBack(t, greeterLatency(t))
		assertLatencyGone(t, "greeter-latency-go")
	})
	t.Run("fragile deviates", func(t *testing.T) {
		useMode(t, service.Fragile)
		assertTooSlow(t, greeterLatency(t, chaostest.Expect("deviated")))
		assertLatencyGone(t, "greeter-latency-go")
	})
}
