// Package nettest holds what the agent's kernel-side tests share: two fresh network namespaces
// joined by a veth pair, running code inside one, and UDP receive buffers that hold a burst.
// Nothing it sets up leaves the machine.
package nettest

import (
	"net"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Pair creates two fresh network namespaces a and b joined by a veth pair (name+"a" in a,
// name+"b" in b) with the addresses subnet+".1/30" in a and subnet+".2/30" in b, every link
// and the loopbacks up (as in a pod: an ingress copy arrives through lo). It skips the test
// when not root. The namespaces are closed at the end of the test.
func Pair(t testing.TB, name, subnet string) (a, b *os.File) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_NET_ADMIN) to create network namespaces")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	require.NoError(t, err)
	defer func() { require.NoError(t, netns.Set(orig)); orig.Close() }()
	na, err := netns.New()
	require.NoError(t, err)
	nb, err := netns.New()
	require.NoError(t, err)
	require.NoError(t, netns.Set(na))
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name + "a"}, PeerName: name + "b", PeerNamespace: netlink.NsFd(int(nb))}
	require.NoError(t, netlink.LinkAdd(veth))
	for _, x := range []struct {
		ns         netns.NsHandle
		link, addr string
	}{{na, name + "a", subnet + ".1/30"}, {nb, name + "b", subnet + ".2/30"}} {
		h, err := netlink.NewHandleAt(x.ns)
		require.NoError(t, err)
		l, err := h.LinkByName(x.link)
		require.NoError(t, err)
		ad, err := netlink.ParseAddr(x.addr)
		require.NoError(t, err)
		require.NoError(t, h.AddrAdd(l, ad))
		require.NoError(t, h.LinkSetUp(l))
		lo, err := h.LinkByName("lo")
		require.NoError(t, err)
		require.NoError(t, h.LinkSetUp(lo))
		h.Close()
	}
	a, b = os.NewFile(uintptr(na), "ns-a"), os.NewFile(uintptr(nb), "ns-b")
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// In runs f on a thread inside ns (sockets f opens stay in ns) and returns f's error, or the
// error of entering ns.
func In(ns *os.File, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the thread is dropped when the goroutine ends
		if err := netns.Set(netns.NsHandle(ns.Fd())); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

// ForceReadBuffer gives c an 8 MiB receive buffer (SO_RCVBUFFORCE, past net.core.rmem_max: the
// tests run as root), so that a burst is held whole while a loaded machine delays the reader:
// a datagram the socket had no room for would count as one the fault dropped.
func ForceReadBuffer(t testing.TB, c *net.UDPConn) {
	t.Helper()
	raw, err := c.SyscallConn()
	require.NoError(t, err)
	var serr error
	require.NoError(t, raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	}))
	require.NoError(t, serr)
}
