// Package shop is a tiny web shop standing in for the code of a team that adopts chaostest:
// this module uses chaostest the way a new user's module does, through its public packages
// only (see shop_test.go for experiments without a cluster, chaos_test.go for the local real
// cluster).
package shop

import (
	"fmt"
	"net/http"
	"sync/atomic"
)

// Shop serves a front page from a cache that can be flushed at any time.
type Shop struct {
	flushes atomic.Int64
}

// Flush empties the cache; the next request rebuilds it.
func (s *Shop) Flush() { s.flushes.Add(1) }

// ServeHTTP answers every request with 200 and the front page.
func (s *Shop) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprintf(w, "shop: open (cache rebuilt %d times)\n", s.flushes.Load())
}
