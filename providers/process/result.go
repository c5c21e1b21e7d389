package process

// Result is the output of a process activity as Go values, for a Go tolerance:
//
//	process.Command("systemctl", "is-active", "worker").Want(func(r process.Result) error {
//		if r.Status != 0 {
//			return fmt.Errorf("exit status %d: %s", r.Status, r.Stderr)
//		}
//		return nil
//	})
//
// The journal keeps the output as Chaos Toolkit writes it ({"status", "stdout", "stderr"}).
type Result struct {
	// Status is the exit status, as the journal records it.
	Status int `json:"status"`
	// Stdout is what the process wrote on its standard output.
	Stdout string `json:"stdout"`
	// Stderr is what the process wrote on its standard error.
	Stderr string `json:"stderr"`
}
