package tc

import (
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/agent/internal/nettest"
)

// pair makes two fresh network namespaces joined by a veth pair (10.253.0.1 in a, 10.253.0.2
// in b) and returns b, with a TCP listener in a. Nothing leaves the machine.
func pair(t *testing.T) (b *os.File, ln net.Listener, dialB func() (net.Conn, error)) {
	t.Helper()
	a, b := nettest.Pair(t, "t", "10.253.0")
	require.NoError(t, nettest.In(a, func() (err error) {
		ln, err = net.Listen("tcp4", "10.253.0.1:9100")
		return err
	}))
	t.Cleanup(func() { ln.Close() })
	dialB = func() (c net.Conn, err error) {
		err = nettest.In(b, func() (err error) {
			c, err = net.DialTimeout("tcp4", "10.253.0.1:9100", 5*time.Second)
			return err
		})
		return c, err
	}
	return b, ln, dialB
}

// throughput sends n bytes from b to a over TCP and returns the rate the receiver saw, in
// bytes per second (from the first byte to the last).
func throughput(t *testing.T, ln net.Listener, dial func() (net.Conn, error), n int) float64 {
	t.Helper()
	type res struct {
		rate float64
		err  error
	}
	got := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- res{err: err}
			return
		}
		defer c.Close()
		buf := make([]byte, 64<<10)
		k, err := c.Read(buf)
		if err != nil {
			got <- res{err: err}
			return
		}
		_ = k // the clock starts after the first read
		start := time.Now()
		rest, err := io.CopyBuffer(io.Discard, c, buf)
		got <- res{rate: float64(rest) / time.Since(start).Seconds(), err: err}
	}()
	c, err := dial()
	require.NoError(t, err)
	chunk := make([]byte, 32<<10)
	for sent := 0; sent < n; sent += len(chunk) {
		_, err := c.Write(chunk)
		require.NoError(t, err)
	}
	c.Close()
	r := <-got
	require.NoError(t, r.err)
	return r.rate
}

// A TBF of 1 MB/s on b's link: TCP from b to a runs at that rate (±15 %); removal restores the
// link's speed and leaves no chaostest qdisc.
func TestBandwidthAccuracyAndRemoval(t *testing.T) {
	b, ln, dial := pair(t)
	free := throughput(t, ln, dial, 8<<20)
	t.Logf("unshaped: %.1f MB/s", free/1e6)
	for _, rate := range []uint64{1_000_000, 250_000} {
		require.NoError(t, Apply(b, Bandwidth{Rate: rate, Limit: 20 << 20, Buffer: 10000}))
		names, err := Shaped(b)
		require.NoError(t, err)
		assert.Equal(t, []string{"tb"}, names)
		n := int(rate) * 5 / 2 // 2.5 s worth
		got := throughput(t, ln, dial, n)
		t.Logf("asked %d B/s, observed %.0f B/s (%+.1f %%) over %d bytes", rate, got, 100*(got-float64(rate))/float64(rate), n)
		assert.InEpsilon(t, float64(rate), got, 0.15, "within ±15 %%")
	}
	ok, err := Remove(b)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = Remove(b)
	require.NoError(t, err)
	assert.False(t, ok, "a second removal finds nothing")
	names, err := Shaped(b)
	require.NoError(t, err)
	assert.Empty(t, names)
	after := throughput(t, ln, dial, 8<<20)
	assert.Greater(t, after, 10e6, "unshaped again")
}

func TestApplyRefusesBadInput(t *testing.T) {
	assert.ErrorContains(t, Apply(nil, Bandwidth{Rate: 0, Limit: 1, Buffer: 1}), "must all be positive")
}
