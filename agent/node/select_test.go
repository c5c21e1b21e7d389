package node

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaostest/chaostest/agent/v1alpha1"
)

func pods(n int) []*corev1.Pod {
	var out []*corev1.Pod
	for i := 0; i < n; i++ {
		out = append(out, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: string(rune('a' + i))}})
	}
	return out
}

func TestPickModes(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		mode  v1alpha1.SelectorMode
		value string
		n     int
		want  int
	}{
		{v1alpha1.OneMode, "", 5, 1},
		{v1alpha1.AllMode, "", 5, 5},
		{v1alpha1.FixedMode, "3", 5, 3},
		{v1alpha1.FixedMode, "9", 5, 5},
		{v1alpha1.FixedPercentMode, "50", 5, 2}, // floor(2.5)
		{v1alpha1.FixedPercentMode, "100", 5, 5},
	} {
		got, err := pick(pods(c.n), c.mode, c.value, rnd)
		require.NoError(t, err, "%s %s", c.mode, c.value)
		assert.Len(t, got, c.want, "%s %s of %d", c.mode, c.value, c.n)
		seen := map[string]bool{}
		for _, p := range got {
			assert.False(t, seen[p.Name], "no pod twice")
			seen[p.Name] = true
		}
	}
	for i := 0; i < 50; i++ {
		got, err := pick(pods(10), v1alpha1.RandomMaxPercentMode, "30", rnd)
		if err != nil {
			assert.EqualError(t, err, `no pod is selected (mode random-max-percent, value "30", 10 pods match)`)
			continue
		}
		assert.LessOrEqual(t, len(got), 3)
	}
	_, err := pick(nil, v1alpha1.AllMode, "", rnd)
	assert.EqualError(t, err, "no pod is selected")
	_, err = pick(pods(3), v1alpha1.FixedPercentMode, "10", rnd)
	assert.EqualError(t, err, `no pod is selected (mode fixed-percent, value "10", 3 pods match)`)
	_, err = pick(pods(3), v1alpha1.FixedMode, "x", rnd)
	assert.EqualError(t, err, `mode fixed: value "x" is not a number of pods`)
}

func TestCompileAndMatch(t *testing.T) {
	_, err := compile(v1alpha1.PodSelectorSpec{LabelSelectors: map[string]string{"a": "b"}}, "kube-system", "chaostest-system", false)
	assert.ErrorContains(t, err, `refusing to select pods in the protected namespace "kube-system"`)
	_, err = compile(v1alpha1.PodSelectorSpec{Namespaces: []string{"chaostest-system"}}, "x", "chaostest-system", false)
	assert.ErrorContains(t, err, `protected namespace "chaostest-system"`)
	_, err = compile(v1alpha1.PodSelectorSpec{Namespaces: []string{"kube-system"}}, "x", "chaostest-system", true)
	assert.NoError(t, err)

	m, err := compile(v1alpha1.PodSelectorSpec{LabelSelectors: map[string]string{"app": "s"}, AnnotationSelectors: map[string]string{"k": "v"}}, "demo", "chaostest-system", false)
	require.NoError(t, err)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "p", Labels: map[string]string{"app": "s"}, Annotations: map[string]string{"k": "v"}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	assert.True(t, m.match(p))
	q := p.DeepCopy()
	q.Namespace = "other"
	assert.False(t, m.match(q), "other namespace")
	q = p.DeepCopy()
	q.Annotations["k"] = "w"
	assert.False(t, m.match(q), "annotation differs")
	q = p.DeepCopy()
	q.Status.Phase = corev1.PodPending
	assert.False(t, m.match(q), "not running")
	q = p.DeepCopy()
	q.Labels["app"] = "t"
	assert.False(t, m.match(q), "label differs")

	m, err = compile(v1alpha1.PodSelectorSpec{Pods: map[string][]string{"demo": {"p"}}}, "x", "", false)
	require.NoError(t, err)
	assert.True(t, m.match(p))
	q = p.DeepCopy()
	q.Name = "r"
	assert.False(t, m.match(q))
}

func TestTableName(t *testing.T) {
	assert.Equal(t, "chaostest_0b6f4a2e9c1d4e6f8a7b5c3d2e1f0a9b", TableName("0b6f4a2e-9c1d-4e6f-8a7b-5c3d2e1f0a9b"))
}
