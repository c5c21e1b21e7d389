package jsonpath2

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaostest/chaostest/jsonvalue"
)

func doc(t testing.TB, s string) any {
	t.Helper()
	v, err := jsonvalue.Decode([]byte(s))
	require.NoError(t, err)
	return v
}

func find(t testing.TB, path string, d any) []any {
	t.Helper()
	p, err := Compile(path)
	require.NoError(t, err, "Compile(%q)", path)
	return p.Find(d)
}

const bookstore = `{"store": {
  "book": [
    {"category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95},
    {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99},
    {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99},
    {"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "price": 22.99}
  ],
  "bicycle": {"color": "red", "price": 19.95}
}}`

func titles(vs []any) []any {
	out := []any{}
	for _, v := range vs {
		out = append(out, v.(*jsonvalue.Object).Value("title"))
	}
	return out
}

// The bookstore cases are jsonpath2's own tests (tests/bookstore_test.py).
func TestBookstore(t *testing.T) {
	d := doc(t, bookstore)
	authors := []any{"Nigel Rees", "Evelyn Waugh", "Herman Melville", "J. R. R. Tolkien"}
	assert.Equal(t, authors, find(t, "$.store.book[*].author", d))
	assert.Equal(t, authors, find(t, "$..author", d))

	store := find(t, "$.store.*", d)
	require.Len(t, store, 2)
	assert.IsType(t, []any{}, store[0])
	assert.Equal(t, "red", store[1].(*jsonvalue.Object).Value("color"))

	assert.Equal(t, []any{8.95, 12.99, 8.99, 22.99, 19.95}, find(t, "$.store..price", d))
	assert.Equal(t, []any{"Moby Dick"}, titles(find(t, "$..book[2]", d)))
	for _, p := range []string{"$..book[-1:]", "$..book[-1]", "$..book[3:4:1]"} {
		assert.Equal(t, []any{"The Lord of the Rings"}, titles(find(t, p, d)), p)
	}
	for _, p := range []string{"$..book[0,1]", "$..book[:2]", "$..book[:2:1]", "$..book[:2:]"} {
		assert.Equal(t, []any{"Sayings of the Century", "Sword of Honour"}, titles(find(t, p, d)), p)
	}
	assert.Equal(t, []any{"Moby Dick", "The Lord of the Rings"}, titles(find(t, "$..book[*][?(@.isbn)]", d)))
	for _, p := range []string{"$..book[*][?(@.price<10)]", "$..book[*][?(@.price<=10)]"} {
		assert.Equal(t, []any{"Sayings of the Century", "Moby Dick"}, titles(find(t, p, d)), p)
	}
	for _, p := range []string{"$..book[*][?(@.price>10)]", "$..book[*][?(@.price>=10)]"} {
		assert.Equal(t, []any{"Sword of Honour", "The Lord of the Rings"}, titles(find(t, p, d)), p)
	}
	assert.Equal(t, []any{"Sayings of the Century"}, titles(find(t, `$..book[*][?(@.author = "Nigel Rees")]`, d)))
	assert.Equal(t, []any{"Sayings of the Century"}, titles(find(t, `$..book[*][?(@.category != "fiction")]`, d)))
	assert.Equal(t, []any{"Sayings of the Century", "Moby Dick"}, titles(find(t, "$..book[::2]", d)))
	assert.Equal(t, []any{"Moby Dick", "The Lord of the Rings"}, titles(find(t, "$..book[2::]", d)))
}

// The chaoslib cases come from chaostoolkit-lib's tests/test_tolerance.py and the compat notes.
func TestChaosToolkitExamples(t *testing.T) {
	two := doc(t, `{"foo": [{"baz": 1}, {"baz": 2}]}`)
	assert.Len(t, find(t, "$.foo.*[?(@.baz)]", two), 2)
	assert.Empty(t, find(t, "$.notsofoo.*[?(@.baz)].baz", two))
	assert.Equal(t, []any{two.(*jsonvalue.Object).Value("foo").([]any)[1]}, find(t, "$.foo.*[?(@.baz=2)]", two))
	assert.Equal(t, []any{int64(1), int64(2)}, find(t, "$.foo[*].baz", two))

	hello := doc(t, `{"foo": {"baz": "hello"}}`)
	assert.Equal(t, []any{"hello"}, find(t, "$.foo[?(@.baz)].baz", hello))
	assert.Len(t, find(t, `$.foo[?(@.baz="hello")]`, hello), 1)
	assert.Empty(t, find(t, `$.foo[?(@.baz="bonjour")]`, hello))
	assert.Empty(t, find(t, "$.foo[?(@.baz)].baz", doc(t, `{"foo": {"jon": "boom"}}`)))
	assert.Equal(t, []any{"hello", "bonjour"}, find(t, "$.foo.*[?(@.baz)].baz", doc(t, `{"foo": [{"baz": "hello"}, {"baz": "bonjour"}]}`)))

	fours := doc(t, `{"foo": [{"baz": 4}, {"baz": 4}]}`)
	assert.Len(t, find(t, "$.foo.*[?(@.baz=4)]", fours), 2)

	// [?(@.value[1]!="0")] on Prometheus-like results.
	prom := doc(t, `{"data": {"result": [{"metric": {"pod": "a"}, "value": [1700000000, "0"]},
		{"metric": {"pod": "b"}, "value": [1700000000, "3"]}]}}`)
	got := find(t, `$.data.result.*[?(@.value[1]!="0")].metric.pod`, prom)
	assert.Equal(t, []any{"b"}, got)
}

func TestSelectors(t *testing.T) {
	d := doc(t, `{"a": {"b": [10, 20, 30, 40], "c": {"d": 1}}, "x y": 5, "k": "b", "i": 2}`)
	cases := []struct {
		path string
		want []any
	}{
		{"$", []any{d}},
		{"$.a.b[0]", []any{int64(10)}},
		{"$.a.b[-1]", []any{int64(40)}},
		{"$.a.b[-5]", nil},
		{"$.a.b[4]", nil},
		{`$["a"]["b"][1]`, []any{int64(20)}},
		{`$["x y"]`, []any{int64(5)}},
		{"$.a.b[1:3]", []any{int64(20), int64(30)}},
		{"$.a.b[:-2]", []any{int64(10), int64(20)}},
		{"$.a.b[::-1]", nil}, // jsonpath2: range(0, len, -1) is empty
		{"$.a.b[3:0:-1]", []any{int64(40), int64(30), int64(20)}},
		{"$.a.b[1:100]", []any{int64(20), int64(30), int64(40)}},
		{"$.a.b[0,2,-1]", []any{int64(10), int64(30), int64(40)}},
		{`$.a["b","c"]`, []any{[]any{int64(10), int64(20), int64(30), int64(40)}, jsonvalue.NewObject("d", int64(1))}},
		{"$.a.b.length()", []any{int64(4)}},
		{"$.a.b[length()]", []any{int64(4)}},
		{"$.k.length()", []any{int64(1)}},
		{"$.a.keys()", []any{[]any{"b", "c"}}},
		{"$.a.c.values()", []any{[]any{int64(1)}}},
		{"$.a.c.entries()", []any{[]any{[]any{"d", int64(1)}}}},
		{"$.a.b.keys()", []any{[]any{int64(0), int64(1), int64(2), int64(3)}}},
		{"$.k.charAt(0)", []any{"b"}},
		{"$.k.charAt(5)", nil},
		{`$.a[$.k]`, []any{[]any{int64(10), int64(20), int64(30), int64(40)}}},
		{`$.a.b[$.i]`, []any{int64(30)}},
		{"$.a.*", []any{[]any{int64(10), int64(20), int64(30), int64(40)}, jsonvalue.NewObject("d", int64(1))}},
		{"$..d", []any{int64(1)}},
		{"$.missing", nil},
		{"$.a.b.missing", nil},
		{"$.a.b[*][?(@ > 15 and @ < 35)]", []any{int64(20), int64(30)}},
		{"$.a.b[*][?(@ = 10 or @ = 40)]", []any{int64(10), int64(40)}},
		{"$.a.b[*][?(not @ = 10)]", []any{int64(20), int64(30), int64(40)}},
		{"$.a.b[*][?(@ = 20.0)]", []any{int64(20)}},
		{"$.a.b[*][?(@ > \"a\")]", nil}, // ordering only between numbers
		{"$.a[?(@.b[*] = 30)]", []any{d.(*jsonvalue.Object).Value("a")}},
		{"$.a[?(@.c = {\"d\": 1})].c.d", []any{int64(1)}},
		{"$.a[?(@.b = [10, 20, 30, 40])].c.d", []any{int64(1)}},
		{"$.a[?(@.c.d = true)].c.d", []any{int64(1)}}, // Python: True == 1
		{"$.a[?(@.nope = null)]", nil},
		{"$[?(@.i = $.i)].k", []any{"b"}},
		{"$.k[?(true)]", []any{"b"}},
		{"$.k[?(0)]", nil},
		{"$.a.substring(1)", nil},
		{"$.k.substring(0, 5)", []any{"b"}},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, find(t, c.path, d), c.path)
	}
}

func TestOrBindsTighterThanAnd(t *testing.T) {
	// jsonpath2's grammar: andExpression : orExpression ('and' andExpression)?, so
	// "a and b or c" is "a and (b or c)".
	d := doc(t, `[{"a": 0, "b": 0, "c": 1}]`)
	assert.Empty(t, find(t, "$[*][?(@.a = 1 and @.b = 1 or @.c = 1)]", d))
	assert.Len(t, find(t, "$[*][?((@.a = 1 and @.b = 1) or @.c = 1)]", d), 1)
}

func TestRecursiveDescentOrder(t *testing.T) {
	d := doc(t, `{"n": 1, "c": [{"n": 2, "c": [{"n": 3}]}, {"n": 4}]}`)
	assert.Equal(t, []any{int64(1), int64(2), int64(3), int64(4)}, find(t, "$..n", d))
	assert.Len(t, find(t, "$..[?(@.n)]", d), 4)
	assert.Len(t, find(t, "$..*", d), 9)
}

func TestSliceQuirks(t *testing.T) {
	d := doc(t, `[0, 1, 2, 3]`)
	// Indices that stay negative after one adjustment wrap once more, as in jsonpath2.
	assert.Equal(t, []any{int64(0), int64(1), int64(2), int64(3), int64(0), int64(1), int64(2), int64(3)}, find(t, "$[-10:]", d))
	assert.Equal(t, []any{int64(1), int64(3)}, find(t, "$[1::2]", d))
	assert.Nil(t, find(t, "$[::0]", d))
	assert.Equal(t, []any{int64(3)}, find(t, "$[-1000000000000:]", d)[7:])
}

func TestMapsAndPlainValues(t *testing.T) {
	m := map[string]any{"b": []any{int64(1)}, "a": map[string]any{"x": "y"}}
	assert.Equal(t, []any{"y"}, find(t, "$.a.x", m))
	assert.Equal(t, []any{map[string]any{"x": "y"}, []any{int64(1)}}, find(t, "$.*", m), "sorted keys")
	assert.Equal(t, []any{"s"}, find(t, "$", "s"))
	assert.Nil(t, find(t, "$.a", "s"))
	assert.Nil(t, find(t, "$[0]", nil))
}

func TestStringKeysAreRaw(t *testing.T) {
	// jsonpath2 strips the quotes and does not decode escapes.
	d := jsonvalue.NewObject(`a\"b`, int64(1), `a"b`, int64(2))
	assert.Equal(t, []any{int64(1)}, find(t, `$["a\"b"]`, d))
}

func TestCompileErrors(t *testing.T) {
	bad := []string{
		"", "foo", "$.", "$..", "$[", "$[]", "$['a']", "$.a b", "$.[0]", "$[1.5]", "$[1e3]",
		"$.true", "$.and", "$.a[?(@.b == 1)]", "$.a[?(@.b)", "$.foo()", "$.nosuch()", "$[foo]",
		"$[-]", "$[01]", `$["a\q"]`, `$["unterminated]`, "$.a!", "$...a", "$.a[?()]", "$[?(@.a = )]",
		"$.a.1", "@.a",
	}
	for _, p := range bad {
		_, err := Compile(p)
		assert.Error(t, err, "Compile(%q) must fail", p)
	}
	_, err := Compile("$.a[?(@.b = 1)")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 1:")
	_, err = Compile("$.nosuch()")
	assert.EqualError(t, err, "callable subscript 'nosuch' not found")

	good := []string{"$", "$.a", "$ . a [ 0 ]", "$..a", "$..[0]", "$..*", "$.*", "$[*]", "$[:]", "$[::]",
		"$[-1:]", `$["a","b"]`, "$[?(@)]", "$[?(not not @.a)]", "$.andx", "$.trueish", "$.length",
		"$[?(@.a = -1.5e3)]", "$[?(@.a = {})]", "$[?(@.a = [])]", `$[?(@.a = "\u00e9\n")]`,
		"$.a.substring(1, 2)", "$[charAt(0)]", "$[@.a, $.b]", "$[?(1 = @.a)]"}
	for _, p := range good {
		_, err := Compile(p)
		assert.NoError(t, err, "Compile(%q)", p)
	}
}

func TestEqual(t *testing.T) {
	assert.True(t, Equal(int64(1), 1.0))
	assert.True(t, Equal(true, int64(1)))
	assert.True(t, Equal(false, 0.0))
	assert.False(t, Equal("1", int64(1)))
	assert.True(t, Equal(nil, nil))
	assert.False(t, Equal(nil, false))
	assert.True(t, Equal([]any{int64(1), "a"}, []any{1.0, "a"}))
	assert.True(t, Equal(jsonvalue.NewObject("a", int64(1), "b", nil), map[string]any{"b": nil, "a": true}))
	assert.False(t, Equal(jsonvalue.NewObject("a", int64(1)), map[string]any{"a": int64(1), "b": nil}))
	assert.False(t, Equal(int64(9007199254740993), 9007199254740992.0), "exact int/float comparison")
	assert.True(t, Equal(int64(9007199254740992), 9007199254740992.0))
}

func BenchmarkFind(b *testing.B) {
	d := doc(b, bookstore)
	p := MustCompile(`$..book[*][?(@.price < 10 and @.category = "fiction")].title`)
	b.ReportAllocs()
	for b.Loop() {
		if len(p.Find(d)) != 1 {
			b.Fatal("expected one match")
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(`$.data.result.*[?(@.value[1]!="0")].metric.pod`); err != nil {
			b.Fatal(err)
		}
	}
}
