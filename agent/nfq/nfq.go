// Package nfq is a small client of the kernel's nfnetlink_queue protocol, written on
// github.com/mdlayher/netlink, and the userspace half of chaostest's latency faults: an nft
// rule hands packets to a queue (nft.Fault.Queue, the xt NFQUEUE target with the bypass flag),
// and a [Queue] bound to that queue number inside the same network namespace gives each packet
// its verdict (accept) after the delay a [Delay] draws, the way tc netem's delay, jitter and
// correlation do.
//
// Safety: the queue is configured fail-open (a full queue accepts instead of dropping) and the
// rule carries the bypass flag (no listener: packets pass), so a verdict loop that dies never
// black-holes the traffic. Removal is [Queue.Release] (every held packet accepted at once), then
// the rule, then [Queue.Close].
package nfq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
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

	attrPacketHdr  = 1 // NFQA_PACKET_HDR
	attrVerdictHdr = 2 // NFQA_VERDICT_HDR

	cfgCmd      = 1 // NFQA_CFG_CMD
	cfgParams   = 2 // NFQA_CFG_PARAMS
	cfgMaxLen   = 3 // NFQA_CFG_QUEUE_MAXLEN
	cfgMask     = 4 // NFQA_CFG_MASK
	cfgFlags    = 5 // NFQA_CFG_FLAGS
	cmdBind     = 1 // NFQNL_CFG_CMD_BIND
	copyMeta    = 1 // NFQNL_COPY_META
	flagFailOpn = 1 // NFQA_CFG_F_FAIL_OPEN
	flagGSO     = 4 // NFQA_CFG_F_GSO

	nfAccept = 1 // NF_ACCEPT
)

// MaxLen is the queue length asked of the kernel: packets beyond it are accepted at once
// (fail-open) instead of delayed.
const MaxLen = 16384

// Queue is one bound nfnetlink queue; make it with Open, stop it with Close.
type Queue struct {
	num   uint16
	conn  *netlink.Conn
	delay *Delay

	mu      sync.Mutex
	pending map[uint32]*time.Timer
	closed  bool
	done    chan struct{}
	err     error

	stats Stats
}

// Stats counts what a queue did.
type Stats struct {
	// Packets is how many packets got a verdict; Failed how many verdicts the kernel refused.
	Packets, Failed uint64
}

// Open binds queue num in the network namespace ns (nil: the caller's) and starts giving each
// packet its verdict after d's delay. Bind fails when another process already listens on num
// in that namespace.
func Open(ns *os.File, num uint16, d *Delay) (*Queue, error) {
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
	q := &Queue{num: num, conn: c, delay: d, pending: map[uint32]*time.Timer{}, done: make(chan struct{})}
	cmd := []byte{cmdBind, 0, 0, 0} // command, pad, pf (unused since Linux 3.8)
	params := make([]byte, 5)
	binary.BigEndian.PutUint32(params, 0xffff)
	params[4] = copyMeta // the delay needs no payload
	maxLen := binary.BigEndian.AppendUint32(nil, MaxLen)
	flags := binary.BigEndian.AppendUint32(nil, flagFailOpn|flagGSO)
	for _, attrs := range [][]netlink.Attribute{
		{{Type: cfgCmd, Data: cmd}},
		{{Type: cfgParams, Data: params}, {Type: cfgMaxLen, Data: maxLen}, {Type: cfgFlags, Data: flags}, {Type: cfgMask, Data: flags}},
	} {
		if err := q.request(msgConfig, attrs, true); err != nil {
			c.Close()
			// The kernel answers EPERM when another socket owns the queue number.
			if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY) {
				return nil, fmt.Errorf("nfq: queue %d is already bound by another process in that network namespace", num)
			}
			return nil, fmt.Errorf("nfq: configuring queue %d: %w", num, err)
		}
	}
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
			id, ok := packetID(m.Data[4:])
			if !ok {
				continue
			}
			q.hold(id)
		}
	}
}

// packetID reads the id of NFQA_PACKET_HDR { __be32 packet_id; __be16 hw_protocol; u8 hook; }.
func packetID(b []byte) (uint32, bool) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return 0, false
	}
	for ad.Next() {
		if ad.Type() == attrPacketHdr {
			if h := ad.Bytes(); len(h) >= 4 {
				return binary.BigEndian.Uint32(h), true
			}
		}
	}
	return 0, false
}

// hold schedules the verdict of packet id.
func (q *Queue) hold(id uint32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	var d time.Duration
	if q.delay != nil {
		d = q.delay.Next()
	}
	if d <= 0 {
		q.verdictLocked(id)
		return
	}
	q.pending[id] = time.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if _, ok := q.pending[id]; ok && !q.closed {
			delete(q.pending, id)
			q.verdictLocked(id)
		}
	})
}

func (q *Queue) verdictLocked(id uint32) {
	hdr := make([]byte, 8) // struct nfqnl_msg_verdict_hdr { __be32 verdict; __be32 id; }
	binary.BigEndian.PutUint32(hdr, nfAccept)
	binary.BigEndian.PutUint32(hdr[4:], id)
	q.stats.Packets++
	if err := q.request(msgVerdict, []netlink.Attribute{{Type: attrVerdictHdr, Data: hdr}}, false); err != nil {
		q.stats.Failed++
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
	q.delay = d
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
	q.delay = nil
	for id, t := range q.pending {
		t.Stop()
		q.verdictLocked(id)
	}
	q.pending = map[uint32]*time.Timer{}
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
	err := q.conn.Close()
	<-q.done
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
