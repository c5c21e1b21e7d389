package service

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeGreeter is a greeter whose behaviour a test switches between answering, failing with 500
// and stalling (accepting the request and never answering until the caller gives up). It counts
// the greeting calls it receives.
type fakeGreeter struct {
	srv     *httptest.Server
	calls   atomic.Int64
	mode    atomic.Value  // "ok", "fail" or "stall"
	stalled chan struct{} // receives one value per stalled request, when it arrives
	release chan struct{} // closed at cleanup: frees stalled handlers
}

func newFakeGreeter(t *testing.T, mode string) *fakeGreeter {
	t.Helper()
	f := &fakeGreeter{stalled: make(chan struct{}, 100), release: make(chan struct{})}
	f.mode.Store(mode)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		switch f.mode.Load().(string) {
		case "fail":
			http.Error(w, "greeter is failing", http.StatusInternalServerError)
		case "stall":
			f.stalled <- struct{}{}
			select {
			case <-r.Context().Done():
			case <-f.release:
			}
		default:
			greet := r.URL.Query().Get("greet")
			if greet == "" {
				greet = "Hello"
			}
			_, _ = io.WriteString(w, greet)
		}
	}))
	// Cleanups run last-in first-out: free stalled handlers before closing the server.
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.release) })
	return f
}

// deadURL returns the URL of a server that no longer listens: connections are refused.
func deadURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

type webappFixture struct {
	app   *Webapp
	srv   *httptest.Server
	logs  *logBuffer
	clock *fakeClock
}

func newWebapp(t *testing.T, cfg WebappConfig) *webappFixture {
	t.Helper()
	if cfg.NameURL == "" {
		name := httptest.NewServer(NewName(NameConfig{}))
		t.Cleanup(name.Close)
		cfg.NameURL = name.URL
	}
	f := &webappFixture{logs: &logBuffer{}, clock: newFakeClock()}
	cfg.Logger = f.logs.Logger()
	cfg.Now = f.clock.Now
	app, err := NewWebapp(cfg)
	require.NoError(t, err)
	f.app = app
	f.srv = httptest.NewServer(app)
	t.Cleanup(app.Close)
	t.Cleanup(f.srv.Close)
	return f
}

type reply struct {
	status int
	body   string
	source string
}

// ask sends GET path to webapp with a client bounded by timeout.
func (f *webappFixture) ask(t *testing.T, path string, timeout time.Duration) (reply, error) {
	t.Helper()
	c := &http.Client{Timeout: timeout}
	defer c.CloseIdleConnections()
	resp, err := c.Get(f.srv.URL + path)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{resp.StatusCode, string(b), resp.Header.Get(GreetingSourceHeader)}, nil
}

func (f *webappFixture) mustAsk(t *testing.T, path string) reply {
	t.Helper()
	r, err := f.ask(t, path, 5*time.Second)
	require.NoError(t, err, "GET %s from webapp", path)
	return r
}

func TestWebappComposesGreetingAndName(t *testing.T) {
	for _, mode := range []Mode{Fragile, Resilient} {
		t.Run(string(mode), func(t *testing.T) {
			greeter := httptest.NewServer(NewGreeter(GreeterConfig{}))
			t.Cleanup(greeter.Close)
			w := newWebapp(t, WebappConfig{Mode: mode, GreeterURL: greeter.URL})

			assert.Equal(t, reply{200, "Hello Sheldon\n", SourceGreeter}, w.mustAsk(t, "/"))
			assert.Equal(t, reply{200, "Howdy Penny\n", SourceGreeter}, w.mustAsk(t, "/?greet=Howdy&id=3"))
			// A peer's 4xx is the request's fault: passed on, not a failure, no fallback.
			r := w.mustAsk(t, "/?id=99")
			assert.Equal(t, 404, r.status)
			assert.Equal(t, "name: id: want 1 to 7, got 99\n", r.body)
			r = w.mustAsk(t, "/?greet="+strings.Repeat("x", 70))
			assert.Equal(t, 400, r.status)
			assert.Contains(t, r.body, "greeter: greet: want at most 64 characters")

			ok, _ := w.ask(t, "/healthz/ready", time.Second)
			assert.Equal(t, 200, ok.status)
			assert.Regexp(t, `(?m)^GET /\?greet=Howdy&id=3 200 `, w.logs.String())
		})
	}
}

// TestFragileAnswers500WhenGreeterIsDown: connection refused becomes a 500, like the Node.js app.
func TestFragileAnswers500WhenGreeterIsDown(t *testing.T) {
	w := newWebapp(t, WebappConfig{Mode: Fragile, GreeterURL: deadURL(t)})
	r := w.mustAsk(t, "/")
	assert.Equal(t, http.StatusInternalServerError, r.status)
	assert.Contains(t, r.body, "greeter: ")
	assert.Contains(t, r.body, "connection refused")
	assert.Contains(t, w.logs.String(), "greeter call failed: ")
}

// TestFragileHangsWhenGreeterStalls: greeter accepts the call and never answers; the fragile
// webapp has no timeout, so it does not answer either. The client gives up after 300 ms; the
// assertion is that no answer came, and that webapp was indeed waiting on greeter.
func TestFragileHangsWhenGreeterStalls(t *testing.T) {
	greeter := newFakeGreeter(t, "stall")
	w := newWebapp(t, WebappConfig{Mode: Fragile, GreeterURL: greeter.srv.URL})

	r, err := w.ask(t, "/", 300*time.Millisecond)
	require.Error(t, err, "fragile webapp answered %+v while greeter stalled; want no answer", r)
	var nerr net.Error
	require.True(t, errors.As(err, &nerr) && nerr.Timeout(), "want the client's timeout, got %v", err)
	select {
	case <-greeter.stalled:
	default:
		t.Fatal("greeter never received the call; want webapp blocked on it")
	}
	assert.EqualValues(t, 1, greeter.calls.Load())
}

func TestFragileAnswers500WhenGreeterFails(t *testing.T) {
	greeter := newFakeGreeter(t, "fail")
	w := newWebapp(t, WebappConfig{Mode: Fragile, GreeterURL: greeter.srv.URL})
	for i := 0; i < 5; i++ {
		r := w.mustAsk(t, "/")
		assert.Equal(t, http.StatusInternalServerError, r.status)
		assert.Equal(t, "greeter: answered 500: greeter is failing\n", r.body)
	}
	assert.EqualValues(t, 5, greeter.calls.Load(), "fragile mode has no breaker: every request calls greeter")
}

func TestResilientFallsBackWhenGreeterIsDown(t *testing.T) {
	w := newWebapp(t, WebappConfig{Mode: Resilient, GreeterURL: deadURL(t), FallbackGreeting: "Hi"})
	assert.Equal(t, reply{200, "Hi Sheldon\n", SourceFallback}, w.mustAsk(t, "/"))
	assert.Contains(t, w.logs.String(), `greeter call failed: `)
	assert.Contains(t, w.logs.String(), `answering with the fallback greeting "Hi"`)
}

// TestResilientFallsBackWhenGreeterStalls: the call times out after 500 ms (the default) and
// webapp answers 200 with the fallback; the client's bound, the experiment's 3 s, is what a hang
// would break.
func TestResilientFallsBackWhenGreeterStalls(t *testing.T) {
	greeter := newFakeGreeter(t, "stall")
	w := newWebapp(t, WebappConfig{Mode: Resilient, GreeterURL: greeter.srv.URL})
	r, err := w.ask(t, "/", 3*time.Second)
	require.NoError(t, err, "resilient webapp did not answer while greeter stalled")
	assert.Equal(t, reply{200, "Hello Sheldon\n", SourceFallback}, r)
	select {
	case <-greeter.stalled:
	default:
		t.Fatal("greeter never received the call")
	}
	assert.Contains(t, w.logs.String(), "no answer within 500ms")
}

// TestResilientBreaker: after 3 failures the breaker opens and webapp answers from the fallback
// without calling greeter; after the cool-down one trial call goes through; its success closes
// the breaker, its failure reopens it.
func TestResilientBreaker(t *testing.T) {
	greeter := newFakeGreeter(t, "fail")
	w := newWebapp(t, WebappConfig{Mode: Resilient, GreeterURL: greeter.srv.URL, BreakerFailures: 3, BreakerCooldown: 10 * time.Second})
	calls := func() int64 { return greeter.calls.Load() }

	for i := 1; i <= 3; i++ {
		assert.Equal(t, reply{200, "Hello Sheldon\n", SourceFallback}, w.mustAsk(t, "/"), "request %d", i)
		assert.EqualValues(t, i, calls())
	}
	for i := 0; i < 3; i++ {
		assert.Equal(t, reply{200, "Hello Sheldon\n", SourceBreakerOpen}, w.mustAsk(t, "/"))
	}
	assert.EqualValues(t, 3, calls(), "greeter called while the breaker was open")

	// Cool-down passes, greeter is back: the trial succeeds and the breaker closes.
	greeter.mode.Store("ok")
	w.clock.Advance(10 * time.Second)
	assert.Equal(t, reply{200, "Hello Sheldon\n", SourceGreeter}, w.mustAsk(t, "/?greet=Hello"))
	assert.EqualValues(t, 4, calls())
	assert.Equal(t, reply{200, "Hey Sheldon\n", SourceGreeter}, w.mustAsk(t, "/?greet=Hey"))
	assert.EqualValues(t, 5, calls())

	// Greeter fails again: the breaker reopens; a failed trial reopens it for another cool-down.
	greeter.mode.Store("fail")
	for i := 0; i < 3; i++ {
		w.mustAsk(t, "/")
	}
	assert.EqualValues(t, 8, calls())
	assert.Equal(t, SourceBreakerOpen, w.mustAsk(t, "/").source)
	w.clock.Advance(10 * time.Second)
	assert.Equal(t, SourceFallback, w.mustAsk(t, "/").source, "trial call")
	assert.EqualValues(t, 9, calls())
	assert.Equal(t, SourceBreakerOpen, w.mustAsk(t, "/").source)
	assert.EqualValues(t, 9, calls())

	logs := w.logs.String()
	for _, want := range []string{"greeter breaker: closed -> open", "greeter breaker: open -> half-open",
		"greeter breaker: half-open -> closed", "greeter breaker: half-open -> open"} {
		assert.Contains(t, logs, want)
	}
}

// TestResilientNameFailure: there is no fallback name; webapp answers 503 within its timeout
// and its breaker for name stops calling it.
func TestResilientNameFailure(t *testing.T) {
	greeter := httptest.NewServer(NewGreeter(GreeterConfig{}))
	t.Cleanup(greeter.Close)
	name := newFakeGreeter(t, "stall") // stalls like a hung name service
	w := newWebapp(t, WebappConfig{Mode: Resilient, GreeterURL: greeter.URL, NameURL: name.srv.URL,
		Timeout: 50 * time.Millisecond, BreakerFailures: 2})
	for i := 0; i < 2; i++ {
		r := w.mustAsk(t, "/")
		assert.Equal(t, http.StatusServiceUnavailable, r.status)
		assert.Contains(t, r.body, "name: no answer within 50ms")
	}
	// Under load a call can time out before the stalled server even counts it, so the two
	// failed calls reached it at most twice; what matters is that the open breaker adds none.
	before := name.calls.Load()
	assert.True(t, before >= 1 && before <= 2, "name was called %d times by the two failed requests", before)
	r := w.mustAsk(t, "/")
	assert.Equal(t, 503, r.status)
	assert.Equal(t, "name: breaker open, not called\n", r.body)
	assert.Equal(t, before, name.calls.Load(), "the open breaker must not call name")
}

// TestEndpointCache: webapp asks the greeter Service once for the pod's address (/whoami), then
// calls the pod directly and never asks again — even after that pod is gone while the Service
// still answers.
func TestEndpointCache(t *testing.T) {
	pod := newFakeGreeter(t, "ok")
	var whoami, serviceGreetings atomic.Int64
	service := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/whoami" {
			whoami.Add(1)
			_, _ = io.WriteString(w, pod.srv.Listener.Addr().String())
			return
		}
		serviceGreetings.Add(1)
		_, _ = io.WriteString(w, "Hello")
	}))
	t.Cleanup(service.Close)

	w := newWebapp(t, WebappConfig{Mode: Fragile, GreeterURL: service.URL, EndpointCache: true})
	assert.Empty(t, w.app.CachedGreeter())
	for i := 1; i <= 3; i++ {
		assert.Equal(t, reply{200, "Hello Sheldon\n", SourceGreeter}, w.mustAsk(t, "/"))
		assert.EqualValues(t, i, pod.calls.Load(), "greetings from the cached pod address")
	}
	assert.EqualValues(t, 1, whoami.Load(), "whoami calls")
	assert.EqualValues(t, 0, serviceGreetings.Load(), "greetings through the Service")
	assert.Equal(t, pod.srv.Listener.Addr().String(), w.app.CachedGreeter())
	assert.Contains(t, w.logs.String(), "endpoint cache: greeter is at "+pod.srv.Listener.Addr().String())

	// The pod dies; the Service would answer, but the cache is never refreshed.
	pod.srv.Close()
	r := w.mustAsk(t, "/")
	assert.Equal(t, http.StatusInternalServerError, r.status)
	assert.Contains(t, r.body, pod.srv.Listener.Addr().String())
	assert.EqualValues(t, 1, whoami.Load(), "whoami calls after the pod died")
	assert.EqualValues(t, 0, serviceGreetings.Load())
}

// TestEndpointCacheWithRealGreeter: the cache learns the address a real greeter reports.
func TestEndpointCacheWithRealGreeter(t *testing.T) {
	greeter := httptest.NewServer(NewGreeter(GreeterConfig{PodIP: "127.0.0.1"}))
	t.Cleanup(greeter.Close)
	w := newWebapp(t, WebappConfig{GreeterURL: greeter.URL, EndpointCache: true})
	assert.Equal(t, reply{200, "Hello Sheldon\n", SourceGreeter}, w.mustAsk(t, "/"))
	assert.Equal(t, greeter.Listener.Addr().String(), w.app.CachedGreeter())
}

func TestEndpointCacheNotFilledWhenWhoamiFails(t *testing.T) {
	w := newWebapp(t, WebappConfig{Mode: Fragile, GreeterURL: deadURL(t), EndpointCache: true})
	r := w.mustAsk(t, "/")
	assert.Equal(t, 500, r.status)
	assert.Contains(t, r.body, "asking greeter for its address: ")
	assert.Empty(t, w.app.CachedGreeter())
}

func TestWebappConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"WEBAPP_MODE":                  "resilient",
		"WEBAPP_TIMEOUT":               "250ms",
		"WEBAPP_BREAKER_FAILURES":      "5",
		"WEBAPP_BREAKER_COOLDOWN":      "2s",
		"WEBAPP_FALLBACK_GREETING":     "Hi",
		"GREETER_ENDPOINT_CACHE":       "true",
		"GREETER_SERVICE_SERVICE_HOST": "10.96.0.12",
		"GREETER_SERVICE_SERVICE_PORT": "8080",
		"NAME_URL":                     "http://127.0.0.1:9",
	}
	cfg, err := WebappConfigFromEnv(envOf(env))
	require.NoError(t, err)
	assert.Equal(t, Resilient, cfg.Mode)
	assert.Equal(t, "http://10.96.0.12:8080", cfg.GreeterURL)
	assert.Equal(t, "http://127.0.0.1:9", cfg.NameURL)
	assert.Equal(t, 250*time.Millisecond, cfg.Timeout)
	assert.Equal(t, 5, cfg.BreakerFailures)
	assert.Equal(t, 2*time.Second, cfg.BreakerCooldown)
	assert.Equal(t, "Hi", cfg.FallbackGreeting)
	assert.True(t, cfg.EndpointCache)

	minimal := map[string]string{"GREETER_URL": "http://127.0.0.1:8", "NAME_URL": "http://127.0.0.1:9"}
	cfg, err = WebappConfigFromEnv(envOf(minimal))
	require.NoError(t, err)
	assert.Equal(t, Fragile, cfg.Mode, "default mode")
	assert.Equal(t, DefaultTimeout, cfg.Timeout)
	assert.Equal(t, DefaultBreakerFailures, cfg.BreakerFailures)
	assert.Equal(t, DefaultBreakerCooldown, cfg.BreakerCooldown)
	assert.Equal(t, "Hello", cfg.FallbackGreeting)
	assert.False(t, cfg.EndpointCache)

	for k, v := range map[string]string{
		"WEBAPP_MODE":             "sturdy",
		"WEBAPP_TIMEOUT":          "-1s",
		"WEBAPP_BREAKER_COOLDOWN": "soon",
		"WEBAPP_BREAKER_FAILURES": "0",
		"GREETER_ENDPOINT_CACHE":  "sometimes",
	} {
		bad := map[string]string{k: v}
		for mk, mv := range minimal {
			bad[mk] = mv
		}
		_, err := WebappConfigFromEnv(envOf(bad))
		require.Error(t, err, "%s=%s", k, v)
		assert.Contains(t, err.Error(), k)
		assert.Contains(t, err.Error(), `got "`+v+`"`)
	}
	_, err = WebappConfigFromEnv(envOf(map[string]string{"NAME_URL": "http://127.0.0.1:9"}))
	require.ErrorContains(t, err, "greeter: no address for the peer: set GREETER_URL")
	_, err = WebappConfigFromEnv(envOf(map[string]string{"GREETER_URL": "http://127.0.0.1:9"}))
	require.ErrorContains(t, err, "name: no address for the peer: set NAME_URL")
}

func TestNewWebappRejectsBadURL(t *testing.T) {
	_, err := NewWebapp(WebappConfig{GreeterURL: "10.96.0.12:8080", NameURL: "http://127.0.0.1:9"})
	require.EqualError(t, err, `greeter URL: want an absolute http URL such as http://10.96.0.12:8080, got "10.96.0.12:8080"`)
}

// BenchmarkWebapp measures one request through webapp to real loopback greeter and name
// servers, in each mode, and the resilient answer while greeter's breaker is open.
func BenchmarkWebapp(b *testing.B) {
	greeter := httptest.NewServer(NewGreeter(GreeterConfig{}))
	defer greeter.Close()
	name := httptest.NewServer(NewName(NameConfig{}))
	defer name.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	for _, bc := range []struct {
		name string
		cfg  WebappConfig
	}{
		{"fragile", WebappConfig{Mode: Fragile, GreeterURL: greeter.URL, NameURL: name.URL}},
		{"resilient", WebappConfig{Mode: Resilient, GreeterURL: greeter.URL, NameURL: name.URL}},
		{"resilient-breaker-open", WebappConfig{Mode: Resilient, GreeterURL: dead.URL, NameURL: name.URL, BreakerCooldown: time.Hour}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			app, err := NewWebapp(bc.cfg)
			require.NoError(b, err)
			defer app.Close()
			srv := httptest.NewServer(app)
			defer srv.Close()
			c := srv.Client()
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.Get(srv.URL)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d, want 200", resp.StatusCode)
				}
			}
		})
	}
}
