package chaostest_test

import (
	"context"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/provider"
)

// TestTFailureMessageAndLogsMaskSecrets: in a Go test, a secret that a failing probe's output
// shows stays masked in the test's failure message, its log lines and its journal.
func TestTFailureMessageAndLogsMaskSecrets(t *testing.T) {
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.WriteHeader(500)
		_, _ = io.WriteString(w, "bad token "+r.URL.Query().Get("t"))
	}))
	defer srv.Close()
	f := newFake(t)
	var j *journal.Journal
	f.run(func() {
		ct := chaostest.New(f, chaostest.Secret("api", "token", "s3cr3t-t0ken"))
		ct.Action("call", chaostest.Go("call", func(ctx context.Context, env provider.Env) (any, error) {
			resp, err := nethttp.Get(srv.URL + "/?t=" + env.AllSecrets["api"]["token"].(string))
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			env.Logf("got %s", b)
			return nil, fmt.Errorf("the service said %q", b)
		}))
		j = ct.Run().Journal
	})
	all := strings.Join(f.errs, "\n") + strings.Join(f.fatals, "\n") + strings.Join(f.logs, "\n")
	assert.NotContains(t, all, "s3cr3t-t0ken")
	assert.Contains(t, all, "bad token ********")
	data, err := journal.Encode(j)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "s3cr3t-t0ken")
	assert.Contains(t, string(data), `the service said \"bad token ********\"`)
}
