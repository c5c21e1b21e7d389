//go:build chaostest_k8s

package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/incluster"
	"github.com/chaostest/chaostest/journal"
)

// parallelJournalPath is where the journal of one of several runs goes: next to
// --journal-path, named after its label ("a.json" or "a.json+staging.env": "journal-a.json",
// "journal-a-staging.json": each name without its extension).
func parallelJournalPath(journalPath, label string) string {
	var parts []string
	for _, p := range strings.Split(label, "+") {
		parts = append(parts, strings.TrimSuffix(p, filepath.Ext(p)))
	}
	return filepath.Join(filepath.Dir(journalPath), "journal-"+strings.Join(parts, "-")+".json")
}

// prefixWriter writes each whole line it gets to w with a prefix, under a shared lock, so that
// the lines of runs in parallel do not mix.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.mu.Lock()
		_, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i])
		p.mu.Unlock()
		p.buf = p.buf[i+1:]
		if err != nil {
			return len(b), err
		}
	}
}

// runParallel runs one Job per experiment file, at most limit at once (0: all), streams their
// lines prefixed with the file's name, writes each journal next to --journal-path, prints one
// summary line per experiment and an overall verdict to stdout, and returns 0 only when every
// run's exit code is 0 (otherwise the largest one).
func runParallel(plans []*podPlan, journals map[string]string, limit int,
	runOne func(*podPlan, io.Writer) (incluster.Result, error),
	stdout, stderr io.Writer, logf func(engine.Level, string), start time.Time) int {
	if limit <= 0 || limit > len(plans) {
		limit = len(plans)
	}
	type outcome struct {
		code    int
		status  string
		elapsed time.Duration
		err     error
	}
	outcomes := make([]outcome, len(plans))
	width := 0
	for _, p := range plans {
		width = max(width, len(p.label))
	}
	var mu sync.Mutex
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, p := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t0 := time.Now()
			w := &prefixWriter{mu: &mu, w: stderr, prefix: fmt.Sprintf("%-*s | ", width, p.label)}
			res, err := runOne(p, w)
			o := outcome{elapsed: time.Since(t0), err: err, code: 1}
			if err == nil {
				o.code = keepResult(res, journals[p.label], logf)
				if res.Journal != nil {
					if j, jerr := journal.Parse(res.Journal); jerr == nil {
						o.status = j.Status
						if j.Deviated {
							o.status += ", deviated"
						}
					}
				}
			}
			outcomes[i] = o
		}()
	}
	wg.Wait()
	worst, failed := 0, 0
	for i, p := range plans {
		o := outcomes[i]
		what := o.status
		switch {
		case o.err != nil:
			what = "error: " + o.err.Error()
		case what == "":
			what = "no journal"
		}
		fmt.Fprintf(stdout, "%-*s  %s (exit code %d, %s) journal: %s\n", width, p.label, what, o.code,
			o.elapsed.Round(100*time.Millisecond), journals[p.label])
		if o.code != 0 {
			failed++
			worst = max(worst, o.code)
		}
	}
	verdict := "all passed"
	if failed > 0 {
		verdict = fmt.Sprintf("%d of %d failed", failed, len(plans))
	}
	fmt.Fprintf(stdout, "%d experiments in %s: %s\n", len(plans), time.Since(start).Round(100*time.Millisecond), verdict)
	return worst
}
