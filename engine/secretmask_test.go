package engine_test

import (
	"context"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
	_ "github.com/chaostest/chaostest/providers/http"
	_ "github.com/chaostest/chaostest/providers/process"
)

// TestSecretValuesMaskedInLogsAndJournal: secret values (inline, from the environment, from a
// var file) substituted into the title, a URL that fails, an http output, a process output and
// an exception never show in clear in a log line or in the journal; one mask is used.
func TestSecretValuesMaskedInLogsAndJournal(t *testing.T) {
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, "you sent "+r.URL.RawQuery)
	}))
	defer srv.Close()
	t.Setenv("CHAOSTEST_TEST_DB_PASSWORD", "env-pa55word")
	dir := t.TempDir()
	vf := filepath.Join(dir, "vars.yaml")
	require.NoError(t, os.WriteFile(vf, []byte("secrets:\n  vault:\n    key: var-file-k3y\n"), 0o644))

	src := fmt.Sprintf(`{"title": "Deploy with ${token}", "description": "d",
	  "secrets": {"api": {"token": "s3cr3t-t0ken", "short": "ab", "pw": {"type": "env", "key": "CHAOSTEST_TEST_DB_PASSWORD"}}},
	  "method": [
	    {"type": "probe", "name": "echo", "provider": {"type": "http", "secrets": ["api"],
	      "url": "%s/echo?t=${token}", "headers": {"Authorization": "Bearer ${pw}"}}},
	    {"type": "probe", "name": "refused", "provider": {"type": "http", "secrets": ["api"], "url": "http://127.0.0.1:1/${token}", "timeout": 2}},
	    {"type": "probe", "name": "print", "provider": {"type": "process", "secrets": ["api", "vault"], "path": "sh",
	      "arguments": ["-c", "echo pw=${pw} key=${key}; printf ${short} >&2"]}},
	    {"type": "probe", "name": "about", "provider": {"type": "process", "path": "echo", "arguments": ["about abc"]}}
	  ]}`, srv.URL)
	e, err := engine.Parse([]byte(src), "json")
	require.NoError(t, err)
	vars := &engine.Vars{}
	require.NoError(t, vars.LoadFile(vf))
	var mu sync.Mutex
	var lines []string
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := engine.Run(ctx, e, engine.Settings{Vars: vars, Log: func(l engine.Level, msg string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, string(l)+" "+msg)
	}})
	require.NoError(t, err)
	data, err := journal.Encode(j)
	require.NoError(t, err)
	log := strings.Join(lines, "\n")
	for _, secret := range []string{"s3cr3t-t0ken", "env-pa55word", "var-file-k3y"} {
		assert.NotContains(t, string(data), secret, "journal")
		assert.NotContains(t, log, secret, "log")
	}
	assert.Equal(t, "Deploy with ********", j.Experiment.Value("title"))
	assert.Contains(t, log, "INFO Running experiment: Deploy with ********")

	echo := j.Run[0].Output.(*jsonvalue.Object)
	assert.Equal(t, "you sent t=********", echo.Value("body"))
	assert.Equal(t, "Bearer ********", echo.Value("headers").(*jsonvalue.Object).Value("X-Echo"))

	refused := j.Run[1]
	assert.Equal(t, journal.RunFailed, refused.Status)
	assert.Contains(t, refused.ExceptionMessage(), "http://127.0.0.1:1/********")
	assert.Contains(t, log, "http://127.0.0.1:1/********")

	printed := j.Run[2].Output.(*jsonvalue.Object)
	assert.Equal(t, "pw=******** key=********\n", printed.Value("stdout"))
	assert.Equal(t, engine.SecretMask, printed.Value("stderr"), "a short secret is masked where it is the whole string")
	about := j.Run[3].Output.(*jsonvalue.Object)
	assert.Equal(t, "about abc\n", about.Value("stdout"), "a short secret is not masked inside other text")

	// The experiment's secrets block: inline values masked with the same mask, env references kept.
	sec := j.Experiment.Value("secrets").(*jsonvalue.Object).Value("api").(*jsonvalue.Object)
	assert.Equal(t, engine.SecretMask, sec.Value("token"))
	assert.Equal(t, "CHAOSTEST_TEST_DB_PASSWORD", sec.Value("pw").(*jsonvalue.Object).Value("key"))
	assert.Equal(t, journal.Masked, engine.SecretMask)
}
