// Command demo is what `make demo` runs once the local cluster is up: it loads the greeter
// example's images into the local node, deploys the example with the fragile webapp, runs the
// chapter's experiment (testdata/experiment.json, with a 2 s pause after
// terminate-greeting-service) and prints its log as `chaos run` does, then switches webapp to
// resilient and runs it again. Each run leaves journal.json and report.html in -out/<mode>/.
// The last two lines sum the runs up:
//
//	fragile: failed, deviated=true, journal out/demo/fragile/journal.json
//	resilient: completed, deviated=false, journal out/demo/resilient/journal.json
//
// It exits 0 when the fragile run deviated and the resilient one held, 1 otherwise, 2 on a usage
// error. The example stays deployed (resilient) and the cluster keeps running; `make down` stops
// it. Run it from the module's root directory (the images are built from the source tree).
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
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/chaostest/chaostest/chaostest"
	"github.com/chaostest/chaostest/examples/greeter/deploy"
	"github.com/chaostest/chaostest/examples/greeter/service"
	"github.com/chaostest/chaostest/journal"
	_ "github.com/chaostest/chaostest/providers/http" // the experiment's http probe
	_ "github.com/chaostest/chaostest/providers/k8s"  // the experiment's chaosk8s activities
)

// outcome is one run's summary.
type outcome struct {
	mode    service.Mode
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
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster (the local one: make cluster prints it)")
	skipImages := fs.Bool("skip-images", false, "do not build and load the images (they are already on the cluster's nodes)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 || *kubeconfig == "" {
		fmt.Fprintln(stderr, "usage: demo [-out DIR] [-experiment FILE] [-pause D] [-skip-images] -kubeconfig FILE (or KUBECONFIG set)")
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

	var results []outcome
	for i, mode := range []service.Mode{service.Fragile, service.Resilient} {
		if mode == service.Resilient {
			say("switching webapp to resilient (timeout 500 ms, fallback greeting, circuit breaker)")
			if err := d.Switch(ctx, mode); err != nil {
				return fail(err)
			}
			if err := deploy.WaitServing(ctx, url, "greeter", 60*time.Second); err != nil {
				return fail(err)
			}
		}
		say("[4/4] run %d of 2: chaos run %s against the %s webapp, web_app_url=%s, with a pause of %s after terminate-greeting-service", i+1, *expPath, mode, url, *pause)
		o, err := experiment(ctx, stdout, *expPath, url, *pause, filepath.Join(*out, string(mode)))
		if err != nil {
			return fail(err)
		}
		o.mode = mode
		results = append(results, o)
		say("  journal %s, report %s", o.journal, filepath.Join(filepath.Dir(o.journal), "report.html"))
		say("waiting for greeter's replacement to be ready again (it stays unready for its 8 s readiness delay)")
		if err := d.WaitGreeterReady(ctx); err != nil {
			return fail(err)
		}
	}
	release() // before the summary, which must be the last two lines
	say("done in %s; the example stays deployed and the cluster keeps running (make down stops it)", time.Since(start).Round(time.Second))
	ok := results[0].dev && !results[1].dev && results[1].status == journal.StatusCompleted
	if !ok {
		fmt.Fprintln(stderr, "demo: unexpected outcome: the fragile webapp should deviate and the resilient one hold")
	}
	for _, o := range results {
		fmt.Fprintf(stdout, "%s: %s, deviated=%t, journal %s\n", o.mode, o.status, o.dev, o.journal)
	}
	if !ok {
		return 1
	}
	return 0
}

// experiment runs the experiment file against url with the pause, printing `chaos run` lines to
// w, and writes journal.json and report.html into dir.
func experiment(ctx context.Context, w io.Writer, path, url string, pause time.Duration, dir string) (outcome, error) {
	exp, err := chaostest.Load(path)
	if err != nil {
		return outcome{}, err
	}
	if err := exp.SetPause("terminate-greeting-service", "after", pause); err != nil {
		return outcome{}, err
	}
	// Validation (like chaos run's, without --var values) needs WEBAPP_URL itself.
	if err := os.Setenv("WEBAPP_URL", url); err != nil {
		return outcome{}, err
	}
	logf := func(level chaostest.Level, msg string) {
		fmt.Fprintln(w, chaostest.FormatLine(time.Now(), level, msg))
	}
	j, err := chaostest.Run(ctx, exp, chaostest.Settings{
		Vars: &chaostest.Vars{Configuration: map[string]any{"web_app_url": url}},
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
