package chaostest

import "sort"

func sortStrings(s []string) { sort.Strings(s) }
