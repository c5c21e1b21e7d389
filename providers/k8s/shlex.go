package k8s

import (
	"fmt"
	"strings"
)

// shlexSplit splits a command line the way Python's shlex.split does in POSIX mode: blanks
// separate words, single quotes keep everything, double quotes keep everything but \" \\ \$ \`,
// and a backslash outside quotes escapes the next character.
func shlexSplit(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	const (
		none = iota
		single
		double
	)
	quote := none
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch quote {
		case single:
			if r == '\'' {
				quote = none
			} else {
				cur.WriteRune(r)
			}
		case double:
			switch {
			case r == '"':
				quote = none
			case r == '\\' && i+1 < len(rs) && strings.ContainsRune("\"\\$`", rs[i+1]):
				i++
				cur.WriteRune(rs[i])
			default:
				cur.WriteRune(r)
			}
		default:
			switch {
			case r == ' ' || r == '\t' || r == '\n' || r == '\r':
				if inWord {
					out = append(out, cur.String())
					cur.Reset()
					inWord = false
				}
			case r == '\'':
				quote, inWord = single, true
			case r == '"':
				quote, inWord = double, true
			case r == '\\':
				if i+1 >= len(rs) {
					return nil, fmt.Errorf("cannot split command %q: No escaped character", s)
				}
				i++
				cur.WriteRune(rs[i])
				inWord = true
			default:
				cur.WriteRune(r)
				inWord = true
			}
		}
	}
	if quote != none {
		return nil, fmt.Errorf("cannot split command %q: No closing quotation", s)
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}
