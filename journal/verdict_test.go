package journal

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/chaostest/chaostest/jsonvalue"
)

func TestVerdictOf(t *testing.T) {
	probe := func(name, status string, met bool, exc ...string) *Run {
		return &Run{Activity: jsonvalue.NewObject("type", "probe", "name", name), Status: status, ToleranceMet: boolp(met), Exception: exc}
	}
	cases := []struct {
		name  string
		j     *Journal
		want  string
		words string
		ok    bool
	}{
		{"nil", nil, "failed", "no journal", false},
		{"interrupted beats deviated", &Journal{Status: StatusInterrupted, Deviated: true}, "interrupted",
			"The run was interrupted (signal or control) before it finished. The system also deviated from its steady state.", false},
		{"aborted names the activity", &Journal{Status: StatusAborted, Run: []*Run{{Activity: jsonvalue.NewObject("name", "ok"), Status: RunSucceeded}, {Activity: jsonvalue.NewObject("name", "bad-url")}}}, "aborted",
			`The run was aborted by an error outside an activity (during "bad-url").`, false},
		{"failed before", &Journal{Status: StatusFailed, SteadyStates: SteadyStates{Before: &State{Probes: []*Run{probe("p", RunFailed, false, "Traceback\n", "chaoslib.exceptions.ActivityFailed: boom\n")}}}}, "failed",
			`The run failed: probe "p" raised in the steady-state check before the method (boom).`, false},
		{"failed by fail-fast", &Journal{Status: StatusFailed, SteadyStates: SteadyStates{During: []*State{{SteadyStateMet: true}, {SteadyStateMet: false}}}}, "failed",
			"The run failed: the steady state was missed during the method (fail-fast).", false},
		{"deviated", &Journal{Status: StatusCompleted, Deviated: true, SteadyStates: SteadyStates{After: &State{Probes: []*Run{probe("ok", RunSucceeded, true), probe("latency", RunSucceeded, false)}}}}, "deviated",
			`The system deviated: the steady state did not hold after the method (probe "latency" missed its tolerance).`, false},
		{"inconclusive", &Journal{Status: StatusCompleted, SteadyStates: SteadyStates{Before: &State{Probes: []*Run{probe("up", RunSucceeded, false)}}}}, "completed",
			`Completed, but inconclusive: the steady state was not met before the method, so the method did not run (probe "up" missed its tolerance).`, true},
		{"completed with failed method activity", &Journal{Status: StatusCompleted, SteadyStates: SteadyStates{Before: &State{SteadyStateMet: true}, After: &State{SteadyStateMet: true}}, Run: []*Run{{Status: RunFailed}, {Status: RunFailed}}}, "completed",
			"Completed: the steady state held; 2 method activities failed (Chaos Toolkit does not fail a run for that).", true},
		{"completed during only", &Journal{Status: StatusCompleted, SteadyStates: SteadyStates{During: []*State{{SteadyStateMet: true}, {SteadyStateMet: true}}}}, "completed",
			"Completed: the steady state held in all 2 checks during the method.", true},
		{"completed during missed", &Journal{Status: StatusCompleted, SteadyStates: SteadyStates{During: []*State{{SteadyStateMet: true}, {SteadyStateMet: false}}}}, "completed",
			"Completed, but the steady state was missed in 1 of 2 checks during the method (Chaos Toolkit does not fail a run for that without --fail-fast).", true},
		{"no check", &Journal{Status: StatusCompleted}, "completed", "Completed: no steady-state check ran.", true},
		{"unknown status", &Journal{Status: "paused"}, "paused", `Unknown status "paused".`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := VerdictOf(c.j)
			assert.Equal(t, c.want, v.Name)
			assert.Equal(t, c.words, v.Words)
			assert.Equal(t, c.ok, v.OK)
		})
	}
}

func TestVerdictOfCorpus(t *testing.T) {
	dir := filepath.Join("..", "testdata", "corpus", "journals")
	assert.Equal(t, "failed", VerdictOf(mustRead(t, filepath.Join(dir, "ferkhan-chaos-toolkit.journal.json"))).Name)
	assert.Equal(t, "completed", VerdictOf(mustRead(t, filepath.Join(dir, "lfmpaes-chaos-experiment.journal.json"))).Name)
}
