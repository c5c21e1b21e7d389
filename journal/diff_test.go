package journal

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/jsonvalue"
)

func readOwn(t *testing.T, name string) *Journal {
	t.Helper()
	return mustRead(t, filepath.Join("..", "testdata", "journals", name))
}

func TestDiffSameJournal(t *testing.T) {
	for _, path := range allJournals(t) {
		a, b := mustRead(t, path), mustRead(t, path)
		d := Diff(a, b)
		assert.False(t, d.Differs(), "%s: %s", path, d)
		assert.Empty(t, d.Notes, path)
		assert.Equal(t, "no difference in behaviour\n", d.String())
	}
}

func TestDiffIgnoresVolatileParts(t *testing.T) {
	a, b := readOwn(t, "continuous-deviated.json"), readOwn(t, "continuous-deviated.json")
	b.Node, b.Platform, b.ChaoslibVersion = "x", "y", "z"
	b.Run[1].Exception = []string{"Traceback (most recent call last):\n", "  other frames\n",
		"chaoslib.exceptions.ActivityFailed: process 'kubectl' timed out after 5s while deleting name-5d4c7b9f8-zz9qq on 10.244.2.9:6443 (object at 0x55aa12ff00)\n"}
	// One check fewer during the method, with the same outcome (some missed), is only a note.
	b.SteadyStates.During = b.SteadyStates.During[1:]
	d := Diff(a, b)
	assert.False(t, d.Differs(), d.String())
	assert.Equal(t, []string{"steady_states.during: 6 checks, 2 missed → 5 checks, 2 missed"}, d.Notes)
}

func TestDiffBehaviour(t *testing.T) {
	cases := []struct {
		name   string
		change func(j *Journal)
		want   []string
	}{
		{"status and deviated", func(j *Journal) { j.Status = StatusFailed; j.Deviated = false },
			[]string{`status: "completed" → "failed"`, `deviated: true → false`}},
		{"tolerance", func(j *Journal) {
			j.SteadyStates.After.SteadyStateMet = true
			j.SteadyStates.After.Probes[0].ToleranceMet = boolp(true)
		}, []string{
			`steady_states.after steady_state_met: false → true`,
			`steady_states.after[0] "latency-under-200ms" tolerance_met: false → true`,
		}},
		{"output leaf", func(j *Journal) {
			j.SteadyStates.After.Probes[0].Output.(*jsonvalue.Object).Value("body").(*jsonvalue.Object).Set("latency_ms", int64(120))
		}, []string{`steady_states.after[0] "latency-under-200ms" output.body.latency_ms: 290 → 120`}},
		{"activity status and exception", func(j *Journal) {
			j.Run[1].Status = RunSucceeded
			j.Run[1].Exception = nil
			j.Run[1].Output = jsonvalue.NewObject("status", int64(0))
		}, []string{
			`run[1] "kill-name-service" status: "failed" → "succeeded"`,
			`run[1] "kill-name-service" exception: "chaoslib.exceptions.ActivityFailed: process 'kubectl' timed out after 5s while deleting name-<hash>-<id> on <ip>:<port> (object at 0x<addr>)" → (absent)`,
			`run[1] "kill-name-service" output: null → {"status":0}`,
		}},
		{"rollback missing", func(j *Journal) { j.Rollbacks = nil },
			[]string{`rollbacks[0]: "remove-latency" ran → (absent)`}},
		{"other activity", func(j *Journal) { j.Run[0].Activity.Set("name", "inject-loss") },
			[]string{`run[0]: "inject-latency" ran → "inject-loss" ran`}},
		{"after check not run", func(j *Journal) { j.SteadyStates.After = nil },
			[]string{`steady_states.after: not met → not run`}},
		{"during all met", func(j *Journal) {
			for _, s := range j.SteadyStates.During {
				s.SteadyStateMet = true
			}
		}, []string{`steady_states.during: 6 checks, 2 missed → 6 checks, all met`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := readOwn(t, "continuous-deviated.json"), readOwn(t, "continuous-deviated.json")
			c.change(b)
			d := Diff(a, b)
			require.True(t, d.Differs())
			got := []string{}
			for _, ch := range d.Changes {
				got = append(got, ch.String())
			}
			assert.Equal(t, c.want, got)
			assert.True(t, strings.HasPrefix(d.String(), c.want[0]+"\n"), d.String())
		})
	}
}

func TestDiffOutputChangesAreBounded(t *testing.T) {
	a, b := readOwn(t, "chaostest-completed.json"), readOwn(t, "chaostest-completed.json")
	var la, lb []any
	for i := 0; i < 30; i++ {
		la = append(la, int64(i))
		lb = append(lb, int64(i+100))
	}
	a.Run[1].Output, b.Run[1].Output = la, lb
	d := Diff(a, b)
	assert.Len(t, d.Changes, maxOutputChanges)
	assert.Contains(t, d.Notes, `run[1] "wait-for-traffic" output: 20 more differences not listed`)
}

func TestDiffNotes(t *testing.T) {
	a, b := readOwn(t, "chaostest-completed.json"), readOwn(t, "chaostest-completed.json")
	b.Experiment.Set("title", "Another title")
	b.Run[1].Activity.Value("provider").(*jsonvalue.Object).Set("arguments", "2")
	d := Diff(a, b)
	assert.False(t, d.Differs(), d.String())
	assert.Equal(t, []string{
		`experiment title: "Terminating the greeting service should not impact users" → "Another title"`,
		`run[1] "wait-for-traffic": the activity's definition differs`,
	}, d.Notes)
	assert.Contains(t, d.String(), "note: experiment title")
}

func TestDiffCorpusJournals(t *testing.T) {
	paths := corpusJournals(t)
	d := Diff(mustRead(t, paths[0]), mustRead(t, paths[1]))
	assert.True(t, d.Differs())
	assert.Contains(t, d.String(), `status: "failed" → "completed"`)
}
