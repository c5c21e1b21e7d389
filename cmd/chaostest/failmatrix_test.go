package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// The failure matrix (issue 9 §1, compat §3.2): every kind of provider failure, in every phase
// of a run, under the rollback strategies (and fail-fast for the checks made while the method
// runs), through the CLI, against real loopback servers and real processes. The expected values
// are derived from the rules below, per category of failure:
//
//   - failed: chaoslib raises ActivityFailed (connection refused, reset mid-body, truncated body,
//     timeout, TLS handshake failure, a panicking Go provider): record status "failed" with an
//     exception, output null.
//   - crash: an error chaoslib does not catch (a JSON content type with a body that is not
//     JSON). In the method (and a background activity) the record has no status and the run is
//     aborted, as chaoslib; in a steady-state hypothesis or a rollback chaostest aborts with a
//     journal, and the record says "failed" with its exception (chaoslib would crash).
//   - succeeded: not a failure for chaoslib (a process killed by a signal: status -9; a process
//     writing invalid UTF-8: decoded as Latin-1): record "succeeded" with the output; in a
//     hypothesis the tolerance is then not met.

type category int

const (
	catFailed category = iota
	catCrash
	catSucceeded
)

// matrixKind is one kind of failure. Its activity behaves until the cell is armed, then fails.
type matrixKind struct {
	name string
	cat  category
	// setup prepares one cell: it returns the provider JSON, a tolerance that the healthy
	// provider meets, the activity JSON that arms the cell (for phases that arm it in the
	// method), and checks of the failing record.
	setup func(t *testing.T, c *cell) kindCell
}

type kindCell struct {
	provider  string
	tolerance string
	arm       string // a method action arming the cell
	// check asserts the kind-specific part of a failing (or, for succeeded, faulty) record.
	check func(t *testing.T, rec *journal.Run)
}

// cell is one run of the matrix.
type cell struct {
	dir   string
	armed atomic.Bool
}

func (c *cell) armFile() string { return filepath.Join(c.dir, "armed") }

func (c *cell) isArmed() bool {
	if c.armed.Load() {
		return true
	}
	_, err := os.Stat(c.armFile())
	return err == nil
}

const healthyHTTP = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\nConnection: close\r\n\r\nhealthy"

// faultServer serves healthy answers on a loopback listener until the cell is armed (by the
// request "/arm", or beforehand), then fails as fail says; with refuse, arming closes the
// listener, so that connections are refused. It returns its base URL.
func faultServer(t *testing.T, c *cell, useTLS, refuse bool, fail func(conn net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	base := "http://" + l.Addr().String()
	if useTLS {
		base = "https://" + l.Addr().String()
	}
	if refuse && c.isArmed() {
		_ = l.Close()
		return base
	}
	var conns sync.WaitGroup
	acceptDone := make(chan struct{})
	// Close, stop accepting, then wait: no conns.Add may race with conns.Wait.
	t.Cleanup(func() {
		_ = l.Close()
		<-acceptDone
		conns.Wait()
	})
	go func() {
		defer close(acceptDone)
		for {
			raw, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer raw.Close()
				_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
				conn := raw
				if useTLS {
					if c.isArmed() {
						fail(raw) // not a TLS handshake at all
						return
					}
					tc := tls.Server(raw, &tls.Config{Certificates: []tls.Certificate{matrixCert}})
					if tc.Handshake() != nil {
						return
					}
					conn = tc
				}
				req, err := nethttp.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				if req.URL.Path == "/arm" {
					c.armed.Store(true)
					if refuse {
						_ = l.Close() // before answering: the next connection is refused
					}
					_, _ = conn.Write([]byte(healthyHTTP))
					return
				}
				if c.isArmed() && !useTLS && fail != nil {
					fail(conn)
					return
				}
				_, _ = conn.Write([]byte(healthyHTTP))
			}()
		}
	}()
	return base
}

var matrixCert tls.Certificate

func init() {
	srv := httptest.NewTLSServer(nil)
	matrixCert = srv.TLS.Certificates[0]
	srv.Close()
	// The Go provider of the panic kind: healthy until its cell is armed, then it panics.
	provider.Register("chaostest.matrix.gate", "Return \"healthy\" until armed_file exists, then panic.",
		func(_ context.Context, _ provider.Env, a struct {
			ArmedFile string `arg:"armed_file"`
		}) (any, error) {
			if _, err := os.Stat(a.ArmedFile); err == nil {
				panic("matrix boom")
			}
			return "healthy", nil
		})
}

func jsonStr(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func httpKind(name string, cat category, useTLS, refuse bool, fail func(conn net.Conn), want func(t *testing.T, url, msg string)) matrixKind {
	return matrixKind{name: name, cat: cat, setup: func(t *testing.T, c *cell) kindCell {
		base := faultServer(t, c, useTLS, refuse, fail)
		url := base + "/health"
		tlsOpt := ""
		if useTLS {
			tlsOpt = `, "verify_tls": false`
		}
		return kindCell{
			provider:  fmt.Sprintf(`{"type": "http", "url": %s, "timeout": 0.5%s}`, jsonStr(url), tlsOpt),
			tolerance: `200`,
			arm:       fmt.Sprintf(`{"type": "action", "name": "arm", "provider": {"type": "http", "url": %s, "timeout": 3%s}}`, jsonStr(base+"/arm"), tlsOpt),
			check: func(t *testing.T, rec *journal.Run) {
				require.NotEmpty(t, rec.Exception, "the record has an exception")
				last := rec.Exception[len(rec.Exception)-1]
				require.True(t, strings.HasPrefix(last, engine.ExceptionPrefix), "exception %q", last)
				want(t, url, strings.TrimSuffix(strings.TrimPrefix(last, engine.ExceptionPrefix), "\n"))
			},
		}
	}}
}

func connectFailure(contains string) func(t *testing.T, url, msg string) {
	return func(t *testing.T, url, msg string) {
		assert.True(t, strings.HasPrefix(msg, "failed to connect to "+url+": "), "message %q", msg)
		assert.Contains(t, msg, contains)
	}
}

func processKind(name, script string, check func(t *testing.T, out *jsonvalue.Object)) matrixKind {
	return matrixKind{name: name, cat: catSucceeded, setup: func(t *testing.T, c *cell) kindCell {
		sh := fmt.Sprintf(`if [ -e '%s' ]; then %s; fi; printf healthy`, c.armFile(), script)
		return kindCell{
			provider:  fmt.Sprintf(`{"type": "process", "path": "sh", "arguments": ["-c", %s], "timeout": 5}`, jsonStr(sh)),
			tolerance: `{"type": "regex", "pattern": "^healthy$", "target": "stdout"}`,
			arm:       fmt.Sprintf(`{"type": "action", "name": "arm", "provider": {"type": "process", "path": "touch", "arguments": [%s]}}`, jsonStr(c.armFile())),
			check: func(t *testing.T, rec *journal.Run) {
				out, ok := rec.Output.(*jsonvalue.Object)
				require.True(t, ok, "output %#v", rec.Output)
				check(t, out)
			},
		}
	}}
}

var matrixKinds = []matrixKind{
	httpKind("refused", catFailed, false, true, nil, connectFailure("connect: connection refused")),
	httpKind("reset mid-body", catFailed, false, false, func(conn net.Conn) {
		_, _ = conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nhea"))
		time.Sleep(20 * time.Millisecond)
		_ = conn.(*net.TCPConn).SetLinger(0)
	}, connectFailure("connection reset by peer")),
	httpKind("truncated body", catFailed, false, false, func(conn net.Conn) {
		_, _ = conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n\r\nhea"))
	}, connectFailure("unexpected EOF")),
	httpKind("timeout", catFailed, false, false, func(conn net.Conn) {
		_, _ = conn.Read(make([]byte, 1)) // never answers: waits until the client gives up
	}, func(t *testing.T, _, msg string) {
		assert.Equal(t, "activity took too long to complete", msg)
	}),
	httpKind("TLS handshake failure", catFailed, true, false, func(conn net.Conn) {
		_, _ = conn.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	}, connectFailure("tls: ")),
	httpKind("invalid JSON body", catCrash, false, false, func(conn net.Conn) {
		_, _ = conn.Write([]byte("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 8\r\n\r\n{\"a\": 1,"))
	}, func(t *testing.T, url, msg string) {
		assert.Contains(t, msg, "the response of "+url+" says application/json but its body is not JSON")
	}),
	processKind("process killed by a signal", "kill -9 $$", func(t *testing.T, out *jsonvalue.Object) {
		assert.Equal(t, int64(-9), out.Value("status"), "chaoslib's returncode for SIGKILL")
		assert.Equal(t, "", out.Value("stdout"))
	}),
	processKind("process writing invalid UTF-8", `printf '\377\376bad'; exit 0`, func(t *testing.T, out *jsonvalue.Object) {
		assert.Equal(t, int64(0), out.Value("status"))
		assert.Equal(t, "\u00ff\u00febad", out.Value("stdout"), "decoded as Latin-1")
	}),
	{name: "provider panic", cat: catFailed, setup: func(t *testing.T, c *cell) kindCell {
		return kindCell{
			provider:  fmt.Sprintf(`{"type": "python", "module": "chaostest.matrix", "func": "gate", "arguments": {"armed_file": %s}}`, jsonStr(c.armFile())),
			tolerance: `"healthy"`,
			arm:       fmt.Sprintf(`{"type": "action", "name": "arm", "provider": {"type": "process", "path": "touch", "arguments": [%s]}}`, jsonStr(c.armFile())),
			check: func(t *testing.T, rec *journal.Run) {
				require.NotEmpty(t, rec.Exception)
				assert.Equal(t, "Traceback (most recent call last):\n", rec.Exception[0], "a panic keeps its Go stack")
				assert.Equal(t, engine.ExceptionPrefix+"panic: matrix boom\n", rec.Exception[len(rec.Exception)-1])
			},
		}
	}},
}

// phase is where the failing activity sits.
type phase struct {
	name       string
	hypothesis string // --hypothesis-strategy
	during     bool   // checks made while the method runs
	// armedFromStart: the cell fails from the first call; otherwise the method arms it.
	armedFromStart bool
}

var matrixPhases = []phase{
	{name: "before hypothesis", hypothesis: "default", armedFromStart: true},
	{name: "method action", hypothesis: "default", armedFromStart: true},
	{name: "method probe", hypothesis: "default", armedFromStart: true},
	{name: "after hypothesis", hypothesis: "default"},
	{name: "during (during-method-only)", hypothesis: "during-method-only", during: true, armedFromStart: true},
	{name: "during (continuously)", hypothesis: "continuously", during: true},
	{name: "rollback", hypothesis: "default", armedFromStart: true},
	{name: "background activity", hypothesis: "default", armedFromStart: true},
}

const (
	noop       = `{"type": "action", "name": "noop", "provider": {"type": "process", "path": "true"}}`
	rollbackOK = `{"type": "action", "name": "rollback-ok", "provider": {"type": "process", "path": "true"}}`
	slowStep   = `{"type": "action", "name": "slow-step", "provider": {"type": "process", "path": "sleep", "arguments": ["0.6"]}}`
)

func activity(typ, name, provider, tolerance string, extra string) string {
	s := fmt.Sprintf(`{"type": %q, "name": %q, "provider": %s`, typ, name, provider)
	if tolerance != "" {
		s += `, "tolerance": ` + tolerance
	}
	return s + extra + "}"
}

// expectation is what a cell must give.
type expectation struct {
	status    string
	deviated  bool
	exit      int
	rollbacks bool // the rollbacks were played
}

func exitFor(status string, deviated bool) int {
	if status != journal.StatusCompleted || deviated {
		return 1
	}
	return 0
}

func TestFailureMatrixCLI(t *testing.T) {
	cells := 0
	for _, k := range matrixKinds {
		for _, ph := range matrixPhases {
			strategies := []string{"default", "always"}
			failFasts := []bool{false}
			if ph.during {
				failFasts = []bool{false, true}
			}
			for _, rb := range strategies {
				for _, ff := range failFasts {
					name := fmt.Sprintf("%s/%s/rollbacks=%s", k.name, ph.name, rb)
					if ff {
						name += "/fail-fast"
					}
					cells++
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						runCell(t, k, ph, rb, ff)
					})
				}
			}
		}
	}
	t.Logf("%d cells: %d failure kinds x %d phases x strategies", cells, len(matrixKinds), len(matrixPhases))
}

func runCell(t *testing.T, k matrixKind, ph phase, rbStrategy string, failFast bool) {
	c := &cell{dir: t.TempDir()}
	if ph.armedFromStart {
		require.NoError(t, os.WriteFile(c.armFile(), nil, 0o644))
		c.armed.Store(true)
	}
	kc := k.setup(t, c)
	healthyProbe := activity("probe", "always-healthy", `{"type": "process", "path": "true"}`, `0`, "")
	var hyp, method, rollbacks []string
	rollbacks = []string{rollbackOK}
	switch ph.name {
	case "before hypothesis":
		hyp, method = []string{activity("probe", "faulty", kc.provider, kc.tolerance, "")}, []string{noop}
	case "method action":
		hyp, method = []string{healthyProbe}, []string{activity("action", "faulty", kc.provider, "", "")}
	case "method probe":
		hyp, method = []string{healthyProbe}, []string{activity("probe", "faulty", kc.provider, "", "")}
	case "after hypothesis":
		hyp, method = []string{activity("probe", "faulty", kc.provider, kc.tolerance, "")}, []string{kc.arm}
	case "during (during-method-only)":
		hyp, method = []string{activity("probe", "faulty", kc.provider, kc.tolerance, "")}, []string{slowStep}
	case "during (continuously)":
		hyp, method = []string{activity("probe", "faulty", kc.provider, kc.tolerance, "")}, []string{kc.arm, slowStep}
	case "rollback":
		hyp, method = []string{healthyProbe}, []string{noop}
		rollbacks = []string{activity("action", "faulty", kc.provider, "", ""), rollbackOK}
	case "background activity":
		hyp, method = []string{healthyProbe}, []string{activity("action", "faulty", kc.provider, "", `, "background": true`), noop}
	default:
		t.Fatalf("unknown phase %q", ph.name)
	}
	exp := fmt.Sprintf(`{"title": "matrix", "description": "one cell",
  "steady-state-hypothesis": {"title": "healthy", "probes": [%s]},
  "method": [%s], "rollbacks": [%s]}`, strings.Join(hyp, ", "), strings.Join(method, ", "), strings.Join(rollbacks, ", "))
	ep := filepath.Join(c.dir, "experiment.json")
	require.NoError(t, os.WriteFile(ep, []byte(exp), 0o644))
	jp := filepath.Join(c.dir, "journal.json")
	args := []string{"run", "--journal-path", jp, "--rollback-strategy", rbStrategy, "--hypothesis-strategy", ph.hypothesis, "--hypothesis-frequency", "0.05"}
	if failFast {
		args = append(args, "--fail-fast")
	}
	var stdout, stderr bytes.Buffer
	code := run(append(args, ep), &stdout, &stderr)
	log := stderr.String()
	j, err := journal.Read(jp)
	require.NoError(t, err, "a journal is always written\n%s", log)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", log)
		}
	})
	assert.Empty(t, stdout.String(), "the log goes to stderr")

	// Every record has a status, except a crash in the method (chaoslib writes it without one).
	all := map[string][]*journal.Run{"run": j.Run, "rollbacks": j.Rollbacks}
	if j.SteadyStates.Before != nil {
		all["before"] = j.SteadyStates.Before.Probes
	}
	if j.SteadyStates.After != nil {
		all["after"] = j.SteadyStates.After.Probes
	}
	for i, st := range j.SteadyStates.During {
		all[fmt.Sprintf("during[%d]", i)] = st.Probes
	}
	for where, recs := range all {
		for _, rec := range recs {
			methodCrash := where == "run" && k.cat == catCrash && rec.Name() == "faulty"
			if methodCrash {
				assert.Empty(t, rec.Status, "a crash in the method leaves chaoslib's record without status")
				assert.Nil(t, rec.Output)
				assert.Empty(t, rec.Exception)
				continue
			}
			assert.Contains(t, []string{journal.RunSucceeded, journal.RunFailed}, rec.Status, "%s record %q has a status", where, rec.Name())
		}
	}

	// The faulty record, and what the run must end with.
	var faulty *journal.Run
	want := expectation{}
	find := func(recs []*journal.Run) *journal.Run {
		for _, r := range recs {
			if r.Name() == "faulty" {
				return r
			}
		}
		return nil
	}
	defaultPlays := func(status string) bool {
		return status != journal.StatusFailed && status != journal.StatusInterrupted
	}
	switch ph.name {
	case "before hypothesis":
		require.NotNil(t, j.SteadyStates.Before)
		faulty = find(j.SteadyStates.Before.Probes)
		assert.False(t, j.SteadyStates.Before.SteadyStateMet)
		assert.Empty(t, j.Run, "the method does not run")
		require.NotNil(t, faulty)
		assert.False(t, *faulty.ToleranceMet)
		switch k.cat {
		case catFailed:
			want.status = journal.StatusFailed
		case catCrash:
			want.status = journal.StatusAborted
		case catSucceeded:
			want.status = journal.StatusCompleted // lib#258: not met by tolerance is completed
		}
	case "method action", "method probe", "background activity":
		faulty = find(j.Run)
		want.status = journal.StatusCompleted
		if k.cat == catCrash {
			want.status = journal.StatusAborted
		}
		if k.cat == catCrash {
			assert.Nil(t, j.SteadyStates.After, "no after hypothesis once aborted")
		} else {
			require.NotNil(t, j.SteadyStates.After, "after hypothesis")
			assert.True(t, j.SteadyStates.After.SteadyStateMet)
		}
	case "after hypothesis":
		require.NotNil(t, j.SteadyStates.Before)
		assert.True(t, j.SteadyStates.Before.SteadyStateMet, "healthy before the method")
		require.NotNil(t, j.SteadyStates.After)
		faulty = find(j.SteadyStates.After.Probes)
		assert.False(t, j.SteadyStates.After.SteadyStateMet)
		switch k.cat {
		case catFailed:
			want.status, want.deviated = journal.StatusFailed, true
		case catCrash:
			want.status = journal.StatusAborted
		case catSucceeded:
			want.status, want.deviated = journal.StatusCompleted, true
		}
	case "during (during-method-only)", "during (continuously)":
		continuous := ph.hypothesis == "continuously"
		require.NotEmpty(t, j.SteadyStates.During, "checks were made while the method ran")
		for _, st := range j.SteadyStates.During {
			if !st.SteadyStateMet {
				faulty = find(st.Probes)
				break
			}
		}
		if !continuous {
			for _, st := range j.SteadyStates.During {
				assert.False(t, st.SteadyStateMet, "armed from the start: every check misses")
			}
			assert.Nil(t, j.SteadyStates.Before)
			assert.Nil(t, j.SteadyStates.After)
		} else {
			require.NotNil(t, j.SteadyStates.Before)
			assert.True(t, j.SteadyStates.Before.SteadyStateMet)
		}
		switch {
		case k.cat == catCrash:
			want.status = journal.StatusAborted
			if continuous {
				assert.Nil(t, j.SteadyStates.After, "no after hypothesis once aborted")
			}
		case continuous:
			// The after hypothesis runs (not aborted) and misses: deviated, and it decides the
			// status, overriding a fail-fast "failed".
			require.NotNil(t, j.SteadyStates.After)
			assert.False(t, j.SteadyStates.After.SteadyStateMet)
			want.deviated = true
			want.status = journal.StatusCompleted
			if k.cat == catFailed {
				want.status = journal.StatusFailed
			}
		case failFast:
			want.status = journal.StatusFailed
		default:
			want.status = journal.StatusCompleted // a miss while the method runs decides nothing
		}
		if failFast && k.cat != catCrash {
			assert.Contains(t, log, "Terminating immediately the experiment after")
		}
		if k.cat != catCrash {
			assert.Contains(t, log, "WARNING] Continuous steady state probe 'faulty' is not in the given tolerance")
		}
		assert.Contains(t, log, "INFO] Continuous steady state hypothesis terminated")
	case "rollback":
		faulty = find(j.Rollbacks)
		want.status = journal.StatusCompleted
		if k.cat == catCrash {
			want.status = journal.StatusAborted // chaoslib would crash; chaostest aborts with a journal
		}
	}
	want.exit = exitFor(want.status, want.deviated)
	want.rollbacks = rbStrategy == "always" || defaultPlays(want.status)
	if ph.name == "rollback" {
		want.rollbacks = true
	}

	require.NotNil(t, faulty, "the faulty activity's record is in the journal")
	assert.Equal(t, want.status, j.Status, "journal status")
	assert.Equal(t, want.deviated, j.Deviated, "deviated")
	assert.Equal(t, want.exit, code, "exit code")
	if want.rollbacks {
		require.NotEmpty(t, j.Rollbacks, "rollbacks played")
		last := j.Rollbacks[len(j.Rollbacks)-1]
		assert.Equal(t, "rollback-ok", last.Name())
		assert.Equal(t, journal.RunSucceeded, last.Status, "the rollbacks after a failing one still run")
		assert.Contains(t, log, "INFO] Rollback: rollback-ok")
	} else {
		assert.Empty(t, j.Rollbacks, "rollbacks skipped")
	}

	// The faulty record itself.
	inMethod := ph.name == "method action" || ph.name == "method probe" || ph.name == "background activity"
	switch {
	case k.cat == catSucceeded:
		assert.Equal(t, journal.RunSucceeded, faulty.Status)
		assert.Empty(t, faulty.Exception)
		kc.check(t, faulty)
	case k.cat == catCrash && inMethod:
		// checked above: no status, no output, no exception
		assert.Contains(t, log, "CRITICAL] Experiment aborted: ")
	default:
		assert.Equal(t, journal.RunFailed, faulty.Status)
		assert.Nil(t, faulty.Output)
		kc.check(t, faulty)
	}
	if faulty.ToleranceMet != nil && k.cat != catSucceeded {
		assert.False(t, *faulty.ToleranceMet)
	}
	if k.cat == catFailed && !inMethod && ph.name != "rollback" {
		assert.Contains(t, log, "WARNING] Probe terminated unexpectedly, so its tolerance could not be validated")
	}
}
