//go:build chaos

package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/cluster"
	chttp "github.com/chaostest/chaostest/providers/http"
	"github.com/chaostest/chaostest/providers/k8s"
)

const image = "chaostest.local/e2e-hello:dev"

var testenv env.Environment

// TestMain: the cluster (KUBECONFIG's, or the local one started when needed) and the hello
// image on its node. On a cluster other than the local one, load the image with that
// cluster's tools first (cluster.BuildGoImage writes it).
func TestMain(m *testing.M) {
	testenv = env.New()
	testenv.Setup(cluster.Setup(), func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		return ctx, cluster.LoadGoImage(lctx, "./hello", image)
	})
	testenv.Finish(cluster.Finish())
	os.Exit(testenv.Run(m))
}

// kubeKey carries the feature's namespace-scoped client from setup to assess.
type kubeKey struct{}

func TestHelloSurvivesLosingAPod(t *testing.T) {
	f := features.New("hello survives losing a pod").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			kube, err := k8s.FromEnvConf(cfg) // the envconf client's connection
			require.NoError(t, err)
			kube = kube.TestNamespace(t) // deleted when the feature ends
			deployHello(ctx, t, kube, 2)
			return context.WithValue(ctx, kubeKey{}, kube)
		}).
		Assess("the service answers while a pod is replaced", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			kube := ctx.Value(kubeKey{}).(*k8s.Client)
			url := serviceURL(ctx, t, kube)

			ct := chaostest.New(t, chaostest.Title("hello survives losing a pod"))
			ct.SteadyState("hello answers",
				chttp.Get(url).Timeout(2*time.Second).Named("hello-answers").Want(200),
				kube.WaitFor(k8s.PodsRunning("", "app=hello").AtLeast(2), time.Minute).Named("two-pods").Want(true),
			)
			ct.Action("terminate-one-pod", kube.TerminatePods("app=hello", k8s.GracePeriod(0)))
			ct.Probe("recovery-time", kube.RecoveryTime(k8s.PodsRunning("", "app=hello").AtLeast(2), 2*time.Minute))
			j := ct.Run().Journal
			require.NotNil(t, j)
			assert.Equal(t, "completed", j.Status)
			assert.False(t, j.Deviated, "the steady state held after the pod was lost")
			return ctx
		}).
		Feature()
	testenv.Test(t, f)
}

// deployHello creates the hello Deployment (replicas pods) and its Service in the client's
// namespace and waits until the deployment is available.
func deployHello(ctx context.Context, t *testing.T, kube *k8s.Client, replicas int32) {
	t.Helper()
	ns, labels := kube.Namespace(), map[string]string{"app": "hello"}
	grace := int64(1)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name: "hello", Image: image, ImagePullPolicy: corev1.PullNever,
						Ports:          []corev1.ContainerPort{{ContainerPort: 8080}},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1},
					}},
				},
			},
		},
	}
	_, err := kube.Clientset().AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{})
	require.NoError(t, err)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Labels: labels},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	_, err = kube.Clientset().CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, kube.Until(ctx, k8s.DeploymentReady("", "hello"), 2*time.Minute))
	// kube-proxy programs a new Service's address a moment after it is created
	url := serviceURL(ctx, t, kube)
	var last error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		last = err
	}
	t.Fatalf("%s does not answer 200 within a minute: %v", url, last)
}

// serviceURL is http://<cluster IP of hello>/: the local cluster routes Service IPs to the host.
func serviceURL(ctx context.Context, t *testing.T, kube *k8s.Client) string {
	t.Helper()
	svc, err := kube.Clientset().CoreV1().Services(kube.Namespace()).Get(ctx, "hello", metav1.GetOptions{})
	require.NoError(t, err)
	return fmt.Sprintf("http://%s/", svc.Spec.ClusterIP)
}
