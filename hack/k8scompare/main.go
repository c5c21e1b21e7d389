// Command k8scompare runs an experiment file with the CLI (bin/chaostest, which calls the
// Kubernetes providers in its helper) and with bin/chaostest-k8s used as the CLI (the same
// command built with -tags chaostest_k8s, the providers in process), and checks that both give
// the same exit code, the same log lines and the same journal once the run-to-run differences are
// masked (journal.Normalize, times in the log lines, the generated names journal.MaskString
// masks). Build both with make build.
//
//	go run ./hack/k8scompare -a bin/chaostest -b bin/chaostest-k8s -- run --var k=v exp.json
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/chaostest/chaostest/journal"
	"github.com/chaostest/chaostest/jsonvalue"
)

// volatile names activities whose output values differ from run to run by nature (pod logs).
var volatile = map[string]bool{}

var stamp = regexp.MustCompile(`^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} `)

type result struct {
	code    int
	log     []string
	journal []byte
}

func runOnce(bin string, args []string, dir string) result {
	jp := filepath.Join(dir, "journal.json")
	cmd := exec.Command(bin, append([]string{args[0], "--journal-path", jp}, args[1:]...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	r := result{}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "k8scompare:", err)
		os.Exit(2)
	}
	for _, l := range strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n") {
		r.log = append(r.log, journal.MaskString(stamp.ReplaceAllString(l, "[<time> ")))
	}
	j, err := journal.Read(jp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8scompare:", err)
		os.Exit(2)
	}
	n := journal.Normalize(j)
	for _, rec := range n.Run {
		if o, ok := rec.Output.(*jsonvalue.Object); ok && volatile[rec.Name()] {
			for _, k := range o.Keys() { // pod logs differ from run to run: keep which pods
				o.Set(k, "<volatile>")
			}
		}
	}
	if r.journal, err = journal.Encode(n); err != nil {
		fmt.Fprintln(os.Stderr, "k8scompare:", err)
		os.Exit(2)
	}
	return r
}

func main() {
	a := flag.String("a", "bin/chaostest", "the CLI with its helper")
	b := flag.String("b", "", "chaostest-k8s (the CLI built with -tags chaostest_k8s), used as the CLI")
	gap := flag.Duration("gap", 0, "wait between the two runs, for the system to return to its steady state")
	vol := flag.String("volatile", "", "comma-separated activity names whose output values are not compared (pod logs)")
	flag.Parse()
	for _, n := range strings.Split(*vol, ",") {
		volatile[n] = n != ""
	}
	if *b == "" || flag.NArg() < 2 || flag.Arg(0) != "run" {
		fmt.Fprintln(os.Stderr, "usage: k8scompare -a CLI -b INPROCESS-CLI -- run [flags] FILE")
		os.Exit(2)
	}
	dir, err := os.MkdirTemp("", "k8scompare")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ra := runOnce(*a, flag.Args(), dir)
	time.Sleep(*gap)
	rb := runOnce(*b, flag.Args(), dir)
	same := true
	if ra.code != rb.code {
		fmt.Printf("exit codes differ: %d (helper) vs %d (in process)\n", ra.code, rb.code)
		same = false
	}
	if strings.Join(ra.log, "\n") != strings.Join(rb.log, "\n") {
		fmt.Printf("log lines differ:\n--- helper\n%s\n--- in process\n%s\n", strings.Join(ra.log, "\n"), strings.Join(rb.log, "\n"))
		same = false
	}
	if !bytes.Equal(ra.journal, rb.journal) {
		fmt.Printf("journals differ:\n--- helper\n%s\n--- in process\n%s\n", ra.journal, rb.journal)
		same = false
	}
	if !same {
		os.Exit(1)
	}
	fmt.Printf("same: exit code %d, %d log lines, %d bytes of normalised journal\n", ra.code, len(ra.log), len(ra.journal))
}
