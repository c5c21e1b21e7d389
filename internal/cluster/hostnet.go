package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// guardComment marks the FORWARD rule that keeps pod traffic on the machine.
const guardComment = "chaostest-guard"

// command runs a host tool and returns its standard output; the error carries the command
// line and its standard error.
func command(ctx context.Context, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// hostRoute is one IPv4 route of the main table, as far as the cluster cares.
type hostRoute struct {
	Dst         netip.Prefix
	Dev         string
	Unreachable bool
}

func (r hostRoute) String() string {
	if r.Unreachable {
		return "unreachable " + r.Dst.String()
	}
	return r.Dst.String() + " dev " + r.Dev
}

// parseRoutes reads `ip -j -4 route show` output. "default" becomes 0.0.0.0/0 and a bare
// address a /32.
func parseRoutes(data []byte) ([]hostRoute, error) {
	var raw []struct {
		Type string `json:"type"`
		Dst  string `json:"dst"`
		Dev  string `json:"dev"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse ip -j route output: %w", err)
	}
	out := make([]hostRoute, 0, len(raw))
	for _, r := range raw {
		var dst netip.Prefix
		switch {
		case r.Dst == "default":
			dst = netip.MustParsePrefix("0.0.0.0/0")
		case strings.Contains(r.Dst, "/"):
			p, err := netip.ParsePrefix(r.Dst)
			if err != nil {
				return nil, fmt.Errorf("parse route destination %q: %w", r.Dst, err)
			}
			dst = p
		default:
			a, err := netip.ParseAddr(r.Dst)
			if err != nil {
				return nil, fmt.Errorf("parse route destination %q: %w", r.Dst, err)
			}
			dst = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, hostRoute{Dst: dst, Dev: r.Dev, Unreachable: r.Type == "unreachable"})
	}
	return out, nil
}

func listRoutes(ctx context.Context) ([]hostRoute, error) {
	out, err := command(ctx, "ip", "-j", "-4", "route", "show", "table", "main")
	if err != nil {
		return nil, err
	}
	return parseRoutes([]byte(out))
}

// routeTo points dst at the bridge, or makes it unreachable when dev is "".
func routeTo(ctx context.Context, dst netip.Prefix, dev string) error {
	if dev == "" {
		_, err := command(ctx, "ip", "route", "replace", "unreachable", dst.String())
		return err
	}
	_, err := command(ctx, "ip", "route", "replace", dst.String(), "dev", dev)
	return err
}

// deleteOwnRoute removes dst if it is the cluster's (unreachable or via the bridge).
func deleteOwnRoute(ctx context.Context, dst netip.Prefix, bridge string) error {
	routes, err := listRoutes(ctx)
	if err != nil {
		return err
	}
	for _, r := range routes {
		if r.Dst == dst && (r.Unreachable || r.Dev == bridge) {
			args := []string{"route", "del", dst.String()}
			if r.Unreachable {
				args = []string{"route", "del", "unreachable", dst.String()}
			}
			if _, err := command(ctx, "ip", args...); err != nil {
				return err
			}
		}
	}
	return nil
}

func linkExists(name string) bool {
	_, err := os.Stat(filepath.Join("/sys/class/net", name))
	return err == nil
}

// guardRule is the FORWARD rule (without -I/-D) that drops traffic leaving the bridge for any
// other interface.
func guardRule(bridge string) []string {
	return []string{"FORWARD", "-i", bridge, "!", "-o", bridge, "-m", "comment", "--comment", guardComment, "-j", "DROP"}
}

func ensureGuard(ctx context.Context, bridge string) error {
	if _, err := command(ctx, "iptables", append([]string{"-w", "-C"}, guardRule(bridge)...)...); err == nil {
		return nil
	}
	_, err := command(ctx, "iptables", append([]string{"-w", "-I"}, guardRule(bridge)...)...)
	return err
}

func removeGuard(ctx context.Context, bridge string) error {
	for i := 0; i < 10; i++ { // bounded: one rule per earlier insert at most
		if _, err := command(ctx, "iptables", append([]string{"-w", "-C"}, guardRule(bridge)...)...); err != nil {
			return nil
		}
		if _, err := command(ctx, "iptables", append([]string{"-w", "-D"}, guardRule(bridge)...)...); err != nil {
			return err
		}
	}
	return fmt.Errorf("iptables: guard rule for %s still present after 10 deletions", bridge)
}

// kubeChains lists the iptables chains named KUBE-* in the given table ("-S" output).
func kubeChains(ctx context.Context, ipt, table string) ([]string, error) {
	out, err := command(ctx, ipt, "-w", "-t", table, "-S")
	if err != nil {
		return nil, err
	}
	return parseKubeChains(out), nil
}

// parseKubeChains extracts the KUBE-* chain names from `iptables -S` output.
func parseKubeChains(out string) []string {
	var chains []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "-N" && strings.HasPrefix(f[1], "KUBE-") {
			chains = append(chains, f[1])
		}
	}
	return chains
}

// removeKubeChains flushes and deletes every KUBE-* chain and the jumps to them from the
// built-in chains. kube-proxy --cleanup removes its own; the kubelet's (KUBE-FIREWALL,
// KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT) stay behind otherwise.
func removeKubeChains(ctx context.Context) error {
	var errs []error
	for _, ipt := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(ipt); err != nil {
			continue
		}
		for _, table := range []string{"filter", "nat", "mangle"} {
			out, err := command(ctx, ipt, "-w", "-t", table, "-S")
			if err != nil {
				continue // table not available (e.g. no ip6tables nat)
			}
			// jumps from built-in chains first
			for _, line := range strings.Split(out, "\n") {
				f := strings.Fields(line)
				if len(f) < 2 || f[0] != "-A" || strings.HasPrefix(f[1], "KUBE-") {
					continue
				}
				if j := indexOf(f, "-j"); j > 0 && j+1 < len(f) && strings.HasPrefix(f[j+1], "KUBE-") {
					args := append([]string{"-w", "-t", table, "-D"}, f[1:]...)
					if _, err := command(ctx, ipt, unquote(args)...); err != nil {
						errs = append(errs, err)
					}
				}
			}
			chains := parseKubeChains(out)
			for _, c := range chains {
				_, _ = command(ctx, ipt, "-w", "-t", table, "-F", c)
			}
			for _, c := range chains {
				if _, err := command(ctx, ipt, "-w", "-t", table, "-X", c); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// unquote strips the double quotes iptables -S puts around comments with spaces. Arguments
// were split on spaces, so a quoted comment with spaces is rejoined.
func unquote(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, `"`) {
			parts := []string{a}
			for !strings.HasSuffix(a, `"`) || len(parts) == 1 && a == `"` {
				i++
				if i >= len(args) {
					break
				}
				a = args[i]
				parts = append(parts, a)
			}
			a = strings.Trim(strings.Join(parts, " "), `"`)
		}
		out = append(out, a)
	}
	return out
}

// sysctlKeys are the kernel settings the cluster may change, as paths under /proc/sys:
// ip_forward (the CNI bridge plugin turns it on), send_redirects (switched off so Services
// without endpoints are refused at once), route_localnet (kube-proxy), the bridge-netfilter
// switches, the conntrack table, and the vm/kernel tunables the kubelet sets when
// protectKernelDefaults is false. Each is saved before the first change and restored by Down;
// ip_forward comes first because writing it resets every interface's "forwarding".
var sysctlKeys = []string{
	"net/ipv4/ip_forward",
	"net/ipv4/conf/all/forwarding",
	"net/ipv4/conf/default/forwarding",
	"net/ipv4/conf/all/send_redirects",
	"net/ipv4/conf/default/send_redirects",
	"net/ipv4/conf/all/route_localnet",
	"net/ipv4/conf/default/route_localnet",
	"net/bridge/bridge-nf-call-iptables",
	"net/bridge/bridge-nf-call-ip6tables",
	"net/netfilter/nf_conntrack_max",
	"net/netfilter/nf_conntrack_tcp_timeout_established",
	"net/netfilter/nf_conntrack_tcp_timeout_close_wait",
	"net/ipv6/conf/all/forwarding",
	"vm/overcommit_memory",
	"vm/panic_on_oom",
	"kernel/panic",
	"kernel/panic_on_oops",
	"kernel/keys/root_maxkeys",
	"kernel/keys/root_maxbytes",
}

// sysctlSnapshot maps sysctl paths (under /proc/sys) to values.
type sysctlSnapshot map[string]string

// readSysctls reads the given keys (missing keys are left out) from root (normally /proc/sys).
func readSysctls(root string, keys []string) sysctlSnapshot {
	s := sysctlSnapshot{}
	for _, k := range keys {
		b, err := os.ReadFile(filepath.Join(root, k))
		if err == nil {
			s[k] = strings.TrimSpace(string(b))
		}
	}
	return s
}

// interfaceSysctlKeys are the per-interface settings that ip_forward rewrites.
func interfaceSysctlKeys(iface string) []string {
	return []string{"net/ipv4/conf/" + iface + "/forwarding", "net/ipv4/conf/" + iface + "/send_redirects"}
}

// restoreSysctls writes back every value of want that differs from what root holds now, in
// the order of keys (then the remaining keys sorted), and returns what it changed.
func restoreSysctls(root string, want sysctlSnapshot, keys []string) ([]string, error) {
	order := make([]string, 0, len(want))
	seen := map[string]bool{}
	for _, k := range keys {
		if _, ok := want[k]; ok && !seen[k] {
			order = append(order, k)
			seen[k] = true
		}
	}
	var rest []string
	for k := range want {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	order = append(order, rest...)
	var changed []string
	var errs []error
	for _, k := range order {
		p := filepath.Join(root, k)
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone (e.g. an interface that no longer exists)
		}
		if strings.TrimSpace(string(b)) == want[k] {
			continue
		}
		if err := os.WriteFile(p, []byte(want[k]+"\n"), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("restore sysctl %s=%s: %w", strings.ReplaceAll(k, "/", "."), want[k], err))
			continue
		}
		changed = append(changed, k)
	}
	return changed, errors.Join(errs...)
}

func writeSysctl(key, value string) error {
	if err := os.WriteFile(filepath.Join("/proc/sys", key), []byte(value+"\n"), 0o644); err != nil {
		return fmt.Errorf("set sysctl %s=%s: %w", strings.ReplaceAll(key, "/", "."), value, err)
	}
	return nil
}

// mountsUnder returns the mount points below (or at) any of the roots, deepest first, from
// /proc/self/mountinfo content.
func mountsUnder(mountinfo string, roots ...string) []string {
	var out []string
	for _, line := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		for _, r := range roots {
			r = strings.TrimRight(r, "/")
			if mp == r || strings.HasPrefix(mp, r+"/") {
				out = append(out, mp)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] > out[j]
	})
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
