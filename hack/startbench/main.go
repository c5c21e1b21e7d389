// Command startbench measures how fast the chaostest CLI starts: it runs `chaostest version`,
// `chaostest validate` of an experiment without Kubernetes activities, and a trivial process +
// http experiment end to end (against a loopback server it serves itself), N times each, and
// prints the median and best wall time and the median and largest peak RSS; then the package
// initialisation time of `chaostest version` as GODEBUG=inittrace=1 reports it.
//
// Peak RSS is measured apart, through a small spawner process (this program re-run with
// -spawn): os/exec starts children with CLONE_VM|CLONE_VFORK, so a child's ru_maxrss starts at
// its parent's resident size, and this program's (with its HTTP server) would hide the CLI's.
//
//	go build -o /tmp/ct ./cmd/chaostest && go run ./hack/startbench -bin /tmp/ct -n 200
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "-spawn" {
		os.Exit(spawn(os.Args[2:]))
	}
	bin := flag.String("bin", "chaostest", "the chaostest executable to measure")
	n := flag.Int("n", 100, "runs of each command")
	flag.Parse()
	if *n < 1 || *n > 10000 {
		fmt.Fprintln(os.Stderr, "startbench: -n must be between 1 and 10000")
		os.Exit(2)
	}
	self, err := os.Executable()
	check(err)
	dir, err := os.MkdirTemp("", "startbench")
	check(err)
	defer os.RemoveAll(dir)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go func() {
		_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	}()
	exp := filepath.Join(dir, "trivial.json")
	check(os.WriteFile(exp, []byte(`{"title": "trivial", "description": "process and http",
  "steady-state-hypothesis": {"title": "up", "probes": [
    {"type": "probe", "name": "http-ok", "tolerance": 200, "provider": {"type": "http", "url": "http://`+l.Addr().String()+`/", "timeout": 3}},
    {"type": "probe", "name": "true-ok", "tolerance": 0, "provider": {"type": "process", "path": "true"}}]},
  "method": [{"type": "action", "name": "noop", "provider": {"type": "process", "path": "true"}}]}`), 0o644))

	for _, c := range []struct {
		name string
		args []string
	}{
		{"version", []string{"version"}},
		{"validate (no Kubernetes)", []string{"validate", exp}},
		{"run trivial process+http", []string{"run", "--journal-path", filepath.Join(dir, "journal.json"), exp}},
	} {
		var walls []time.Duration
		var rss []int64
		for range *n {
			cmd := exec.Command(*bin, c.args...)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			start := time.Now()
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "startbench: %s %v: %v\n%s", *bin, c.args, err, errb.String())
				os.Exit(1)
			}
			walls = append(walls, time.Since(start))
		}
		for range min(*n, 30) {
			out, err := exec.Command(self, append([]string{"-spawn", *bin}, c.args...)...).Output()
			check(err)
			kib, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
			check(err)
			rss = append(rss, kib)
		}
		sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
		slices.Sort(rss)
		fmt.Printf("%-26s median %6.2f ms  best %6.2f ms  p90 %6.2f ms  peak RSS median %4.1f MiB, largest %4.1f MiB  (%d runs, RSS over %d)\n", c.name,
			ms(walls[len(walls)/2]), ms(walls[0]), ms(walls[len(walls)*9/10]), float64(rss[len(rss)/2])/1024, float64(rss[len(rss)-1])/1024, *n, len(rss))
	}

	// Package initialisation: the sum of the "init" lines' clock times, median over runs.
	initLine := regexp.MustCompile(`^init (\S+) @[0-9.]+ ms, ([0-9.]+) ms clock`)
	var totals []float64
	var pkgs int
	worst := map[string]float64{}
	for range *n {
		cmd := exec.Command(*bin, "version")
		cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
		stderr, err := cmd.StderrPipe()
		check(err)
		check(cmd.Start())
		total, count := 0.0, 0
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := initLine.FindStringSubmatch(sc.Text()); m != nil {
				v, _ := strconv.ParseFloat(m[2], 64)
				total += v
				count++
				worst[m[1]] = max(worst[m[1]], v)
			}
		}
		check(cmd.Wait())
		totals = append(totals, total)
		pkgs = count
	}
	sort.Float64s(totals)
	fmt.Printf("%-26s median %6.2f ms  best %6.2f ms  over %d packages\n", "package init (version)", totals[len(totals)/2], totals[0], pkgs)
	type kv struct {
		k string
		v float64
	}
	var top []kv
	for k, v := range worst {
		top = append(top, kv{k, v})
	}
	sort.Slice(top, func(i, j int) bool { return top[i].v > top[j].v })
	var names []string
	for _, e := range top[:min(5, len(top))] {
		names = append(names, fmt.Sprintf("%s %.2f ms", e.k, e.v))
	}
	fmt.Printf("%-26s %s\n", "slowest inits (worst run)", strings.Join(names, ", "))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "startbench:", err)
		os.Exit(1)
	}
}

// spawn runs args[0] with the rest as its arguments, its output discarded, and prints its peak
// RSS in KiB (ru_maxrss); it exits 1 when the command fails.
func spawn(args []string) int {
	cmd := exec.Command(args[0], args[1:]...)
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "startbench -spawn:", err)
		return 1
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(os.Stderr, "startbench -spawn: no rusage")
		return 1
	}
	fmt.Println(ru.Maxrss)
	return 0
}
