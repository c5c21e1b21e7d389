// Package pyre compiles Python re patterns for Go (work in progress).
package pyre

import "regexp"

// Regexp is a compiled Python pattern.
type Regexp struct{ re *regexp.Regexp }

// Compile compiles a Python re pattern.
func Compile(pattern string) (*Regexp, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	return &Regexp{re: re}, nil
}

// Search reports whether re.search(pattern, s) finds a match.
func (r *Regexp) Search(s string) bool { return r.re.MatchString(s) }

// Search reports whether re.search finds a match of re in s.
func Search(re *Regexp, s string) bool { return re.Search(s) }
