package process_test

import (
	"context"
	"testing"

	"github.com/chaostest/chaostest/provider"
	"github.com/chaostest/chaostest/providers/process"
)

// BenchmarkProcessProbe measures one process probe running `true` through the registered
// provider type: PATH lookup, start, wait, output.
func BenchmarkProcessProbe(b *testing.B) {
	pt, _ := provider.LookupProviderType("process")
	prov := process.Command("true").Object()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pt.Run(ctx, provider.Env{}, prov); err != nil {
			b.Fatal(err)
		}
	}
}
