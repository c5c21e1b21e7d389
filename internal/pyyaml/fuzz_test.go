package pyyaml

import "testing"

func FuzzDecode(f *testing.F) {
	for _, c := range pyCases {
		f.Add(c.in)
	}
	f.Add("a: &a {b: 1}\nc:\n  <<: *a\n  d: [*a]\n")
	f.Fuzz(func(t *testing.T, in string) {
		v, err := Decode([]byte(in))
		if err != nil && v != nil {
			t.Fatalf("Decode(%q) returned both a value and an error", in)
		}
	})
}
