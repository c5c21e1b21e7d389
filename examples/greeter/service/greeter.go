package service

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultGreeting is what greeter answers when the request names no greeting.
const DefaultGreeting = "Hello"

// maxGreetingLen bounds the greeting greeter echoes back.
const maxGreetingLen = 64

// GreeterConfig configures the greeter service. The zero value is usable: greeting "Hello",
// ready at once, logs discarded, real clock.
type GreeterConfig struct {
	// Greeting is the answer to "/" without a greet parameter. Default DefaultGreeting.
	Greeting string
	// ReadyAfter is the readiness delay: /healthz/ready answers 503 until this long after the
	// handler was created, as a service warming up would. Zero means ready at once.
	ReadyAfter time.Duration
	// PodIP is the address /whoami reports (from the downward-API variable POD_IP). When empty,
	// /whoami reports the local address the request arrived on.
	PodIP string
	// Logger receives one line per request. Nil discards them.
	Logger *log.Logger
	// Now is the clock used for the readiness delay. Nil means time.Now.
	Now func() time.Time
}

// GreeterConfigFromEnv reads the greeter's configuration from environment variables through
// getenv (os.Getenv in main): GREETING, READY_AFTER (a Go duration such as "8s") and POD_IP.
// Logger and Now are left nil.
func GreeterConfigFromEnv(getenv func(string) string) (GreeterConfig, error) {
	cfg := GreeterConfig{Greeting: getenv("GREETING"), PodIP: getenv("POD_IP")}
	if v := getenv("READY_AFTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return GreeterConfig{}, fmt.Errorf("READY_AFTER: want a non-negative Go duration such as 8s, got %q", v)
		}
		cfg.ReadyAfter = d
	}
	if cfg.PodIP != "" && net.ParseIP(cfg.PodIP) == nil {
		return GreeterConfig{}, fmt.Errorf("POD_IP: want an IP address, got %q", cfg.PodIP)
	}
	return cfg, nil
}

// Greeter is the greeter service's HTTP handler:
//
//	GET /?greet=Hi       the greeting: the greet parameter if given, else the configured one
//	GET /whoami          "POD_IP:PORT", the address that reaches this very instance
//	GET /healthz/live    always 200
//	GET /healthz/ready   503 until the readiness delay has passed, 200 after
//
// Every request is logged as one line.
type Greeter struct {
	cfg     GreeterConfig
	start   time.Time
	handler http.Handler

	mu    sync.Mutex
	ready bool // latched once the delay has passed
}

// NewGreeter returns the greeter handler; its readiness delay starts now (by cfg.Now).
func NewGreeter(cfg GreeterConfig) *Greeter {
	if cfg.Greeting == "" {
		cfg.Greeting = DefaultGreeting
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = log.New(discard{}, "", 0)
	}
	g := &Greeter{cfg: cfg, start: cfg.Now()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", g.greet)
	mux.HandleFunc("GET /whoami", g.whoami)
	healthHandlers(mux, g.Ready)
	g.handler = LogRequests(cfg.Logger, mux)
	return g
}

// ServeHTTP implements http.Handler.
func (g *Greeter) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.handler.ServeHTTP(w, r) }

// Ready reports whether the readiness delay has passed since NewGreeter.
func (g *Greeter) Ready() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.ready && g.cfg.Now().Sub(g.start) >= g.cfg.ReadyAfter {
		g.ready = true
	}
	return g.ready
}

func (g *Greeter) greet(w http.ResponseWriter, r *http.Request) {
	greeting := strings.TrimSpace(r.URL.Query().Get("greet"))
	if greeting == "" {
		greeting = g.cfg.Greeting
	}
	if len(greeting) > maxGreetingLen || strings.ContainsAny(greeting, "\r\n") {
		writeText(w, http.StatusBadRequest, fmt.Sprintf("greet: want at most %d characters on one line, got %d\n", maxGreetingLen, len(greeting)))
		return
	}
	writeText(w, http.StatusOK, greeting)
}

func (g *Greeter) whoami(w http.ResponseWriter, r *http.Request) {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if local == nil {
		writeText(w, http.StatusInternalServerError, "whoami: the local address of the connection is unknown\n")
		return
	}
	host, port, err := net.SplitHostPort(local.String())
	if err != nil {
		writeText(w, http.StatusInternalServerError, fmt.Sprintf("whoami: cannot split local address %q: %v\n", local, err))
		return
	}
	if g.cfg.PodIP != "" {
		host = g.cfg.PodIP
	}
	writeText(w, http.StatusOK, net.JoinHostPort(host, port))
}

// discard is an io.Writer that drops everything.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
