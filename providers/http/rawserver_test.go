package http

import (
	"bufio"
	"context"
	"errors"
	"net"
	nethttp "net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	"github.com/chaostest/chaostest/provider"
)

// rawServer answers every request on a loopback listener with reply, then closes the connection
// (with a reset when rst is true). It returns the server's URL.
func rawServer(t *testing.T, reply string, rst bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := nethttp.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				_, _ = c.Write([]byte(reply))
				if rst {
					_ = c.(*net.TCPConn).SetLinger(0)
				}
			}(c)
		}
	}()
	return "http://" + l.Addr().String() + "/"
}

func TestHeaderNamesKeepTheServerSpelling(t *testing.T) {
	u := rawServer(t, "HTTP/1.1 100 Continue\r\nX-Info: 1\r\n\r\n"+
		"HTTP/1.1 200 OK\r\nContent-type: application/json\r\nx-request-id: a\r\nX-REQUEST-ID: b\r\nContent-Length: 8\r\n\r\n{\"a\": 1}", false)
	out, err := run(t, provObj(t, `{"type":"http","url":%q}`, u))
	require.NoError(t, err)
	h := out.Value("headers").(*jsonvalue.Object)
	assert.Equal(t, []string{"Content-Length", "Content-type", "x-request-id"}, h.Keys(),
		"the final response's names as sent (the first spelling of a repeated one); not the 100's")
	assert.Equal(t, "a, b", h.Value("x-request-id"))
	_, isObj := out.Value("body").(*jsonvalue.Object)
	assert.True(t, isObj, "Content-type: application/json is JSON whatever the name's case (got %T)", out.Value("body"))
}

func TestBodyCutShortIsAnActivityFailure(t *testing.T) {
	for _, tt := range []struct {
		name, reply string
		rst         bool
		want        string
	}{
		{"truncated", "HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\nabc", false, "unexpected EOF"},
		{"reset mid-body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", true, "connection reset by peer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := rawServer(t, tt.reply, tt.rst)
			_, err := run(t, provObj(t, `{"type":"http","url":%q,"timeout":3}`, u))
			require.Error(t, err)
			var crash *provider.CrashError
			assert.False(t, errors.As(err, &crash), "a body cut short is an ActivityFailed, not a crash: %v", err)
			assert.True(t, strings.HasPrefix(err.Error(), "failed to connect to "+u+": "), "got %q", err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestJSONPathOnServerSpelling runs a steady state whose jsonpath tolerance names the header as
// the server spells it, as Chaos Toolkit experiments do.
func TestJSONPathOnServerSpelling(t *testing.T) {
	u := rawServer(t, "HTTP/1.1 200 OK\r\nContent-type: text/plain\r\nContent-Length: 2\r\n\r\nok", false)
	e, err := engine.Parse([]byte(`{"title":"t","description":"d","steady-state-hypothesis":{"title":"h","probes":[
	  {"type":"probe","name":"ct","provider":{"type":"http","url":"`+u+`","timeout":3},
	   "tolerance":{"type":"jsonpath","path":"$.headers[\"Content-type\"]","expect":"text/plain"}}]},"method":[]}`), "json")
	require.NoError(t, err)
	j, err := engine.Run(context.Background(), e, engine.Settings{})
	require.NoError(t, err)
	assert.Equal(t, journal.StatusCompleted, j.Status)
	assert.False(t, j.Deviated)
	require.NotNil(t, j.SteadyStates.Before)
	assert.True(t, j.SteadyStates.Before.SteadyStateMet, "the tolerance on the header as the server spells it matches")
}
