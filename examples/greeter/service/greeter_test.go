package service

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// get fetches url with a bounded client and returns the status and body.
func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	require.NoError(t, err, "GET %s", url)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body), resp.Header
}

func TestGreeterGreets(t *testing.T) {
	logs := &logBuffer{}
	srv := httptest.NewServer(NewGreeter(GreeterConfig{Logger: logs.Logger()}))
	t.Cleanup(srv.Close)

	status, body, h := get(t, srv.URL+"/")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "Hello", body)
	assert.Equal(t, "text/plain; charset=utf-8", h.Get("Content-Type"))

	status, body, _ = get(t, srv.URL+"/?greet=Howdy")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "Howdy", body)

	status, body, _ = get(t, srv.URL+"/?greet="+strings.Repeat("x", 65))
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "want at most 64 characters on one line, got 65")

	status, _, _ = get(t, srv.URL+"/nowhere")
	assert.Equal(t, http.StatusNotFound, status)

	lines := logs.Lines()
	require.Len(t, lines, 4, "one log line per request; got:\n%s", logs)
	assert.Regexp(t, `^GET / 200 \S+ from 127\.0\.0\.1:\d+$`, lines[0])
	assert.Regexp(t, `^GET /\?greet=Howdy 200 `, lines[1])
	assert.Regexp(t, `^GET /\?greet=x+ 400 `, lines[2])
	assert.Regexp(t, `^GET /nowhere 404 `, lines[3])
}

func TestGreeterConfiguredGreeting(t *testing.T) {
	srv := httptest.NewServer(NewGreeter(GreeterConfig{Greeting: "Bonjour"}))
	t.Cleanup(srv.Close)
	_, body, _ := get(t, srv.URL)
	assert.Equal(t, "Bonjour", body)
}

func TestGreeterReadinessDelay(t *testing.T) {
	clock := newFakeClock()
	g := NewGreeter(GreeterConfig{ReadyAfter: 8 * time.Second, Now: clock.Now})
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)

	check := func(wantReady int) {
		t.Helper()
		status, _, _ := get(t, srv.URL+"/healthz/ready")
		assert.Equal(t, wantReady, status, "/healthz/ready at %s after start", clock.Now().Sub(newFakeClock().Now()))
		status, _, _ = get(t, srv.URL+"/healthz/live")
		assert.Equal(t, http.StatusOK, status, "/healthz/live")
		status, body, _ := get(t, srv.URL+"/")
		assert.Equal(t, http.StatusOK, status, "greetings are served while not ready too")
		assert.Equal(t, "Hello", body)
	}
	check(http.StatusServiceUnavailable)
	clock.Advance(8*time.Second - time.Millisecond)
	check(http.StatusServiceUnavailable)
	assert.False(t, g.Ready())
	clock.Advance(time.Millisecond)
	check(http.StatusOK)
	assert.True(t, g.Ready())
}

func TestGreeterReadyAtOnceWithoutDelay(t *testing.T) {
	srv := httptest.NewServer(NewGreeter(GreeterConfig{}))
	t.Cleanup(srv.Close)
	status, body, _ := get(t, srv.URL+"/healthz/ready")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "ready\n", body)
}

func TestGreeterWhoami(t *testing.T) {
	srv := httptest.NewServer(NewGreeter(GreeterConfig{}))
	t.Cleanup(srv.Close)
	_, body, _ := get(t, srv.URL+"/whoami")
	assert.Equal(t, srv.Listener.Addr().String(), body, "without POD_IP, whoami reports the connection's local address")

	pod := httptest.NewServer(NewGreeter(GreeterConfig{PodIP: "10.32.0.9"}))
	t.Cleanup(pod.Close)
	_, port, err := net.SplitHostPort(pod.Listener.Addr().String())
	require.NoError(t, err)
	_, body, _ = get(t, pod.URL+"/whoami")
	assert.Equal(t, "10.32.0.9:"+port, body, "with POD_IP, whoami reports POD_IP and the port the request arrived on")
}

func TestGreeterConfigFromEnv(t *testing.T) {
	env := map[string]string{"READY_AFTER": "8s", "POD_IP": "10.32.0.9", "GREETING": "Hi"}
	cfg, err := GreeterConfigFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, GreeterConfig{Greeting: "Hi", ReadyAfter: 8 * time.Second, PodIP: "10.32.0.9"}, cfg)

	cfg, err = GreeterConfigFromEnv(func(string) string { return "" })
	require.NoError(t, err)
	assert.Zero(t, cfg.ReadyAfter)

	for k, v := range map[string]string{"READY_AFTER": "eight", "POD_IP": "pod-a"} {
		_, err := GreeterConfigFromEnv(func(key string) string {
			if key == k {
				return v
			}
			return ""
		})
		require.Error(t, err, "%s=%s", k, v)
		assert.Contains(t, err.Error(), k)
		assert.Contains(t, err.Error(), `got "`+v+`"`)
	}
}

func TestName(t *testing.T) {
	logs := &logBuffer{}
	srv := httptest.NewServer(NewName(NameConfig{Logger: logs.Logger()}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		query  string
		status int
		body   string
	}{
		{"", 200, "Sheldon"},
		{"?id=1", 200, "Sheldon"},
		{"?id=3", 200, "Penny"},
		{"?id=7", 200, "Amy"},
		{"?id=8", 404, "id: want 1 to 7, got 8\n"},
		{"?id=0", 404, "id: want 1 to 7, got 0\n"},
		{"?id=three", 400, "id: want a whole number, got \"three\"\n"},
	} {
		status, body, _ := get(t, srv.URL+"/"+tc.query)
		assert.Equal(t, tc.status, status, "GET /%s", tc.query)
		assert.Equal(t, tc.body, body, "GET /%s", tc.query)
	}
	assert.Len(t, logs.Lines(), 7, "one log line per request")

	custom := httptest.NewServer(NewName(NameConfig{Names: []string{"Arun"}}))
	t.Cleanup(custom.Close)
	_, body, _ := get(t, custom.URL)
	assert.Equal(t, "Arun", body)
	status, _, _ := get(t, custom.URL+"/healthz/ready")
	assert.Equal(t, 200, status)
}
