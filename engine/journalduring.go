package engine

import "fmt"

// How the checks made while the method runs are journaled (Settings.JournalDuring, the CLI's
// --journal-during).
const (
	// JournalDuringFolded, the default, folds each run of consecutive checks with the same
	// outcome into one record with "count", "first" and "last" keys; every check whose
	// outcome differs from the one before is kept whole (journal.AppendDuring).
	JournalDuringFolded = "folded"
	// JournalDuringFull keeps one record per check, as Chaos Toolkit does.
	JournalDuringFull = "full"
)

// checkJournalDuring checks Settings.JournalDuring and says whether to fold.
func checkJournalDuring(mode string) (fold bool, err error) {
	switch mode {
	case "", JournalDuringFolded:
		return true, nil
	case JournalDuringFull:
		return false, nil
	}
	return false, fmt.Errorf("unknown journal-during mode %q: want folded or full", mode)
}
