package cluster

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// kwokAnnotation marks the nodes kwok manages (the local cluster runs kwok with
// --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake).
const kwokAnnotation = "kwok.x-k8s.io/node"

// FakeNodeTaint keeps ordinary pods off fake nodes: a pod must tolerate it (key
// kwok.x-k8s.io/node, effect NoSchedule) to be placed on one. Pods on fake nodes become Running
// without any container.
var FakeNodeTaint = corev1.Taint{Key: kwokAnnotation, Value: "fake", Effect: corev1.TaintEffectNoSchedule}

// FakeNodeLabel is set to "kwok" on every fake node, for node selectors.
const FakeNodeLabel = "type"

// fakeNode is the Node object of one kwok fake node.
func fakeNode(name string) *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"node.alpha.kubernetes.io/ttl": "0", kwokAnnotation: "fake"},
			Labels: map[string]string{FakeNodeLabel: "kwok", "kubernetes.io/hostname": name,
				"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"},
		},
		Spec:   corev1.NodeSpec{Taints: []corev1.Taint{FakeNodeTaint}},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
}

// AddFakeNodes registers count kwok fake nodes named <prefix>-0 ... and waits until all are
// Ready. They carry [FakeNodeTaint] and the label type=kwok. Existing nodes of the same name
// are kept. It needs the local cluster's kwok (see [Up]); on another cluster the nodes would
// never become Ready and AddFakeNodes fails after a minute.
func AddFakeNodes(ctx context.Context, cs kubernetes.Interface, prefix string, count int) ([]string, error) {
	names := make([]string, 0, count)
	for i := 0; i < count; i++ {
		name := fmt.Sprintf("%s-%d", prefix, i)
		names = append(names, name)
		_, err := cs.CoreV1().Nodes().Create(ctx, fakeNode(name), metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return names, fmt.Errorf("create fake node %s: %w", name, err)
		}
	}
	var notReady []string
	err := poll(ctx, 60*time.Second, "fake nodes Ready (kwok)", func() (bool, error) {
		notReady = notReady[:0]
		for _, name := range names {
			n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil || !nodeReady(n) {
				notReady = append(notReady, name)
			}
		}
		return len(notReady) == 0, nil
	})
	if err != nil {
		return names, fmt.Errorf("%w: still not Ready: %v (is kwok running? only the local cluster has it)", err, notReady)
	}
	return names, nil
}

// DeleteFakeNodes removes the named nodes; missing ones are ignored.
func DeleteFakeNodes(ctx context.Context, cs kubernetes.Interface, names ...string) error {
	for _, n := range names {
		err := cs.CoreV1().Nodes().Delete(ctx, n, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete fake node %s: %w", n, err)
		}
	}
	return nil
}
