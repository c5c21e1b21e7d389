package service

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// NewHandlerFunc builds a service's handler from its environment (read through getenv) and the
// logger of its process.
type NewHandlerFunc func(getenv func(string) string, logger *log.Logger) (http.Handler, error)

// Main runs one service as a process and returns its exit code: it logs to stdout with the
// service name as prefix, builds the handler with newHandler, listens on PORT (default 8080),
// serves until SIGTERM or SIGINT, then shuts down gracefully, waiting up to SHUTDOWN_GRACE (a Go
// duration, default 10s) for in-flight requests. It returns 0 after a clean shutdown, 1 when the
// server failed and 2 when the configuration is invalid.
func Main(name string, newHandler NewHandlerFunc) int {
	logger := log.New(os.Stdout, name+": ", log.LstdFlags|log.Lmicroseconds|log.LUTC|log.Lmsgprefix)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	code, err := run(ctx, os.Getenv, logger, newHandler)
	if err != nil {
		logger.Print(err)
	}
	return code
}

func run(ctx context.Context, getenv func(string) string, logger *log.Logger, newHandler NewHandlerFunc) (int, error) {
	addr, err := ListenAddr(getenv("PORT"))
	if err != nil {
		return 2, err
	}
	grace := DefaultShutdownGrace
	if v := getenv("SHUTDOWN_GRACE"); v != "" {
		if grace, err = time.ParseDuration(v); err != nil || grace <= 0 {
			return 2, fmt.Errorf("SHUTDOWN_GRACE: want a positive Go duration such as 5s, got %q", v)
		}
	}
	h, err := newHandler(getenv, logger)
	if err != nil {
		return 2, err
	}
	if c, ok := h.(interface{ Close() }); ok {
		defer c.Close()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return 1, err
	}
	logger.Printf("listening on %s", ln.Addr())
	if err := Serve(ctx, ln, h, grace); err != nil {
		return 1, err
	}
	logger.Print("shut down cleanly")
	return 0, nil
}
