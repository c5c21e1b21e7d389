package nfq

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/chaostest/chaostest/agent/nft"
)

// rateTol is the accuracy the netem faults must reach over rateN packets: ±3 percentage points.
const (
	rateTol = 3.0
	rateN   = 3000
)

// arrival is one datagram the listener read: its sequence number and one-way delay.
type arrival struct {
	seq   uint32
	delay time.Duration
}

// burst sends n datagrams from b to a, gap apart, each carrying a sequence number and its send
// time (12 bytes), and returns what arrived, in arrival order.
func (p *pair) burst(t *testing.T, n int, gap time.Duration) []arrival {
	t.Helper()
	_ = p.listener.SetReadBuffer(8 << 20)
	got := make(chan []arrival)
	go func() {
		var out []arrival
		buf := make([]byte, 64)
		for {
			_ = p.listener.SetReadDeadline(time.Now().Add(p.idle))
			k, _, err := p.listener.ReadFrom(buf)
			if err != nil {
				got <- out
				return
			}
			if k == 12 {
				out = append(out, arrival{seq: binary.BigEndian.Uint32(buf), delay: time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(buf[4:]))))})
			}
		}
	}()
	start := time.Now()
	for i := 0; i < n; i++ {
		// Pace against the clock, not with sleeps (which overshoot): i datagrams by start + i·gap.
		if d := time.Until(start.Add(time.Duration(i) * gap)); d > 0 {
			time.Sleep(d)
		}
		b := binary.BigEndian.AppendUint32(nil, uint32(i))
		_, _ = p.sender.Write(binary.BigEndian.AppendUint64(b, uint64(time.Now().UnixNano())))
	}
	return <-got
}

// withFault opens queue num in ns with n and installs its table (egress or ingress), and
// removes both at the end of the test, checking that nothing is left.
func withFault(t testing.TB, ns *os.File, num uint16, egress bool, n Netem) *Queue {
	t.Helper()
	table := nft.Prefix + "netem" + strconv.Itoa(int(num))
	q, err := OpenNetem(ns, num, n)
	require.NoError(t, err)
	require.NoError(t, nft.Apply(ns, nft.Fault{Table: table, Egress: egress, Ingress: !egress, Queue: num}))
	t.Cleanup(func() {
		q.Release()
		ok, err := nft.Remove(ns, table)
		assert.NoError(t, err)
		assert.True(t, ok)
		assert.NoError(t, q.Close())
		assert.Empty(t, instances(t, ns), "no queue left bound")
		left, err := nft.Tables(ns, nft.Prefix)
		assert.NoError(t, err)
		assert.Empty(t, left, "no table left")
	})
	return q
}

func chance(t testing.TB, percent, correlation float64) *Chance {
	c, err := NewChance(percent, correlation)
	require.NoError(t, err)
	return c
}

// assertRate checks a measured share (0 to 1) against the asked percentage, ±rateTol points.
func assertRate(t *testing.T, what string, askedPercent float64, got float64) {
	t.Helper()
	t.Logf("%s: asked %.1f %%, measured %.2f %%", what, askedPercent, 100*got)
	assert.InDelta(t, askedPercent, 100*got, rateTol, "%s within ±%.0f points", what, rateTol)
}

// Duplication, both directions: every datagram arrives, the asked share of them twice (the
// copy right after the original), and the rule does not queue the copies again.
func TestDuplicateRate(t *testing.T) {
	for _, c := range []struct {
		name    string
		egress  bool
		percent float64
	}{{"egress", true, 30}, {"ingress", false, 50}} {
		t.Run(c.name, func(t *testing.T) {
			p := newPair(t)
			ns := p.b
			if !c.egress {
				ns = p.a
			}
			q := withFault(t, ns, 21, c.egress, Netem{Duplicate: chance(t, c.percent, 0)})
			got := p.burst(t, rateN, 200*time.Microsecond)
			seen := map[uint32]int{}
			for _, a := range got {
				seen[a.seq]++
			}
			require.Len(t, seen, rateN, "every datagram arrives")
			twice := 0
			for s, k := range seen {
				require.LessOrEqual(t, k, 2, "datagram %d arrived %d times", s, k)
				if k == 2 {
					twice++
				}
			}
			assertRate(t, "duplicate "+c.name, c.percent, float64(twice)/rateN)
			st := q.Stats()
			t.Logf("queue stats %+v", st)
			assert.GreaterOrEqual(t, st.Duplicated, uint64(twice))
			// Only packets other than the test's may fail to be copied (IPv6 multicast listener
			// reports sent from ::, which a raw socket refuses as a source).
			assert.LessOrEqual(t, st.CopyFailed, st.Packets-rateN)
			assert.Less(t, st.Packets, uint64(rateN+100), "the copies were not queued again")
		})
	}
}

// snmpUDP reads the Udp counters of the network namespace ns.
func snmpUDP(t *testing.T, ns *os.File) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	inNS(t, ns, func() {
		b, err := os.ReadFile("/proc/thread-self/net/snmp")
		require.NoError(t, err)
		var head []string
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 || f[0] != "Udp:" {
				continue
			}
			if head == nil {
				head = f[1:]
				continue
			}
			for i, v := range f[1:] {
				n, _ := strconv.ParseUint(v, 10, 64)
				out[head[i]] = n
			}
		}
	})
	return out
}

// capture reads the IPv4 packets arriving on link name in ns (an AF_PACKET socket: it sees them
// before the IP and UDP checksums are checked) until stop is closed.
func capture(t *testing.T, ns *os.File, name string, stop <-chan struct{}) <-chan [][]byte {
	t.Helper()
	var fd, idx int
	require.NoError(t, inNetNS(ns, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_IP)))
		if err != nil {
			return err
		}
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
			return err
		}
		idx = int(ifr.Uint32())
		return nil
	}))
	require.NoError(t, unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: idx}))
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100000})
	out := make(chan [][]byte, 1)
	go func() {
		defer unix.Close(fd)
		var got [][]byte
		buf := make([]byte, 2048)
		for {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err == nil {
				got = append(got, append([]byte(nil), buf[:n]...))
				continue
			}
			select {
			case <-stop:
				out <- got
				return
			default:
			}
		}
	}()
	return out
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// csum is the Internet checksum of b with initial sum s (0 when b, including its checksum
// field, is intact).
func csum(s uint32, b []byte) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// udpIntact reports whether an IPv4 packet carrying UDP has a valid IP header and UDP
// checksum.
func udpIntact(b []byte) bool {
	if len(b) < 28 || b[0]>>4 != 4 {
		return false
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || ihl > len(b) || csum(0, b[:ihl]) != 0 {
		return false
	}
	seg := b[ihl:]
	pseudo := uint32(binary.BigEndian.Uint16(b[12:])) + uint32(binary.BigEndian.Uint16(b[14:])) +
		uint32(binary.BigEndian.Uint16(b[16:])) + uint32(binary.BigEndian.Uint16(b[18:])) + uint32(b[9]) + uint32(len(seg))
	return csum(pseudo, seg) == 0
}

// Corruption, both directions: the asked share of the datagrams has one bit flipped, which the
// receiver's UDP checksum rejects (its InCsumErrors counter), and the rest arrives intact. On
// egress, a packet socket on the receiving link sees every datagram arrive, the corrupted ones
// with a failing checksum.
func TestCorruptRate(t *testing.T) {
	for _, c := range []struct {
		name    string
		egress  bool
		percent float64
	}{{"egress", true, 20}, {"ingress", false, 40}} {
		t.Run(c.name, func(t *testing.T) {
			p := newPair(t)
			ns := p.b
			if !c.egress {
				ns = p.a
			}
			q := withFault(t, ns, 22, c.egress, Netem{Corrupt: chance(t, c.percent, 0)})
			before := snmpUDP(t, p.a)
			stop := make(chan struct{})
			var frames <-chan [][]byte
			if c.egress {
				frames = capture(t, p.a, "qa", stop)
			}
			got := p.burst(t, rateN, 200*time.Microsecond)
			close(stop)
			after := snmpUDP(t, p.a)
			rejected := after["InErrors"] - before["InErrors"] // checksum errors, and a flipped UDP length
			t.Logf("received intact %d of %d; receiver's UDP InErrors +%d; queue stats %+v", len(got), rateN, rejected, q.Stats())
			assert.Equal(t, uint64(rateN), uint64(len(got))+rejected, "every datagram arrived intact or failed the checksum")
			assertRate(t, "corrupt "+c.name, c.percent, float64(rejected)/rateN)
			if frames != nil {
				var ours, bad int
				for _, f := range <-frames {
					if len(f) != 40 { // 20 (IP) + 8 (UDP) + 12
						continue
					}
					ours++
					if !udpIntact(f) {
						bad++
					}
				}
				assert.Equal(t, rateN, ours, "the packet socket saw every datagram arrive")
				assert.Equal(t, int(rejected), bad, "the datagrams that failed the checksum are the corrupted frames")
			}
		})
	}
}

// Reordering (egress, 20 ms latency): the packets netem's reorder sends ahead arrive at once,
// overtaking the held ones; with gap G and probability P, the share sent ahead is
// P/(1+(G-1)·P) (one packet ahead, then at least G-1 held, then a draw per packet).
func TestReorderRate(t *testing.T) {
	for _, c := range []struct {
		percent float64
		gap     int
	}{{30, 1}, {50, 3}} {
		t.Run(fmt.Sprintf("reorder%v-gap%d", c.percent, c.gap), func(t *testing.T) {
			p := newPair(t)
			const latency = 20 * time.Millisecond
			d, err := NewDelay(latency, 0, 0)
			require.NoError(t, err)
			q := withFault(t, p.b, 23, true, Netem{Delay: d, Reorder: chance(t, c.percent, 0), Gap: c.gap})
			got := p.burst(t, rateN, 300*time.Microsecond)
			require.Len(t, got, rateN, "reordering loses nothing")
			// A datagram was sent ahead when an earlier one arrives after it (the held ones
			// keep their order) or when it took less than half the latency (the first one).
			// That is robust to a verdict loop that lags under load.
			ahead, fast := 0, 0
			minLater := uint32(math.MaxUint32)
			for i := len(got) - 1; i >= 0; i-- {
				a := got[i]
				if minLater < a.seq || a.delay < latency/2 {
					ahead++
					if a.delay < latency/2 {
						fast++
					}
				} else if a.delay < latency-2*time.Millisecond {
					t.Errorf("datagram %d was not sent ahead but held only %s", a.seq, a.delay)
				}
				minLater = min(minLater, a.seq)
			}
			p1 := c.percent / 100
			want := 100 * p1 / (1 + float64(c.gap-1)*p1)
			assertRate(t, fmt.Sprintf("reorder %v%% gap %d (expected share sent ahead %.1f %%)", c.percent, c.gap, want), want, float64(ahead)/rateN)
			t.Logf("%d of the %d sent ahead arrived within %s; queue stats %+v", fast, ahead, latency/2, q.Stats())
			assert.Greater(t, fast, ahead/2, "the packets sent ahead were not held (most arrive at once, even under -race)")
		})
	}
}

// Chance follows netem's correlated draws: without correlation it picks the asked share;
// with correlation successive draws are alike (longer runs), and netem's reorder needs a
// delay.
func TestChanceDraws(t *testing.T) {
	_, err := NewChance(101, 0)
	assert.ErrorContains(t, err, "not a percentage")
	_, err = OpenNetem(nil, 1, Netem{Reorder: &Chance{}})
	assert.ErrorContains(t, err, "reordering needs a delay")

	runs := func(percent, corr float64) (share, meanRun float64) {
		c := chance(t, percent, corr)
		const n = 200000
		picked, runs, prev := 0, 0, false
		for i := 0; i < n; i++ {
			v := c.Next()
			if v {
				picked++
			}
			if v != prev || i == 0 {
				runs++
			}
			prev = v
		}
		return float64(picked) / n, float64(n) / float64(runs)
	}
	s0, r0 := runs(30, 0)
	assert.InDelta(t, 0.30, s0, 0.005)
	s50, r50 := runs(50, 75)
	assert.InDelta(t, 0.50, s50, 0.01, "at 50 %% correlation does not move the share")
	assert.Greater(t, r50, 1.5*r0, "75 %% correlation: longer runs (%.2f vs %.2f)", r50, r0)
	s30c, _ := runs(30, 75)
	assert.Less(t, s30c, s0, "netem's correlation narrows the draws: below 50 %% the share drops")
	assert.False(t, math.IsNaN(s30c))
}

// A fixed delay keeps the packets in order (netem's tfifo): the verdicts go out by due time,
// then arrival, from one scheduler.
func TestFixedDelayKeepsOrder(t *testing.T) {
	p := newPair(t)
	d, err := NewDelay(20*time.Millisecond, 0, 0)
	require.NoError(t, err)
	withFault(t, p.b, 24, true, Netem{Delay: d})
	got := p.burst(t, 1000, 100*time.Microsecond)
	require.Len(t, got, 1000)
	for i, a := range got {
		require.Equal(t, uint32(i), a.seq, "arrival %d", i)
	}
}

// BenchmarkNetemApplyRemove: the kernel side of a fault in a fresh network namespace, as the
// agent does it: bind the queue (with its copy sockets for a duplicate) and install the table,
// then release, delete the table and close. Reported as apply-ms/op and remove-ms/op.
func BenchmarkNetemApplyRemove(b *testing.B) {
	p := newPair(b)
	d, err := NewDelay(20*time.Millisecond, 0, 0)
	require.NoError(b, err)
	for _, c := range []struct {
		name string
		n    Netem
	}{
		{"delay", Netem{Delay: d}},
		{"reorder", Netem{Delay: d, Reorder: chance(b, 20, 0), Gap: 2}},
		{"duplicate", Netem{Duplicate: chance(b, 20, 0)}},
		{"corrupt", Netem{Corrupt: chance(b, 20, 0)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			const table, num = nft.Prefix + "bench", 31
			var apply, remove time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				q, err := OpenNetem(p.b, num, c.n)
				require.NoError(b, err)
				require.NoError(b, nft.Apply(p.b, nft.Fault{Table: table, Egress: true, Queue: num}))
				apply += time.Since(start)
				start = time.Now()
				q.Release()
				_, err = nft.Remove(p.b, table)
				require.NoError(b, err)
				require.NoError(b, q.Close())
				remove += time.Since(start)
			}
			b.ReportMetric(float64(apply.Microseconds())/1000/float64(b.N), "apply-ms/op")
			b.ReportMetric(float64(remove.Microseconds())/1000/float64(b.N), "remove-ms/op")
		})
	}
}
