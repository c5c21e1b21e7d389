package stress

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Hierarchy is one mounted cgroup hierarchy: a cgroup v1 hierarchy (Controllers such as
// ["cpu"], ["memory"] or ["name=systemd"]) or the cgroup v2 one (V2).
type Hierarchy struct {
	Mount       string
	Controllers []string
	V2          bool
}

// Hierarchies reads a mountinfo file (/proc/self/mountinfo) and returns the cgroup
// hierarchies mounted at or below under (for the agent: where the host's /sys/fs/cgroup is
// mounted) with their whole tree (mount root "/"). Mounts of a container's own subtree, as a
// runtime makes inside a container, are skipped: they cannot reach other containers.
func Hierarchies(mountinfo []byte, under string) []Hierarchy {
	under = filepath.Clean(under)
	var out []Hierarchy
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		// 35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:1 - cgroup cgroup rw,memory
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 || f[3] != "/" {
			continue
		}
		mnt := unescapeMount(f[4])
		if mnt != under && !strings.HasPrefix(mnt, under+"/") {
			continue
		}
		switch g[0] {
		case "cgroup2":
			out = append(out, Hierarchy{Mount: mnt, V2: true})
		case "cgroup":
			var ctl []string
			for _, o := range strings.Split(g[2], ",") {
				switch {
				case o == "rw" || o == "ro" || strings.HasPrefix(o, "relatime") || o == "noexec" || o == "nosuid" || o == "nodev" ||
					strings.HasPrefix(o, "release_agent=") || o == "clone_children" || o == "noprefix" || o == "xattr" || o == "cpuset_v2_mode":
				default:
					ctl = append(ctl, o)
				}
			}
			if len(ctl) > 0 {
				out = append(out, Hierarchy{Mount: mnt, Controllers: ctl})
			}
		}
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// maxDepth bounds the search for a container's cgroup: the kubelet's trees are at most
// kubepods/<qos>/pod<uid>/<container> deep, below an optional cgroup root.
const maxDepth = 7

// FindContainer returns the path, in the cgroup tree fsys, of the container with ID
// containerID of the pod with UID podUID: a directory whose name holds the container ID
// (cgroupfs driver: "<id>"; systemd: "cri-containerd-<id>.scope", "crio-<id>.scope",
// "docker-<id>.scope") below one whose name holds the pod UID ("pod<uid>", or with the
// systemd driver "...-pod<uid_with_underscores>.slice").
func FindContainer(fsys fs.FS, podUID, containerID string) (string, error) {
	if podUID == "" || containerID == "" {
		return "", fmt.Errorf("a pod UID and a container ID are required")
	}
	pods := []string{"pod" + podUID, "pod" + strings.ReplaceAll(podUID, "-", "_")}
	var walk func(dir string, depth int, inPod bool) string
	walk = func(dir string, depth int, inPod bool) string {
		if depth > maxDepth {
			return ""
		}
		ents, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return ""
		}
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			name, p := e.Name(), path.Join(dir, e.Name())
			if inPod && strings.Contains(name, containerID) {
				return p
			}
			pod := inPod
			for _, w := range pods {
				pod = pod || strings.Contains(name, w)
			}
			if r := walk(p, depth+1, pod); r != "" {
				return r
			}
		}
		return ""
	}
	if p := walk(".", 0, false); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("no cgroup of container %s of pod %s", containerID, podUID)
}

// ContainerDirs returns, for each hierarchy in hs, the cgroup directory of the container (the
// same relative path in every hierarchy, as the kubelet makes them; a hierarchy without it is
// skipped). The result must reach CPU and memory accounting: the cpu (or cpuacct) and memory
// v1 hierarchies, or the v2 one.
func ContainerDirs(hs []Hierarchy, podUID, containerID string) ([]string, error) {
	if len(hs) == 0 {
		return nil, fmt.Errorf("no cgroup hierarchy is mounted (is the host's /sys/fs/cgroup mounted in the agent?)")
	}
	// Search where the container's cgroup is sure to be: the v1 memory hierarchy, else any v1
	// one, else (pure cgroup v2) the v2 one. On a hybrid host the v2 tree holds no
	// controllers and is joined only when the runtime put the container there too.
	v1 := false
	for _, h := range hs {
		v1 = v1 || !h.V2
	}
	first := -1
	for i, h := range hs {
		if (v1 && has(h, "memory")) || (!v1 && h.V2) || (first < 0 && !h.V2) {
			first = i
			if has(h, "memory") || h.V2 {
				break
			}
		}
	}
	rel, err := FindContainer(os.DirFS(hs[first].Mount), podUID, containerID)
	if err != nil {
		return nil, err
	}
	var dirs []string
	cpu, mem := false, false
	for _, h := range hs {
		d := filepath.Join(h.Mount, rel)
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			if r, err := FindContainer(os.DirFS(h.Mount), podUID, containerID); err == nil {
				d = filepath.Join(h.Mount, r)
			} else {
				continue
			}
		}
		dirs = append(dirs, d)
		cpu = cpu || (h.V2 && !v1) || has(h, "cpu") || has(h, "cpuacct")
		mem = mem || (h.V2 && !v1) || has(h, "memory")
	}
	if !cpu || !mem {
		return nil, fmt.Errorf("the cgroups of container %s reach no cpu and memory controllers (found %v)", containerID, dirs)
	}
	return dirs, nil
}

func has(h Hierarchy, ctl string) bool {
	for _, c := range h.Controllers {
		if c == ctl {
			return true
		}
	}
	return false
}

// CPUUsage is the CPU time charged to a cgroup, from one of its directories (one per
// hierarchy, as ContainerDirs returns): cpu.stat usage_usec on cgroup v2, cpuacct.usage on v1.
func CPUUsage(dirs []string) (time.Duration, error) {
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(d, "cpuacct.usage")); err == nil {
			n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			return time.Duration(n), err
		}
		b, err := os.ReadFile(filepath.Join(d, "cpu.stat"))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "usage_usec "); ok {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				return time.Duration(n) * time.Microsecond, err
			}
		}
	}
	return 0, fmt.Errorf("no CPU accounting (cpuacct.usage, cpu.stat usage_usec) in %v", dirs)
}

// MemoryUsage is the memory charged to a cgroup: memory.current on cgroup v2,
// memory.usage_in_bytes on v1.
func MemoryUsage(dirs []string) (uint64, error) {
	for _, d := range dirs {
		for _, f := range []string{"memory.current", "memory.usage_in_bytes"} {
			if b, err := os.ReadFile(filepath.Join(d, f)); err == nil {
				return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no memory accounting (memory.current, memory.usage_in_bytes) in %v", dirs)
}

// Procs lists the pids in a cgroup (its cgroup.procs in the first of dirs that has one).
func Procs(dirs []string) ([]int, error) {
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		var out []int
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("no cgroup.procs in %v", dirs)
}

// MemTotal reads MemTotal from a meminfo file (procRoot/meminfo), in bytes: what a size
// given as a percentage is a share of, as in Chaos Mesh's memStress.
func MemTotal(procRoot string) (uint64, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	b, err := os.ReadFile(filepath.Join(procRoot, "meminfo"))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				n, err := strconv.ParseUint(f[0], 10, 64)
				return n * 1024, err
			}
		}
	}
	return 0, fmt.Errorf("no MemTotal in %s/meminfo", procRoot)
}
