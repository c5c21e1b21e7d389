package k8s

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
)

func readyPod(ns, name, app string) *corev1.Pod {
	p := fakePod(ns, name, app, corev1.PodRunning)
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	return p
}

func recoverySince(t *testing.T, j *journal.Journal, i int) time.Time {
	t.Helper()
	require.Greater(t, len(j.Run), i)
	out, ok := j.Run[i].Output.(*jsonvalue.Object)
	require.True(t, ok, "recovery output: %#v", j.Run[i].Output)
	since, err := time.Parse(journal.TimeLayout, out.Value("since").(string))
	require.NoError(t, err)
	return since
}

// TestRecoveryTimeIsPerClient runs two experiments in parallel (run it with -race), each with
// its own session of one client: the one with an action measures from its own action's end;
// the one without measures from its probe's start, even though the other's action ended
// before, and while it runs.
func TestRecoveryTimeIsPerClient(t *testing.T) {
	base := fakeClient(readyPod("default", "web-1", "web"), readyPod("default", "web-2", "web"))
	acted := make(chan time.Time, 1)
	t.Run("group", func(t *testing.T) {
		t.Run("acting", func(t *testing.T) {
			t.Parallel()
			kube := base.Session()
			ct := chaostest.New(t, chaostest.Title("acting"))
			ct.Action("terminate-nothing", kube.TerminatePods("app=nothing"))
			ct.Probe("recovery", kube.RecoveryTime(PodsRunning("default", "app=web").AtLeast(2), 10*time.Second))
			j := ct.Run().Journal
			require.NotNil(t, j)
			end := kube.LastActionEnd()
			require.False(t, end.IsZero())
			acted <- end
			assert.Equal(t, journal.FormatTime(end), journal.FormatTime(recoverySince(t, j, 1)))
			assert.Equal(t, journal.RunSucceeded, j.Run[1].Status)
		})
		t.Run("quiet", func(t *testing.T) {
			t.Parallel()
			kube := base.Session()
			var other time.Time
			select {
			case other = <-acted:
			case <-time.After(30 * time.Second):
				t.Fatal("the acting experiment did not run its action within 30s")
			}
			ct := chaostest.New(t, chaostest.Title("quiet"))
			ct.Probe("recovery", kube.RecoveryTime(PodsRunning("default", "app=web"), 10*time.Second))
			j := ct.Run().Journal
			require.NotNil(t, j)
			since := recoverySince(t, j, 0)
			start, err := time.Parse(journal.TimeLayout, j.Run[0].Start)
			require.NoError(t, err)
			assert.False(t, since.Before(start), "measured from its own probe's start (%s), not from another client's action (%s): %s", start, other, since)
			assert.True(t, since.After(other))
			assert.True(t, kube.LastActionEnd().IsZero(), "no action ran through this session")
		})
	})
	assert.True(t, base.LastActionEnd().IsZero(), "sessions do not write the base client's state")
}

func TestSessionKeepsTheSystemNamespaceAllowance(t *testing.T) {
	t.Parallel()
	c := fakeClient(fakePod("kube-system", "p", "web", corev1.PodRunning))
	_, err := run(t, c.Session(), "chaosk8s.pod.actions.terminate_pods", map[string]any{"label_selector": "app=web", "ns": "kube-system"})
	assert.ErrorContains(t, err, "refusing to act on system namespace 'kube-system'")
	c.AllowSystemNamespaces()
	out, err := run(t, c.Session(), "chaosk8s.pod.actions.terminate_pods", map[string]any{"label_selector": "app=web", "ns": "kube-system"})
	require.NoError(t, err)
	assert.Equal(t, []any{"p"}, out)
}
