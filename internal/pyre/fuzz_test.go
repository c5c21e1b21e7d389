package pyre

import (
	"strings"
	"testing"
)

func FuzzCompile(f *testing.F) {
	for _, c := range pyCases {
		f.Add(c.pattern, "you are number 87\n")
	}
	f.Add(`(?x) a # c`, "a")
	f.Add(`[\W\d]+$`, "--\n")
	f.Fuzz(func(t *testing.T, pattern, input string) {
		re, err := Compile(pattern)
		if err != nil {
			return
		}
		got := re.Search(input)
		// Without $ or \Z the translation is searched as is.
		if !strings.ContainsAny(pattern, `$Z`) && got != re.Go().MatchString(input) {
			t.Fatalf("Search(%q, %q) = %v, the translation says otherwise", pattern, input, got)
		}
		// Search is deterministic.
		if got != re.Search(input) {
			t.Fatalf("Search(%q, %q) changed its answer", pattern, input)
		}
	})
}
