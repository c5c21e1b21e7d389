package pystr_test

import (
	"fmt"

	"github.com/chaostest/chaostest/internal/pystr"
	"github.com/chaostest/chaostest/jsonvalue"
)

func ExampleStr() {
	fmt.Println("pre-" + pystr.Str(true) + "-post")
	fmt.Println(pystr.Str(nil), pystr.Str(1e16), pystr.Str(2.0))
	fmt.Println(pystr.Str([]any{int64(1), "two", "it's"}))
	fmt.Println(pystr.Str(jsonvalue.NewObject("a", int64(1))))
	// Output:
	// pre-True-post
	// None 1e+16 2.0
	// [1, 'two', "it's"]
	// {'a': 1}
}
