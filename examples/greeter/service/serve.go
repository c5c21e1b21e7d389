// Package service holds the logic of the greeter example's three HTTP services — webapp, greeter
// and name — as importable handlers, so that unit tests drive them through real loopback servers
// and the main packages under examples/greeter/cmd stay a few lines long.
//
// The services mirror the Node.js applications of the chaos-engineering chapter the example
// reproduces: webapp answers "/" by asking greeter for a greeting and name for a person's name and
// renders "Hello Sheldon". Only the standard library is used, so the binaries build with
// CGO_ENABLED=0 into static executables for images without a base layer.
package service

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"time"
)

// DefaultPort is the port the services listen on when PORT is not set.
const DefaultPort = "8080"

// DefaultShutdownGrace is how long Serve waits for in-flight requests after its context ends.
const DefaultShutdownGrace = 10 * time.Second

// Serve serves h on ln until ctx is done, then shuts down gracefully: the listener closes at
// once, in-flight requests may finish for up to grace (DefaultShutdownGrace when grace <= 0),
// and idle connections are closed. It returns nil after a clean shutdown and the server's error
// otherwise (for example when ln fails, or in-flight requests outlive grace).
func Serve(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration) error {
	if grace <= 0 {
		grace = DefaultShutdownGrace
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	serr := srv.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	}
	if serr != nil {
		_ = srv.Close()
		return fmt.Errorf("shutting down %s: in-flight requests still running after %s: %w", ln.Addr(), grace, serr)
	}
	return nil
}

// ListenAddr returns the address to listen on for the PORT value port: ":"+port, or
// ":"+DefaultPort when port is empty. It rejects a port that is not a number from 1 to 65535.
func ListenAddr(port string) (string, error) {
	if port == "" {
		port = DefaultPort
	}
	var n int
	if _, err := fmt.Sscanf(port, "%d", &n); err != nil || n < 1 || n > 65535 || fmt.Sprint(n) != port {
		return "", fmt.Errorf("PORT: want a port number from 1 to 65535, got %q", port)
	}
	return ":" + port, nil
}

// LogRequests wraps h so that every request writes exactly one line to logger once it has been
// answered: the method, the request URI, the status, the duration and the remote address, e.g.
//
//	GET /?greet=Hello 200 93µs from 10.32.0.7:41312
func LogRequests(logger *log.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			logger.Printf("%s %s %d %s from %s", r.Method, r.URL.RequestURI(), status,
				time.Since(start).Round(time.Microsecond), r.RemoteAddr)
		}()
		h.ServeHTTP(sw, r)
	})
}

// statusWriter records the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeText answers with a plain-text body.
func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// healthHandlers registers /healthz/live (always 200) and /healthz/ready (200 when ready
// reports true, 503 otherwise) on mux.
func healthHandlers(mux *http.ServeMux, ready func() bool) {
	mux.HandleFunc("GET /healthz/live", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /healthz/ready", func(w http.ResponseWriter, r *http.Request) {
		if ready != nil && !ready() {
			writeText(w, http.StatusServiceUnavailable, "not ready\n")
			return
		}
		writeText(w, http.StatusOK, "ready\n")
	})
}

// trimBody shortens a peer's answer for an error message.
func trimBody(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}
