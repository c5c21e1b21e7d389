package k8s

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/chaostest/chaostest/internal/pyre"
)

// podSelection holds the arguments terminate_pods and exec_in_pods share.
type podSelection struct {
	LabelSelector string
	NamePattern   string
	All           bool
	Rand          bool
	Mode          string
	Qty           int
	Order         string
}

// check runs chaosk8s's input checks, in its order, before anything is listed.
func (s podSelection) check() error {
	if s.Qty < 0 {
		return fmt.Errorf("Cannot select pods. Quantity '%d' is negative.", s.Qty)
	}
	if s.Mode != "fixed" && s.Mode != "percentage" {
		return fmt.Errorf("Cannot select pods. Mode '%s' is invalid.", s.Mode)
	}
	if s.Order != "alphabetic" && s.Order != "oldest" {
		return fmt.Errorf("Cannot select pods. Order '%s' is invalid.", s.Order)
	}
	return nil
}

// checkNotEverything is chaostest's safety rule: no selector means every pod only with all.
func (s podSelection) checkNotEverything(ns string) error {
	if s.LabelSelector == "" && s.NamePattern == "" && !s.All {
		return fmt.Errorf("refusing to select every pod of namespace '%s': give label_selector or name_pattern, or set all to true (chaostest never reads an empty selector as every pod)", ns)
	}
	return nil
}

// pick applies the selection to pods as the API server listed them (by name): the
// name_pattern filter (an unanchored regular-expression search), the order, then, unless All,
// the quantity (percentage of the matches rounded up, capped at the number of matches), taking
// a random sample when Rand and the first ones otherwise. rnd may be nil for the default source.
func (s podSelection) pick(pods []corev1.Pod, rnd *rand.Rand) ([]corev1.Pod, error) {
	out := pods
	if s.NamePattern != "" {
		re, err := compilePattern(s.NamePattern)
		if err != nil {
			return nil, fmt.Errorf("invalid name_pattern %q: %v", s.NamePattern, err)
		}
		out = nil
		for _, p := range pods {
			if re.Search(p.Name) {
				out = append(out, p)
			}
		}
	} else {
		out = append([]corev1.Pod(nil), pods...)
	}
	if s.Order == "oldest" {
		sort.SliceStable(out, func(i, j int) bool {
			return out[i].CreationTimestamp.Before(&out[j].CreationTimestamp)
		})
	}
	if s.All {
		return out, nil
	}
	qty := selectCount(s.Mode, s.Qty, len(out))
	if s.Rand {
		perm := permutation(rnd, len(out))
		sample := make([]corev1.Pod, qty)
		for i := range sample {
			sample[i] = out[perm[i]]
		}
		return sample, nil
	}
	return out[:qty], nil
}

// selectCount is how many of n matches are taken: qty, or ceil(qty*n/100) in percentage mode,
// capped at n.
func selectCount(mode string, qty, n int) int {
	if mode == "percentage" {
		qty = int(math.Ceil(float64(qty*n) / 100))
	}
	return min(qty, n)
}

func permutation(rnd *rand.Rand, n int) []int {
	if rnd == nil {
		return rand.Perm(n)
	}
	return rnd.Perm(n)
}

// compilePattern compiles a Python regular expression for re.search (internal/pyre);
// constructs RE2 cannot run (lookarounds, backreferences) are rejected with a message naming them.
func compilePattern(p string) (*pyre.Regexp, error) {
	return pyre.Compile(p)
}
