package node

import (
	"github.com/chaostest/chaostest/agent/nfq"
	"github.com/chaostest/chaostest/agent/v1alpha1"
)

// netemOf is what the verdict loop of a queueing fault does: a delay (with its reordering),
// duplication or corruption.
func netemOf(f Fault) (nfq.Netem, error) {
	var n nfq.Netem
	var err error
	chance := func(c *v1alpha1.Chance) (*nfq.Chance, error) {
		if c == nil || err != nil {
			return nil, err
		}
		return nfq.NewChance(c.Percent, c.Correlation)
	}
	if f.Delay.Latency > 0 || f.Delay.Jitter > 0 {
		if n.Delay, err = nfq.NewDelay(f.Delay.Latency, f.Delay.Jitter, f.Delay.Correlation); err != nil {
			return n, err
		}
		if n.Reorder, err = chance(f.Delay.Reorder); err != nil {
			return n, err
		}
		n.Gap = f.Delay.Gap
	}
	if n.Duplicate, err = chance(f.Duplicate); err != nil {
		return n, err
	}
	n.Corrupt, err = chance(f.Corrupt)
	return n, err
}
