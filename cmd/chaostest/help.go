package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
)

// parseCommand parses a command's flags and arguments (parseInterleaved). `--help` (or -h)
// prints the command's usage to stdout and ends with exit code 0, as click does; a bad flag
// prints the error and the usage to stderr and ends with exit code 2. ok is false when the
// command must end with code.
func parseCommand(fs *flag.FlagSet, synopsis string, args []string, stdout, stderr io.Writer) (pos []string, code int, ok bool) {
	fs.Usage = func() {} // printed below, to the right stream
	pos, err := parseInterleaved(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printUsage(fs, synopsis, stdout)
		return nil, 0, false
	case err != nil:
		printUsage(fs, synopsis, stderr)
		return nil, 2, false
	}
	return pos, 0, true
}

func printUsage(fs *flag.FlagSet, synopsis string, w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n\noptions:\n", synopsis)
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
}

// maxFrequency is the largest --hypothesis-frequency a time.Duration holds, in seconds.
const maxFrequency = float64(math.MaxInt64 / 1e9)

// checkFrequency refuses a --hypothesis-frequency that is not a positive, finite number of
// seconds (NaN and Inf parse as floats).
func checkFrequency(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > maxFrequency {
		return fmt.Errorf("--hypothesis-frequency must be a positive, finite number of seconds (at most %.0f), not %v", maxFrequency, f)
	}
	return nil
}
