package cluster

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPlanNetworkDerivesNodeSubnetKwokRangeAndAPIServiceIP(t *testing.T) {
	p, err := planNetwork("10.245.0.0/16", "10.97.0.0/16")
	require.NoError(t, err)
	assert.Equal(t, "10.245.0.0/24", p.NodeSubnet.String())
	assert.Equal(t, "10.245.0.1", p.Gateway.String())
	assert.Equal(t, "10.245.128.0/17", p.KwokCIDR.String())
	assert.Equal(t, "10.97.0.1", p.APIServiceIP.String())

	p, err = planNetwork("172.20.0.0/20", "192.168.10.0/24")
	require.NoError(t, err)
	assert.Equal(t, "172.20.0.0/24", p.NodeSubnet.String())
	assert.Equal(t, "172.20.8.0/21", p.KwokCIDR.String())
	assert.Equal(t, "192.168.10.1", p.APIServiceIP.String())
}

func TestPlanNetworkRejectsUnsafeRanges(t *testing.T) {
	for _, tc := range []struct{ pod, svc, want string }{
		{"8.8.0.0/16", "10.97.0.0/16", "private range"},
		{"10.245.0.0/16", "100.64.0.0/16", "private range"},
		{"10.0.0.0/7", "10.97.0.0/16", "private range"},
		{"10.245.0.0/16", "10.245.128.0/20", "overlaps"},
		{"10.245.0.0/25", "10.97.0.0/16", "between /8 and /23"},
		{"10.245.1.0/16", "10.97.0.0/16", "host bits"},
		{"fd00::/64", "10.97.0.0/16", "IPv4"},
		{"not-a-cidr", "10.97.0.0/16", "PodCIDR"},
	} {
		_, err := planNetwork(tc.pod, tc.svc)
		require.Error(t, err, "pod %s svc %s", tc.pod, tc.svc)
		assert.Contains(t, err.Error(), tc.want, "pod %s svc %s", tc.pod, tc.svc)
	}
}

func TestConflictingRoutesIgnoresDefaultAndOwnRoutes(t *testing.T) {
	p, err := planNetwork("10.245.0.0/16", "10.97.0.0/16")
	require.NoError(t, err)
	pfx := netip.MustParsePrefix
	routes := []hostRoute{
		{Dst: pfx("0.0.0.0/0"), Dev: "eth0"},
		{Dst: pfx("192.0.2.0/24"), Dev: "eth0"},
		{Dst: pfx("10.97.0.0/16"), Unreachable: true},
		{Dst: pfx("10.245.0.0/16"), Dev: "chaostest0"},
		{Dst: pfx("10.245.0.0/24"), Dev: "chaostest0"},
		{Dst: pfx("10.0.0.0/8"), Dev: "wg0"},
		{Dst: pfx("10.245.3.0/24"), Dev: "docker0"},
	}
	got := p.conflictingRoutes(routes, "chaostest0")
	assert.Equal(t, []hostRoute{{Dst: pfx("10.0.0.0/8"), Dev: "wg0"}, {Dst: pfx("10.245.3.0/24"), Dev: "docker0"}}, got)
}
