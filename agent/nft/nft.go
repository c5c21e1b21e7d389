// Package nft is the kernel side of chaostest's network faults: one nftables table per fault
// and pod, made with github.com/google/nftables inside the pod's network namespace.
//
// A fault's table holds an output chain (traffic the pod sends) and/or an input chain (traffic
// it receives), each hooked at the raw priority, that drop packets: all of them (partition) or
// a random share (loss, "numgen random mod 10000 < loss×100"), optionally only towards or from
// a set of IPv4 networks. Loopback traffic is never touched. [Apply] replaces the table in one
// netlink batch, [Remove] deletes it, [Tables] lists the tables with a prefix, so a leftover is
// detectable and removal exact.
package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
	"golang.org/x/sys/unix"
)

// Prefix starts the name of every table chaostest makes.
const Prefix = "chaostest_"

// Fault is what one table does.
type Fault struct {
	// Table is the table's name; it must start with Prefix.
	Table string
	// Egress drops in the output hook (direction "to"), Ingress in the input hook ("from").
	Egress, Ingress bool
	// Peers restricts the drops to packets to (egress) or from (ingress) these IPv4 networks;
	// empty means every peer.
	Peers []*net.IPNet
	// LossPercent is the share of matching packets dropped, 0 to 100; Partition ignores it.
	LossPercent float64
	// Partition drops every matching packet.
	Partition bool
	// Queue, when non-zero, hands every matching packet to the nfnetlink queue of that number
	// (the xt NFQUEUE target through NFT_COMPAT, as iptables-nft does) instead of dropping it;
	// a userspace verdict loop (package nfq) then delays it. The rule has the bypass flag: while
	// no process listens on the queue (none yet, or the agent died) packets pass unharmed, so
	// a fault never black-holes traffic. LossPercent and Partition are ignored.
	Queue uint16
}

// CopyMark is the packet mark (SO_MARK) of the copies a duplicate fault sends (package nfq):
// a queueing rule lets packets with this mark pass, so that a copy is not queued again.
const CopyMark = 0x63740001

// lossScale is the numgen modulus: loss is applied with a resolution of 0.01 %.
const lossScale = 10000

// Threshold is the numgen bound for a loss percentage: packets whose random number in
// [0, 10000) is below it are dropped.
func Threshold(percent float64) uint32 {
	return uint32(math.Round(percent * lossScale / 100))
}

// NetNS opens the network namespace of process pid (through /proc/<pid>/ns/net); close the
// returned file when done.
func NetNS(pid int) (*os.File, error) {
	return os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
}

func conn(ns *os.File) (*nftables.Conn, error) {
	if ns == nil {
		return nftables.New()
	}
	return nftables.New(nftables.WithNetNSFd(int(ns.Fd())))
}

// Apply installs f in the network namespace ns (nil: the caller's), replacing a table of the
// same name atomically.
func Apply(ns *os.File, f Fault) error {
	if !strings.HasPrefix(f.Table, Prefix) {
		return fmt.Errorf("nft: table %q does not start with %q", f.Table, Prefix)
	}
	if !f.Egress && !f.Ingress {
		return fmt.Errorf("nft: table %q: neither egress nor ingress", f.Table)
	}
	if f.LossPercent < 0 || f.LossPercent > 100 {
		return fmt.Errorf("nft: table %q: loss %v%% is not within 0-100", f.Table, f.LossPercent)
	}
	c, err := conn(ns)
	if err != nil {
		return fmt.Errorf("nft: netlink: %w", err)
	}
	t := &nftables.Table{Name: f.Table, Family: nftables.TableFamilyINet}
	// add (no error when present), delete, add: one batch replaces the table atomically.
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	policy := nftables.ChainPolicyAccept
	for _, h := range []struct {
		on      bool
		name    string
		hook    *nftables.ChainHook
		ifKey   expr.MetaKey
		addrOff uint32
	}{
		{f.Egress, "egress", nftables.ChainHookOutput, expr.MetaKeyOIF, 16},
		{f.Ingress, "ingress", nftables.ChainHookInput, expr.MetaKeyIIF, 12},
	} {
		if !h.on {
			continue
		}
		ch := c.AddChain(&nftables.Chain{Name: h.name, Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: h.hook, Priority: nftables.ChainPriorityRaw, Policy: &policy})
		peers := f.Peers
		if len(peers) == 0 {
			peers = []*net.IPNet{nil}
		}
		for _, p := range peers {
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: ruleExprs(h.ifKey, h.addrOff, p, f)})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nft: installing table %s: %w", f.Table, err)
	}
	return nil
}

// ruleExprs is: not loopback, [ipv4 peer in p], [random < threshold], counter, drop; or, for a
// queue: not loopback, [ipv4 peer in p], mark not CopyMark, counter, queue.
func ruleExprs(ifKey expr.MetaKey, addrOff uint32, p *net.IPNet, f Fault) []expr.Any {
	native := func(v uint32) []byte { b := make([]byte, 4); binary.NativeEndian.PutUint32(b, v); return b }
	ex := []expr.Any{
		&expr.Meta{Key: ifKey, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: native(1)}, // ifindex 1 is lo in every netns
	}
	if p != nil {
		ex = append(ex,
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: addrOff, Len: 4},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte(p.Mask), Xor: []byte{0, 0, 0, 0}},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte(p.IP.Mask(p.Mask).To4())},
		)
	}
	if f.Queue != 0 {
		return append(ex,
			&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: native(CopyMark)},
			&expr.Counter{}, QueueTarget(f.Queue))
	}
	if !f.Partition {
		th := make([]byte, 4)
		binary.BigEndian.PutUint32(th, Threshold(f.LossPercent))
		ex = append(ex,
			&expr.Numgen{Register: 1, Modulus: lossScale, Type: unix.NFT_NG_RANDOM},
			// numgen writes host order; cmp compares bytes, so compare in network order (as nft does).
			&expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4},
			&expr.Cmp{Op: expr.CmpOpLt, Register: 1, Data: th},
		)
	}
	return append(ex, &expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})
}

// queueBypass is NFQ_FLAG_BYPASS: packets are accepted while no program listens on the queue.
const queueBypass = 0x01

// QueueTarget is the xt NFQUEUE target (revision 3) for queue num with the bypass flag, as
// `iptables -j NFQUEUE --queue-num num --queue-bypass` writes it through NFT_COMPAT.
func QueueTarget(num uint16) *expr.Target {
	// struct xt_NFQ_info_v3 { __u16 queuenum, queues_total, flags; }, host order, padded to 8.
	info := make(xt.Unknown, 8)
	binary.NativeEndian.PutUint16(info[0:], num)
	binary.NativeEndian.PutUint16(info[2:], 1)
	binary.NativeEndian.PutUint16(info[4:], queueBypass)
	return &expr.Target{Name: "NFQUEUE", Rev: 3, Info: &info}
}

// Remove deletes the table name from ns; it reports whether the table was there.
func Remove(ns *os.File, name string) (bool, error) {
	c, err := conn(ns)
	if err != nil {
		return false, fmt.Errorf("nft: netlink: %w", err)
	}
	c.DelTable(&nftables.Table{Name: name, Family: nftables.TableFamilyINet})
	if err := c.Flush(); err != nil {
		if errors.Is(err, unix.ENOENT) || strings.Contains(err.Error(), "no such file") {
			return false, nil
		}
		return false, fmt.Errorf("nft: deleting table %s: %w", name, err)
	}
	return true, nil
}

// Tables lists the names of the tables in ns (any family) that start with prefix.
func Tables(ns *os.File, prefix string) ([]string, error) {
	c, err := conn(ns)
	if err != nil {
		return nil, fmt.Errorf("nft: netlink: %w", err)
	}
	ts, err := c.ListTables()
	if err != nil {
		return nil, fmt.Errorf("nft: listing tables: %w", err)
	}
	var out []string
	for _, t := range ts {
		if strings.HasPrefix(t.Name, prefix) {
			out = append(out, t.Name)
		}
	}
	return out, nil
}

// Dropped returns the packets counted by the drop rules of table name in ns (all chains).
func Dropped(ns *os.File, name string) (uint64, error) {
	c, err := conn(ns)
	if err != nil {
		return 0, fmt.Errorf("nft: netlink: %w", err)
	}
	t := &nftables.Table{Name: name, Family: nftables.TableFamilyINet}
	var n uint64
	for _, chain := range []string{"egress", "ingress"} {
		rules, err := c.GetRules(t, &nftables.Chain{Name: chain, Table: t})
		if err != nil {
			continue // the chain is absent for a one-direction fault
		}
		for _, r := range rules {
			for _, e := range r.Exprs {
				if ctr, ok := e.(*expr.Counter); ok {
					n += ctr.Packets
				}
			}
		}
	}
	return n, nil
}
