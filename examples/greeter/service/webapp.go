package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Mode selects how webapp calls its peers.
type Mode string

const (
	// Fragile calls peers with no timeout at all and answers 500 when a call fails, like the
	// chapter's Node.js webapp: while greeter hangs, webapp hangs.
	Fragile Mode = "fragile"
	// Resilient bounds every call by a timeout, answers with a fallback greeting when greeter
	// fails, and guards each peer with a circuit breaker so it answers at once while greeter is
	// down.
	Resilient Mode = "resilient"
)

// Defaults of the resilient mode.
const (
	DefaultTimeout         = 500 * time.Millisecond
	DefaultBreakerFailures = 3
	DefaultBreakerCooldown = 5 * time.Second
)

// Values of the X-Greeting-Source header webapp sets on every answer to "/".
const (
	// SourceGreeter: the greeting came from greeter.
	SourceGreeter = "greeter"
	// SourceFallback: the call to greeter failed; the fallback greeting was used.
	SourceFallback = "fallback"
	// SourceBreakerOpen: greeter's breaker was open; greeter was not called.
	SourceBreakerOpen = "breaker-open"
)

// GreetingSourceHeader is the response header telling where the greeting came from.
const GreetingSourceHeader = "X-Greeting-Source"

// maxPeerBody bounds how much of a peer's answer webapp reads.
const maxPeerBody = 4 << 10

// WebappConfig configures webapp.
type WebappConfig struct {
	// Mode is Fragile or Resilient. Empty means Fragile, the chapter's behaviour.
	Mode Mode
	// GreeterURL and NameURL are the peers' base URLs, e.g. http://10.96.0.12:8080. Required.
	GreeterURL, NameURL string
	// Timeout bounds each call to a peer in resilient mode (dial, request and answer).
	// Default DefaultTimeout. Fragile mode has no timeout whatever this says.
	Timeout time.Duration
	// BreakerFailures is how many consecutive failed calls open a peer's breaker (resilient
	// mode). Default DefaultBreakerFailures.
	BreakerFailures int
	// BreakerCooldown is how long an open breaker waits before one trial call (resilient mode).
	// Default DefaultBreakerCooldown.
	BreakerCooldown time.Duration
	// FallbackGreeting is the greeting used when greeter cannot be reached (resilient mode).
	// Default DefaultGreeting.
	FallbackGreeting string
	// EndpointCache makes webapp ask greeter once for its own address (GET /whoami) and call
	// that address directly from then on, never refreshing it: client-side discovery with a
	// stale cache. Meant for fragile mode, where it reproduces the chapter's hang when the
	// greeter pod dies (its address is dialled until the kernel gives up).
	EndpointCache bool
	// Logger receives one line per request and one per failed peer call or breaker change.
	// Nil discards them.
	Logger *log.Logger
	// Now is the breakers' clock. Nil means time.Now.
	Now func() time.Time
}

// WebappConfigFromEnv reads webapp's configuration through getenv (os.Getenv in main):
//
//	WEBAPP_MODE               fragile (default) or resilient
//	WEBAPP_TIMEOUT            resilient call timeout, a Go duration (default 500ms)
//	WEBAPP_BREAKER_FAILURES   consecutive failures that open a breaker (default 3)
//	WEBAPP_BREAKER_COOLDOWN   how long a breaker stays open (default 5s)
//	WEBAPP_FALLBACK_GREETING  greeting used while greeter fails (default Hello)
//	GREETER_ENDPOINT_CACHE    true to cache greeter's pod address (default false)
//
// and the peers' addresses as GreeterPeer and NamePeer describe.
func WebappConfigFromEnv(getenv func(string) string) (WebappConfig, error) {
	cfg := WebappConfig{
		Mode:             Mode(strings.ToLower(strings.TrimSpace(getenv("WEBAPP_MODE")))),
		FallbackGreeting: getenv("WEBAPP_FALLBACK_GREETING"),
	}
	var err error
	if cfg.GreeterURL, err = GreeterPeer.Discover(getenv); err != nil {
		return WebappConfig{}, fmt.Errorf("greeter: %w", err)
	}
	if cfg.NameURL, err = NamePeer.Discover(getenv); err != nil {
		return WebappConfig{}, fmt.Errorf("name: %w", err)
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"WEBAPP_TIMEOUT", &cfg.Timeout}, {"WEBAPP_BREAKER_COOLDOWN", &cfg.BreakerCooldown}} {
		if v := getenv(d.name); v != "" {
			if *d.dst, err = time.ParseDuration(v); err != nil || *d.dst <= 0 {
				return WebappConfig{}, fmt.Errorf("%s: want a positive Go duration such as 500ms, got %q", d.name, v)
			}
		}
	}
	if v := getenv("WEBAPP_BREAKER_FAILURES"); v != "" {
		if cfg.BreakerFailures, err = strconv.Atoi(v); err != nil || cfg.BreakerFailures < 1 {
			return WebappConfig{}, fmt.Errorf("WEBAPP_BREAKER_FAILURES: want a whole number of at least 1, got %q", v)
		}
	}
	if v := getenv("GREETER_ENDPOINT_CACHE"); v != "" {
		if cfg.EndpointCache, err = strconv.ParseBool(v); err != nil {
			return WebappConfig{}, fmt.Errorf("GREETER_ENDPOINT_CACHE: want true or false, got %q", v)
		}
	}
	return cfg, cfg.validate()
}

func (cfg *WebappConfig) validate() error {
	switch cfg.Mode {
	case "":
		cfg.Mode = Fragile
	case Fragile, Resilient:
	default:
		return fmt.Errorf("WEBAPP_MODE: want %q or %q, got %q", Fragile, Resilient, cfg.Mode)
	}
	for _, u := range []struct{ name, v string }{{"greeter URL", cfg.GreeterURL}, {"name URL", cfg.NameURL}} {
		pu, err := url.Parse(u.v)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return fmt.Errorf("%s: want an absolute http URL such as http://10.96.0.12:8080, got %q", u.name, u.v)
		}
	}
	cfg.GreeterURL = strings.TrimRight(cfg.GreeterURL, "/")
	cfg.NameURL = strings.TrimRight(cfg.NameURL, "/")
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.BreakerFailures == 0 {
		cfg.BreakerFailures = DefaultBreakerFailures
	}
	if cfg.BreakerCooldown == 0 {
		cfg.BreakerCooldown = DefaultBreakerCooldown
	}
	if cfg.Timeout < 0 || cfg.BreakerFailures < 0 || cfg.BreakerCooldown < 0 {
		return fmt.Errorf("webapp: want a positive timeout, breaker failures and cool-down, got %s, %d, %s",
			cfg.Timeout, cfg.BreakerFailures, cfg.BreakerCooldown)
	}
	if cfg.FallbackGreeting == "" {
		cfg.FallbackGreeting = DefaultGreeting
	}
	if cfg.Logger == nil {
		cfg.Logger = log.New(discard{}, "", 0)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return nil
}

// Webapp is webapp's HTTP handler:
//
//	GET /?greet=G&id=N   "<greeting> <name>\n", e.g. "Hello Sheldon", built from greeter's
//	                     answer to /?greet=G and name's answer to /?id=N; the header
//	                     X-Greeting-Source says where the greeting came from
//	GET /healthz/live    always 200
//	GET /healthz/ready   always 200 (webapp's own readiness does not depend on its peers)
//
// A peer's 4xx answer is passed on with its status. Other failures give 500 in fragile mode;
// in resilient mode a greeter failure gives the fallback greeting with 200, and a name failure
// gives 503 (there is no sensible fallback name), both within the timeout.
type Webapp struct {
	cfg      WebappConfig
	client   *http.Client
	greeterB *Breaker // nil in fragile mode
	nameB    *Breaker // nil in fragile mode
	handler  http.Handler

	cacheMu sync.Mutex
	cached  string // greeter's own address (host:port) once learnt through /whoami
}

// NewWebapp returns webapp's handler, or an error when cfg is invalid.
func NewWebapp(cfg WebappConfig) (*Webapp, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	w := &Webapp{
		cfg: cfg,
		// No Timeout on the client and none on the dialer: fragile mode must wait as long as the
		// peer and the kernel make it; resilient mode bounds each call with a context instead.
		client: &http.Client{Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
		}},
	}
	if cfg.Mode == Resilient {
		var err error
		if w.greeterB, err = w.newBreaker("greeter"); err != nil {
			return nil, err
		}
		if w.nameB, err = w.newBreaker("name"); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", w.root)
	healthHandlers(mux, nil)
	w.handler = LogRequests(cfg.Logger, mux)
	return w, nil
}

func (w *Webapp) newBreaker(peer string) (*Breaker, error) {
	return NewBreaker(BreakerConfig{
		Failures: w.cfg.BreakerFailures,
		Cooldown: w.cfg.BreakerCooldown,
		Now:      w.cfg.Now,
		OnStateChange: func(from, to BreakerState) {
			w.cfg.Logger.Printf("%s breaker: %s -> %s", peer, from, to)
		},
	})
}

// ServeHTTP implements http.Handler.
func (w *Webapp) ServeHTTP(rw http.ResponseWriter, r *http.Request) { w.handler.ServeHTTP(rw, r) }

// Close releases idle connections to the peers.
func (w *Webapp) Close() { w.client.CloseIdleConnections() }

// peerError is a peer's non-200 answer.
type peerError struct {
	status int
	body   string
}

func (e *peerError) Error() string { return fmt.Sprintf("answered %d: %s", e.status, e.body) }

// clientError returns the peer's 4xx answer when err is one: a fault of the request, passed on
// and not held against the peer.
func clientError(err error) (*peerError, bool) {
	var pe *peerError
	if errors.As(err, &pe) && pe.status >= 400 && pe.status < 500 {
		return pe, true
	}
	return nil, false
}

type result struct {
	text   string
	source string
	err    error
}

func (w *Webapp) root(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	greetc := make(chan result, 1)
	go func() { greetc <- w.greeting(r.Context(), q.Get("greet")) }()
	nm := w.name(r.Context(), q.Get("id"))
	gr := <-greetc

	rw.Header().Set(GreetingSourceHeader, gr.source)
	for _, res := range []struct {
		peer string
		result
	}{{"greeter", gr}, {"name", nm}} {
		if res.err == nil {
			continue
		}
		if pe, ok := clientError(res.err); ok {
			writeText(rw, pe.status, fmt.Sprintf("%s: %s\n", res.peer, pe.body))
			return
		}
		status := http.StatusInternalServerError
		if w.cfg.Mode == Resilient {
			status = http.StatusServiceUnavailable
		}
		writeText(rw, status, fmt.Sprintf("%s: %v\n", res.peer, res.err))
		return
	}
	writeText(rw, http.StatusOK, gr.text+" "+nm.text+"\n")
}

// greeting asks greeter; in resilient mode through its breaker, falling back on failure.
func (w *Webapp) greeting(ctx context.Context, greet string) result {
	v := url.Values{}
	if greet != "" {
		v.Set("greet", greet)
	}
	call := func(ctx context.Context) (string, error) {
		base, err := w.greeterBase(ctx)
		if err != nil {
			return "", err
		}
		return w.get(ctx, withQuery(base+"/", v))
	}
	if w.cfg.Mode == Fragile {
		text, err := call(ctx)
		if err != nil {
			w.cfg.Logger.Printf("greeter call failed: %v", err)
		}
		return result{text: text, source: SourceGreeter, err: err}
	}
	text, called, err := w.guarded(ctx, w.greeterB, call)
	switch {
	case !called:
		return result{text: w.cfg.FallbackGreeting, source: SourceBreakerOpen}
	case err == nil:
		return result{text: text, source: SourceGreeter}
	}
	if _, ok := clientError(err); ok {
		return result{source: SourceGreeter, err: err}
	}
	w.cfg.Logger.Printf("greeter call failed: %v; answering with the fallback greeting %q", err, w.cfg.FallbackGreeting)
	return result{text: w.cfg.FallbackGreeting, source: SourceFallback}
}

// name asks name; in resilient mode through its breaker.
func (w *Webapp) name(ctx context.Context, id string) result {
	v := url.Values{}
	if id != "" {
		v.Set("id", id)
	}
	call := func(ctx context.Context) (string, error) { return w.get(ctx, withQuery(w.cfg.NameURL+"/", v)) }
	if w.cfg.Mode == Fragile {
		text, err := call(ctx)
		if err != nil {
			w.cfg.Logger.Printf("name call failed: %v", err)
		}
		return result{text: text, err: err}
	}
	text, called, err := w.guarded(ctx, w.nameB, call)
	if !called {
		return result{err: errors.New("breaker open, not called")}
	}
	if err != nil {
		if _, ok := clientError(err); !ok {
			w.cfg.Logger.Printf("name call failed: %v", err)
		}
	}
	return result{text: text, err: err}
}

// guarded runs call through breaker b with the resilient timeout. called is false when the
// breaker refused. A peer's 4xx answer counts as a success for the breaker: the peer is up.
func (w *Webapp) guarded(ctx context.Context, b *Breaker, call func(context.Context) (string, error)) (text string, called bool, err error) {
	c, ok := b.Allow()
	if !ok {
		return "", false, nil
	}
	cctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	text, err = call(cctx)
	_, isClient := clientError(err)
	switch {
	case err == nil || isClient:
		c.Success()
	case ctx.Err() != nil:
		c.Abandon() // our own client went away first: that says nothing about the peer
	default:
		if cctx.Err() != nil {
			err = fmt.Errorf("no answer within %s: %w", w.cfg.Timeout, err)
		}
		c.Failure()
	}
	return text, true, err
}

// greeterBase is greeter's base URL: the Service's, or with the endpoint cache the pod address
// greeter reported on the first successful /whoami, forever after.
func (w *Webapp) greeterBase(ctx context.Context) (string, error) {
	if !w.cfg.EndpointCache {
		return w.cfg.GreeterURL, nil
	}
	w.cacheMu.Lock()
	cached := w.cached
	w.cacheMu.Unlock()
	if cached != "" {
		return "http://" + cached, nil
	}
	addr, err := w.get(ctx, w.cfg.GreeterURL+"/whoami")
	if err != nil {
		return "", fmt.Errorf("asking greeter for its address: %w", err)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("asking greeter for its address: want host:port, got %q", addr)
	}
	w.cacheMu.Lock()
	if w.cached == "" {
		w.cached = addr
		w.cfg.Logger.Printf("endpoint cache: greeter is at %s; calling it there from now on, never refreshing", addr)
	}
	addr = w.cached
	w.cacheMu.Unlock()
	return "http://" + addr, nil
}

// CachedGreeter returns the greeter address held by the endpoint cache, "" when none.
func (w *Webapp) CachedGreeter() string {
	w.cacheMu.Lock()
	defer w.cacheMu.Unlock()
	return w.cached
}

// get fetches u and returns its trimmed body, or an error for a transport failure or a non-200
// answer.
func (w *Webapp) get(ctx context.Context, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPeerBody))
	if err != nil {
		return "", fmt.Errorf("GET %s: reading the answer: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", &peerError{status: resp.StatusCode, body: trimBody(body)}
	}
	return strings.TrimSpace(string(body)), nil
}

// withQuery appends the encoded query v to u, if any.
func withQuery(u string, v url.Values) string {
	if len(v) == 0 {
		return u
	}
	return u + "?" + v.Encode()
}
