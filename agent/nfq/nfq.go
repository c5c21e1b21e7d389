// Package nfq is a small client of the kernel's nfnetlink_queue protocol, written on
// github.com/mdlayher/netlink, and the userspace half of chaostest's netem-like faults: an nft
// rule hands packets to a queue (nft.Fault.Queue, the xt NFQUEUE target with the bypass flag),
// and a [Queue] bound to that queue number inside the same network namespace gives each packet
// its verdict (accept) the way tc netem would treat it ([Netem]): after the delay a [Delay]
// draws (latency, jitter, correlation), sooner for the packets [Netem.Reorder] sends ahead,
// with one bit flipped for the packets [Netem.Corrupt] picks (the verdict carries the modified
// packet), and followed by a copy for those [Netem.Duplicate] picks (sent through a raw socket
// opened in the same network namespace, marked [nft.CopyMark] so that the rule lets it pass).
//
// Safety: the queue is configured fail-open (a full queue accepts instead of dropping) and the
// rule carries the bypass flag (no listener: packets pass), so a verdict loop that dies never
// black-holes the traffic. Removal is [Queue.Release] (every held packet accepted at once), then
// the rule, then [Queue.Close].
package nfq

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nfnetlink_queue constants (linux/netfilter/nfnetlink_queue.h).
const (
	subsysQueue = 3 // NFNL_SUBSYS_QUEUE

	msgPacket  = 0 // NFQNL_MSG_PACKET
	msgVerdict = 1 // NFQNL_MSG_VERDICT
	msgConfig  = 2 // NFQNL_MSG_CONFIG

	attrPacketHdr  = 1  // NFQA_PACKET_HDR
	attrVerdictHdr = 2  // NFQA_VERDICT_HDR
	attrInDev      = 5  // NFQA_IFINDEX_INDEV
	attrOutDev     = 6  // NFQA_IFINDEX_OUTDEV
	attrPayload    = 10 // NFQA_PAYLOAD
	attrCapLen     = 13 // NFQA_CAP_LEN

	cfgCmd      = 1 // NFQA_CFG_CMD
	cfgParams   = 2 // NFQA_CFG_PARAMS
	cfgMaxLen   = 3 // NFQA_CFG_QUEUE_MAXLEN
	cfgMask     = 4 // NFQA_CFG_MASK
	cfgFlags    = 5 // NFQA_CFG_FLAGS
	cmdBind     = 1 // NFQNL_CFG_CMD_BIND
	copyMeta    = 1 // NFQNL_COPY_META
	copyPacket  = 2 // NFQNL_COPY_PACKET
	flagFailOpn = 1 // NFQA_CFG_F_FAIL_OPEN
	flagGSO     = 4 // NFQA_CFG_F_GSO

	nfAccept = 1 // NF_ACCEPT
)

// MaxLen is the queue length asked of the kernel: packets beyond it are accepted at once
// (fail-open) instead of delayed.
const MaxLen = 16384

// Queue is one bound nfnetlink queue; make it with Open, stop it with Close.
type Queue struct {
	num     uint16
	conn    *netlink.Conn
	netem   Netem
	payload bool // the kernel copies whole packets (duplicate, corrupt) instead of metadata
	copies  *copier

	mu      sync.Mutex
	pending heldHeap // by release time, then arrival
	arrived uint64
	wake    chan struct{}
	stop    chan struct{} // ends the scheduler
	stopped chan struct{}
	counter int // netem's reorder counter: packets delayed since the last one sent ahead
	rnd     *rand.Rand
	closed  bool
	done    chan struct{}
	err     error

	stats Stats
}

// held is a packet waiting for its verdict.
type held struct {
	id      uint32
	at      time.Time // when its verdict is due
	n       uint64    // arrival order, to keep packets due at once in order
	mangled []byte    // the corrupted packet to verdict with, or nil
	dup     *packet
}

// heldHeap orders the held packets by due time, then arrival (netem's tfifo): a fixed delay
// keeps the packets in order.
type heldHeap []*held

func (h heldHeap) Len() int { return len(h) }
func (h heldHeap) Less(i, j int) bool {
	return h[i].at.Before(h[j].at) || (h[i].at.Equal(h[j].at) && h[i].n < h[j].n)
}
func (h heldHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *heldHeap) Push(x any)   { *h = append(*h, x.(*held)) }
func (h *heldHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Stats counts what a queue did.
type Stats struct {
	// Packets is how many packets got a verdict; Failed how many verdicts the kernel refused.
	Packets, Failed uint64
	// Duplicated is how many copies were sent, CopyFailed how many could not be (a packet the
	// kernel gave truncated, or a send the raw socket refused).
	Duplicated, CopyFailed uint64
	// Corrupted is how many packets got a verdict with one bit flipped.
	Corrupted uint64
	// Reordered is how many packets were sent ahead of the delayed ones (netem's reorder).
	Reordered uint64
}

// Open binds queue num in the network namespace ns (nil: the caller's) and starts giving each
// packet its verdict after d's delay: OpenNetem with only a delay.
func Open(ns *os.File, num uint16, d *Delay) (*Queue, error) {
	return OpenNetem(ns, num, Netem{Delay: d})
}

// OpenNetem binds queue num in the network namespace ns (nil: the caller's) and starts giving
// each packet its verdict as n says. Bind fails when another process already listens on num in
// that namespace. A queue that duplicates or corrupts asks the kernel for whole packets
// (checksums completed, GSO packets segmented); one that only delays asks for metadata.
func OpenNetem(ns *os.File, num uint16, n Netem) (*Queue, error) {
	if err := n.check(); err != nil {
		return nil, err
	}
	cfg := &netlink.Config{}
	if ns != nil {
		cfg.NetNS = int(ns.Fd())
	}
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, cfg)
	if err != nil {
		return nil, fmt.Errorf("nfq: netlink: %w", err)
	}
	_ = c.SetReadBuffer(4 << 20)
	_ = c.SetOption(netlink.NoENOBUFS, true)
	q := &Queue{num: num, conn: c, netem: n, payload: n.NeedsPayload(), wake: make(chan struct{}, 1), done: make(chan struct{}),
		rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(num)))}
	if n.Duplicate != nil {
		if q.copies, err = newCopier(ns); err != nil {
			c.Close()
			return nil, err
		}
	}
	cmd := []byte{cmdBind, 0, 0, 0} // command, pad, pf (unused since Linux 3.8)
	params := make([]byte, 5)
	binary.BigEndian.PutUint32(params, 0xffff)
	params[4] = copyMeta // a delay needs no payload
	fl := uint32(flagFailOpn | flagGSO)
	if q.payload {
		// Without the GSO flag the kernel completes partial checksums and segments GSO
		// packets before queueing them: a copy or a flipped bit then applies to a packet as it
		// goes on the wire.
		params[4], fl = copyPacket, flagFailOpn
	}
	maxLen := binary.BigEndian.AppendUint32(nil, MaxLen)
	flags := binary.BigEndian.AppendUint32(nil, fl)
	mask := binary.BigEndian.AppendUint32(nil, flagFailOpn|flagGSO)
	for _, attrs := range [][]netlink.Attribute{
		{{Type: cfgCmd, Data: cmd}},
		{{Type: cfgParams, Data: params}, {Type: cfgMaxLen, Data: maxLen}, {Type: cfgFlags, Data: flags}, {Type: cfgMask, Data: mask}},
	} {
		if err := q.request(msgConfig, attrs, true); err != nil {
			c.Close()
			q.copies.close()
			// The kernel answers EPERM when another socket owns the queue number.
			if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY) {
				return nil, fmt.Errorf("nfq: queue %d is already bound by another process in that network namespace", num)
			}
			return nil, fmt.Errorf("nfq: configuring queue %d: %w", num, err)
		}
	}
	q.stop, q.stopped = make(chan struct{}), make(chan struct{})
	go func() { defer close(q.stopped); q.schedule(q.stop) }()
	go q.loop()
	return q, nil
}

// request sends one nfnetlink_queue message for q's queue.
func (q *Queue) request(typ int, attrs []netlink.Attribute, ack bool) error {
	ad, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		return err
	}
	// struct nfgenmsg { u8 family; u8 version; __be16 res_id; }
	data := append([]byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, byte(q.num >> 8), byte(q.num)}, ad...)
	m := netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(subsysQueue<<8 | typ), Flags: netlink.Request}, Data: data}
	if ack {
		m.Header.Flags |= netlink.Acknowledge
		_, err = q.conn.Execute(m)
		return err
	}
	_, err = q.conn.Send(m)
	return err
}

func (q *Queue) loop() {
	defer close(q.done)
	for {
		msgs, err := q.conn.Receive()
		if err != nil {
			q.mu.Lock()
			closed := q.closed
			if !closed {
				q.err = err
			}
			q.mu.Unlock()
			if closed {
				return
			}
			var oe *netlink.OpError
			if errors.As(err, &oe) && errors.Is(oe.Err, unix.ENOBUFS) {
				continue // the kernel dropped notifications; fail-open keeps the traffic going
			}
			return
		}
		for _, m := range msgs {
			if m.Header.Type != netlink.HeaderType(subsysQueue<<8|msgPacket) || len(m.Data) < 4 {
				continue
			}
			p, ok := parsePacket(m.Data[4:])
			if !ok {
				continue
			}
			q.handle(p)
		}
	}
}

// packet is what the kernel tells of one queued packet.
type packet struct {
	id        uint32
	proto     uint16 // hw_protocol: 0x0800 IPv4, 0x86dd IPv6
	ifindex   uint32 // the output device (egress) or the input device (ingress)
	payload   []byte // the network-layer packet, in copy-packet mode
	truncated bool   // the kernel copied less than the whole packet
}

// parsePacket reads NFQA_PACKET_HDR { __be32 packet_id; __be16 hw_protocol; u8 hook; }, the
// devices and the payload.
func parsePacket(b []byte) (packet, bool) {
	var p packet
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return p, false
	}
	ok := false
	for ad.Next() {
		switch ad.Type() {
		case attrPacketHdr:
			if h := ad.Bytes(); len(h) >= 6 {
				p.id, p.proto, ok = binary.BigEndian.Uint32(h), binary.BigEndian.Uint16(h[4:]), true
			}
		case attrOutDev:
			if v := ad.Bytes(); len(v) == 4 {
				p.ifindex = binary.BigEndian.Uint32(v)
			}
		case attrInDev:
			if v := ad.Bytes(); len(v) == 4 && p.ifindex == 0 {
				p.ifindex = binary.BigEndian.Uint32(v)
			}
		case attrPayload:
			p.payload = ad.Bytes()
		case attrCapLen:
			p.truncated = true
		}
	}
	return p, ok
}

// handle decides, in netem's order, what happens to packet p: a copy (duplicate), one flipped
// bit (corrupt), then its delay, or none for a packet netem's reorder sends ahead.
func (q *Queue) handle(p packet) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	n := q.netem
	h := &held{}
	if n.Duplicate != nil && n.Duplicate.Next() {
		if p.payload == nil || p.truncated || q.copies == nil {
			q.stats.CopyFailed++
		} else {
			c := p
			c.payload = slices.Clone(p.payload)
			h.dup = &c
		}
	}
	if n.Corrupt != nil && n.Corrupt.Next() && len(p.payload) > 0 && !p.truncated {
		h.mangled = slices.Clone(p.payload)
		from := transportOffset(h.mangled)
		bit := 8*from + q.rnd.IntN(8*(len(h.mangled)-from))
		h.mangled[bit/8] ^= 1 << (bit % 8)
	}
	var d time.Duration
	if n.Delay != nil {
		d = n.Delay.Next()
		if n.Reorder != nil && d > 0 {
			// netem_enqueue: "q->counter < q->gap - 1 || q->reorder < get_crandom(...)" delays;
			// otherwise the packet goes now and the counter restarts.
			if q.counter < n.gap()-1 || !n.Reorder.Next() {
				q.counter++
			} else {
				d, q.counter = 0, 0
				q.stats.Reordered++
			}
		}
	}
	h.id = p.id
	if d <= 0 {
		q.releaseLocked1(h)
		return
	}
	q.arrived++
	h.at, h.n = time.Now().Add(d), q.arrived
	heap.Push(&q.pending, h)
	if q.pending[0] == h { // a new earliest deadline
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// schedule gives the held packets their verdicts when due, earliest first, until done closes.
func (q *Queue) schedule(done <-chan struct{}) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		q.mu.Lock()
		now := time.Now()
		for len(q.pending) > 0 && !q.pending[0].at.After(now) {
			q.releaseLocked1(heap.Pop(&q.pending).(*held))
		}
		next := time.Hour
		if len(q.pending) > 0 {
			next = q.pending[0].at.Sub(now)
		}
		q.mu.Unlock()
		t.Reset(next)
		select {
		case <-done:
			return
		case <-q.wake:
		case <-t.C:
		}
	}
}

// releaseLocked1 gives packet id its verdict, then sends its copy if it has one.
func (q *Queue) releaseLocked1(h *held) {
	q.verdictLocked(h.id, h.mangled)
	if h.dup != nil {
		if err := q.copies.send(h.dup); err != nil {
			q.stats.CopyFailed++
		} else {
			q.stats.Duplicated++
		}
	}
}

func (q *Queue) verdictLocked(id uint32, payload []byte) {
	hdr := make([]byte, 8) // struct nfqnl_msg_verdict_hdr { __be32 verdict; __be32 id; }
	binary.BigEndian.PutUint32(hdr, nfAccept)
	binary.BigEndian.PutUint32(hdr[4:], id)
	attrs := []netlink.Attribute{{Type: attrVerdictHdr, Data: hdr}}
	if payload != nil {
		attrs = append(attrs, netlink.Attribute{Type: attrPayload, Data: payload})
	}
	q.stats.Packets++
	if err := q.request(msgVerdict, attrs, false); err != nil {
		q.stats.Failed++
		return
	}
	if payload != nil {
		q.stats.Corrupted++
	}
}

// Stats returns the counters so far.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stats
}

// Held is how many packets wait for their verdict now.
func (q *Queue) Held() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// Err is the error that ended the verdict loop before Close, if any.
func (q *Queue) Err() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// SetDelay replaces the delay of the packets that arrive from now on.
func (q *Queue) SetDelay(d *Delay) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.netem.Delay = d
}

// ErrReopen is SetNetem's error when the new Netem needs another copy mode (whole packets, or
// metadata only) or a copy socket the queue was not opened with: close the queue and open
// another.
var ErrReopen = errors.New("nfq: the queue must be reopened for that change")

// SetNetem replaces what the queue does to the packets that arrive from now on.
func (q *Queue) SetNetem(n Netem) error {
	if err := n.check(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if n.NeedsPayload() != q.payload || (n.Duplicate != nil && q.copies == nil) {
		return ErrReopen
	}
	q.netem = n
	return nil
}

// Release accepts every held packet at once, and every later one as it arrives. Removing the
// rule that feeds the queue makes the kernel drop the packets still queued in that network
// namespace (nf_queue's hook-drop), so a fault is removed by Release, then the rule, then
// Close.
func (q *Queue) Release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.releaseLocked()
}

func (q *Queue) releaseLocked() {
	q.netem = Netem{}
	for len(q.pending) > 0 {
		q.releaseLocked1(heap.Pop(&q.pending).(*held))
	}
}

// Close releases every held packet (see Release), then unbinds the queue (closing the socket).
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.releaseLocked()
	q.closed = true
	q.mu.Unlock()
	close(q.stop)
	<-q.stopped
	err := q.conn.Close()
	<-q.done
	q.copies.close()
	return err
}

// Delay draws packet delays as tc netem does: Latency ± Jitter, uniformly, each draw correlated
// with the previous one by Correlation percent (netem's "correlated random": next = (1-ρ)·rand
// + ρ·last).
type Delay struct {
	Latency, Jitter time.Duration
	// Correlation is 0 to 100 (percent).
	Correlation float64

	mu   sync.Mutex
	rnd  *rand.Rand
	last float64
}

// NewDelay checks its arguments and returns a Delay.
func NewDelay(latency, jitter time.Duration, correlation float64) (*Delay, error) {
	if latency < 0 || jitter < 0 {
		return nil, fmt.Errorf("nfq: latency %s and jitter %s must not be negative", latency, jitter)
	}
	if correlation < 0 || correlation > 100 || math.IsNaN(correlation) {
		return nil, fmt.Errorf("nfq: correlation %v is not a percentage from 0 to 100", correlation)
	}
	return &Delay{Latency: latency, Jitter: jitter, Correlation: correlation,
		rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x6e6574656d))}, nil
}

// Next draws one packet's delay.
func (d *Delay) Next() time.Duration {
	if d.Jitter == 0 {
		return d.Latency
	}
	d.mu.Lock()
	rho := d.Correlation / 100
	u := (1-rho)*d.rnd.Float64() + rho*d.last
	d.last = u
	d.mu.Unlock()
	v := d.Latency + time.Duration((2*u-1)*float64(d.Jitter))
	if v < 0 {
		return 0
	}
	return v
}

// Instances lists the queue numbers bound in the network namespace whose /proc/net is
// procNet (e.g. "/proc/<pid>/net"), from its netfilter/nfnetlink_queue file: a leftover
// listener is visible there.
func Instances(procNet string) ([]uint16, error) {
	b, err := os.ReadFile(procNet + "/netfilter/nfnetlink_queue")
	if err != nil {
		return nil, err
	}
	var out []uint16
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var n uint16
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "%d", &n); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}
