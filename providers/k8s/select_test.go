package k8s

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pod(name string, created int64) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Unix(created, 0))}}
}

func podNames(pods []corev1.Pod) []string {
	out := []string{}
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func sel(mods ...func(*podSelection)) podSelection {
	s := podSelection{LabelSelector: "app=x", Mode: "fixed", Qty: 1, Order: "alphabetic"}
	for _, m := range mods {
		m(&s)
	}
	return s
}

func TestSelectionInputChecksRunInUpstreamOrder(t *testing.T) {
	// All three are wrong: chaosk8s reports the quantity first, then the mode, then the order.
	s := podSelection{Qty: -1, Mode: "half", Order: "newest"}
	assert.EqualError(t, s.check(), "Cannot select pods. Quantity '-1' is negative.")
	s.Qty = 0
	assert.EqualError(t, s.check(), "Cannot select pods. Mode 'half' is invalid.")
	s.Mode = "percentage"
	assert.EqualError(t, s.check(), "Cannot select pods. Order 'newest' is invalid.")
	s.Order = "oldest"
	assert.NoError(t, s.check())
}

func TestSelectCountPercentageRoundsUpAndCaps(t *testing.T) {
	for _, c := range []struct {
		mode      string
		qty, n    int
		want      int
		rationale string
	}{
		{"percentage", 1, 4, 1, "1% of 4 is 0.04, rounded up"},
		{"percentage", 50, 3, 2, "1.5 rounded up"},
		{"percentage", 100, 3, 3, "all"},
		{"percentage", 150, 3, 3, "capped at n"},
		{"percentage", 0, 5, 0, "zero"},
		{"fixed", 2, 5, 2, "fixed"},
		{"fixed", 9, 5, 5, "capped at n"},
		{"fixed", 1, 0, 0, "no match"},
	} {
		assert.Equal(t, c.want, selectCount(c.mode, c.qty, c.n), "%s qty=%d n=%d: %s", c.mode, c.qty, c.n, c.rationale)
	}
}

func TestPickAlphabeticKeepsAPIOrderAndOldestSortsStably(t *testing.T) {
	pods := []corev1.Pod{pod("b", 30), pod("a", 10), pod("c", 10), pod("d", 5)}
	got, err := sel(func(s *podSelection) { s.Qty = 3 }).pick(pods, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "a", "c"}, podNames(got), "alphabetic is no sort at all: the list order is kept")

	got, err = sel(func(s *podSelection) { s.Qty = 4; s.Order = "oldest" }).pick(pods, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"d", "a", "c", "b"}, podNames(got), "oldest first; a and c tie and keep list order")
	assert.Equal(t, []string{"b", "a", "c", "d"}, podNames(pods), "the input is not reordered")
}

func TestPickNamePatternIsAnUnanchoredSearch(t *testing.T) {
	pods := []corev1.Pod{pod("api-1", 1), pod("xapi-3", 2), pod("api-10", 3), pod("web-2", 4)}
	got, err := sel(func(s *podSelection) { s.NamePattern = "api-[0-9]$"; s.All = true }).pick(pods, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"api-1", "xapi-3"}, podNames(got))

	_, err = sel(func(s *podSelection) { s.NamePattern = "(?<=a)pi" }).pick(pods, nil)
	assert.ErrorContains(t, err, "invalid name_pattern")
}

func TestPickAllIgnoresQuantity(t *testing.T) {
	pods := []corev1.Pod{pod("a", 1), pod("b", 2), pod("c", 3)}
	got, err := sel(func(s *podSelection) { s.All = true; s.Qty = 1; s.Mode = "percentage" }).pick(pods, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, podNames(got))
}

func TestPickZeroAndNoMatchGiveEmpty(t *testing.T) {
	pods := []corev1.Pod{pod("a", 1)}
	got, err := sel(func(s *podSelection) { s.Qty = 0 }).pick(pods, nil)
	require.NoError(t, err)
	assert.Empty(t, got)
	got, err = sel(func(s *podSelection) { s.NamePattern = "zzz" }).pick(pods, nil)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestPickRandomSamplesWithoutRepeats(t *testing.T) {
	var pods []corev1.Pod
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		pods = append(pods, pod(n, 1))
	}
	seen := map[string]bool{}
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		got, err := sel(func(s *podSelection) { s.Rand = true; s.Qty = 3 }).pick(pods, rnd)
		require.NoError(t, err)
		require.Len(t, got, 3)
		names := podNames(got)
		assert.NotEqual(t, names[0], names[1])
		assert.NotEqual(t, names[1], names[2])
		assert.NotEqual(t, names[0], names[2])
		for _, n := range names {
			seen[n] = true
		}
	}
	assert.Len(t, seen, 6, "over 50 draws every pod is picked at least once")
}

func TestEmptySelectorNeverMeansEveryPodWithoutAll(t *testing.T) {
	s := podSelection{Mode: "fixed", Qty: 1, Order: "alphabetic"}
	assert.EqualError(t, s.checkNotEverything("shop"),
		"refusing to select every pod of namespace 'shop': give label_selector or name_pattern, or set all to true (chaostest never reads an empty selector as every pod)")
	s.All = true
	assert.NoError(t, s.checkNotEverything("shop"))
	assert.NoError(t, podSelection{NamePattern: "x"}.checkNotEverything("shop"))
	assert.NoError(t, podSelection{LabelSelector: "a=b"}.checkNotEverything("shop"))
}
