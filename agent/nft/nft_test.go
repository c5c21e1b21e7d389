package nft

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/agent/internal/nettest"
)

// pair is two fresh network namespaces joined by a veth pair (10.251.0.1 in a, 10.251.0.2 in
// b), with a UDP socket listening in a and one sending from b. Nothing leaves the machine.
type pair struct {
	a, b     *os.File
	listener *net.UDPConn
	sender   *net.UDPConn
}

func newPair(t *testing.T) *pair {
	t.Helper()
	a, b := nettest.Pair(t, "v", "10.251.0")
	p := &pair{a: a, b: b}
	require.NoError(t, nettest.In(a, func() (err error) {
		p.listener, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 251, 0, 1), Port: 9000})
		return err
	}))
	t.Cleanup(func() { p.listener.Close() })
	nettest.ForceReadBuffer(t, p.listener)
	require.NoError(t, nettest.In(b, func() (err error) {
		p.sender, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(10, 251, 0, 1), Port: 9000})
		return err
	}))
	t.Cleanup(func() { p.sender.Close() })
	// Wait for the veth carrier and ARP: one datagram must come through.
	buf := make([]byte, 64)
	for deadline := time.Now().Add(5 * time.Second); ; {
		_, _ = p.sender.Write([]byte("w"))
		_ = p.listener.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, _, err := p.listener.ReadFrom(buf); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the veth pair does not carry traffic")
	}
	for { // drain the warm-up datagrams
		_ = p.listener.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, _, err := p.listener.ReadFrom(buf); err != nil {
			break
		}
	}
	return p
}

// delivered sends n datagrams from b to a and returns how many arrived.
func (p *pair) delivered(t *testing.T, n int) int {
	t.Helper()
	got := make(chan int)
	go func() {
		buf := make([]byte, 64)
		c := 0
		for {
			_ = p.listener.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if _, _, err := p.listener.ReadFrom(buf); err != nil {
				got <- c
				return
			}
			c++
		}
	}()
	for i := 0; i < n; i++ {
		_, _ = p.sender.Write([]byte("x"))
		if i%100 == 99 {
			time.Sleep(time.Millisecond) // keep the receiver's buffer from overflowing
		}
	}
	return <-got
}

func TestPartitionLossAndRemoval(t *testing.T) {
	p := newPair(t)
	require.Equal(t, 500, p.delivered(t, 500), "no fault yet: everything arrives")

	table := Prefix + "test1"
	require.NoError(t, Apply(p.b, Fault{Table: table, Egress: true, Partition: true}))
	names, err := Tables(p.b, Prefix)
	require.NoError(t, err)
	assert.Equal(t, []string{table}, names)
	assert.Equal(t, 0, p.delivered(t, 500), "partition drops everything")
	dropped, err := Dropped(p.b, table)
	require.NoError(t, err)
	// The 500 datagrams, and maybe a few packets of the kernel's own (IPv6 neighbour discovery, MLD)
	// that the namespace's links sent meanwhile: the rule drops all egress.
	assert.GreaterOrEqual(t, dropped, uint64(500))
	assert.LessOrEqual(t, dropped, uint64(520))

	// Replacing the table with a loss fault is atomic and leaves one table.
	require.NoError(t, Apply(p.b, Fault{Table: table, Egress: true, LossPercent: 30}))
	const n = 4000
	got := p.delivered(t, n)
	loss := 100 * float64(n-got) / n
	t.Logf("asked 30%% loss, observed %.2f%% over %d datagrams", loss, n)
	assert.InDelta(t, 30, loss, 3)

	// A peer filter that does not match leaves the traffic alone.
	_, other, _ := net.ParseCIDR("10.99.0.0/16")
	require.NoError(t, Apply(p.b, Fault{Table: table, Egress: true, Partition: true, Peers: []*net.IPNet{other}}))
	assert.Equal(t, 500, p.delivered(t, 500))
	_, mine, _ := net.ParseCIDR("10.251.0.1/32")
	require.NoError(t, Apply(p.b, Fault{Table: table, Egress: true, Partition: true, Peers: []*net.IPNet{other, mine}}))
	assert.Equal(t, 0, p.delivered(t, 500))

	// Ingress on the receiving side.
	require.NoError(t, Apply(p.a, Fault{Table: Prefix + "in", Ingress: true, Partition: true}))
	require.NoError(t, Apply(p.b, Fault{Table: table, Egress: true, LossPercent: 0}))
	assert.Equal(t, 0, p.delivered(t, 300))
	ok, err := Remove(p.a, Prefix+"in")
	require.NoError(t, err)
	assert.True(t, ok)

	ok, err = Remove(p.b, table)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = Remove(p.b, table)
	require.NoError(t, err)
	assert.False(t, ok, "a second removal finds nothing")
	names, err = Tables(p.b, Prefix)
	require.NoError(t, err)
	assert.Empty(t, names)
	assert.Equal(t, 500, p.delivered(t, 500), "removal restores everything")
}

func TestApplyRefusesBadInput(t *testing.T) {
	assert.ErrorContains(t, Apply(nil, Fault{Table: "other", Egress: true}), `does not start with "chaostest_"`)
	assert.ErrorContains(t, Apply(nil, Fault{Table: Prefix + "x"}), "neither egress nor ingress")
	assert.ErrorContains(t, Apply(nil, Fault{Table: Prefix + "x", Egress: true, LossPercent: 101}), "not within 0-100")
	assert.Equal(t, uint32(2500), Threshold(25))
	assert.Equal(t, uint32(10000), Threshold(100))
	assert.Equal(t, uint32(5), Threshold(0.05))
}
