package process_test

import (
	"context"
	"fmt"
	"time"

	"github.com/chaostest/chaostest/providers/process"
)

// A steady-state probe: the command must exit with status 0 within ten seconds.
func ExampleCommand() {
	probe := process.Command("kubectl", "get", "nodes").Timeout(10 * time.Second).Named("cluster-answers").Want(0)
	b, _ := probe.Object().MarshalJSON()
	fmt.Println(string(b))
	// Output:
	// {"type":"probe","name":"cluster-answers","provider":{"type":"process","path":"kubectl","arguments":["get","nodes"],"timeout":10},"tolerance":0}
}

// Running a shell command directly, outside an experiment, returns the output a probe would
// record.
func ExampleShell() {
	out, err := process.Shell("echo", "chaos | tr a-z A-Z").Do(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d %q %q\n", out.Value("status"), out.Value("stdout"), out.Value("stderr"))
	// Output:
	// 0 "CHAOS\n" ""
}
