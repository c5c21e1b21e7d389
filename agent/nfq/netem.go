package nfq

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chaostest/chaostest/agent/nft"
)

// Netem is what a queue does to each packet, in the order of tc netem's enqueue: Duplicate
// picks the packets that are also sent twice (the copy leaves right after the original),
// Corrupt those that get one random bit flipped (netem flips one anywhere in the packet's
// head; here it is one of the transport segment, header or data, so that the packet still goes
// where it was going and the receiver's TCP/UDP/ICMP checksum rejects it, in either direction;
// a UDP datagram sent without checksum arrives corrupted), and Delay holds every packet, except that with Reorder set a packet goes at once, ahead
// of the held ones, when at least Gap-1 packets were held since the last one sent ahead and
// Reorder picks it (netem: "reorder P% [correlation] gap Gap"). Nil fields do nothing.
type Netem struct {
	Delay              *Delay
	Duplicate, Corrupt *Chance
	Reorder            *Chance
	// Gap is netem's reorder gap: 0 or 1 means every held packet may be sent ahead.
	Gap int
}

// NeedsPayload reports whether the queue must see whole packets (to copy or corrupt them).
func (n Netem) NeedsPayload() bool { return n.Duplicate != nil || n.Corrupt != nil }

func (n Netem) gap() int {
	if n.Gap < 1 {
		return 1
	}
	return n.Gap
}

func (n Netem) check() error {
	if n.Reorder != nil && (n.Delay == nil || n.Delay.Latency <= 0) {
		return errors.New("nfq: reordering needs a delay (the packets sent ahead overtake the held ones), as tc netem says")
	}
	if n.Gap < 0 {
		return fmt.Errorf("nfq: reorder gap %d is negative", n.Gap)
	}
	return nil
}

// Chance picks packets with probability Percent, each draw correlated with the previous one by
// Correlation percent the way netem's get_crandom does: u = (1-ρ)·random + ρ·previous u, and
// the packet is picked when u < Percent/100. Like netem's, a correlation above zero narrows the
// spread of u around 1/2, so that the share picked drifts from Percent (towards 0 below 50 %,
// towards 100 % above); Chaos Mesh passes the same parameters to netem.
type Chance struct {
	// Percent and Correlation are 0 to 100.
	Percent, Correlation float64

	mu   sync.Mutex
	rnd  *rand.Rand
	last float64
}

// NewChance checks its arguments and returns a Chance.
func NewChance(percent, correlation float64) (*Chance, error) {
	for _, v := range []float64{percent, correlation} {
		if v < 0 || v > 100 || math.IsNaN(v) {
			return nil, fmt.Errorf("nfq: %v is not a percentage from 0 to 100", v)
		}
	}
	return &Chance{Percent: percent, Correlation: correlation,
		rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x63686e63))}, nil
}

// Next draws once: true picks the packet.
func (c *Chance) Next() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	rho := c.Correlation / 100
	u := (1-rho)*c.rnd.Float64() + rho*c.last
	c.last = u
	return u < c.Percent/100
}

// copier sends copies of packets through raw IP sockets opened in the queue's network
// namespace, marked nft.CopyMark so that the fault's rule lets them pass. A copy of a packet
// leaving the pod goes out the way the original went (routed by its destination); a copy of
// a packet entering it is addressed to the pod itself and so arrives through loopback, which
// the rules never touch, with the original's source address.
type copier struct {
	fd4, fd6 int
}

// newCopier opens the sockets inside ns (nil: the caller's namespace).
func newCopier(ns *os.File) (*copier, error) {
	c := &copier{fd4: -1, fd6: -1}
	err := inNetNS(ns, func() error {
		for _, s := range []struct {
			fd     *int
			family int
		}{{&c.fd4, unix.AF_INET}, {&c.fd6, unix.AF_INET6}} {
			// IPPROTO_RAW implies IP_HDRINCL (and IPV6_HDRINCL): the packet is sent as it is.
			fd, err := unix.Socket(s.family, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
			if err != nil {
				return fmt.Errorf("nfq: raw socket for copies: %w", err)
			}
			*s.fd = fd
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, nft.CopyMark); err != nil {
				return fmt.Errorf("nfq: marking the copy socket: %w", err)
			}
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1)
		}
		return nil
	})
	if err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// send sends a copy of p.
func (c *copier) send(p *packet) error {
	b := p.payload
	switch {
	case p.proto == unix.ETH_P_IP && len(b) >= 20 && b[0]>>4 == 4:
		var sa unix.SockaddrInet4
		copy(sa.Addr[:], b[16:20])
		return unix.Sendto(c.fd4, b, 0, &sa)
	case p.proto == unix.ETH_P_IPV6 && len(b) >= 40 && b[0]>>4 == 6:
		var sa unix.SockaddrInet6
		copy(sa.Addr[:], b[24:40])
		if a := netip.AddrFrom16(sa.Addr); a.IsLinkLocalUnicast() || a.IsMulticast() {
			sa.ZoneId = p.ifindex
		}
		return unix.Sendto(c.fd6, b, 0, &sa)
	}
	return fmt.Errorf("nfq: not an IPv4 or IPv6 packet (protocol %#x)", p.proto)
}

func (c *copier) close() {
	if c == nil {
		return
	}
	for _, fd := range []int{c.fd4, c.fd6} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	c.fd4, c.fd6 = -1, -1
}

// inNetNS runs f on an OS thread that has entered ns (nil: f runs where the caller is). The
// thread goes back to its namespace afterwards; if it cannot, it is not reused (the goroutine
// ends with the thread locked, and the runtime discards it).
func inNetNS(ns *os.File, f func() error) error {
	if ns == nil {
		return f()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("nfq: own netns: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("nfq: entering the netns: %w", err)
			return
		}
		err = f()
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// transportOffset is where the transport segment of an IP packet starts (after the IPv4 header
// or the fixed IPv6 header); 0 when the packet has nothing after its header.
func transportOffset(b []byte) int {
	off := 0
	switch {
	case len(b) >= 20 && b[0]>>4 == 4:
		off = int(b[0]&0x0f) * 4
	case len(b) >= 40 && b[0]>>4 == 6:
		off = 40
	}
	if off >= len(b) {
		return 0
	}
	return off
}
