package main

import (
	"fmt"
	"strings"

	"github.com/chaostest/chaostest/journal"
)

// checkJournalPath refuses, before anything runs, a journal path the journal could not be
// written to (journal.CheckDestination), or one that names the experiment or a var file, which
// the journal would overwrite.
func checkJournalPath(journalPath, experiment string, varFiles []string) error {
	if err := journal.CheckDestination(journalPath); err != nil {
		return err
	}
	inputs := append([]string{experiment}, varFiles...)
	for i, in := range inputs {
		if strings.HasPrefix(in, "http://") || strings.HasPrefix(in, "https://") {
			continue
		}
		if journal.SameFile(journalPath, in) {
			what := "the experiment"
			if i > 0 {
				what = "the var file"
			}
			return fmt.Errorf("the journal path %s is %s %s: refusing to overwrite it with the journal", journalPath, what, in)
		}
	}
	return nil
}
