package stress

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestArgsRoundTrip(t *testing.T) {
	s := Spec{CPUWorkers: 3, CPULoad: 40, MemBytes: 64 << 20, MemWorkers: 2, MemTime: 1500 * time.Millisecond}
	args := s.Args("uid/ns/pod/c")
	assert.Equal(t, Subcommand, args[0])
	got, tag, err := ParseArgs(args[1:])
	require.NoError(t, err)
	assert.Equal(t, s, got)
	assert.Equal(t, "uid/ns/pod/c", tag)
	_, _, err = ParseArgs([]string{"--cpu-load=101"})
	assert.Error(t, err)
	_, _, err = ParseArgs([]string{"--frobnicate=1"})
	assert.Error(t, err)
	got, _, err = ParseArgs([]string{"--mem-bytes=10"})
	require.NoError(t, err)
	assert.Equal(t, 1, got.MemWorkers, "memory without workers has one")
}

// This machine's mountinfo (cgroup v1 with a v2 "unified" tree), a pure v2 host, and inside a
// container: its own subtree (root not "/") is skipped, the host's tree mounted at
// /host/sys/fs/cgroup is kept.
func TestHierarchies(t *testing.T) {
	v1 := `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/x,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 22 0:40 / /proc/sys rw - proc proc rw
`
	assert.Equal(t, []Hierarchy{
		{Mount: "/sys/fs/cgroup/cpu", Controllers: []string{"cpu"}},
		{Mount: "/sys/fs/cgroup/cpuacct", Controllers: []string{"cpuacct"}},
		{Mount: "/sys/fs/cgroup/memory", Controllers: []string{"memory"}},
		{Mount: "/sys/fs/cgroup/systemd", Controllers: []string{"name=systemd"}},
		{Mount: "/sys/fs/cgroup/unified", V2: true},
	}, Hierarchies([]byte(v1), "/sys/fs/cgroup"))
	v2 := "28 22 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
	assert.Equal(t, []Hierarchy{{Mount: "/sys/fs/cgroup", V2: true}}, Hierarchies([]byte(v2), "/sys/fs/cgroup/"))
	inContainer := `700 690 0:29 /kubepods/besteffort/podx/abc /sys/fs/cgroup/cpu ro,relatime - cgroup cgroup rw,cpu
710 690 0:32 / /host/sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
711 690 0:29 / /host/sys/fs/cgroup/cpu\040x rw,relatime - cgroup cgroup rw,cpu,cpuacct
`
	assert.Empty(t, Hierarchies([]byte(inContainer), "/sys/fs/cgroup"))
	assert.Equal(t, []Hierarchy{
		{Mount: "/host/sys/fs/cgroup/memory", Controllers: []string{"memory"}},
		{Mount: "/host/sys/fs/cgroup/cpu x", Controllers: []string{"cpu", "cpuacct"}},
	}, Hierarchies([]byte(inContainer), "/host/sys/fs/cgroup"))
}

// The kubelet's layouts: cgroupfs driver (kubepods/<qos>/pod<uid>/<id>) and systemd driver
// (...-pod<uid_>.slice/cri-containerd-<id>.scope); another pod's container of the same name
// prefix is not taken, nor the container ID outside the pod.
func TestFindContainer(t *testing.T) {
	uid, other := "0f1e2d3c-aaaa-bbbb-cccc-123456789abc", "99999999-aaaa-bbbb-cccc-123456789abc"
	cid := "4f8a9d1c0b7e"
	dir := &fstest.MapFile{Mode: os.ModeDir | 0o755}
	cgroupfs := fstest.MapFS{
		"kubepods/besteffort/pod" + other + "/" + cid + "ff/cgroup.procs": {},
		"kubepods/burstable/pod" + uid + "/" + cid + "/cgroup.procs":      {},
		"kubepods/burstable/pod" + uid + "/pause0000/cgroup.procs":        {},
		"system.slice/" + cid + "/cgroup.procs":                           {},
	}
	got, err := FindContainer(cgroupfs, uid, cid)
	require.NoError(t, err)
	assert.Equal(t, "kubepods/burstable/pod"+uid+"/"+cid, got)

	under := strings.ReplaceAll(uid, "-", "_")
	systemd := fstest.MapFS{
		"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + under + ".slice/cri-containerd-" + cid + ".scope/cgroup.procs": {},
		"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + under + ".slice/cri-containerd-abcdef.scope":                   dir,
	}
	got, err = FindContainer(systemd, uid, cid)
	require.NoError(t, err)
	assert.Equal(t, "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"+under+".slice/cri-containerd-"+cid+".scope", got)

	_, err = FindContainer(cgroupfs, uid, "nothere")
	assert.ErrorContains(t, err, "no cgroup of container nothere")
	_, err = FindContainer(cgroupfs, "", cid)
	assert.Error(t, err)
}

func TestUsageFiles(t *testing.T) {
	v1, v2 := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(v1, "cpuacct.usage"), []byte("2500000000\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(v1, "memory.usage_in_bytes"), []byte("1048576\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(v1, "cgroup.procs"), []byte("12\n34\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(v2, "cpu.stat"), []byte("usage_usec 1500000\nuser_usec 1000000\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(v2, "memory.current"), []byte("2097152\n"), 0o644))
	d, err := CPUUsage([]string{t.TempDir(), v1})
	require.NoError(t, err)
	assert.Equal(t, 2500*time.Millisecond, d)
	d, err = CPUUsage([]string{v2})
	require.NoError(t, err)
	assert.Equal(t, 1500*time.Millisecond, d)
	m, err := MemoryUsage([]string{v1})
	require.NoError(t, err)
	assert.Equal(t, uint64(1<<20), m)
	m, err = MemoryUsage([]string{v2})
	require.NoError(t, err)
	assert.Equal(t, uint64(2<<20), m)
	p, err := Procs([]string{v2, v1})
	require.NoError(t, err)
	assert.Equal(t, []int{12, 34}, p)
	_, err = CPUUsage([]string{t.TempDir()})
	assert.Error(t, err)

	proc := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(proc, "meminfo"), []byte("MemTotal:       24684072 kB\nMemFree: 1 kB\n"), 0o644))
	n, err := MemTotal(proc)
	require.NoError(t, err)
	assert.Equal(t, uint64(24684072*1024), n)
}
