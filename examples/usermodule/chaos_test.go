//go:build chaos

package shop_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/cluster"
	"github.com/chaostest/chaostest/providers/k8s"
)

const image = "example.com/shop:dev"

// TestMain gets a real cluster: KUBECONFIG's, or the local one (started when needed, stopped
// afterwards when this run started it), and puts the shop's image on its node.
func TestMain(m *testing.M) {
	testenv := env.New()
	testenv.Setup(cluster.Setup(), func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		return ctx, cluster.LoadGoImage(lctx, "./cmd/shop", image)
	})
	testenv.Finish(cluster.Finish())
	os.Exit(testenv.Run(m))
}

// Losing a shop pod is repaired within two minutes; the test has a namespace of its own, so
// it may run in parallel with others.
func TestShopSurvivesLosingAPod(t *testing.T) {
	t.Parallel()
	kube := k8s.Connect(t).TestNamespace(t)
	deployShop(t, kube, 2)

	ct := chaostest.New(t, chaostest.Title("Losing a shop pod is repaired"))
	ct.SteadyState("two shop pods run",
		kube.WaitFor(k8s.PodsRunning("", "app=shop").AtLeast(2), time.Minute).Named("shop-pods").Want(true),
	)
	ct.Action("terminate-one-shop-pod", kube.TerminatePods("app=shop", k8s.GracePeriod(0)))
	ct.Probe("shop-recovery-time", kube.RecoveryTime(k8s.PodsRunning("", "app=shop").AtLeast(2), 2*time.Minute))
	ct.Run()
}

// deployShop creates the shop's Deployment in the test's namespace and waits until it is
// available.
func deployShop(t *testing.T, kube *k8s.Client, replicas int32) {
	t.Helper()
	labels := map[string]string{"app": "shop"}
	grace := int64(1)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers:                    []corev1.Container{{Name: "shop", Image: image, ImagePullPolicy: corev1.PullNever}},
				},
			},
		},
	}
	_, err := kube.Clientset().AppsV1().Deployments(kube.Namespace()).Create(t.Context(), dep, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, kube.Until(t.Context(), k8s.DeploymentReady("", "shop"), 2*time.Minute))
}
