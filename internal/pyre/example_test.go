package pyre_test

import (
	"fmt"

	"github.com/chaostest/chaostest/internal/pyre"
)

func ExampleRegexp_Search() {
	re, err := pyre.Compile(`^you are number \d+$`)
	if err != nil {
		panic(err)
	}
	// Python's $ also matches just before a final newline.
	fmt.Println(re.Search("you are number 87\n"))
	fmt.Println(re.Search("you are number 87\n\n"))
	_, err = pyre.Compile(`(?<=x)y`)
	fmt.Println(err)
	// Output:
	// true
	// false
	// lookbehind (?<=...) is not supported by RE2 at position 0
}
