// Package tc is the bandwidth side of chaostest's network faults: a token bucket filter (TBF)
// as the root qdisc of every non-loopback link inside a pod's network namespace, made with
// github.com/vishvananda/netlink. The qdisc carries chaostest's handle ([Handle]), so a leftover
// is visible ([Shaped]) and removal ([Remove]) touches only what chaostest made.
package tc

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Handle is the handle of the root qdisc chaostest installs ("4354:", "CT").
var Handle = netlink.MakeHandle(0x4354, 0)

// Bandwidth is a TBF: Rate in bytes per second, Limit the bytes that may wait in the queue,
// Buffer the bucket size in bytes (the burst).
type Bandwidth struct {
	Rate          uint64
	Limit, Buffer uint32
}

func handle(ns *os.File) (*netlink.Handle, error) {
	if ns == nil {
		return netlink.NewHandle()
	}
	return netlink.NewHandleAt(netns.NsHandle(ns.Fd()))
}

func links(h *netlink.Handle) ([]netlink.Link, error) {
	all, err := h.LinkList()
	if err != nil {
		return nil, err
	}
	var out []netlink.Link
	for _, l := range all {
		if l.Attrs().Flags&net.FlagLoopback == 0 && l.Attrs().Name != "lo" {
			out = append(out, l)
		}
	}
	return out, nil
}

// Apply installs (or replaces) the TBF b as the root qdisc of every non-loopback link of ns
// (nil: the caller's), shaping what the namespace sends.
func Apply(ns *os.File, b Bandwidth) error {
	if b.Rate == 0 || b.Limit == 0 || b.Buffer == 0 {
		return fmt.Errorf("tc: rate %d B/s, limit %d B and buffer %d B must all be positive", b.Rate, b.Limit, b.Buffer)
	}
	h, err := handle(ns)
	if err != nil {
		return fmt.Errorf("tc: netlink: %w", err)
	}
	defer h.Close()
	ls, err := links(h)
	if err != nil {
		return fmt.Errorf("tc: listing links: %w", err)
	}
	if len(ls) == 0 {
		return fmt.Errorf("tc: no link to shape in the network namespace")
	}
	for _, l := range ls {
		q := &netlink.Tbf{
			QdiscAttrs: netlink.QdiscAttrs{LinkIndex: l.Attrs().Index, Handle: Handle, Parent: netlink.HANDLE_ROOT},
			Rate:       b.Rate,
			Limit:      b.Limit,
			Buffer:     netlink.Xmittime(b.Rate, b.Buffer),
		}
		if err := h.QdiscReplace(q); err != nil {
			return fmt.Errorf("tc: TBF on %s: %w", l.Attrs().Name, err)
		}
	}
	return nil
}

// Shaped lists the links of ns whose root qdisc is chaostest's.
func Shaped(ns *os.File) ([]string, error) {
	h, err := handle(ns)
	if err != nil {
		return nil, fmt.Errorf("tc: netlink: %w", err)
	}
	defer h.Close()
	ls, err := links(h)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range ls {
		qs, err := h.QdiscList(l)
		if err != nil {
			return nil, err
		}
		for _, q := range qs {
			if a := q.Attrs(); a.Parent == netlink.HANDLE_ROOT && a.Handle == Handle {
				out = append(out, l.Attrs().Name)
			}
		}
	}
	return out, nil
}

// Remove deletes chaostest's root qdisc from every link of ns that has it (the link falls back
// to its default qdisc); it reports whether there was one.
func Remove(ns *os.File) (bool, error) {
	names, err := Shaped(ns)
	if err != nil || len(names) == 0 {
		return false, err
	}
	h, err := handle(ns)
	if err != nil {
		return false, fmt.Errorf("tc: netlink: %w", err)
	}
	defer h.Close()
	for _, name := range names {
		l, err := h.LinkByName(name)
		if err != nil {
			continue
		}
		err = h.QdiscDel(&netlink.Tbf{QdiscAttrs: netlink.QdiscAttrs{LinkIndex: l.Attrs().Index, Handle: Handle, Parent: netlink.HANDLE_ROOT}})
		if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) {
			return true, fmt.Errorf("tc: removing the TBF of %s: %w", name, err)
		}
	}
	return true, nil
}
