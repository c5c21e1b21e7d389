package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Down stops the local cluster described by c and undoes what it did to the machine: it stops
// the recorded processes by PID (kubelet first, so nothing restarts containers; the control
// plane last), kills the node's containers and their shims, removes kube-proxy's and the
// kubelet's iptables chains and the FORWARD guard, unmounts everything below StateDir and
// RunDir, removes the pods' network namespaces, the bridge, the cluster routes and the
// kubelet's cgroups, and restores every sysctl it changed. With wipe it also deletes StateDir
// and RunDir (certificates, etcd data, imported images); built binaries stay cached. Down on a
// stopped cluster does nothing and succeeds.
func Down(ctx context.Context, c Config, w io.Writer, wipe bool) error {
	w = orDiscard(w)
	if err := c.validate(); err != nil {
		return err
	}
	if _, err := os.Stat(c.StateDir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	unlock, err := lockFile(ctx, c.lockFile())
	if err != nil {
		return err
	}
	err = down(ctx, c, w, wipe)
	unlock()
	if wipe && err == nil {
		for _, d := range []string{c.StateDir, c.RunDir} {
			if m := mountsUnder(readMountinfo(), d); len(m) > 0 {
				return fmt.Errorf("not wiping %s: still mounted: %s", d, strings.Join(m, " "))
			}
			if err := os.RemoveAll(d); err != nil {
				return err
			}
		}
		fmt.Fprintf(w, "wiped %s and %s\n", c.StateDir, c.RunDir)
	}
	return err
}

func readMountinfo() string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	return string(b)
}

func down(ctx context.Context, c Config, w io.Writer, _ bool) error {
	p := c.procs()
	var errs []error
	note := func(err error) {
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	stop := func(name string) {
		stopped, err := p.stop(name, 10*time.Second)
		note(err)
		if stopped {
			fmt.Fprintf(w, "stopped %s\n", name)
		}
	}
	// --- the node ---
	stop("kubelet")
	netns := podNetns(ctx, c)
	if p.running("containerd") {
		ctr := []string{"--address", c.ContainerdSocket(), "--namespace", "k8s.io"}
		if out, err := command(ctx, "ctr", append(ctr, "tasks", "ls", "-q")...); err == nil {
			for _, id := range strings.Fields(out) {
				_, _ = command(ctx, "ctr", append(ctr, "tasks", "kill", "--signal", "SIGKILL", id)...)
			}
		}
	}
	// container processes are in the kubelet's cgroup tree; shims name our socket
	killAll(scanProcs(func(pi procInfo) bool { return strings.Contains(pi.Cgroup, "/kubepods") }), syscall.SIGKILL)
	shims := scanProcs(func(pi procInfo) bool {
		return len(pi.Cmdline) > 0 && strings.Contains(pi.Cmdline[0], "containerd-shim") && indexOf(pi.Cmdline, c.ContainerdSocket()) > 0
	})
	stop("containerd")
	killAll(shims, syscall.SIGKILL)
	if _, ok := p.get("kube-proxy"); ok {
		stop("kube-proxy")
		if _, err := os.Stat(c.Bin("kube-proxy")); err == nil {
			_, _ = command(ctx, c.Bin("kube-proxy"), "--cleanup")
		}
	}
	if os.Geteuid() == 0 {
		note(removeKubeChains(ctx))
		note(removeGuard(ctx, c.Bridge))
	}
	// mounts: container root filesystems, shm, kubelet volumes; then the pods' network namespaces
	for _, m := range mountsUnder(readMountinfo(), c.StateDir, c.RunDir) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			note(fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	for _, n := range netns {
		_ = syscall.Unmount(n, syscall.MNT_DETACH)
		if err := os.Remove(n); err != nil && !errors.Is(err, os.ErrNotExist) {
			note(err)
		}
	}
	if linkExists(c.Bridge) {
		_, err := command(ctx, "ip", "link", "del", c.Bridge)
		note(err)
	}
	if plan, err := planNetwork(c.PodCIDR, c.ServiceCIDR); err == nil && os.Geteuid() == 0 {
		for _, dst := range []netip.Prefix{plan.ServiceCIDR, plan.PodCIDR} {
			note(deleteOwnRoute(ctx, dst, c.Bridge))
		}
	}
	note(restoreSavedSysctls(c, w))
	removeCgroups("/sys/fs/cgroup", "kubepods")
	// pod IP reservations and kubelet pod state belong to the containers just removed
	if len(mountsUnder(readMountinfo(), c.StateDir)) == 0 {
		note(os.RemoveAll(filepath.Join(c.StateDir, "cni", "ipam")))
		note(os.RemoveAll(filepath.Join(c.StateDir, "kubelet", "root")))
	}
	// --- the control plane ---
	for i := len(controlPlane) - 1; i >= 0; i-- {
		stop(controlPlane[i])
	}
	note(os.Remove(c.infoFile()))
	note(os.Remove(c.setupMarker()))
	return errors.Join(errs...)
}

// podNetns returns the network namespace paths of the node's containers, from containerd's
// container specs (while it still runs).
func podNetns(ctx context.Context, c Config) []string {
	if _, err := os.Stat(c.ContainerdSocket()); err != nil {
		return nil
	}
	ctr := []string{"--address", c.ContainerdSocket(), "--namespace", "k8s.io"}
	out, err := command(ctx, "ctr", append(ctr, "containers", "ls", "-q")...)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var paths []string
	for _, id := range strings.Fields(out) {
		info, err := command(ctx, "ctr", append(ctr, "containers", "info", id)...)
		if err != nil {
			continue
		}
		for _, p := range netnsFromContainerInfo([]byte(info)) {
			if !seen[p] {
				seen[p] = true
				paths = append(paths, p)
			}
		}
	}
	return paths
}

// netnsFromContainerInfo extracts network namespace paths from `ctr containers info` JSON.
func netnsFromContainerInfo(data []byte) []string {
	var info struct {
		Spec struct {
			Linux struct {
				Namespaces []struct {
					Type string `json:"type"`
					Path string `json:"path"`
				} `json:"namespaces"`
			} `json:"linux"`
		} `json:"Spec"`
	}
	if json.Unmarshal(data, &info) != nil {
		return nil
	}
	var out []string
	for _, n := range info.Spec.Linux.Namespaces {
		if n.Type == "network" && n.Path != "" && strings.Contains(n.Path, "/netns/") {
			out = append(out, n.Path)
		}
	}
	return out
}

func killAll(ps []procInfo, sig syscall.Signal) {
	for _, pi := range ps {
		r := procRecord{Name: "pid", PID: pi.PID, Start: pi.Start}
		if r.alive() {
			_ = syscall.Kill(pi.PID, sig)
		}
	}
	for i := 0; i < 50; i++ {
		any := false
		for _, pi := range ps {
			if (procRecord{PID: pi.PID, Start: pi.Start}).alive() {
				any = true
			}
		}
		if !any {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// removeCgroups deletes the named cgroup subtree (deepest first) in every hierarchy below
// root: the kubelet's "kubepods" tree with the cgroupfs driver.
func removeCgroups(root, name string) {
	hier, _ := os.ReadDir(root)
	for _, h := range hier {
		top := filepath.Join(root, h.Name(), name)
		if _, err := os.Stat(top); err != nil {
			continue
		}
		var dirs []string
		_ = filepath.WalkDir(top, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			_ = os.Remove(dirs[i])
		}
	}
}
