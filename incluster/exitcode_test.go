package incluster

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// A pod deleted after its run (Ctrl-C deletes it) ends the wait at once: its exit code is
// unknown (-1) and the run is done, instead of the log being reopened until the give-up.
func TestExitCodeOfADeletedPodIsDone(t *testing.T) {
	r := &run{cs: fake.NewClientset(), o: Options{Namespace: "ns"}}
	t0 := time.Now()
	code, done := r.exitCode(context.Background(), "gone")
	require.True(t, done)
	require.Equal(t, -1, code)
	require.Less(t, time.Since(t0), 5*time.Second)
}

func TestExitCodeOfATerminatedContainer(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Status: corev1.PodStatus{
		ContainerStatuses: []corev1.ContainerStatus{{Name: "chaostest", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}}}
	r := &run{cs: fake.NewClientset(p), o: Options{Namespace: "ns"}}
	code, done := r.exitCode(context.Background(), "p")
	require.True(t, done)
	require.Equal(t, 1, code)
}
