package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/chaostest/chaostest/agent/nfq"
	"github.com/chaostest/chaostest/agent/nft"
	"github.com/chaostest/chaostest/agent/tc"
)

// procInjector applies faults in the network namespace of a pod found through /proc: a process
// whose cgroup path names the pod's UID (the pause container or any container of the pod)
// shares the pod's netns. It needs the host's PID namespace (hostPID) and CAP_NET_ADMIN there.
// It keeps the verdict loops (nfq.Queue) of the delay faults it applied, by pod and table.
type procInjector struct {
	proc string

	mu     sync.Mutex
	queues map[string]*nfq.Queue // podUID/table
	shaped map[string]bool       // podUID/table of the bandwidth faults applied
}

// NewInjector returns the Injector the agent uses on Linux: nftables inside pod netns found
// through procRoot ("/proc" when empty), and for delays an nfnetlink queue bound in that netns
// by this process.
func NewInjector(procRoot string) Injector {
	if procRoot == "" {
		procRoot = "/proc"
	}
	return &procInjector{proc: procRoot, queues: map[string]*nfq.Queue{}, shaped: map[string]bool{}}
}

// podPID returns a process of the pod with UID uid. cgroupfs spells the UID with dashes
// (".../pod<uid>/..."), the systemd driver with underscores ("...-pod<uid_>.slice").
func (p *procInjector) podPID(uid string) (int, error) {
	want := []string{"pod" + uid, "pod" + strings.ReplaceAll(uid, "-", "_")}
	ents, err := os.ReadDir(p.proc)
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(p.proc, e.Name(), "cgroup"))
		if err != nil {
			continue
		}
		s := string(b)
		for _, w := range want {
			if strings.Contains(s, w+"/") || strings.Contains(s, w+".slice") || strings.HasSuffix(strings.TrimSpace(s), w) {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no process of pod %s on this node (is the agent running with hostPID?)", uid)
}

// PodNetNS opens the network namespace of the pod with UID uid, found through procRoot
// ("/proc" when empty); the caller closes it.
func PodNetNS(procRoot, uid string) (*os.File, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	return (&procInjector{proc: procRoot}).netns(uid)
}

// PodQueues lists the nfnetlink queues bound in the network namespace of the pod with UID uid
// (from /proc/<pid>/net/netfilter/nfnetlink_queue of one of its processes).
func PodQueues(procRoot, uid string) ([]uint16, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	pid, err := (&procInjector{proc: procRoot}).podPID(uid)
	if err != nil {
		return nil, err
	}
	return nfq.Instances(filepath.Join(procRoot, strconv.Itoa(pid), "net"))
}

func (p *procInjector) netns(uid string) (*os.File, error) {
	pid, err := p.podPID(uid)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(p.proc, strconv.Itoa(pid), "ns", "net"))
	if err != nil {
		return nil, fmt.Errorf("netns of pod %s (pid %d): %w", uid, pid, err)
	}
	return f, nil
}

// Apply binds the fault's queue (delay, duplicate, corrupt) first (so that no packet reaches the rule before a listener;
// with the bypass flag it would pass undelayed anyway), then installs the table. A fault that
// no longer queues has its old queue released after the new table is in.
func (p *procInjector) Apply(podUID string, f Fault) error {
	ns, err := p.netns(podUID)
	if err != nil {
		return err
	}
	defer ns.Close()
	key := podUID + "/" + f.Table
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.queues[key]
	if f.Queue != 0 {
		n, err := netemOf(f)
		if err != nil {
			return err
		}
		if q != nil {
			if err := q.SetNetem(n); errors.Is(err, nfq.ErrReopen) {
				// Another copy mode: a new socket (packets pass meanwhile: bypass).
				_ = q.Close()
				delete(p.queues, key)
				q = nil
			} else if err != nil {
				return err
			}
		}
		if q == nil {
			if q, err = nfq.OpenNetem(ns, f.Queue, n); err != nil {
				return err
			}
			p.queues[key] = q
		}
	}
	if err := nft.Apply(ns, f.Fault); err != nil {
		if f.Queue != 0 {
			_ = q.Close()
			delete(p.queues, key)
		}
		return err
	}
	if f.Bandwidth != nil {
		b := f.Bandwidth
		if err := tc.Apply(ns, tc.Bandwidth{Rate: b.Rate, Limit: b.Limit, Buffer: b.Buffer}); err != nil {
			_, _ = tc.Remove(ns)
			_, _ = nft.Remove(ns, f.Table)
			return err
		}
		p.shaped[key] = true
	}
	if f.Queue == 0 && q != nil {
		q.Release()
		_ = q.Close()
		delete(p.queues, key)
	}
	return nil
}

// Remove releases the held packets of a delay (removing the rule would make the kernel drop
// them), deletes the table, then unbinds the queue. A pod whose netns is gone has its queue
// closed all the same.
func (p *procInjector) Remove(podUID, table string) (bool, error) {
	key := podUID + "/" + table
	p.mu.Lock()
	q := p.queues[key]
	p.mu.Unlock()
	if q != nil {
		q.Release()
	}
	ns, err := p.netns(podUID)
	if err != nil {
		p.closeQueue(key, q)
		return false, err
	}
	defer ns.Close()
	ok, err := nft.Remove(ns, table)
	if err != nil {
		return ok, err
	}
	p.closeQueue(key, q)
	// A bandwidth fault's TBF goes with its table; so does a TBF left by an agent that died,
	// once no chaostest table is left in the pod (one bandwidth fault per pod at a time: the
	// root qdisc is shared).
	p.mu.Lock()
	shaped := p.shaped[key]
	delete(p.shaped, key)
	p.mu.Unlock()
	if !shaped {
		left, err := nft.Tables(ns, nft.Prefix)
		shaped = err == nil && len(left) == 0
	}
	if shaped {
		if _, err := tc.Remove(ns); err != nil {
			return ok, err
		}
	}
	return ok, nil
}

// RemoveOrphans removes chaostest's TBF from the pod's links when no chaostest table is left
// in its netns (an agent killed between the two steps of a removal leaves one); it reports
// whether there was one.
func (p *procInjector) RemoveOrphans(podUID string) (bool, error) {
	ns, err := p.netns(podUID)
	if err != nil {
		return false, err
	}
	defer ns.Close()
	left, err := nft.Tables(ns, nft.Prefix)
	if err != nil || len(left) > 0 {
		return false, err
	}
	return tc.Remove(ns)
}

// PodShaped lists the links of the pod with UID uid that carry chaostest's TBF.
func PodShaped(procRoot, uid string) ([]string, error) {
	ns, err := PodNetNS(procRoot, uid)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	return tc.Shaped(ns)
}

func (p *procInjector) closeQueue(key string, q *nfq.Queue) {
	if q == nil {
		return
	}
	_ = q.Close()
	p.mu.Lock()
	if p.queues[key] == q {
		delete(p.queues, key)
	}
	p.mu.Unlock()
}

func (p *procInjector) Tables(podUID string) ([]string, error) {
	ns, err := p.netns(podUID)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	return nft.Tables(ns, nft.Prefix)
}
