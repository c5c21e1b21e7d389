//go:build chaostest_k8s

package main

import (
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestInClusterArgsForThePod(t *testing.T) {
	fs, _ := newRunFlags("run", io.Discard)
	addInClusterFlags(fs)
	args := []string{"--in-cluster", "--namespace", "chaos", "--var", "url=http://x", "--var-file=v.yaml",
		"exp.json", "--journal-path", "out/j.json", "--rollback-strategy", "always", "--keep", "--fail-fast",
		"--control-file", "c.json", "--var-file", "w.env", "--service-account=sa"}
	var seen []string
	got, err := rewriteRunArgs(fs, args, func(flagName, value string, i int) (string, error) {
		seen = append(seen, flagName+":"+value)
		return "/etc/chaostest/" + value, nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{"--var=url=http://x", "--var-file", "/etc/chaostest/v.yaml", "/etc/chaostest/exp.json",
		"--rollback-strategy=always", "--fail-fast", "--control-file", "/etc/chaostest/c.json", "--var-file", "/etc/chaostest/w.env"}, got)
	require.Equal(t, []string{"var-file:v.yaml", ":exp.json", "control-file:c.json", "var-file:w.env"}, seen)
	require.True(t, wantsInCluster(args))
	require.False(t, wantsInCluster([]string{"exp.json", "--", "--in-cluster"}))
}

func TestLoopbackAPI(t *testing.T) {
	require.Equal(t, "127.0.0.1:16444", loopbackAPI("https://127.0.0.1:16444"))
	require.Equal(t, "127.0.0.1:443", loopbackAPI("https://localhost"))
	require.Equal(t, "", loopbackAPI("https://10.0.0.1:6443"))
}

func TestInClusterArgsForOneOfSeveralFiles(t *testing.T) {
	fs, _ := newRunFlags("run", io.Discard)
	addInClusterFlags(fs)
	args := []string{"--in-cluster", "--parallel", "2", "--own-namespace", "a.json", "--var", "x=1", "b.json", "--var-file", "v.env"}
	got, err := rewriteRunArgs(fs, args, func(flagName, value string, i int) (string, error) {
		if flagName == "" && value != "b.json" {
			return "", nil
		}
		return "/etc/chaostest/" + value, nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{"--var=x=1", "/etc/chaostest/b.json", "--var-file", "/etc/chaostest/v.env"}, got)
}

func TestInClusterParallelOutput(t *testing.T) {
	require.Equal(t, "out/journal-a.json", parallelJournalPath("out/journal.json", "a.yaml"))
	require.Equal(t, "journal-b.json", parallelJournalPath("./journal.json", "b.json"))
	require.Equal(t, "out/journal-a-staging.json", parallelJournalPath("out/journal.json", "a.json+staging.env"))
	var mu sync.Mutex
	var buf strings.Builder
	w := &prefixWriter{mu: &mu, w: &buf, prefix: "a.json | "}
	_, _ = w.Write([]byte("one\ntw"))
	_, _ = w.Write([]byte("o\n"))
	require.Equal(t, "a.json | one\na.json | two\n", buf.String())
}
