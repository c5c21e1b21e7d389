package v1alpha1

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The objects chaosk8s's stress_cpu and stress_memory build (metadata.ns is chaosk8s's, and
// the API server drops it; direction is not a StressChaos field).
const chaosk8sCPU = `{"apiVersion":"chaos-mesh.org/v1alpha1","kind":"StressChaos",
 "metadata":{"name":"burn","ns":"demo"},
 "spec":{"selector":{"labelSelectors":{"app":"server"}},"stressors":{"cpu":{"workers":2,"load":50}},
  "mode":"one","duration":"30s","direction":"to","containerNames":null}}`

const chaosk8sMemory = `{"apiVersion":"chaos-mesh.org/v1alpha1","kind":"StressChaos",
 "metadata":{"name":"hog","ns":"demo"},
 "spec":{"selector":{"labelSelectors":{"app":"server"}},
  "stressors":{"memory":{"workers":null,"size":"256MB","time":null,"oomScoreAdj":null}},
  "mode":"all","duration":"30s","direction":"to","containerNames":["a","b"]}}`

func TestDecodeChaosk8sStress(t *testing.T) {
	var cpu StressChaos
	require.NoError(t, json.Unmarshal([]byte(chaosk8sCPU), &cpu))
	require.NoError(t, cpu.Spec.Check())
	s, err := ParseStressors(cpu.Spec.Stressors)
	require.NoError(t, err)
	assert.Equal(t, Stress{CPUWorkers: 2, CPULoad: 50}, s)
	assert.False(t, s.Memory())
	assert.Empty(t, cpu.Spec.ContainerNames)

	var mem StressChaos
	require.NoError(t, json.Unmarshal([]byte(chaosk8sMemory), &mem))
	require.NoError(t, mem.Spec.Check())
	s, err = ParseStressors(mem.Spec.Stressors)
	require.NoError(t, err)
	assert.Equal(t, Stress{MemBytes: 256e6, MemWorkers: 1}, s)
	assert.True(t, s.Memory())
	assert.Equal(t, []string{"a", "b"}, mem.Spec.ContainerNames)
	assert.Equal(t, AllMode, mem.Spec.Mode)
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]uint64{
		"256MB": 256e6, "256mb": 256e6, "256M": 256e6, "1GiB": 1 << 30, "1.5GB": 1.5e9, "64 MiB": 64 << 20,
		"4096": 4096, "10KB": 10e3, "10KiB": 10240, "2Ti": 2 << 40, "0": 0,
	} {
		b, pct, err := ParseBytes(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, b, in)
		assert.Zero(t, pct, in)
	}
	_, pct, err := ParseBytes("25%")
	require.NoError(t, err)
	assert.Equal(t, 25.0, pct)
	for _, bad := range []string{"", "MB", "12XB", "-1MB", "101%", "2.5%", "1e3MB", "99999999999TB", "1..2MB"} {
		_, _, err := ParseBytes(bad)
		assert.Error(t, err, bad)
	}
}

func TestStressCheck(t *testing.T) {
	load := func(n int) *int { return &n }
	base := func() StressChaosSpec {
		return StressChaosSpec{ContainerSelector: ContainerSelector{PodSelector: PodSelector{Mode: OneMode,
			Selector: PodSelectorSpec{LabelSelectors: map[string]string{"a": "b"}}}},
			Stressors: &Stressors{CPU: &CPUStressor{Workers: 1, Load: load(50)}}}
	}
	s := base()
	require.NoError(t, s.Check())
	bad := "soon"
	cases := []struct {
		name   string
		mod    func(*StressChaosSpec)
		msg    string
		unsupp bool
	}{
		{"no stressors", func(s *StressChaosSpec) { s.Stressors = nil }, "spec.stressors: required", false},
		{"empty stressors", func(s *StressChaosSpec) { s.Stressors = &Stressors{} }, "spec.stressors: required", false},
		{"cpu workers", func(s *StressChaosSpec) { s.Stressors.CPU.Workers = 0 }, "spec.stressors.cpu.workers 0: must be 1 to 8192", false},
		{"cpu workers max", func(s *StressChaosSpec) { s.Stressors.CPU.Workers = 8193 }, "spec.stressors.cpu.workers 8193", false},
		{"cpu load", func(s *StressChaosSpec) { s.Stressors.CPU.Load = load(101) }, "spec.stressors.cpu.load 101", false},
		{"cpu options", func(s *StressChaosSpec) { s.Stressors.CPU.Options = []string{"--cpu-method sqrt"} }, "spec.stressors.cpu.options", true},
		{"memory size", func(s *StressChaosSpec) { s.Stressors.Memory = &MemoryStressor{Workers: 1} }, "spec.stressors.memory.size: required", false},
		{"memory size zero", func(s *StressChaosSpec) { s.Stressors.Memory = &MemoryStressor{Size: "0MB"} }, "must be more than nothing", false},
		{"memory size bad", func(s *StressChaosSpec) { s.Stressors.Memory = &MemoryStressor{Size: "lots"} }, "spec.stressors.memory.size: \"lots\" is not a size", false},
		{"memory time", func(s *StressChaosSpec) { s.Stressors.Memory = &MemoryStressor{Size: "1MB", Time: "1 minute"} }, "spec.stressors.memory.time", false},
		{"memory oom", func(s *StressChaosSpec) { s.Stressors.Memory = &MemoryStressor{Size: "1MB", OOMScoreAdj: 1001} }, "oomScoreAdj 1001", false},
		{"memory options", func(s *StressChaosSpec) { s.Stressors.Memory = &MemoryStressor{Size: "1MB", Options: []string{"x"}} }, "spec.stressors.memory.options", true},
		{"stress-ng", func(s *StressChaosSpec) { s.StressngStressors = "--cpu 1" }, "spec.stressngStressors", true},
		{"remote", func(s *StressChaosSpec) { s.RemoteCluster = "b" }, "spec.remoteCluster", true},
		{"duration", func(s *StressChaosSpec) { s.Duration = &bad }, "spec.duration", false},
		{"container", func(s *StressChaosSpec) { s.ContainerNames = []string{""} }, "spec.containerNames[0]", false},
		{"mode", func(s *StressChaosSpec) { s.Mode = "" }, "spec.mode: required", false},
		{"node selector", func(s *StressChaosSpec) { s.Selector.Nodes = []string{"n"} }, "spec.selector.nodes", true},
	}
	for _, c := range cases {
		s := base()
		c.mod(&s)
		err := s.Check()
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), c.msg, c.name)
		assert.Equal(t, c.unsupp, errors.Is(err, ErrNotSupported), c.name)
	}
	s = base()
	s.Stressors.CPU.Load = nil
	s.Stressors.Memory = &MemoryStressor{Workers: 3, Size: "10%", Time: "5s", OOMScoreAdj: -500}
	require.NoError(t, s.Check())
	got, err := ParseStressors(s.Stressors)
	require.NoError(t, err)
	assert.Equal(t, Stress{CPUWorkers: 1, CPULoad: 100, MemPercent: 10, MemWorkers: 3, MemTime: 5 * time.Second, OOMScoreAdj: -500}, got)
}

func TestStressCRDParses(t *testing.T) {
	crd := StressCRD()
	assert.Equal(t, StressCRDName, crd.GetName())
	assert.Equal(t, "chaostest", crd.GetLabels()[ManagedByLabel])
}
