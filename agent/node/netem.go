package node

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

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

// PodRawSockets counts the raw IP sockets open in the network namespace of the pod with UID uid
// (the lines of /proc/<pid>/net/raw and raw6 of one of its processes): a duplicate fault's copy
// sockets are there while it is applied, and must be gone after.
func PodRawSockets(procRoot, uid string) (int, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	pid, err := (&procInjector{proc: procRoot}).podPID(uid)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range []string{"raw", "raw6"} {
		b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "net", f))
		if err != nil {
			return 0, err
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		n += len(lines) - 1 // the header
	}
	return n, nil
}
