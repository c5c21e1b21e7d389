package k8s

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// parseLast reads read_pod_logs's `last` argument, which chaosk8s hands to dateparser as a
// relative time: "20s", "30 seconds", "10 minutes", "1 hour ago", "2h30m", "1.5 hours",
// "a minute", "1 day 2 hours". A Go duration ("1m30s") and a bare number of seconds ("45") are
// accepted too. It returns how far back to read.
func parseLast(s string) (time.Duration, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	in = strings.TrimSpace(strings.TrimSuffix(in, "ago"))
	in = strings.TrimPrefix(in, "in ")
	if in == "" {
		return 0, fmt.Errorf("cannot read last=%q as a time span: empty", s)
	}
	if strings.ContainsRune(in, '-') {
		return 0, fmt.Errorf("cannot read last=%q as a time span: it must not be negative", s)
	}
	if n, err := strconv.ParseFloat(in, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second)), nil
	}
	if d, err := time.ParseDuration(in); err == nil && d >= 0 {
		return d, nil
	}
	var total time.Duration
	toks := tokenizeSpan(in)
	if len(toks) == 0 || len(toks)%2 != 0 {
		return 0, fmt.Errorf("cannot read last=%q as a time span: want a number and a unit, such as \"20s\" or \"10 minutes\"", s)
	}
	for i := 0; i < len(toks); i += 2 {
		var n float64
		switch toks[i] {
		case "a", "an", "one":
			n = 1
		default:
			v, err := strconv.ParseFloat(toks[i], 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("cannot read last=%q as a time span: %q is not a number", s, toks[i])
			}
			n = v
		}
		unit, ok := spanUnits[toks[i+1]]
		if !ok {
			return 0, fmt.Errorf("cannot read last=%q as a time span: unknown unit %q", s, toks[i+1])
		}
		total += time.Duration(n * float64(unit))
	}
	return total, nil
}

var spanUnits = map[string]time.Duration{}

func init() {
	for unit, names := range map[time.Duration][]string{
		time.Second:        {"s", "sec", "secs", "second", "seconds"},
		time.Minute:        {"m", "min", "mins", "minute", "minutes"},
		time.Hour:          {"h", "hr", "hrs", "hour", "hours"},
		24 * time.Hour:     {"d", "day", "days"},
		7 * 24 * time.Hour: {"w", "week", "weeks"},
	} {
		for _, n := range names {
			spanUnits[n] = unit
		}
	}
}

// tokenizeSpan splits "2h30m", "10 minutes", "1 day, 2 hours" into number and unit tokens.
func tokenizeSpan(s string) []string {
	var toks []string
	var cur strings.Builder
	kind := 0 // 1 number, 2 letters
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
		kind = 0
	}
	for _, r := range s {
		switch {
		case unicode.IsDigit(r) || r == '.':
			if kind != 1 {
				flush()
			}
			kind = 1
			cur.WriteRune(r)
		case unicode.IsLetter(r):
			if kind != 2 {
				flush()
			}
			kind = 2
			cur.WriteRune(r)
		default:
			flush()
		}
	}
	flush()
	var out []string
	for _, t := range toks {
		if t == "and" {
			continue
		}
		out = append(out, t)
	}
	return out
}
