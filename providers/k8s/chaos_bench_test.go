//go:build chaos

package k8s

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkPodDeleteToReplacementRunning measures, on the real node, the time from deleting
// one pod of a one-replica podserver deployment (terminate_pods, grace period 0) to its
// replacement Running (and Ready, which without a readiness probe follows the container's
// start), watched by PodsRunning. It reports the median as
// median-s/replacement. Run it with -benchtime 10x for a median of 10.
func BenchmarkPodDeleteToReplacementRunning(b *testing.B) {
	ctx := context.Background()
	ns := benchNamespace(b)
	m := deploymentManifest("bench", 1)
	// no readiness probe: Ready follows the container's start, so the figure is delete -> Running
	m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["readinessProbe"] = nil
	f := writeBenchSpec(b, m)
	_, err := kube.cs.AppsV1().Deployments(ns).Create(ctx, f, metav1.CreateOptions{})
	require.NoError(b, err)
	require.NoError(b, kube.Until(ctx, DeploymentReady(ns, "bench"), 2*time.Minute))
	var samples []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		args := TerminatePodsArgs{LabelSelector: "app=bench", Mode: "fixed", Qty: 1, NS: ns, Order: "alphabetic", GracePeriod: 0}
		start := time.Now()
		_, err := terminatePods(ctx, kube, benchEnv(), args)
		require.NoError(b, err)
		require.NoError(b, kube.Until(ctx, PodsRunning(ns, "app=bench"), 2*time.Minute))
		samples = append(samples, time.Since(start).Seconds())
	}
	b.StopTimer()
	sort.Float64s(samples)
	median := samples[len(samples)/2]
	if len(samples)%2 == 0 {
		median = (samples[len(samples)/2-1] + median) / 2
	}
	b.ReportMetric(median, "median-s/replacement")
	b.ReportMetric(samples[len(samples)-1], "max-s/replacement")
	b.Logf("samples (s): %.3f", samples)
}

func writeBenchSpec(b *testing.B, m map[string]any) *appsv1.Deployment {
	var d appsv1.Deployment
	require.NoError(b, convert(m, &d))
	return &d
}
