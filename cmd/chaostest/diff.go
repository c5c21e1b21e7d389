package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/chaostest/chaostest/journal"
)

const diffUsage = `usage: chaostest diff [-q] A B

Compares two journal.json files after normalisation (times, durations, hosts, ports and
generated names masked) and prints what changed in behaviour: the run's status and deviated
flag, the steady-state checks, and each activity's status, tolerance_met, exception and output.
Differences that do not count as behaviour are printed as notes.

  -q  print nothing, only set the exit status

Exit status: 0 when the journals do not differ in behaviour, 1 when they do, 2 for usage errors
and journals that cannot be read (like diff(1)).
`

// diffMain implements `chaostest diff`.
func diffMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	quiet := fs.Bool("q", false, "quiet")
	paths, err := parseInterleaved(fs, args)
	if err == flag.ErrHelp {
		fmt.Fprint(stdout, diffUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "chaostest diff: %v\n%s", err, diffUsage)
		return 2
	}
	if len(paths) != 2 {
		fmt.Fprintf(stderr, "chaostest diff: expected two journals A and B, got %d arguments\n%s", len(paths), diffUsage)
		return 2
	}
	a, err := journal.Read(paths[0])
	if err != nil {
		fmt.Fprintf(stderr, "chaostest diff: %v\n", err)
		return 2
	}
	b, err := journal.Read(paths[1])
	if err != nil {
		fmt.Fprintf(stderr, "chaostest diff: %v\n", err)
		return 2
	}
	d := journal.Diff(a, b)
	if !*quiet {
		fmt.Fprintf(stdout, "--- %s\n+++ %s\n", paths[0], paths[1])
		fmt.Fprint(stdout, d.String())
	}
	if d.Differs() {
		return 1
	}
	return 0
}
