package cluster

import (
	"fmt"
	"net/netip"
)

// netPlan is the address plan derived from the configured pod and service ranges.
type netPlan struct {
	PodCIDR      netip.Prefix // all pods (routed to the bridge)
	ServiceCIDR  netip.Prefix // all ClusterIPs (routed to the bridge)
	NodeSubnet   netip.Prefix // the real node's pods: first /24 of PodCIDR
	Gateway      netip.Addr   // the bridge's address: first host of NodeSubnet
	KwokCIDR     netip.Prefix // kwok's fake pod IPs: upper half of PodCIDR
	APIServiceIP netip.Addr   // ClusterIP of the "kubernetes" Service: first host of ServiceCIDR
}

// planNetwork checks the two ranges and derives the per-node pieces from them. Both must be
// IPv4, private (RFC 1918, so nothing on the internet is shadowed), between /8 and /23 for the
// pod range and /8 and /28 for services, and must not overlap.
func planNetwork(podCIDR, serviceCIDR string) (netPlan, error) {
	var p netPlan
	pod, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return p, fmt.Errorf("cluster config: PodCIDR: %w", err)
	}
	svc, err := netip.ParsePrefix(serviceCIDR)
	if err != nil {
		return p, fmt.Errorf("cluster config: ServiceCIDR: %w", err)
	}
	pod, svc = pod.Masked(), svc.Masked()
	if pod.String() != podCIDR {
		return p, fmt.Errorf("cluster config: PodCIDR %q has host bits set, want %s", podCIDR, pod)
	}
	if svc.String() != serviceCIDR {
		return p, fmt.Errorf("cluster config: ServiceCIDR %q has host bits set, want %s", serviceCIDR, svc)
	}
	for _, r := range []struct {
		name     string
		p        netip.Prefix
		min, max int
	}{{"PodCIDR", pod, 8, 23}, {"ServiceCIDR", svc, 8, 28}} {
		if !r.p.Addr().Is4() {
			return p, fmt.Errorf("cluster config: %s %s must be IPv4", r.name, r.p)
		}
		if !r.p.Addr().IsPrivate() || !isPrivatePrefix(r.p) {
			return p, fmt.Errorf("cluster config: %s %s must lie inside a private range (10/8, 172.16/12, 192.168/16)", r.name, r.p)
		}
		if r.p.Bits() < r.min || r.p.Bits() > r.max {
			return p, fmt.Errorf("cluster config: %s %s must be between /%d and /%d", r.name, r.p, r.min, r.max)
		}
	}
	if pod.Overlaps(svc) {
		return p, fmt.Errorf("cluster config: PodCIDR %s overlaps ServiceCIDR %s", pod, svc)
	}
	p.PodCIDR, p.ServiceCIDR = pod, svc
	p.NodeSubnet = netip.PrefixFrom(pod.Addr(), 24)
	p.Gateway = pod.Addr().Next()
	half := pod.Bits() + 1
	upper := pod.Addr().As4()
	// set the first host bit of the pod range: the start of its upper half
	bit := pod.Bits()
	upper[bit/8] |= 0x80 >> (bit % 8)
	p.KwokCIDR = netip.PrefixFrom(netip.AddrFrom4(upper), half)
	p.APIServiceIP = svc.Addr().Next()
	return p, nil
}

var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
}

// isPrivatePrefix reports whether the whole prefix lies inside one private range.
func isPrivatePrefix(p netip.Prefix) bool {
	for _, r := range privateRanges {
		if r.Bits() <= p.Bits() && r.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// conflictingRoutes returns the host routes (as "ip route" prints their destination) that
// overlap the plan's ranges and are not the cluster's own (dev bridge or unreachable).
// Such a route means another network already uses the addresses, so the cluster must not start.
func (p netPlan) conflictingRoutes(routes []hostRoute, bridge string) []hostRoute {
	var out []hostRoute
	for _, r := range routes {
		if r.Dst == (netip.Prefix{}) || r.Dst.Bits() == 0 {
			continue // default route: everything overlaps it, and the cluster's own routes are more specific
		}
		if !r.Dst.Overlaps(p.PodCIDR) && !r.Dst.Overlaps(p.ServiceCIDR) {
			continue
		}
		own := (r.Dst == p.PodCIDR || r.Dst == p.ServiceCIDR || r.Dst == p.NodeSubnet) && (r.Dev == bridge || r.Unreachable)
		if !own {
			out = append(out, r)
		}
	}
	return out
}
