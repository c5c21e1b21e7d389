package node

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/chaostest/chaostest/agent/v1alpha1"
)

// systemNamespaces are refused unless the object carries AllowSystemNamespacesAnnotation.
var systemNamespaces = map[string]bool{"kube-system": true, "kube-public": true, "kube-node-lease": true}

// matcher is a compiled PodSelectorSpec.
type matcher struct {
	namespaces map[string]bool
	labels     labels.Selector
	ann        map[string]string
	pods       map[string]map[string]bool
}

// compile turns a selector into a matcher; namespaces default to defaultNS, and protected
// namespaces (system ones and the agent's own) are refused unless allowSystem.
func compile(s v1alpha1.PodSelectorSpec, defaultNS, ownNS string, allowSystem bool) (*matcher, error) {
	m := &matcher{namespaces: map[string]bool{}, ann: s.AnnotationSelectors}
	nss := s.Namespaces
	if len(nss) == 0 && len(s.Pods) == 0 {
		nss = []string{defaultNS}
	}
	for ns := range s.Pods {
		nss = append(nss, ns)
	}
	for _, ns := range nss {
		if (systemNamespaces[ns] || ns == ownNS) && !allowSystem {
			return nil, fmt.Errorf("refusing to select pods in the protected namespace %q (annotate the object %s: \"true\" to allow it)", ns, v1alpha1.AllowSystemNamespacesAnnotation)
		}
		m.namespaces[ns] = true
	}
	ls := &metav1.LabelSelector{MatchLabels: s.LabelSelectors, MatchExpressions: s.ExpressionSelectors}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil, fmt.Errorf("selector: %w", err)
	}
	m.labels = sel
	if len(s.Pods) > 0 {
		m.pods = map[string]map[string]bool{}
		for ns, names := range s.Pods {
			m.pods[ns] = map[string]bool{}
			for _, n := range names {
				m.pods[ns][n] = true
			}
		}
	}
	return m, nil
}

// match reports whether pod is selected (running, not being deleted).
func (m *matcher) match(p *corev1.Pod) bool {
	if !m.namespaces[p.Namespace] || p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	if m.pods != nil && !m.pods[p.Namespace][p.Name] {
		return false
	}
	if !m.labels.Matches(labels.Set(p.Labels)) {
		return false
	}
	for k, v := range m.ann {
		if p.Annotations[k] != v {
			return false
		}
	}
	return true
}

// pick applies a Chaos Mesh mode to the matching pods (sorted by namespace/name first, so that
// the choice depends only on rnd): one random pod; all; fixed N (capped at the matches); fixed-
// percent P (floor of P % of the matches); random-max-percent P (floor of a random percentage
// from 0 to P). No pod selected is an error, as in Chaos Mesh.
func pick(pods []*corev1.Pod, mode v1alpha1.SelectorMode, value string, rnd *rand.Rand) ([]*corev1.Pod, error) {
	if len(pods) == 0 {
		return nil, fmt.Errorf("no pod is selected")
	}
	sort.Slice(pods, func(i, j int) bool {
		return pods[i].Namespace+"/"+pods[i].Name < pods[j].Namespace+"/"+pods[j].Name
	})
	n := len(pods)
	var num int
	switch mode {
	case v1alpha1.OneMode:
		num = 1
	case v1alpha1.AllMode:
		return pods, nil
	case v1alpha1.FixedMode:
		v, err := strconv.Atoi(value)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("mode fixed: value %q is not a number of pods", value)
		}
		num = min(v, n)
	case v1alpha1.FixedPercentMode, v1alpha1.RandomMaxPercentMode:
		v, err := strconv.Atoi(value)
		if err != nil || v < 0 || v > 100 {
			return nil, fmt.Errorf("mode %s: value %q is not a percentage from 0 to 100", mode, value)
		}
		if mode == v1alpha1.RandomMaxPercentMode {
			v = rnd.IntN(v + 1)
		}
		num = int(math.Floor(float64(n) * float64(v) / 100))
	default:
		return nil, fmt.Errorf("unknown mode %q", mode)
	}
	if num == 0 {
		return nil, fmt.Errorf("no pod is selected (mode %s, value %q, %d pods match)", mode, value, n)
	}
	perm := rnd.Perm(n)[:num]
	sort.Ints(perm)
	out := make([]*corev1.Pod, num)
	for i, k := range perm {
		out[i] = pods[k]
	}
	return out, nil
}
