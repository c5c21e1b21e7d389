package jsonpath2

import (
	"testing"

	"github.com/chaostest/chaostest/jsonvalue"
)

func FuzzCompileFind(f *testing.F) {
	for _, s := range []string{"$.store.book[*].author", "$..book[*][?(@.price<10)]", `$["a"][0:2:1]`,
		"$..*", "$.a.b.length()", `$[?(@.a = {"b": [1, 2.5, true, null]})]`, "$[@.k, $.i]", "$.k.substring(1, -1)"} {
		f.Add(s)
	}
	d, err := jsonvalue.Decode([]byte(bookstore))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path string) {
		p, err := Compile(path)
		if err != nil {
			if p != nil {
				t.Fatalf("Compile(%q) returned both a path and an error", path)
			}
			return
		}
		_ = p.Find(d)
		_ = p.Find([]any{int64(1), "two", nil, jsonvalue.NewObject("k", "v")})
	})
}
