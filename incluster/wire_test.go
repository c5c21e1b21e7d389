package incluster

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// feed passes the log text line by line to a journalReader and returns the lines that are
// not framing.
func feed(t *testing.T, r *journalReader, log string) []string {
	t.Helper()
	var rest []string
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		framing, err := r.line(sc.Text())
		require.NoError(t, err)
		if !framing {
			rest = append(rest, sc.Text())
		}
	}
	return rest
}

func TestJournalSurvivesTheLogWhole(t *testing.T) {
	// a 6 MB journal: more than a ConfigMap (1 MiB) or a termination message (4 KiB) holds
	var b strings.Builder
	b.WriteString(`{"status": "completed", "run": [`)
	for i := 0; b.Len() < 6<<20; i++ {
		fmt.Fprintf(&b, `{"name": "probe-%d", "output": "%x"},`, i, i*7919)
	}
	b.WriteString(`{}]}`)
	data := []byte(b.String())
	var log bytes.Buffer
	log.WriteString("[2026-12-01 11:00:00 INFO] Experiment ended with status: completed\n")
	require.NoError(t, WriteJournal(&log, data))
	r := &journalReader{}
	rest := feed(t, r, log.String())
	require.Equal(t, []string{"[2026-12-01 11:00:00 INFO] Experiment ended with status: completed"}, rest, "only the run's own lines are printed")
	got, err := r.journal()
	require.NoError(t, err)
	require.Equal(t, data, got)
	for _, l := range strings.Split(log.String(), "\n") {
		require.LessOrEqual(t, len(l), lineWidth+100, "log lines stay short")
	}
}

func TestJournalCutOrCorruptIsAnError(t *testing.T) {
	var log bytes.Buffer
	require.NoError(t, WriteJournal(&log, []byte(`{"status": "completed"}`)))
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	require.Len(t, lines, 3)

	r := &journalReader{}
	feed(t, r, strings.Join(lines[:2], "\n"))
	_, err := r.journal()
	require.ErrorContains(t, err, "cut before its end marker")

	r = &journalReader{}
	feed(t, r, "a line\nanother\n")
	_, err = r.journal()
	require.ErrorContains(t, err, "holds no journal")

	other := &bytes.Buffer{}
	require.NoError(t, WriteJournal(other, []byte(`{"status": "failed"}`)))
	otherLines := strings.Split(strings.TrimSpace(other.String()), "\n")
	r = &journalReader{}
	feed(t, r, strings.Join([]string{lines[0], otherLines[1], lines[2]}, "\n"))
	_, err = r.journal()
	require.ErrorContains(t, err, "does not match its checksum")

	r = &journalReader{}
	_, err = r.line(beginMarker + " x y")
	require.ErrorContains(t, err, "malformed journal marker")
}
