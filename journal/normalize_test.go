package journal

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/jsonvalue"
)

func TestMaskString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain words stay", "plain words stay"},
		{"at 2026-01-16T16:51:52.591353+00:00 and 2026-01-16 16:51:52Z", "at <time> and <time>"},
		{"uid 1b4e28ba-2fa1-11d2-883f-0016d3cca427", "uid <uuid>"},
		{"<object at 0x7f3a2c1b9e80>", "<object at 0x<addr>>"},
		{"http://127.0.0.1:41235/health", "http://127.0.0.1:<port>/health"},
		{"dial tcp [::1]:8080: refused", "dial tcp [::1]:<port>: refused"},
		{"http://localhost:38111/", "http://localhost:<port>/"},
		{"pod 10.244.1.17:6443 and 192.168.15.13", "pod <ip>:<port> and <ip>"},
		{"0.0.0.0 stays", "0.0.0.0 stays"},
		{"greeter.default.svc:8080 keeps its port", "greeter.default.svc:8080 keeps its port"},
		{"greeter-7d9f8c6b5-x2k4q", "greeter-<hash>-<id>"},
		{"pods [webapp-5f7c9d8b4-q9z2m, name-6c8d7f9b5-k2m4p]", "pods [webapp-<hash>-<id>, name-<hash>-<id>]"},
		{"replicaset greeter-7d9f8c6b5", "replicaset greeter-<hash>"},
		{"namespace chaostest-x2k4q", "namespace chaostest-<id>"},
		// Words made only of letters, or with vowels, are not generated names.
		{"use-http and my-tests and web-0 and app-v2 and build-2024", "use-http and my-tests and web-0 and app-v2 and build-2024"},
		{"python3.13 version 1.44.0", "python3.13 version 1.44.0"},
	}
	for _, c := range cases {
		got := MaskString(c.in)
		assert.Equal(t, c.want, got, "MaskString(%q)", c.in)
		assert.Equal(t, got, MaskString(got), "MaskString must be idempotent on %q", got)
	}
}

func TestNormalize(t *testing.T) {
	path := filepath.Join("..", "testdata", "journals", "continuous-deviated.json")
	j := mustRead(t, path)
	before, err := Encode(j)
	require.NoError(t, err)

	n := Normalize(j)
	after, err := Encode(j)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "Normalize must not modify its argument")

	assert.Equal(t, MaskedChaoslibVersion, n.ChaoslibVersion)
	assert.Equal(t, MaskedPlatform, n.Platform)
	assert.Equal(t, MaskedNode, n.Node)
	assert.Equal(t, MaskedTime, n.Start)
	assert.Equal(t, MaskedTime, n.End)
	assert.Zero(t, n.Duration)
	assert.Equal(t, j.Status, n.Status)
	assert.Equal(t, j.Deviated, n.Deviated)

	all := []*Run{}
	all = append(all, n.SteadyStates.Before.Probes...)
	for _, s := range n.SteadyStates.During {
		all = append(all, s.Probes...)
	}
	all = append(all, n.SteadyStates.After.Probes...)
	all = append(all, n.Run...)
	all = append(all, n.Rollbacks...)
	require.Len(t, all, 11)
	for _, r := range all {
		assert.Equal(t, MaskedTime, r.Start)
		assert.Equal(t, MaskedTime, r.End)
		assert.Zero(t, r.Duration)
	}
	// HTTP Date headers are masked, other headers kept.
	out := n.SteadyStates.Before.Probes[0].Output.(*jsonvalue.Object)
	headers := out.Value("headers").(*jsonvalue.Object)
	assert.Equal(t, MaskedTime, headers.Value("Date"))
	assert.Equal(t, "application/json", headers.Value("Content-Type"))
	// Tolerance results are kept.
	assert.Equal(t, boolp(false), n.SteadyStates.After.Probes[0].ToleranceMet)
	// The activity's URL has its pod IP masked.
	prov := n.SteadyStates.Before.Probes[0].Activity.Value("provider").(*jsonvalue.Object)
	assert.Equal(t, "http://<ip>:<port>/stats", prov.Value("url"))

	// The traceback is reduced to its masked last line.
	failed := n.Run[1]
	assert.Equal(t, []string{"chaoslib.exceptions.ActivityFailed: process 'kubectl' timed out after 5s while deleting name-<hash>-<id> on <ip>:<port> (object at 0x<addr>)\n"}, failed.Exception)

	// Deterministic and idempotent.
	a, err := Encode(Normalize(j))
	require.NoError(t, err)
	b, err := Encode(Normalize(Normalize(j)))
	require.NoError(t, err)
	assert.Equal(t, string(a), string(b))

	assert.Nil(t, Normalize(nil))
}

func TestNormalizeKeepsAbsentParts(t *testing.T) {
	j := mustRead(t, filepath.Join("..", "testdata", "journals", "ctk-old-aborted.json"))
	n := Normalize(j)
	assert.Nil(t, n.SteadyStates.During)
	assert.Nil(t, n.SteadyStates.After)
	assert.Equal(t, "", n.Run[0].Status)
	assert.Nil(t, n.Run[0].Exception)
	assert.Nil(t, n.Run[0].ToleranceMet)
}

func TestNormalizeMakesRunsOfTheSameExperimentEqual(t *testing.T) {
	a := mustRead(t, filepath.Join("..", "testdata", "journals", "chaostest-completed.json"))
	b := mustRead(t, filepath.Join("..", "testdata", "journals", "chaostest-completed.json"))
	// A second run: other host, times, ports, pod names and Date headers.
	b.Node = "other-host"
	b.Start = "2026-11-21T09:00:00.000001+00:00"
	b.Duration = 9.5
	b.Run[0].Output = []any{jsonvalue.NewObject("name", "greeter-5b6c7d8f9-q2w4z", "namespace", "default", "uid", "9f4e28ba-2fa1-11d2-883f-0016d3cca400")}
	b.Run[0].Duration = 0.123
	prov := b.SteadyStates.Before.Probes[1].Activity.Value("provider").(*jsonvalue.Object)
	prov.Set("url", "http://127.0.0.1:50001/")
	b.SteadyStates.Before.Probes[1].Output.(*jsonvalue.Object).Value("headers").(*jsonvalue.Object).Set("Date", "Sat, 21 Nov 2026 09:00:00 GMT")
	ea, err := Encode(Normalize(a))
	require.NoError(t, err)
	eb, err := Encode(Normalize(b))
	require.NoError(t, err)
	assert.Equal(t, string(ea), string(eb))
}

func TestNormalizeGoValues(t *testing.T) {
	type pod struct {
		Name string `json:"name"`
		IP   string `json:"ip"`
	}
	j := &Journal{Status: StatusCompleted, Run: []*Run{{
		Activity: jsonvalue.NewObject("type", "action", "name", "kill", "provider", jsonvalue.NewObject("type", "go", "arguments", map[string]any{"pods": []string{"web-6c8d7f9b5-k2m4p"}})),
		Output:   []pod{{Name: "greeter-7d9f8c6b5-x2k4q", IP: "10.244.0.12"}},
		Status:   RunSucceeded,
	}}}
	n := Normalize(j)
	out, err := Encode(n)
	require.NoError(t, err)
	assert.Contains(t, string(out), `"name": "greeter-<hash>-<id>"`)
	assert.Contains(t, string(out), `"ip": "<ip>"`)
	assert.Contains(t, string(out), `"web-<hash>-<id>"`)
	// The original keeps its Go values.
	assert.Equal(t, "greeter-7d9f8c6b5-x2k4q", j.Run[0].Output.([]pod)[0].Name)
	// A value that is not JSON is kept as it is rather than lost.
	j.Run[0].Output = make(chan int)
	assert.NotNil(t, Normalize(j).Run[0].Output)
}
