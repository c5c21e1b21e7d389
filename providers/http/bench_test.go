package http_test

import (
	"context"
	"testing"

	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/http"
)

// BenchmarkHTTPProbe measures one http probe (a GET on a loopback server, a new connection each
// time as Chaos Toolkit opens a new session per activity), through the registered provider type.
func BenchmarkHTTPProbe(b *testing.B) {
	srv := newTestServer(b)
	pt, _ := provider.LookupProviderType("http")
	prov := http.Get(srv.URL).Timeout(5e9).Object()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pt.Run(ctx, provider.Env{}, prov); err != nil {
			b.Fatal(err)
		}
	}
}
