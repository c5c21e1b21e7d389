package service

import (
	"fmt"
	"log"
	"net/http"
	"strconv"
)

// DefaultNames is the name service's table: id 1 is the first entry.
var DefaultNames = []string{"Sheldon", "Leonard", "Penny", "Howard", "Raj", "Bernadette", "Amy"}

// NameConfig configures the name service. The zero value uses DefaultNames and discards logs.
type NameConfig struct {
	// Names is the table, id 1 first. Default DefaultNames.
	Names []string
	// Logger receives one line per request. Nil discards them.
	Logger *log.Logger
}

// NewName returns the name service's HTTP handler:
//
//	GET /?id=N           the N-th name (1-based); id 1 when absent; 400 when N is not a
//	                     number, 404 when no one has that id
//	GET /healthz/live    always 200
//	GET /healthz/ready   always 200
func NewName(cfg NameConfig) http.Handler {
	names := cfg.Names
	if len(names) == 0 {
		names = DefaultNames
	}
	names = append([]string(nil), names...)
	logger := cfg.Logger
	if logger == nil {
		logger = log.New(discard{}, "", 0)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		raw := r.URL.Query().Get("id")
		if raw == "" {
			raw = "1"
		}
		id, err := strconv.Atoi(raw)
		if err != nil {
			writeText(w, http.StatusBadRequest, fmt.Sprintf("id: want a whole number, got %q\n", raw))
			return
		}
		if id < 1 || id > len(names) {
			writeText(w, http.StatusNotFound, fmt.Sprintf("id: want 1 to %d, got %d\n", len(names), id))
			return
		}
		writeText(w, http.StatusOK, names[id-1])
	})
	healthHandlers(mux, nil)
	return LogRequests(logger, mux)
}
