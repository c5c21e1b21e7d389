// Command demo is what `make demo` runs once the local cluster is up: it loads the greeter
// example's images into the local node, deploys the example with the fragile webapp, runs the
// chapter's experiment (testdata/experiment.json, with a 2 s pause after
// terminate-greeting-service) and prints its log as `chaos run` does, then switches webapp to
// resilient and runs it again. Then the latency experiment (testdata/latency.json: greeter 2 s
// late each way, served by chaostest's node agent) runs against the resilient webapp, and
// against the fragile one after a switch back. Each run leaves journal.json and report.html in
// -out/<name>/. The last four lines sum the runs up:
//
//	fragile: failed, deviated=true, journal out/demo/fragile/journal.json
//	resilient: completed, deviated=false, journal out/demo/resilient/journal.json
//	fragile-latency: failed, deviated=true, journal out/demo/fragile-latency/journal.json
//	resilient-latency: completed, deviated=false, journal out/demo/resilient-latency/journal.json
//
// It exits 0 when both fragile runs deviated and both resilient ones held, 1 otherwise, 2 on a
// usage error. The example stays deployed (fragile, after the last run) and the cluster keeps
// running; `make down` stops it. Run it from the module's root directory (the images are built
// from the source tree).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/chaostest/chaostest/engine"
	"github.com/chaostest/chaostest/examples/greeter/deploy"
	"github.com/chaostest/chaostest/examples/greeter/service"
	"github.com/chaostest/chaostest/journal"
	_ "github.com/chaostest/chaostest/providers/chaosmesh" // the latency experiment's add_latency
	_ "github.com/chaostest/chaostest/providers/http"      // the experiment's http probe
	_ "github.com/chaostest/chaostest/providers/k8s"       // the experiment's chaosk8s activities
)

// outcome is one run's summary.
type outcome struct {
	name    string
	status  string
	dev     bool
	journal string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "out/demo", "directory for <mode>/journal.json and <mode>/report.html")
	expPath := fs.String("experiment", "examples/greeter/testdata/experiment.json", "the experiment file (the chapter's, unchanged)")
	pause := fs.Duration("pause", 2*time.Second, "pause after terminate-greeting-service")
	latencyPath := fs.String("latency-experiment", "examples/greeter/testdata/latency.json", "the latency experiment file (add_latency on greeter); empty skips it")
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster (the local one: make cluster prints it)")
	skipImages := fs.Bool("skip-images", false, "do not build and load the images (they are already on the cluster's nodes)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 || *kubeconfig == "" {
		fmt.Fprintln(stderr, "usage: demo [-out DIR] [-experiment FILE] [-latency-experiment FILE] [-pause D] [-skip-images] -kubeconfig FILE (or KUBECONFIG set)")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	say := func(format string, args ...any) { fmt.Fprintf(stdout, "demo: "+format+"\n", args...) }
	fail := func(err error) int {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	start := time.Now()

	// chaosk8s (and so our k8s provider) reads KUBECONFIG, like kubectl.
	if err := os.Setenv("KUBECONFIG", *kubeconfig); err != nil {
		return fail(err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fail(fmt.Errorf("kubeconfig %s: %w", *kubeconfig, err))
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fail(err)
	}
	say("[1/4] cluster at %s (KUBECONFIG=%s)", rc.Host, *kubeconfig)

	if !*skipImages {
		say("[2/4] building the example's three images (static Go binaries, no Docker, no registry) and loading them into the local node; the first build takes a minute")
		if err := deploy.LoadImages(ctx, func(f string, a ...any) { say("  "+f, a...) }); err != nil {
			return fail(err)
		}
	} else {
		say("[2/4] images: skipped (-skip-images)")
	}

	d := deploy.New(cs, "default")
	d.Log = func(f string, a ...any) { say("  "+f, a...) }
	// The chaos tests use the same objects in "default": take turns with them.
	unlock, err := d.Lock(ctx, "make demo", 20*time.Minute)
	if err != nil {
		return fail(err)
	}
	var once sync.Once
	release := func() { once.Do(unlock) }
	defer release()
	say("[3/4] deploying the greeter example (Services first: webapp finds its peers through their injected variables) with the fragile webapp")
	if prev, err := d.Mode(ctx); err == nil && prev == service.Fragile {
		// A fragile webapp left by an earlier demo still caches the greeter pod it terminated.
		if err := d.Apply(ctx, service.Fragile); err != nil {
			return fail(err)
		}
		if err := d.RestartWebapp(ctx); err != nil {
			return fail(err)
		}
	}
	url, err := d.Up(ctx, service.Fragile)
	if err != nil {
		return fail(err)
	}
	if err := deploy.WaitServing(ctx, url, "greeter", 60*time.Second); err != nil {
		return fail(err)
	}
	say("  webapp answers at %s (WEBAPP_URL)", url)

	type runSpec struct {
		mode    service.Mode
		path    string
		pause   time.Duration // after terminate-greeting-service; 0: none
		name    string
		latency bool
	}
	runs := []runSpec{{service.Fragile, *expPath, *pause, "fragile", false}, {service.Resilient, *expPath, *pause, "resilient", false}}
	if *latencyPath != "" {
		// Resilient first: it is deployed already; one switch back to fragile after.
		runs = append(runs, runSpec{service.Resilient, *latencyPath, 0, "resilient-latency", true}, runSpec{service.Fragile, *latencyPath, 0, "fragile-latency", true})
	}
	var results []outcome
	cur := service.Fragile
	for i, r := range runs {
		if r.mode != cur {
			if r.mode == service.Resilient {
				say("switching webapp to resilient (timeout 500 ms, fallback greeting, circuit breaker)")
			} else {
				say("switching webapp back to fragile (no timeout, no fallback)")
			}
			if err := d.Switch(ctx, r.mode); err != nil {
				return fail(err)
			}
			cur = r.mode
		}
		if err := deploy.WaitServing(ctx, url, "greeter", 60*time.Second); err != nil {
			return fail(err)
		}
		if r.latency {
			say("[4/4] run %d of %d: chaos run %s against the %s webapp, web_app_url=%s: greeter 2 s late each way (a NetworkChaos served by chaostest's node agent)", i+1, len(runs), r.path, r.mode, url)
		} else {
			say("[4/4] run %d of %d: chaos run %s against the %s webapp, web_app_url=%s, with a pause of %s after terminate-greeting-service", i+1, len(runs), r.path, r.mode, url, r.pause)
		}
		o, err := experiment(ctx, stdout, r.path, url, r.pause, filepath.Join(*out, r.name))
		if err != nil {
			return fail(err)
		}
		o.name = r.name
		results = append(results, o)
		say("  journal %s, report %s", o.journal, filepath.Join(filepath.Dir(o.journal), "report.html"))
		if r.latency {
			say("waiting for greeter to be ready again (its readiness probes timed out under the latency)")
		} else {
			say("waiting for greeter's replacement to be ready again (it stays unready for its 8 s readiness delay)")
		}
		if err := d.WaitGreeterReady(ctx); err != nil {
			return fail(err)
		}
	}
	release() // before the summary, which must be the last lines
	say("done in %s; the example stays deployed and the cluster keeps running (make down stops it)", time.Since(start).Round(time.Second))
	ok := true
	for _, o := range results {
		if strings.HasPrefix(o.name, "fragile") {
			ok = ok && o.dev
		} else {
			ok = ok && !o.dev && o.status == journal.StatusCompleted
		}
	}
	if !ok {
		fmt.Fprintln(stderr, "demo: unexpected outcome: the fragile webapp should deviate and the resilient one hold")
	}
	// The summary in a fixed order: the termination runs, then the latency runs.
	order := map[string]int{"fragile": 0, "resilient": 1, "fragile-latency": 2, "resilient-latency": 3}
	sort.SliceStable(results, func(i, j int) bool { return order[results[i].name] < order[results[j].name] })
	for _, o := range results {
		fmt.Fprintf(stdout, "%s: %s, deviated=%t, journal %s\n", o.name, o.status, o.dev, o.journal)
	}
	if !ok {
		return 1
	}
	return 0
}

// experiment runs the experiment file against url with the pause, printing `chaos run` lines to
// w, and writes journal.json and report.html into dir.
func experiment(ctx context.Context, w io.Writer, path, url string, pause time.Duration, dir string) (outcome, error) {
	exp, err := engine.Load(path)
	if err != nil {
		return outcome{}, err
	}
	if pause > 0 {
		if err := exp.SetPause("terminate-greeting-service", "after", pause); err != nil {
			return outcome{}, err
		}
	}
	// Validation (like chaos run's, without --var values) needs WEBAPP_URL itself.
	if err := os.Setenv("WEBAPP_URL", url); err != nil {
		return outcome{}, err
	}
	logf := func(level engine.Level, msg string) {
		fmt.Fprintln(w, engine.FormatLine(time.Now(), level, msg))
	}
	j, err := engine.Run(ctx, exp, engine.Settings{
		Vars: &engine.Vars{Configuration: map[string]any{"web_app_url": url}},
		Log:  logf,
	})
	if err != nil {
		return outcome{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return outcome{}, err
	}
	jp := filepath.Join(dir, "journal.json")
	if err := journal.Write(jp, j); err != nil {
		return outcome{}, err
	}
	var html bytes.Buffer
	if err := journal.RenderHTML(&html, j); err != nil {
		return outcome{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.html"), html.Bytes(), 0o644); err != nil {
		return outcome{}, err
	}
	return outcome{status: j.Status, dev: j.Deviated, journal: jp}, nil
}
